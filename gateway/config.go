package gateway

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// Config configures a Gateway. Zero durations and sizes take the DefaultConfig value.
type Config struct {
	// Region is the name of this gateway's region (Command.ingress_region, logs). Required.
	Region string
	// Addr is the TCP listen address of the HTTP/WebSocket server. Default "127.0.0.1:8080";
	// "127.0.0.1:0" picks a free port (see Gateway.URL).
	Addr string
	// NC is a connection into this region's NATS. Required. The gateway does not close it.
	NC *nats.Conn
	// Submitter appends commands. Nil: New creates one on NC (and Close closes it).
	Submitter *client.Submitter
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// TLS, when set, makes the server speak HTTPS and WSS with it (URL then starts "https").
	TLS *tls.Config
	// Ready, when set, tells /readyz whether the node behind the gateway can serve (ready, with
	// quorum); nil means always.
	Ready func() bool
	// WSDrainWindow spreads the serverShutdown of WebSocket clients during Drain (default 0:
	// all at once).
	WSDrainWindow time.Duration
	// Registerer receives the gateway's metrics (normally the node's registry, served at
	// /metrics); nil keeps them in a private registry.
	Registerer prometheus.Registerer
	// BootstrapKeys are created in KV ACCOUNTS by Start when absent (demo and local setups; an
	// existing key of the same name is left as it is).
	BootstrapKeys []BootstrapKey

	// MaxBodyBytes bounds a request body (default 64 KiB).
	MaxBodyBytes int64
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the http.Server timeouts
	// (defaults 5 s, 10 s, 30 s, 120 s).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// RequestTimeout bounds the wait for an order's outcome; past it the client gets -1007
	// (outcome unknown). Default 10 s.
	RequestTimeout time.Duration
	// ReadYourWrites bounds how long an order answer waits for the local replica to reflect it,
	// so a GET /api/v3/order right after an order in the same region finds it. Default 2 s.
	ReadYourWrites time.Duration
	// RecentTrades is the number of trades kept per symbol for /api/v3/trades (default 1000).
	RecentTrades int
	// EndedOrders is how many filled, canceled or expired orders per symbol stay queryable
	// (GET /api/v3/order) in the replica; older ones are forgotten (default 200,000).
	EndedOrders int
	// ListenKeyTTL is the validity of a listen key after its last keepalive (default 60 min).
	ListenKeyTTL time.Duration
	// WeightLimit is the REQUEST_WEIGHT per IP per minute (default 6000); 0 in Validate's input
	// means default, negative disables the limit.
	WeightLimit int
	// OrderLimit10s is the number of orders per account per 10 s (default 100); negative disables.
	OrderLimit10s int
	// WSPingInterval is how often the server pings WebSocket clients (default 20 s); a client that
	// does not answer within WSPongTimeout (default 60 s) is disconnected.
	WSPingInterval, WSPongTimeout time.Duration
	// WSMaxStreams bounds the streams of one WebSocket connection (default 1024).
	WSMaxStreams int
	// NoShutdownEvent stops Close from sending Binance's serverShutdown event before closing
	// WebSocket connections (1001). The event is Binance behaviour since 2026, but clients older
	// than it may choke on it: go-binance v2.8.7's combined depth handler panics on it.
	NoShutdownEvent bool
	// WSInboundRate bounds the inbound messages per second of one WebSocket (default 5).
	WSInboundRate int

	// Now is the clock (default time.Now). Tests may replace it.
	Now func() time.Time
}

// DefaultConfig returns the production defaults (without Region, NC).
func DefaultConfig() Config {
	return Config{
		Addr:              "127.0.0.1:8080",
		MaxBodyBytes:      64 << 10,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		RequestTimeout:    10 * time.Second,
		ReadYourWrites:    2 * time.Second,
		RecentTrades:      1000,
		EndedOrders:       200_000,
		ListenKeyTTL:      60 * time.Minute,
		WeightLimit:       6000,
		OrderLimit10s:     100,
		WSPingInterval:    20 * time.Second,
		WSPongTimeout:     60 * time.Second,
		WSMaxStreams:      1024,
		WSInboundRate:     5,
		Now:               time.Now,
	}
}

// LocalConfig is DefaultConfig listening on a free loopback port, for tests and the demo.
func LocalConfig() Config {
	c := DefaultConfig()
	c.Addr = "127.0.0.1:0"
	return c
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setDur(&c.ReadHeaderTimeout, d.ReadHeaderTimeout)
	setDur(&c.ReadTimeout, d.ReadTimeout)
	setDur(&c.WriteTimeout, d.WriteTimeout)
	setDur(&c.IdleTimeout, d.IdleTimeout)
	setDur(&c.RequestTimeout, d.RequestTimeout)
	setDur(&c.ReadYourWrites, d.ReadYourWrites)
	setDur(&c.ListenKeyTTL, d.ListenKeyTTL)
	setDur(&c.WSPingInterval, d.WSPingInterval)
	setDur(&c.WSPongTimeout, d.WSPongTimeout)
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.RecentTrades == 0 {
		c.RecentTrades = d.RecentTrades
	}
	if c.EndedOrders == 0 {
		c.EndedOrders = d.EndedOrders
	}
	if c.WeightLimit == 0 {
		c.WeightLimit = d.WeightLimit
	}
	if c.OrderLimit10s == 0 {
		c.OrderLimit10s = d.OrderLimit10s
	}
	if c.WSMaxStreams == 0 {
		c.WSMaxStreams = d.WSMaxStreams
	}
	if c.WSInboundRate == 0 {
		c.WSInboundRate = d.WSInboundRate
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	return c
}

// Validate reports a missing Region or NC, or a negative size.
func (c Config) Validate() error {
	switch {
	case c.Region == "":
		return fmt.Errorf("%w: Region is required", ErrInvalidConfig)
	case c.NC == nil:
		return fmt.Errorf("%w: NC is required", ErrInvalidConfig)
	case c.MaxBodyBytes < 0 || c.RecentTrades < 0 || c.EndedOrders < 0 || c.WSMaxStreams < 0 || c.WSInboundRate < 0:
		return fmt.Errorf("%w: negative size", ErrInvalidConfig)
	case c.ReadYourWrites < 0:
		return fmt.Errorf("%w: negative ReadYourWrites", ErrInvalidConfig)
	case c.RequestTimeout < 0 || c.ReadYourWrites < 0 || c.ListenKeyTTL < 0:
		return fmt.Errorf("%w: negative duration", ErrInvalidConfig)
	}
	return nil
}

// BootstrapKey is an API key given in configuration.
type BootstrapKey struct {
	APIKey, Secret string
	Account        uint64
	// Permissions; none means read and trade.
	Permissions []proto.Permission
}
