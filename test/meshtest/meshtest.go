// Package meshtest is the in-process multi-region harness: N regions on random loopback ports
// with temporary directories, a TCP proxy on every route link and a filter on every gossip
// transport, so tests can Kill, Restart, Partition, Heal and Slow regions. Everything is torn
// down by t.Cleanup. Await* helpers poll until a deadline and fail with what they saw.
package meshtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/hashicorp/memberlist"
)

// DefaultRegions are the three regions of the demo and most tests.
var DefaultRegions = []string{"us-east", "eu-west", "ap-south"}

// Options configure a harness.
type Options struct {
	// Regions to start, one node each. Default DefaultRegions.
	Regions []string
	// Tune adjusts each node's configuration before it starts.
	Tune func(*region.Config)
	// Timeout bounds every Await. Default 30 s.
	Timeout time.Duration
	// NoStart creates the harness without starting any region (use Start or AddRegion).
	NoStart bool
	// Symbols configured on every node (the controller places them).
	Symbols []region.SymbolConfig
}

// Mesh is a running harness.
type Mesh struct {
	t    testing.TB
	opts Options
	dir  string
	log  *slog.Logger

	blackhole net.Listener // advertised route address: implicit route dials fail at once

	mu      sync.Mutex
	members map[string]*Member // by region
	order   []string           // regions in start order
	links   map[[2]string]*link
	side    map[string]int // partition side per region; equal sides talk
	down    map[string]bool
	slow    map[string]time.Duration
}

// Member is one region's node and the fixed addresses it keeps across restarts.
type Member struct {
	Region      string
	NodeID      string
	Dir         string
	GossipPort  int
	NATSPort    int
	ClusterPort int

	node      *region.Node
	transport *mesh.FilterTransport
}

// Node is the region's running node (nil while killed).
func (mb *Member) Node() *region.Node { return mb.node }

// New starts a harness; it is closed by t.Cleanup.
func New(t testing.TB, opts Options) *Mesh {
	t.Helper()
	if len(opts.Regions) == 0 {
		opts.Regions = DefaultRegions
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	bh, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("meshtest: blackhole listener: %v", err)
	}
	go func() {
		for {
			c, err := bh.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	m := &Mesh{
		t: t, opts: opts, dir: t.TempDir(), log: testLogger(),
		blackhole: bh,
		members:   map[string]*Member{},
		links:     map[[2]string]*link{},
		side:      map[string]int{},
		down:      map[string]bool{},
		slow:      map[string]time.Duration{},
	}
	t.Cleanup(m.close)
	if !opts.NoStart {
		for _, r := range opts.Regions {
			m.AddRegion(r)
		}
	}
	return m
}

// testLogger logs to stderr when GEOMESH_TEST_LOG is set, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("GEOMESH_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// AddRegion starts a new region with one node, joining through the gossip address of any
// running member (one seed is enough).
func (m *Mesh) AddRegion(name string) *Member {
	m.t.Helper()
	m.mu.Lock()
	if _, ok := m.members[name]; ok {
		m.mu.Unlock()
		m.t.Fatalf("meshtest: region %s exists", name)
	}
	mb := &Member{
		Region:      name,
		NodeID:      name + "-1",
		Dir:         m.dir + "/" + name,
		NATSPort:    freePort(m.t),
		ClusterPort: freePort(m.t),
	}
	m.members[name] = mb
	m.order = append(m.order, name)
	m.mu.Unlock()
	m.start(mb)
	return mb
}

// seeds returns the gossip address of one running member other than self.
func (m *Mesh) seeds(self string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.order {
		mb := m.members[r]
		if r != self && mb.node != nil && !m.down[r] && mb.GossipPort != 0 {
			return []string{"127.0.0.1:" + strconv.Itoa(mb.GossipPort)}
		}
	}
	return nil
}

func (m *Mesh) start(mb *Member) {
	m.t.Helper()
	cfg := region.LocalConfig()
	cfg.NodeID = mb.NodeID
	cfg.Region = mb.Region
	cfg.DataDir = mb.Dir
	cfg.NATSPort = mb.NATSPort
	cfg.ClusterPort = mb.ClusterPort
	cfg.ClusterAdvertise = m.blackhole.Addr().String()
	cfg.Seeds = m.seeds(mb.Region)
	cfg.Logger = m.log
	cfg.RouteURL = func(peer mesh.Node) string {
		return "nats-route://" + m.link(mb.Region, peer.Meta.Region).addr()
	}
	cfg.TuneMesh = func(c *mesh.Config) error {
		nt, err := gossipTransport(mb.GossipPort)
		if err != nil {
			return err
		}
		m.mu.Lock()
		if mb.GossipPort == 0 {
			mb.GossipPort = nt.GetAutoBindPort()
		}
		m.mu.Unlock()
		ft := mesh.NewFilterTransport(nt)
		ft.BlockFunc(func(addr string) bool { return m.gossipBlocked(mb.Region, addr) })
		mb.transport = ft
		c.Transport = ft
		return nil
	}
	cfg.Symbols = m.opts.Symbols
	if m.opts.Tune != nil {
		m.opts.Tune(&cfg)
	}
	m.mu.Lock()
	m.down[mb.Region] = false
	m.mu.Unlock()
	n, err := region.New(cfg)
	if err != nil {
		m.t.Fatalf("meshtest: region %s: %v", mb.Region, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.Timeout)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		m.t.Fatalf("meshtest: start region %s: %v", mb.Region, err)
	}
	m.mu.Lock()
	mb.node = n
	m.mu.Unlock()
}

func gossipTransport(port int) (*memberlist.NetTransport, error) {
	if port == 0 {
		return mesh.NewLocalNetTransport(nil)
	}
	return mesh.NewNetTransport("127.0.0.1", port, nil)
}

// link returns (creating it once) the proxy on the route link from -> to.
func (m *Mesh) link(from, to string) *link {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := [2]string{from, to}
	if l, ok := m.links[key]; ok {
		return l
	}
	l, err := newLink(
		func() string {
			m.mu.Lock()
			defer m.mu.Unlock()
			mb := m.members[to]
			if mb == nil || m.down[to] {
				return ""
			}
			return "127.0.0.1:" + strconv.Itoa(mb.ClusterPort)
		},
		func() (bool, time.Duration) {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.blockedLocked(from, to), m.slow[from] + m.slow[to]
		})
	if err != nil {
		m.t.Fatalf("meshtest: route proxy: %v", err)
	}
	m.links[key] = l
	return l
}

func (m *Mesh) blockedLocked(a, b string) bool {
	return m.down[a] || m.down[b] || m.side[a] != m.side[b]
}

// gossipBlocked reports whether gossip between region self and the node at addr is cut.
func (m *Mesh) gossipBlocked(self, addr string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for r, mb := range m.members {
		if "127.0.0.1:"+strconv.Itoa(mb.GossipPort) == addr {
			return m.blockedLocked(self, r)
		}
	}
	return false
}

// cutLinks closes open route connections of region r (after its state made them blocked).
func (m *Mesh) cutLinks(r string) {
	m.mu.Lock()
	var ls []*link
	for key, l := range m.links {
		if key[0] == r || key[1] == r {
			ls = append(ls, l)
		}
	}
	m.mu.Unlock()
	for _, l := range ls {
		l.cut()
	}
}

// Member returns the region's member.
func (m *Mesh) Member(r string) *Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	mb := m.members[r]
	if mb == nil {
		m.t.Fatalf("meshtest: no region %s", r)
	}
	return mb
}

// Node returns the running node of region r; it fails the test when r is killed.
func (m *Mesh) Node(r string) *region.Node {
	mb := m.Member(r)
	if mb.node == nil {
		m.t.Fatalf("meshtest: region %s is not running", r)
	}
	return mb.node
}

// Regions lists the regions in start order.
func (m *Mesh) Regions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.order...)
}

// Live lists the regions whose node runs, in start order.
func (m *Mesh) Live() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, r := range m.order {
		if !m.down[r] && m.members[r].node != nil {
			out = append(out, r)
		}
	}
	return out
}

// Other returns a live region other than r.
func (m *Mesh) Other(r string) string {
	for _, o := range m.Live() {
		if o != r {
			return o
		}
	}
	m.t.Fatalf("meshtest: no live region other than %s", r)
	return ""
}

// Kill stops region r abruptly: its links are cut first, so nothing it would say while shutting
// down (gossip leave, leader step-down) reaches the others, exactly like a crashed site.
func (m *Mesh) Kill(r string) {
	m.t.Helper()
	mb := m.Member(r)
	m.mu.Lock()
	m.down[r] = true
	n := mb.node
	mb.node = nil
	m.mu.Unlock()
	m.cutLinks(r)
	if n != nil {
		n.Kill()
	}
}

// Restart starts a killed region again with the same node id, data directory and ports.
func (m *Mesh) Restart(r string) {
	m.t.Helper()
	mb := m.Member(r)
	if mb.node != nil {
		m.t.Fatalf("meshtest: region %s is running", r)
	}
	m.start(mb)
}

// Partition cuts the given regions off from the rest: the listed regions still talk to each
// other, nobody else talks to them. Heal undoes every partition.
func (m *Mesh) Partition(regions ...string) {
	m.mu.Lock()
	side := 1
	for _, s := range m.side {
		if s >= side {
			side = s + 1
		}
	}
	for _, r := range regions {
		m.side[r] = side
	}
	m.mu.Unlock()
	for _, r := range regions {
		m.cutLinks(r)
	}
}

// Heal ends every partition.
func (m *Mesh) Heal() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.side = map[string]int{}
}

// Slow adds d of latency to every route-link chunk to or from region r (0 removes it).
func (m *Mesh) Slow(r string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slow[r] = d
}

// Await polls cond every 25 ms until it returns nil, failing the test with cond's last error when
// the harness timeout passes.
func (m *Mesh) Await(what string, cond func() error) {
	m.t.Helper()
	if err := Poll(m.opts.Timeout, cond); err != nil {
		m.t.Fatalf("meshtest: %s: %v", what, err)
	}
}

// Poll calls cond every 25 ms until it returns nil or timeout passes; it returns cond's last error.
func Poll(timeout time.Duration, cond func() error) error {
	start := time.Now()
	deadline := start.Add(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if os.Getenv("GEOMESH_POLL_LOG") != "" && err.Error() != last {
			last = err.Error()
			fmt.Fprintf(os.Stderr, "poll %v: %v\n", time.Since(start), err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not after %v: %w", timeout, err)
		}
		<-tick.C
	}
}

// AwaitConverged waits until every live node is ready, sees every live region up in gossip and
// every killed or partitioned-away region not up, and its JetStream meta group has every live
// node of its side online.
func (m *Mesh) AwaitConverged() {
	m.t.Helper()
	m.Await("converge", func() error {
		for _, r := range m.Live() {
			n := m.Node(r)
			if !n.Ready() {
				return fmt.Errorf("%s not ready", r)
			}
			for _, o := range m.Regions() {
				want := m.reachable(r, o)
				got := n.Mesh().Region(o).State
				if want && got != mesh.RegionUp {
					return fmt.Errorf("%s sees %s %v, want up", r, o, got)
				}
				if !want && got == mesh.RegionUp {
					return fmt.Errorf("%s sees %s up, want not up", r, o)
				}
			}
			peers := n.MetaPeers()
			for _, o := range m.Live() {
				if !m.reachable(r, o) {
					continue
				}
				offline, ok := peers[m.Member(o).NodeID]
				if !ok || offline {
					return fmt.Errorf("%s: jetstream meta peer %s missing or offline (peers %v)", r, o, peers)
				}
			}
		}
		return nil
	})
}

func (m *Mesh) reachable(a, b string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.blockedLocked(a, b) || a == b
}

// AwaitRegionState waits until observer's gossip view reports region target in state.
func (m *Mesh) AwaitRegionState(observer, target string, state mesh.RegionState) {
	m.t.Helper()
	m.Await(fmt.Sprintf("%s sees %s %v", observer, target, state), func() error {
		if got := m.Node(observer).Mesh().Region(target).State; got != state {
			return fmt.Errorf("state %v", got)
		}
		return nil
	})
}

func (m *Mesh) close() {
	m.mu.Lock()
	var nodes []*region.Node
	for _, r := range m.order {
		if n := m.members[r].node; n != nil {
			nodes = append(nodes, n)
		}
	}
	links := make([]*link, 0, len(m.links))
	for _, l := range m.links {
		links = append(links, l)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); _ = n.Close() }()
	}
	wg.Wait()
	for _, l := range links {
		l.close()
	}
	m.blackhole.Close()
}

// freePort returns a TCP port that was free a moment ago on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("meshtest: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Owner returns symbol's ownership record as the first live node sees it (nil when none).
func (m *Mesh) Owner(symbol string) *proto.OwnershipRecord {
	for _, r := range m.Live() {
		if mb := m.Member(r); mb.node != nil && mb.node.Ready() {
			return mb.node.Owner(symbol)
		}
	}
	return nil
}

// Home returns symbol's home region ("" when unknown).
func (m *Mesh) Home(symbol string) string { return m.Owner(symbol).GetHomeRegion() }

// AwaitOwner waits until every live node's record of symbol satisfies cond, and the matcher
// runs on a node of the home region at that record's epoch; it returns the record.
func (m *Mesh) AwaitOwner(symbol string, cond func(*proto.OwnershipRecord) error) *proto.OwnershipRecord {
	m.t.Helper()
	var rec *proto.OwnershipRecord
	m.Await("owner of "+symbol, func() error {
		rec = nil
		for _, r := range m.Live() {
			if m.partitioned(r) {
				continue // a minority side's view is stale by design
			}
			got := m.Node(r).Owner(symbol)
			if got == nil {
				return fmt.Errorf("%s has no record of %s", r, symbol)
			}
			if err := cond(got); err != nil {
				return fmt.Errorf("%s: %v (record %v)", r, err, got)
			}
			if rec != nil && rec.Epoch != got.Epoch {
				return fmt.Errorf("epochs differ: %d and %d", rec.Epoch, got.Epoch)
			}
			rec = got
		}
		if rec == nil {
			return fmt.Errorf("no live region")
		}
		if m.isDown(rec.HomeRegion) {
			return fmt.Errorf("home %s is down", rec.HomeRegion)
		}
		if _, ok := m.Node(rec.HomeRegion).Matching()[symbol]; !ok {
			return fmt.Errorf("no matcher for %s in %s yet", symbol, rec.HomeRegion)
		}
		return nil
	})
	return rec
}

// Not is an AwaitOwner condition: the home is not region.
func Not(region string) func(*proto.OwnershipRecord) error {
	return func(r *proto.OwnershipRecord) error {
		if r.HomeRegion == region {
			return fmt.Errorf("home is still %s", region)
		}
		return nil
	}
}

// HomeIs is an AwaitOwner condition: the home is region.
func HomeIs(region string) func(*proto.OwnershipRecord) error {
	return func(r *proto.OwnershipRecord) error {
		if r.HomeRegion != region {
			return fmt.Errorf("home is %s", r.HomeRegion)
		}
		return nil
	}
}

// PhaseIs is an AwaitOwner condition on the record's phase.
func PhaseIs(p proto.Phase) func(*proto.OwnershipRecord) error {
	return func(r *proto.OwnershipRecord) error {
		if r.Phase != p {
			return fmt.Errorf("phase %v", r.Phase)
		}
		return nil
	}
}

func (m *Mesh) isDown(r string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.down[r]
}

// partitioned reports whether r is on a side of a partition other than the main one.
func (m *Mesh) partitioned(r string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.side[r] != 0
}
