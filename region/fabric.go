package region

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/geomesh/geomesh/region/client"
)

// fabric is the embedded nats-server of a node: JetStream on, tagged with its region, clustered
// with the route URLs learned from gossip.
type fabric struct {
	cfg  Config
	log  *slog.Logger
	opts *server.Options
	ns   atomic.Pointer[server.Server] // set once the server runs

	routes []string // the peer route URLs configured at start, sorted
}

func newFabric(cfg Config, log *slog.Logger) (*fabric, error) {
	storeDir := cfg.DataDir + "/jetstream"
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, fmt.Errorf("create store dir: %w", err)
	}
	opts := &server.Options{
		ServerName:         cfg.NodeID,
		Host:               cfg.NATSHost,
		Port:               portOrRandom(cfg.NATSPort),
		NoSigs:             true,
		NoLog:              !cfg.ServerLog && os.Getenv("GEOMESH_NATS_LOG") == "",
		JetStream:          true,
		StoreDir:           storeDir,
		JetStreamUniqueTag: client.RegionTagPrefix,
		SyncInterval:       cfg.SyncInterval,
		SyncAlways:         cfg.SyncAlways,
		Tags:               jwt.TagList{client.RegionTagPrefix + cfg.Region},
		Cluster: server.ClusterOpts{
			Name:      cfg.ClusterName,
			Host:      cfg.ClusterHost,
			Port:      portOrRandom(cfg.ClusterPort),
			Advertise: cfg.ClusterAdvertise,
			Username:  "route",
			Password:  routePassword(cfg),
			// Implicit routes (servers telling each other about third servers) are tried once;
			// the explicit routes from gossip are retried for ever.
			ConnectRetries: 0,
			// A partition drops packets without closing connections: with nats-server's
			// default route pings (at most every 30 s, closed after 2 missed) the meta layer
			// noticed a cut-off region only after 60-100 s, and the controller waits for it
			// to agree before failing over. Ping routes often enough to notice in seconds.
			PingInterval: routePingInterval,
			MaxPingsOut:  routeMaxPingsOut,
		},
	}
	return &fabric{cfg: cfg, log: log, opts: opts}, nil
}

// Route liveness: a route that answered none of routeMaxPingsOut pings sent every
// routePingInterval is closed (about 6-8 s after a silent partition).
const (
	routePingInterval = 2 * time.Second
	routeMaxPingsOut  = 3
)

// routePassword is the shared route credential. In the local profile without a secret every
// node of the process still authenticates, with a fixed development credential.
func routePassword(cfg Config) string {
	if cfg.ClusterSecret != "" {
		return cfg.ClusterSecret
	}
	return "geomesh-local-development"
}

func portOrRandom(p int) int {
	if p == 0 {
		return server.RANDOM_PORT
	}
	return p
}

// reservePorts replaces random (0) ports by ports that are free now: the node must announce its
// URLs in gossip before the server starts, because JetStream in cluster mode refuses to start
// without configured routes, and the routes come from gossip.
func (f *fabric) reservePorts() error {
	for _, p := range []*int{&f.opts.Port, &f.opts.Cluster.Port} {
		if *p != server.RANDOM_PORT {
			continue
		}
		host := f.opts.Host
		if p == &f.opts.Cluster.Port {
			host = f.opts.Cluster.Host
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return fmt.Errorf("reserve port: %w", err)
		}
		*p = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	return nil
}

// start runs the server with the given peer route URLs (its own route is always added: a
// clustered JetStream server needs at least one configured route, and nats-server ignores a
// route to itself) and waits until it accepts connections.
func (f *fabric) start(peerRoutes []string) error {
	urls := append([]string{f.listenRouteURL()}, peerRoutes...)
	routes, err := f.parseRoutes(urls)
	if err != nil {
		return err
	}
	f.opts.Routes = routes
	f.routes = normalizeRoutes(peerRoutes)
	ns, err := server.NewServer(f.opts)
	if err != nil {
		return fmt.Errorf("nats-server: %w", err)
	}
	if f.cfg.ServerLog && f.log != nil || os.Getenv("GEOMESH_NATS_LOG") != "" {
		ns.SetLoggerV2(&natsLogger{log: f.log}, false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return fmt.Errorf("nats-server did not start listening within 10s")
	}
	f.ns.Store(ns)
	return nil
}

// clientURL is the URL local clients connect to.
func (f *fabric) clientURL() string {
	host := f.opts.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(f.opts.Port))
}

// listenRouteURL is the route URL of the listener itself (what this server dials to find itself).
func (f *fabric) listenRouteURL() string {
	host := f.opts.Cluster.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "nats-route://" + net.JoinHostPort(host, strconv.Itoa(f.opts.Cluster.Port))
}

// routeURL is the route URL this server announces in gossip (without credentials).
func (f *fabric) routeURL() string {
	if f.cfg.ClusterAdvertise != "" {
		return "nats-route://" + f.cfg.ClusterAdvertise
	}
	host := f.cfg.ClusterHost
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
		if h, err := os.Hostname(); err == nil && f.cfg.Profile != "local" {
			host = h
		}
	}
	return "nats-route://" + net.JoinHostPort(host, strconv.Itoa(f.opts.Cluster.Port))
}

func normalizeRoutes(urls []string) []string {
	urls = slices.Clone(urls)
	slices.Sort(urls)
	return slices.Compact(urls)
}

// parseRoutes parses route URLs and adds the route credentials.
func (f *fabric) parseRoutes(urls []string) ([]*url.URL, error) {
	parsed := make([]*url.URL, 0, len(urls))
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("route url %q: %w", s, err)
		}
		u.User = url.UserPassword(f.opts.Cluster.Username, f.opts.Cluster.Password)
		parsed = append(parsed, u)
	}
	return parsed, nil
}

// server is the running server (nil before start).
func (f *fabric) server() *server.Server { return f.ns.Load() }

// metaLeader returns the JetStream meta leader's server name, "" when none is known.
func (f *fabric) metaLeader() string {
	ns := f.server()
	if ns == nil {
		return ""
	}
	jsi, err := ns.Jsz(&server.JSzOptions{})
	if err != nil || jsi == nil || jsi.Meta == nil {
		return ""
	}
	return jsi.Meta.Leader
}

// metaPeers reports the meta group's peers as this server sees them (name -> offline). A peer
// is offline when the meta layer marked it so (which takes minutes: it waits for the server's
// heartbeats to expire) or when this server has no route connection to it (immediate: a dead
// or partitioned server's routes are gone, and a peer without routes cannot take part in the
// meta group from here).
func (f *fabric) metaPeers() map[string]bool {
	ns := f.server()
	if ns == nil {
		return nil
	}
	jsi, err := ns.Jsz(&server.JSzOptions{})
	if err != nil || jsi == nil || jsi.Meta == nil {
		return nil
	}
	routed := map[string]bool{}
	if rz, err := ns.Routez(&server.RoutezOptions{}); err == nil {
		for _, r := range rz.Routes {
			routed[r.RemoteName] = true
		}
	}
	out := make(map[string]bool, len(jsi.Meta.Replicas)+2)
	out[f.cfg.NodeID] = false // the reporting server is not in its own replica list
	if l := jsi.Meta.Leader; l != "" && l != f.cfg.NodeID {
		out[l] = !routed[l]
	}
	for _, p := range jsi.Meta.Replicas {
		if p.Name != f.cfg.NodeID {
			out[p.Name] = p.Offline || !routed[p.Name]
		}
	}
	return out
}

// shutdown stops the server; graceful so stream leaders step down first.
func (f *fabric) shutdown() {
	ns := f.server()
	if ns == nil {
		return
	}
	ns.Shutdown()
	ns.WaitForShutdown()
}

// natsLogger adapts nats-server's logger to slog.
type natsLogger struct{ log *slog.Logger }

func (l *natsLogger) Noticef(format string, v ...any) {
	l.log.Info("nats_server", slog.String("msg", fmt.Sprintf(format, v...)))
}
func (l *natsLogger) Warnf(format string, v ...any) {
	l.log.Warn("nats_server", slog.String("msg", fmt.Sprintf(format, v...)))
}
func (l *natsLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats_server_fatal", slog.String("msg", fmt.Sprintf(format, v...)))
}
func (l *natsLogger) Errorf(format string, v ...any) {
	l.log.Error("nats_server", slog.String("msg", fmt.Sprintf(format, v...)))
}
func (l *natsLogger) Debugf(format string, v ...any) {
	l.log.Debug("nats_server", slog.String("msg", fmt.Sprintf(format, v...)))
}
func (l *natsLogger) Tracef(format string, v ...any) {}
