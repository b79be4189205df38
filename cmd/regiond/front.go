package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/region"
)

// Timeouts of the admin API's HTTP server. An admin request may take up to 30 s in the node
// (region's adminTimeout), so the write timeout leaves room for it.
const (
	adminReadHeaderTimeout = 5 * time.Second
	adminReadTimeout       = 10 * time.Second
	adminWriteTimeout      = 45 * time.Second
	adminIdleTimeout       = 120 * time.Second
	// frontStartTimeout bounds a node's gateway start (it reads the OWNERS and ACCOUNTS buckets).
	frontStartTimeout = 30 * time.Second
	// frontCloseTimeout bounds how long Close waits for requests in flight.
	frontCloseTimeout = 5 * time.Second
	// frontDrainMax bounds the WebSocket part of a drain (after drain_wait).
	frontDrainMax = 30 * time.Second
)

// frontConfig configures the HTTP front of a node: the gateway and the admin API.
type frontConfig struct {
	// httpAddr is the gateway's listen address ("host:0" picks a free port).
	httpAddr string
	// adminAddr is the admin API's listen address.
	adminAddr string
	// adminToken authenticates the admin API; never empty once resolved.
	adminToken string
	// tokenGenerated tells that adminToken was generated (local profile, none configured), so
	// runNode logs it once.
	tokenGenerated bool
	// keys are API keys the gateway creates in ACCOUNTS at start unless they exist.
	keys []gateway.BootstrapKey
	// noGateway leaves the gateway out (a node without the gateway role).
	noGateway bool
	// drainWait and wsDrainWindow shape the gateway's drain on shutdown (gateway.Drain).
	drainWait, wsDrainWindow time.Duration
	// gw holds the gateway's limits and waits (config section gateway).
	gw gatewaySettings
}

// gatewaySettings are the gateway.Config fields set from the config file's gateway section.
type gatewaySettings struct {
	weightLimit, orderLimit10s     int // -1: no limit
	requestTimeout, readYourWrites time.Duration
}

// front is the HTTP side of one running node: its gateway (client API) and its admin API
// server. startFront starts both once the node is ready; Close stops both. It owns the admin
// server's goroutine; the gateway owns its own.
type front struct {
	gw        *gateway.Gateway
	drainWait time.Duration
	adminSrv  *http.Server
	adminURL  string
	wg        sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// startFront starts the gateway (unless c.noGateway) and the admin API of the ready node n.
// On error nothing is left running.
func startFront(ctx context.Context, n *region.Node, c frontConfig, log *slog.Logger) (*front, error) {
	f := &front{}
	if !c.noGateway {
		gc := gateway.DefaultConfig()
		gc.Region, gc.Addr, gc.NC, gc.Submitter, gc.Logger = n.RegionName(), c.httpAddr, n.Conn(), n.Submitter(), log
		gc.BootstrapKeys = c.keys
		gc.Ready = func() bool { return n.Ready() && n.HasQuorum() }
		gc.Registerer = n.Registry()
		gc.WSDrainWindow = c.wsDrainWindow
		if c.gw.requestTimeout > 0 { // zero: a frontConfig built without the file (tests)
			gc.WeightLimit, gc.OrderLimit10s = c.gw.weightLimit, c.gw.orderLimit10s
			gc.RequestTimeout, gc.ReadYourWrites = c.gw.requestTimeout, c.gw.readYourWrites
		}
		gw, err := gateway.New(gc)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		if err := gw.Start(ctx); err != nil {
			_ = gw.Close()
			return nil, fmt.Errorf("gateway: %w", err)
		}
		f.gw, f.drainWait = gw, c.drainWait
	}
	ln, err := net.Listen("tcp", c.adminAddr)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("admin api: %w", err)
	}
	f.adminURL = "http://" + ln.Addr().String()
	// /metrics (Prometheus, unauthenticated like every exporter: keep the admin listener off
	// the public network) beside the admin API, whose handler authenticates everything else.
	adminMux := http.NewServeMux()
	adminMux.Handle("GET /metrics", promhttp.HandlerFor(n.Registry(), promhttp.HandlerOpts{EnableOpenMetrics: true}))
	adminMux.Handle("/", n.AdminHandler(c.adminToken))
	f.adminSrv = &http.Server{
		Handler:           adminMux,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	f.wg.Go(func() {
		if err := f.adminSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin_serve_failed", slog.Any("err", err))
		}
	})
	return f, nil
}

// RESTURL is the gateway's base URL, e.g. http://127.0.0.1:8080 ("" without a gateway).
func (f *front) RESTURL() string {
	if f.gw == nil {
		return ""
	}
	return f.gw.URL()
}

// WSURL is the gateway's raw-stream WebSocket endpoint, e.g. ws://127.0.0.1:8080/ws; the same
// listener serves /stream (combined streams) and /ws-api/v3.
func (f *front) WSURL() string {
	u := f.RESTURL()
	if u == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(u, "https://"); ok {
		return "wss://" + rest + "/ws"
	}
	return "ws://" + strings.TrimPrefix(u, "http://") + "/ws"
}

// AdminURL is the admin API's base URL (meshctl --server).
func (f *front) AdminURL() string { return f.adminURL }

// Close stops the gateway and the admin server, waiting for requests in flight up to
// frontCloseTimeout. Idempotent.
func (f *front) Close() error {
	f.closeOnce.Do(func() {
		var errs []error
		if f.gw != nil {
			// Leave the load balancers time to notice /readyz, then let WebSocket clients go.
			ctx, cancel := context.WithTimeout(context.Background(), f.drainWait+frontDrainMax)
			f.gw.Drain(ctx, f.drainWait)
			cancel()
			if err := f.gw.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close gateway: %w", err))
			}
		}
		if f.adminSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), frontCloseTimeout)
			if err := f.adminSrv.Shutdown(ctx); err != nil {
				_ = f.adminSrv.Close()
				errs = append(errs, fmt.Errorf("close admin api: %w", err))
			}
			cancel()
		}
		f.wg.Wait()
		f.closeErr = errors.Join(errs...)
	})
	return f.closeErr
}
