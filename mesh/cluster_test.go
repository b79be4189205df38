package mesh

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var threeRegions = []string{"us-east", "eu-west", "ap-south"}

// startThree starts nodes a, b, c in us-east, eu-west, ap-south; b and c join via a only.
func startThree(t *testing.T, mutate func(*Config)) []*testNode {
	t.Helper()
	a := startNode(t, "a", "us-east", mutate)
	b := startNode(t, "b", "eu-west", mutate, a.Addr())
	c := startNode(t, "c", "ap-south", mutate, a.Addr())
	nodes := []*testNode{a, b, c}
	awaitMembers(t, nodes, "a", "b", "c")
	return nodes
}

func TestClusterFormsAndGrows(t *testing.T) {
	nodes := startThree(t, nil)
	for _, r := range threeRegions {
		awaitRegion(t, 2*time.Second, nodes, r, RegionUp)
	}
	events, cancel := nodes[1].Subscribe(64)
	defer cancel()

	d := startNode(t, "d", "sa-east", nil, nodes[2].Addr())
	all := append(nodes, d)
	awaitMembers(t, all, "a", "b", "c", "d")
	awaitRegion(t, 2*time.Second, all, "sa-east", RegionUp)
	for _, n := range all {
		got, alive, ok := n.Node("d")
		if !ok || !alive || !got.Meta.equal(d.Local().Meta) || got.Addr != d.Addr() {
			t.Fatalf("%s sees d as %+v alive=%v known=%v, want %+v at %s", n.Name(), got, alive, ok, d.Local().Meta, d.Addr())
		}
		if regs := n.Regions(); len(regs) != 4 || regs[0].Region != "ap-south" || regs[3].Region != "us-east" {
			t.Fatalf("%s Regions() = %+v, want 4 sorted", n.Name(), regs)
		}
	}
	recvUntil(t, events, 2*time.Second, "join of d", func(ev Event) bool {
		return ev.Kind == EventNodeJoin && ev.Node.Name == "d" && ev.Node.Meta.Region == "sa-east"
	})
	recvUntil(t, events, 2*time.Second, "sa-east up", func(ev Event) bool {
		return ev.Kind == EventRegionState && ev.Region == "sa-east" && ev.State == RegionUp
	})

	// UpdateMeta propagates to every node and raises EventNodeUpdate.
	meta := d.Local().Meta
	meta.AdminURL = "http://127.0.0.1:9999"
	meta.Roles = append(meta.Roles, "controller")
	if err := d.UpdateMeta(meta); err != nil {
		t.Fatalf("UpdateMeta: %v", err)
	}
	await(t, 3*time.Second, "meta update", func() error {
		for _, n := range all {
			got, _, _ := n.Node("d")
			if !got.Meta.equal(meta) {
				return fmt.Errorf("%s sees d meta %+v", n.Name(), got.Meta)
			}
		}
		return nil
	})
	recvUntil(t, events, 2*time.Second, "update of d", func(ev Event) bool {
		return ev.Kind == EventNodeUpdate && ev.Node.Name == "d" && ev.Node.Meta.HasRole("controller")
	})
	bad := meta
	bad.Region = "Bad Region"
	if err := d.UpdateMeta(bad); !errors.Is(err, ErrBadMeta) {
		t.Fatalf("UpdateMeta(bad region) = %v, want ErrBadMeta", err)
	}

	// A graceful leave is seen quickly, as a leave.
	if err := d.Leave(time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	awaitMembers(t, nodes, "a", "b", "c")
	recvUntil(t, events, 2*time.Second, "leave of d", func(ev Event) bool {
		return ev.Kind == EventNodeLeave && ev.Node.Name == "d"
	})
}

func TestKilledNodeRegionGoesSuspectThenDown(t *testing.T) {
	nodes := startThree(t, nil)
	victim, others := nodes[2], nodes[:2]
	subs := make([]<-chan Event, len(others))
	for i, n := range others {
		ch, cancel := n.Subscribe(64)
		defer cancel()
		subs[i] = ch
	}
	killed := time.Now()
	if err := victim.Close(); err != nil { // memberlist Shutdown without Leave
		t.Fatalf("close victim: %v", err)
	}
	var leaveMax, downMax time.Duration
	for i, ch := range subs {
		name := others[i].Name()
		leave := recvUntil(t, ch, 5*time.Second, name+" leave of c", func(ev Event) bool {
			return ev.Kind == EventNodeLeave && ev.Node.Name == "c"
		})
		suspect := recvUntil(t, ch, time.Second, name+" ap-south suspect", func(ev Event) bool {
			return ev.Kind == EventRegionState && ev.Region == "ap-south"
		})
		if suspect.State != RegionSuspect {
			t.Fatalf("%s: ap-south went %s first, want suspect", name, suspect.State)
		}
		down := recvUntil(t, ch, 3*time.Second, name+" ap-south down", func(ev Event) bool {
			return ev.Kind == EventRegionState && ev.Region == "ap-south"
		})
		if down.State != RegionDown {
			t.Fatalf("%s: ap-south went %s after suspect, want down", name, down.State)
		}
		if g := down.Time.Sub(suspect.Time); g < LocalConfig().RegionDownGrace {
			t.Errorf("%s: down %v after suspect, want at least the grace %v", name, g, LocalConfig().RegionDownGrace)
		}
		leaveMax = max(leaveMax, leave.Time.Sub(killed))
		downMax = max(downMax, down.Time.Sub(killed))
	}
	t.Logf("Local profile, 3 nodes: kill -> all others see EventNodeLeave in %v; kill -> all others report region down in %v (grace %v)",
		leaveMax.Round(time.Millisecond), downMax.Round(time.Millisecond), LocalConfig().RegionDownGrace)
	for _, n := range others {
		h := n.Region("ap-south")
		if h.State != RegionDown || h.Alive != 0 || h.Known != 1 {
			t.Fatalf("%s: ap-south = %+v, want down, alive 0, known 1", n.Name(), h)
		}
	}
	awaitMembers(t, others, "a", "b")
}

func TestPartitionAndHeal(t *testing.T) {
	nodes := startThree(t, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	// Isolate c (ap-south): both sides block the other, as a real partition would.
	for _, n := range []*testNode{a, b} {
		n.ft.Block(c.Addr())
		c.ft.Block(n.Addr())
	}
	awaitRegion(t, 5*time.Second, []*testNode{a, b}, "ap-south", RegionDown)
	awaitRegion(t, 5*time.Second, []*testNode{c}, "us-east", RegionDown)
	awaitRegion(t, 5*time.Second, []*testNode{c}, "eu-west", RegionDown)
	if h := c.Region("ap-south"); h.State != RegionUp {
		t.Fatalf("c sees its own region %s, want up", h.State)
	}
	if _, out := c.ft.Dropped(); out == 0 {
		t.Fatal("c's filter dropped nothing outbound")
	}

	healed := time.Now()
	for _, n := range []*testNode{a, b} {
		n.ft.Unblock(c.Addr())
		c.ft.Unblock(n.Addr())
	}
	for _, r := range threeRegions {
		awaitRegion(t, 5*time.Second, nodes, r, RegionUp)
	}
	awaitMembers(t, nodes, "a", "b", "c")
	t.Logf("partition healed by periodic rejoin in %v", time.Since(healed).Round(time.Millisecond))
}

func TestEncryption(t *testing.T) {
	key := []byte("0123456789abcdef")
	wrong := []byte("fedcba9876543210")
	withKeys := func(keys ...[]byte) func(*Config) {
		return func(c *Config) { c.Keys = keys }
	}
	a := startNode(t, "a", "us-east", withKeys(key))
	for _, tc := range []struct {
		name string
		keys [][]byte
	}{
		{"wrong key", [][]byte{wrong}},
		{"no key", nil},
	} {
		_, err := tryStartNode(t, "x", "eu-west", withKeys(tc.keys...), a.Addr())
		if !errors.Is(err, ErrNoSeedReachable) {
			t.Fatalf("%s: start = %v, want ErrNoSeedReachable", tc.name, err)
		}
	}
	if got := len(a.Members()); got != 1 {
		t.Fatalf("a has %d members after refused joins, want 1", got)
	}
	// Key rotation: b uses a new primary but still knows the old key, so it can read a's
	// gossip; a, which only knows the old key, cannot read b's. Hence the right key first.
	b := startNode(t, "b", "eu-west", withKeys(key, wrong), a.Addr())
	awaitMembers(t, []*testNode{a, b}, "a", "b")
}

func TestLifecycle(t *testing.T) {
	cfg := LocalConfig()
	cfg.Meta = Meta{NodeID: "solo", Region: "us-east"}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Join("127.0.0.1:1"); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Join before Start = %v, want ErrNotStarted", err)
	}
	if m.Addr() != "" {
		t.Fatalf("Addr before Start = %q", m.Addr())
	}
	meta := cfg.Meta
	meta.Version = "v2"
	if err := m.UpdateMeta(meta); err != nil {
		t.Fatalf("UpdateMeta before Start: %v", err)
	}
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatalf("second Start = %v, want ErrAlreadyStarted", err)
	}
	if m.Addr() == "" || m.Local().Addr != m.Addr() || m.Local().Meta.Version != "v2" {
		t.Fatalf("Local() = %+v, Addr() = %q", m.Local(), m.Addr())
	}
	events, _ := m.Subscribe(1)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, ok := <-events; ok {
		t.Fatal("subscription open after Close")
	}
	if err := m.Start(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
	if err := m.Leave(time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("Leave after Close = %v, want ErrClosed", err)
	}

	// A seed nobody listens on: Start gives up within its ctx.
	cfg.Seeds = []string{"127.0.0.1:1"}
	m2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := m2.Start(ctx2); !errors.Is(err, ErrNoSeedReachable) {
		t.Fatalf("Start with dead seed = %v, want ErrNoSeedReachable", err)
	}
	if err := m2.Close(); err != nil {
		t.Fatalf("Close after failed Start: %v", err)
	}
}

func TestRestartedNodeRejoinsUnderSameName(t *testing.T) {
	nodes := startThree(t, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	oldAddr := c.Addr()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Restart at once, as a crashed process would be: same name, new port, before the
	// others have even declared the old incarnation dead.
	c2 := startNode(t, "c", "ap-south", nil, a.Addr())
	if c2.Addr() == oldAddr {
		t.Fatalf("restarted on the same address %s", oldAddr)
	}
	restarted := time.Now()
	all := []*testNode{a, b, c2}
	awaitRegion(t, 10*time.Second, all, "ap-south", RegionUp)
	await(t, 10*time.Second, "c at its new address", func() error {
		for _, n := range all {
			got, alive, _ := n.Node("c")
			if !alive || got.Addr != c2.Addr() {
				return fmt.Errorf("%s sees c at %s alive=%v, want %s", n.Name(), got.Addr, alive, c2.Addr())
			}
		}
		return nil
	})
	awaitMembers(t, all, "a", "b", "c")
	t.Logf("restarted node seen at its new address by all in %v", time.Since(restarted).Round(time.Millisecond))
}
