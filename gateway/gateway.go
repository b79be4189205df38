package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/geomesh/geomesh/region/client"
)

// Gateway is one region's client API server.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	js      jetstream.JetStream
	sub     *client.Submitter
	ownSub  bool
	keys    *keyring
	reg     *registry
	limits  *limiter
	streams *hub
	metrics *gatewayMetrics

	draining atomic.Bool // Drain was called: /readyz answers 503
	status   *statusView // KV STATUS, served by status.go

	mu       sync.Mutex
	started  bool
	closed   bool
	accounts jetstream.KeyValue
	ln       net.Listener
	srv      *http.Server
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// New validates cfg and prepares a gateway; Start serves it.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "gateway", "region", cfg.Region)
	js, err := jetstream.New(cfg.NC)
	if err != nil {
		return nil, fmt.Errorf("gateway: jetstream: %w", err)
	}
	g := &Gateway{cfg: cfg, log: log, js: js, sub: cfg.Submitter, keys: newKeyring(),
		limits: newLimiter(cfg.WeightLimit, cfg.OrderLimit10s)}
	g.streams = newHub(g)
	reg := cfg.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	g.metrics = newGatewayMetrics(g, reg)
	g.status = newStatusView(g)
	g.reg = &registry{js: js, log: log, maxTrades: cfg.RecentTrades, maxClosed: cfg.EndedOrders, symbols: map[string]*symbol{},
		ready: make(chan struct{}), onBatch: g.streams.onBatch}
	g.reg.readyOnce = sync.OnceFunc(func() { close(g.reg.ready) })
	if g.sub == nil {
		g.sub, err = client.NewSubmitter(cfg.NC, client.SubmitterConfig{})
		if err != nil {
			return nil, fmt.Errorf("gateway: submitter: %w", err)
		}
		g.ownSub = true
	}
	return g, nil
}

// Start opens the KV buckets, starts the OWNERS and ACCOUNTS watches, waits until both delivered
// their current values, then listens on Config.Addr and serves.
func (g *Gateway) Start(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	if g.started {
		return ErrStarted
	}
	g.started = true
	owners, err := g.js.KeyValue(ctx, client.BucketOwners)
	if err != nil {
		return fmt.Errorf("gateway: open bucket %s: %w", client.BucketOwners, err)
	}
	g.accounts, err = g.js.KeyValue(ctx, client.BucketAccounts)
	if err != nil {
		return fmt.Errorf("gateway: open bucket %s: %w", client.BucketAccounts, err)
	}
	for _, k := range g.cfg.BootstrapKeys {
		if err := EnsureAPIKey(ctx, g.js, k); err != nil {
			return fmt.Errorf("gateway: bootstrap key for account %d: %w", k.Account, err)
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	// The watches are re-established when they fail (a busy or re-electing cluster can time out
	// creating one); Start waits for their first values.
	keepWatching := func(what string, watch func(context.Context) error) {
		for runCtx.Err() == nil {
			if err := watch(runCtx); err != nil {
				g.log.Warn(what+"_watch_failed", "err", err)
			}
			select {
			case <-runCtx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	g.goRun(func() {
		keepWatching("owners", func(ctx context.Context) error { return g.reg.watch(ctx, owners) })
	})
	g.goRun(func() {
		keepWatching("accounts", func(ctx context.Context) error { return g.keys.watch(ctx, g.accounts) })
	})
	g.goRun(func() { keepWatching("status", g.watchStatus) })
	for _, ch := range []<-chan struct{}{g.reg.ready, g.keys.ready, g.status.cache.Ready()} {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("gateway: initial watch: %w", ctx.Err())
		}
	}
	ln, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: listen %s: %w", g.cfg.Addr, err)
	}
	g.ln = ln
	g.srv = &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		ReadTimeout:       g.cfg.ReadTimeout,
		WriteTimeout:      g.cfg.WriteTimeout,
		IdleTimeout:       g.cfg.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return runCtx },
	}
	if g.cfg.TLS != nil {
		ln = tls.NewListener(ln, g.cfg.TLS)
		g.ln = ln
	}
	g.goRun(func() {
		if err := g.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("serve_failed", "err", err)
		}
	})
	g.log.Info("gateway_started", "addr", ln.Addr().String())
	return nil
}

func (g *Gateway) goRun(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

// URL is the base URL clients use ("http://127.0.0.1:port"); empty before Start.
func (g *Gateway) URL() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln == nil {
		return ""
	}
	if g.cfg.TLS != nil {
		return "https://" + g.ln.Addr().String()
	}
	return "http://" + g.ln.Addr().String()
}

// Close stops serving, closes WebSocket connections and waits for every goroutine the gateway
// started. It is idempotent.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	srv, cancel := g.srv, g.cancel
	g.mu.Unlock()
	if srv != nil {
		ctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		if serr := srv.Shutdown(ctx); serr != nil {
			// Requests still waiting for an outcome (up to RequestTimeout) when the node
			// stops: their clients see the connection close and find out by client order id,
			// as after any lost answer. That is the expected end of a drain, not an error.
			g.log.Warn("gateway_closed_with_requests_in_flight", "err", serr)
		}
		c()
		_ = srv.Close()
	}
	if cancel != nil {
		cancel()
	}
	g.streams.closeAll()
	g.wg.Wait()
	g.reg.wg.Wait()
	g.streams.wg.Wait()
	if g.ownSub {
		_ = g.sub.Close()
	}
	return nil
}

// writeJSON answers status with v as JSON, with the rate-limit headers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":-1000,"msg":"An unknown error occurred while processing the request."}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers a Binance {code,msg} error.
func writeError(w http.ResponseWriter, e *apiError) {
	body := struct {
		Code int32  `json:"code"`
		Msg  string `json:"msg"`
		Data any    `json:"data,omitempty"`
	}{e.code, e.msg, e.data}
	if rec, ok := w.(*statusRecorder); ok {
		rec.code = int(e.code)
	}
	writeJSON(w, e.status, body)
}
