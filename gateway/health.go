package gateway

import (
	"context"
	"net/http"
	"time"
)

// Health for load balancers, DNS and Kubernetes (client-compat.md §B.2): /healthz answers 200
// while the process serves at all; /readyz answers 200 only while the gateway should get
// traffic, and 503 while the node is not ready (no quorum, still forming) or the gateway is
// draining, so load balancers stop sending clients here before it goes away (CockroachDB's
// /health?ready=1 convention).

func (g *Gateway) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "region": g.cfg.Region})
}

func (g *Gateway) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	status, code := "ready", http.StatusOK
	switch {
	case g.draining.Load():
		status, code = "draining", http.StatusServiceUnavailable
	case g.cfg.Ready != nil && !g.cfg.Ready():
		status, code = "not_ready", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]string{"status": status, "region": g.cfg.Region})
}

// Draining reports whether Drain was called.
func (g *Gateway) Draining() bool { return g.draining.Load() }

// Drain starts taking the gateway out of service before Close: /readyz answers 503 at once,
// requests keep being served for wait (so load balancers notice and clients finish what they
// started), then every WebSocket client gets serverShutdown and is closed (1001), spread over
// Config.WSDrainWindow so they do not all reconnect elsewhere at the same instant. It returns
// when that is done or ctx ends; Close stops the rest.
func (g *Gateway) Drain(ctx context.Context, wait time.Duration) {
	if g.draining.Swap(true) {
		return
	}
	g.log.Info("gateway_draining", "wait", wait, "ws_window", g.cfg.WSDrainWindow)
	t := time.NewTimer(wait)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	t.Stop()
	g.streams.drain(ctx, g.cfg.WSDrainWindow)
}
