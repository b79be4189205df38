package region

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// Version of geomesh; cmd sets it at link time.
var Version = "dev"

// Node is one regional node: gossip member, embedded JetStream server, and (as later parts land)
// matcher host, controller and admin API.
//
// Lifecycle: New validates, Start brings the fabric up and joins the mesh, AwaitReady waits until
// the JetStream cluster has a meta leader and the shared buckets exist, Close is idempotent and
// waits for every goroutine the node started.
type Node struct {
	cfg Config
	log *slog.Logger

	fab     *fabric
	mesh    *mesh.Mesh
	nc      *nats.Conn
	js      jetstream.JetStream
	streams *streamSet

	owners    *Ownership
	metrics   *nodeMetrics
	cache     *ownerCache
	host      *host
	ctrl      *controller
	submitter *client.Submitter
	status    *statusService // STATUS bucket view and webhooks (incidents.go)
	memberCh  chan struct{}  // membership changed (non-blocking signal to the host)

	ready     atomic.Bool
	readyCh   chan struct{}
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg and returns a node that is not started yet.
func New(cfg Config) (*Node, error) {
	if len(cfg.Roles) == 0 {
		cfg.Roles = []string{RoleGateway, RoleMatcher, RoleController}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log = log.With(slog.String("node", cfg.NodeID), slog.String("region", cfg.Region))
	n := &Node{cfg: cfg, log: log, readyCh: make(chan struct{}), cache: newOwnerCache(),
		memberCh: make(chan struct{}, 1)}
	n.metrics = newNodeMetrics(n)
	return n, nil
}

// Start brings up the embedded nats-server, joins the gossip mesh (one reachable seed is enough)
// and starts the goroutines that keep routes in step with membership and make the node ready.
// It does not wait for the JetStream cluster to form: see AwaitReady.
func (n *Node) Start(ctx context.Context) error {
	fab, err := newFabric(n.cfg, n.log)
	if err != nil {
		return err
	}
	if err := fab.reservePorts(); err != nil {
		return err
	}
	n.fab = fab

	mcfg, err := n.meshConfig()
	if err != nil {
		return err
	}
	m, err := mesh.New(mcfg)
	if err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	events, unsubscribe := m.Subscribe(64)
	if err := m.Start(ctx); err != nil {
		unsubscribe()
		_ = m.Close()
		return fmt.Errorf("gossip: %w", err)
	}
	n.mesh = m

	rctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		defer unsubscribe()
		n.routeLoop(rctx, events)
	}()
	go func() {
		defer n.wg.Done()
		if err := n.bringUp(rctx); err != nil {
			if rctx.Err() == nil {
				n.log.Error("start_failed", slog.Any("err", err))
			}
			return
		}
		n.readyLoop(rctx)
	}()
	n.log.Info("node_started", slog.String("nats", fab.clientURL()), slog.String("route", fab.routeURL()),
		slog.String("gossip", m.Addr()))
	return nil
}

// bringUp starts the embedded server once gossip shows at least one other member, with routes to
// every member it knows then, and connects to it. Waiting matters: routes are configured once
// (nats-server's ReloadOptions races with its own route and direct-get goroutines), and a
// clustered JetStream server can do nothing alone anyway. Members that join later dial us.
func (n *Node) bringUp(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for len(n.peerRoutes()) == 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	if err := n.fab.start(n.peerRoutes()); err != nil {
		return err
	}
	nc, err := nats.Connect("", nats.InProcessServer(n.fab.server()), nats.Name(n.cfg.NodeID+"/region"),
		nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to embedded server: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("jetstream: %w", err)
	}
	n.nc, n.js = nc, js
	n.streams = &streamSet{js: js, replicas: n.cfg.Replicas, duplicateWindow: n.cfg.DuplicateWindow}
	n.log.Info("fabric_started", slog.Any("peer_routes", n.fab.routes))
	return nil
}

func (n *Node) meshConfig() (mesh.Config, error) {
	var c mesh.Config
	switch n.cfg.Profile {
	case mesh.ProfileLocal:
		c = mesh.LocalConfig()
	case mesh.ProfileWAN:
		c = mesh.DefaultWANConfig()
	default:
		c = mesh.DefaultLANConfig()
	}
	host, port, err := splitHostPort(n.cfg.GossipAddr)
	if err != nil {
		return c, fmt.Errorf("gossip address: %w", err)
	}
	c.NodeName = n.cfg.NodeID
	c.BindAddr, c.BindPort = host, port
	if n.cfg.GossipAdvertise != "" {
		ah, ap, err := splitHostPort(n.cfg.GossipAdvertise)
		if err != nil {
			return c, fmt.Errorf("gossip advertise address: %w", err)
		}
		c.AdvertiseAddr, c.AdvertisePort = ah, ap
	}
	c.Seeds = n.cfg.Seeds
	c.Keys = n.cfg.GossipKeys
	if n.cfg.RegionDownGrace > 0 {
		c.RegionDownGrace = n.cfg.RegionDownGrace
	}
	c.Logger = n.log
	c.Meta = mesh.Meta{
		NodeID:        n.cfg.NodeID,
		Region:        n.cfg.Region,
		Roles:         n.cfg.Roles,
		NATSClientURL: n.fab.clientURL(),
		NATSRouteURL:  n.fab.routeURL(),
		Version:       Version,
	}
	if n.cfg.TuneMesh != nil {
		if err := n.cfg.TuneMesh(&c); err != nil {
			return c, fmt.Errorf("tune gossip config: %w", err)
		}
	}
	return c, nil
}

// routeLoop turns membership events into a signal for the matcher host.
func (n *Node) routeLoop(ctx context.Context, events <-chan mesh.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			select {
			case n.memberCh <- struct{}{}:
			default:
			}
		}
	}
}

// peerRoutes are the route URLs of every other alive member, as this node dials them.
func (n *Node) peerRoutes() []string {
	var urls []string
	for _, peer := range n.mesh.Members() {
		if peer.Meta.NodeID == n.cfg.NodeID || peer.Meta.NATSRouteURL == "" {
			continue
		}
		u := peer.Meta.NATSRouteURL
		if n.cfg.RouteURL != nil {
			u = n.cfg.RouteURL(peer)
		}
		urls = append(urls, u)
	}
	return urls
}

// readyLoop waits for a meta leader and for the shared buckets, and marks the node ready. Only
// the node whose server is the meta leader creates missing buckets: concurrent creates of one
// R3 stream from several servers can leave a requester without a reply until its timeout.
func (n *Node) readyLoop(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		leader := n.fab.metaLeader()
		if leader != "" {
			missing, err := n.streams.missingShared(ctx)
			switch {
			case err != nil:
				n.log.Debug("check_shared_buckets_failed", slog.Any("err", err))
			case len(missing) == 0:
				if err := n.startServices(ctx); err != nil {
					n.log.Warn("start_services_failed", slog.Any("err", err))
					break
				}
				n.ready.Store(true)
				close(n.readyCh)
				n.log.Info("node_ready", slog.String("meta_leader", leader))
				return
			case leader == n.cfg.NodeID:
				if err := n.streams.ensureShared(ctx); err != nil && ctx.Err() == nil {
					n.log.Warn("create_shared_buckets_failed", slog.Any("err", err))
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// startServices opens the ownership store and starts the ownership watch, the matcher host and
// the controller, as the node's roles say. They run until the node closes.
func (n *Node) startServices(ctx context.Context) error {
	owners, err := newOwnership(ctx, n.js, time.Now)
	if err != nil {
		return err
	}
	owners.log, owners.metrics = n.log, n.metrics
	sub, err := client.NewSubmitter(n.nc, client.SubmitterConfig{AppendTimeout: n.cfg.SubmitTimeout, Quorum: n.HasQuorum})
	if err != nil {
		return err
	}
	var ctrl *controller
	if n.cfg.hasRole(RoleController) {
		if ctrl, err = newController(ctx, n); err != nil {
			return err
		}
	}
	n.owners, n.submitter, n.ctrl = owners, sub, ctrl
	if err := n.startStatus(ctx); err != nil {
		return err
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.cache.watch(ctx, owners.kv, func(err error) { n.log.Debug("ownership_watch", slog.Any("err", err)) })
	}()
	if n.cfg.hasRole(RoleMatcher) {
		n.host = newHost(n, n.cache)
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.host.loop(ctx, n.memberCh)
		}()
	}
	if ctrl != nil {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			ctrl.loop(ctx)
		}()
	}
	return nil
}

// HasQuorum reports whether this node's gossip view sees a majority of the known regions up:
// on the minority side of a partition nothing can be appended, so requests fail fast.
func (n *Node) HasQuorum() bool {
	regions := n.mesh.Regions()
	up := 0
	for _, r := range regions {
		if r.State == mesh.RegionUp {
			up++
		}
	}
	return 2*up > len(regions)
}

// regionOfServer maps a nats-server name (= node id) to its region through gossip ("" unknown).
func (n *Node) regionOfServer(name string) string {
	if name == n.cfg.NodeID {
		return n.cfg.Region
	}
	if node, _, ok := n.mesh.Node(name); ok {
		return node.Meta.Region
	}
	return ""
}

// cordoned reports whether region r is cordoned (no new homes). Cordons live in CONTROL under
// "region.<r>".
func (n *Node) cordoned(ctx context.Context, r string) bool {
	kv, err := n.js.KeyValue(ctx, client.BucketControl)
	if err != nil {
		return false
	}
	e, err := kv.Get(ctx, "region."+r)
	if err != nil {
		return false
	}
	rec, err := proto.DecodeRegionRecord(e.Value())
	return err == nil && rec.Cordoned
}

// appendCommand appends a system command (phase changes, failover cancels) and waits for the
// append only; its request id makes repeats idempotent.
func (n *Node) appendCommand(ctx context.Context, cmd *proto.Command) error {
	_, err := n.submitter.Submit(ctx, cmd, client.WaitAck)
	return err
}

// Submitter is the node's command submitter (nil before the node is ready).
func (n *Node) Submitter() *client.Submitter { return n.submitter }

// Owners is the ownership store (nil before the node is ready).
func (n *Node) Owners() *Ownership { return n.owners }

// Owner returns the node's cached ownership record of symbol (nil when unknown).
func (n *Node) Owner(symbol string) *proto.OwnershipRecord { return n.cache.get(symbol) }

// Matching returns the symbols whose matcher runs on this node, with the epoch it runs at.
func (n *Node) Matching() map[string]uint64 {
	if n.host == nil {
		return nil
	}
	return n.host.running()
}

// ControllerActive reports whether this node is the active controller.
func (n *Node) ControllerActive() bool { return n.ctrl != nil && n.ctrl.active() }

// AwaitReady blocks until the node is ready (meta leader known, shared buckets exist) or ctx ends.
func (n *Node) AwaitReady(ctx context.Context) error {
	select {
	case <-n.readyCh:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("node %s: %w", n.cfg.NodeID, ErrNotReady)
	}
}

// Ready reports whether the node has been ready once. JetStreamReady reports the current state.
func (n *Node) Ready() bool { return n.ready.Load() }

// JetStreamReady reports whether a JetStream meta leader is known right now. A node on the
// minority side of a partition loses it.
func (n *Node) JetStreamReady() bool { return n.fab != nil && n.fab.metaLeader() != "" }

// Conn, JetStream, Submitter and Owners are valid once the node is ready (AwaitReady).

// EnsureSymbol creates the command and event streams of symbol, idempotently.
func (n *Node) EnsureSymbol(ctx context.Context, symbol string) error {
	if !n.Ready() {
		return ErrNotReady
	}
	return n.streams.ensureSymbol(ctx, symbol)
}

// ID is the node id (also the nats-server name).
func (n *Node) ID() string { return n.cfg.NodeID }

// RegionName is the node's region.
func (n *Node) RegionName() string { return n.cfg.Region }

// Mesh is the node's gossip membership.
func (n *Node) Mesh() *mesh.Mesh { return n.mesh }

// Conn is the node's in-process connection to its embedded server.
func (n *Node) Conn() *nats.Conn { return n.nc }

// JetStream is the JetStream context on Conn.
func (n *Node) JetStream() jetstream.JetStream { return n.js }

// ClientURL is the embedded server's client URL (for processes that connect over TCP).
func (n *Node) ClientURL() string { return n.fab.clientURL() }

// RouteURL is the route URL the node announces.
func (n *Node) RouteURL() string { return n.fab.routeURL() }

// GossipAddr is the gossip address the node is bound to.
func (n *Node) GossipAddr() string { return n.mesh.Addr() }

// MetaPeers reports, as this node's server sees it, every JetStream meta peer by server name and
// whether it is offline.
func (n *Node) MetaPeers() map[string]bool { return n.fab.metaPeers() }

// Close leaves the mesh and shuts the node down gracefully (stream leaders step down first).
// Idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.releaseLeaders(leaderReleaseTimeout)
		if n.mesh != nil {
			if err := n.mesh.Leave(time.Second); err != nil {
				n.log.Debug("gossip_leave_failed", slog.Any("err", err))
			}
		}
		n.closeErr = n.shutdown()
	})
	return n.closeErr
}

// leaderReleaseTimeout bounds how long a closing node waits for its stream leaders to move.
const leaderReleaseTimeout = 3 * time.Second

// releaseLeaders asks JetStream to move every stream (and KV bucket) leader this node's server
// holds to another peer, and waits (at most timeout) until it holds none. A graceful stop, as
// in a rolling restart, then costs the streams a handover instead of an election after the
// leader vanished (measured in the chaos suite: up to 32 s of stalled trading).
func (n *Node) releaseLeaders(timeout time.Duration) {
	if n.js == nil || n.nc == nil || !n.Ready() || n.mesh == nil || !n.HasQuorum() {
		return // alone or on a minority side: nobody to hand over to
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	led := func() []string {
		var out []string
		lister := n.js.ListStreams(ctx)
		for info := range lister.Info() {
			if info.Cluster != nil && info.Cluster.Leader == n.cfg.NodeID && info.Config.Replicas > 1 {
				out = append(out, info.Config.Name)
			}
		}
		return out
	}
	streams := led()
	if len(streams) == 0 {
		return
	}
	n.log.Info("releasing_stream_leaders", slog.Int("streams", len(streams)))
	for _, s := range streams {
		if _, err := n.nc.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+s, nil); err != nil {
			n.log.Debug("leader_release_failed", slog.String("stream", s), slog.Any("err", err))
		}
	}
	for ctx.Err() == nil {
		left := led()
		if len(left) == 0 {
			return
		}
		if !sleepCtx(ctx, 100*time.Millisecond) {
			n.log.Warn("stream_leaders_not_released", slog.Int("streams", len(left)))
		}
	}
}

// Kill stops the node abruptly: no gossip leave, no graceful step-down is waited for. Tests use it
// to simulate a crashed region.
func (n *Node) Kill() {
	n.closeOnce.Do(func() { n.closeErr = n.shutdown() })
}

func (n *Node) shutdown() error {
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	var errs []error
	if n.submitter != nil {
		_ = n.submitter.Close()
	}
	if n.nc != nil {
		n.nc.Close()
	}
	if n.mesh != nil {
		errs = append(errs, n.mesh.Close())
	}
	if n.fab != nil {
		n.fab.shutdown()
	}
	n.log.Info("node_stopped")
	return errors.Join(errs...)
}
