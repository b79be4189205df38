package mesh

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Mesh is this node's membership in the gossip mesh. Create it with New, then Start it;
// Close it when done.
type Mesh struct {
	cfg  Config
	name string
	log  *slog.Logger

	metaBytes atomic.Pointer[[]byte] // encoded local Meta, read by memberlist via delegate

	// mu guards view. Lock order: mu, then hub.mu. mu is never held while calling memberlist
	// (memberlist calls the event delegate with its own lock held).
	mu   sync.Mutex
	view *view
	hub  hub

	// life guards the lifecycle fields below; never taken by delegates.
	life    sync.Mutex
	ml      *memberlist.Memberlist
	started bool
	closed  bool
	left    atomic.Bool

	stop chan struct{} // closed by Close
	wake chan struct{} // pokes the region timer loop
	wg   sync.WaitGroup
}

// New validates cfg and returns a Mesh that is not started yet.
func New(cfg Config) (*Mesh, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Seeds = append([]string(nil), cfg.Seeds...)
	cfg.Meta = cfg.Meta.clone()
	b, err := EncodeMeta(cfg.Meta)
	if err != nil {
		return nil, fmt.Errorf("new mesh: %w", err)
	}
	m := &Mesh{
		cfg:  cfg,
		name: cfg.nodeName(),
		log:  cfg.Logger,
		stop: make(chan struct{}),
		wake: make(chan struct{}, 1),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.metaBytes.Store(&b)
	m.view = newView(Node{Name: m.name, Meta: cfg.Meta}, cfg.RegionDownGrace, time.Now())
	return m, nil
}

// Start creates the memberlist (listening on the gossip port) and joins Config.Seeds. When
// Seeds is not empty and none of them answers after a short retry (bounded by ctx), Start
// closes the Mesh and returns an error wrapping ErrNoSeedReachable.
func (m *Mesh) Start(ctx context.Context) error {
	if err := m.create(); err != nil {
		return err
	}
	m.wg.Add(2)
	go m.regionLoop()
	go m.rejoinLoop()
	if len(m.cfg.Seeds) == 0 {
		return nil
	}
	if err := m.joinSeeds(ctx); err != nil {
		_ = m.Close()
		return err
	}
	return nil
}

func (m *Mesh) create() error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.closed {
		return fmt.Errorf("start mesh: %w", ErrClosed)
	}
	if m.started {
		return fmt.Errorf("start mesh: %w", ErrAlreadyStarted)
	}
	mc := m.cfg.memberlistConfig()
	mc.Name = m.name
	mc.BindAddr = m.cfg.BindAddr
	mc.BindPort = m.cfg.BindPort
	mc.AdvertiseAddr = m.cfg.AdvertiseAddr
	mc.Logger = stdLogger(m.log)
	mc.Delegate = delegate{m}
	mc.Events = eventDelegate{m}
	mc.Conflict = conflictDelegate{m}

	transport := m.cfg.Transport
	if transport == nil {
		nt, err := newNetTransport(m.cfg.BindAddr, m.cfg.BindPort, mc.Logger)
		if err != nil {
			return fmt.Errorf("start mesh: %w", err)
		}
		transport = nt
	}
	mc.Transport = transport
	if p, ok := transport.(interface{ GetAutoBindPort() int }); ok && p.GetAutoBindPort() != 0 {
		mc.BindPort = p.GetAutoBindPort()
	}
	mc.AdvertisePort = m.cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = mc.BindPort
	}
	if len(m.cfg.Keys) > 0 {
		kr, err := memberlist.NewKeyring(m.cfg.Keys, m.cfg.Keys[0])
		if err != nil {
			_ = transport.Shutdown()
			return fmt.Errorf("start mesh: keyring: %w", err)
		}
		mc.Keyring = kr
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = transport.Shutdown()
		return fmt.Errorf("start mesh: %w", err)
	}
	m.ml = ml
	m.started = true
	return nil
}

func (m *Mesh) joinSeeds(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	const attempts = 5
	var err error
	for i := range attempts {
		var n int
		n, err = m.Join(m.cfg.Seeds...)
		if n > 0 {
			return nil
		}
		if i == attempts-1 {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("join seeds %v: %w: %w", m.cfg.Seeds, ErrNoSeedReachable, ctx.Err())
		case <-m.stop:
			t.Stop()
			return fmt.Errorf("join seeds %v: %w", m.cfg.Seeds, ErrClosed)
		case <-t.C:
		}
		backoff *= 2
	}
	return fmt.Errorf("join seeds %v: %w: %w", m.cfg.Seeds, ErrNoSeedReachable, err)
}

func (m *Mesh) memberlist() (*memberlist.Memberlist, error) {
	m.life.Lock()
	defer m.life.Unlock()
	switch {
	case m.closed:
		return nil, ErrClosed
	case !m.started:
		return nil, ErrNotStarted
	}
	return m.ml, nil
}

// Join contacts the given "host:port" gossip addresses and merges state with them; it
// returns how many answered. Use it to add seeds after Start.
func (m *Mesh) Join(seeds ...string) (int, error) {
	ml, err := m.memberlist()
	if err != nil {
		return 0, fmt.Errorf("join %v: %w", seeds, err)
	}
	n, err := ml.Join(seeds)
	if err != nil {
		return n, fmt.Errorf("join %v: %w", seeds, err)
	}
	return n, nil
}

// Addr returns the gossip "ip:port" other nodes reach this node on, or "" before Start.
func (m *Mesh) Addr() string {
	m.life.Lock()
	defer m.life.Unlock()
	if m.ml == nil {
		return ""
	}
	return m.ml.LocalNode().Address()
}

// Name returns the local node's memberlist name.
func (m *Mesh) Name() string { return m.name }

// Local returns the local node as the mesh sees it.
func (m *Mesh) Local() Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, _ := m.view.node(m.name)
	return n
}

// Members returns the alive nodes, the local one included, sorted by Name.
func (m *Mesh) Members() []Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view.members()
}

// Node returns the named node and whether it is alive; ok is false for a node never seen.
func (m *Mesh) Node(name string) (n Node, alive, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, known := m.view.nodes[name]; !known {
		return Node{}, false, false
	}
	n, alive = m.view.node(name)
	return n, alive, true
}

// Regions returns the health of every region ever seen, sorted by Region; regions whose
// nodes all died are included.
func (m *Mesh) Regions() []RegionHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view.regionsHealth()
}

// Region returns the health of one region; State is RegionUnknown for a region never seen.
func (m *Mesh) Region(name string) RegionHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view.region(name)
}

// UpdateMeta replaces the local node's metadata and gossips it (memberlist UpdateNode). The
// node name does not change. Before Start it only replaces what Start will advertise.
func (m *Mesh) UpdateMeta(meta Meta) error {
	if err := meta.Validate(); err != nil {
		return fmt.Errorf("update meta: %w", err)
	}
	b, err := EncodeMeta(meta)
	if err != nil {
		return fmt.Errorf("update meta: %w", err)
	}
	m.life.Lock()
	m.metaBytes.Store(&b)
	ml, started, closed := m.ml, m.started, m.closed
	m.life.Unlock()
	switch {
	case closed:
		return fmt.Errorf("update meta: %w", ErrClosed)
	case !started:
		self := Node{Name: m.name, Meta: meta}
		m.apply(func(v *view, now time.Time) []Event {
			if cur, ok := v.node(m.name); ok {
				self.Addr = cur.Addr
			}
			return v.update(self, now)
		})
		return nil
	}
	// The local view is updated synchronously through NotifyUpdate; the wait is only for
	// the broadcast to leave, and gossip retries after a timeout anyway.
	if err := ml.UpdateNode(m.updateTimeout()); err != nil {
		return fmt.Errorf("update meta: %w", err)
	}
	return nil
}

func (m *Mesh) updateTimeout() time.Duration {
	switch m.cfg.Profile {
	case ProfileLocal:
		return time.Second
	case ProfileWAN:
		return 15 * time.Second
	default:
		return 5 * time.Second
	}
}

// Subscribe returns a channel of membership events with the given buffer (at least 1) and a
// cancel function that closes it. Delivery never blocks gossip: when a subscriber's buffer
// is full the event is dropped for that subscriber and counted (DroppedEvents), so size the
// buffer for bursts and re-read Members/Regions after a drop. Close closes every channel.
func (m *Mesh) Subscribe(buffer int) (<-chan Event, func()) {
	return m.hub.subscribe(buffer)
}

// DroppedEvents returns how many events were dropped because a subscriber was full.
func (m *Mesh) DroppedEvents() uint64 { return m.hub.dropped.Load() }

// Leave tells the mesh this node is leaving and waits up to timeout for the message to go
// out; the node keeps answering gossip until Close. Other nodes see EventNodeLeave.
func (m *Mesh) Leave(timeout time.Duration) error {
	m.life.Lock()
	defer m.life.Unlock()
	switch {
	case m.closed:
		return fmt.Errorf("leave: %w", ErrClosed)
	case !m.started:
		return fmt.Errorf("leave: %w", ErrNotStarted)
	}
	m.left.Store(true)
	if err := m.ml.Leave(timeout); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}

// Close stops gossip without a Leave (others detect the node as dead), waits for every
// goroutine the Mesh started, shuts the transport down and closes subscriber channels. It
// is idempotent.
func (m *Mesh) Close() error {
	m.life.Lock()
	if m.closed {
		m.life.Unlock()
		return nil
	}
	m.closed = true
	ml, started := m.ml, m.started
	m.life.Unlock()

	close(m.stop)
	m.wg.Wait()
	var err error
	if started {
		if serr := ml.Shutdown(); serr != nil {
			err = fmt.Errorf("close mesh: %w", serr)
		}
	} else if m.cfg.Transport != nil {
		if serr := m.cfg.Transport.Shutdown(); serr != nil {
			err = fmt.Errorf("close mesh: %w", serr)
		}
	}
	m.hub.close()
	return err
}

// apply runs a view change and publishes its events, then pokes the region timer.
func (m *Mesh) apply(change func(v *view, now time.Time) []Event) {
	m.mu.Lock()
	evs := change(m.view, time.Now())
	m.hub.publish(evs)
	m.mu.Unlock()
	m.logRegionChanges(evs)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Mesh) logRegionChanges(evs []Event) {
	for _, ev := range evs {
		if ev.Kind == EventRegionState {
			m.log.Info("region state", slog.String("region", ev.Region), slog.String("state", ev.State.String()))
		}
	}
}
