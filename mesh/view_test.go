package mesh

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func vnode(name, region string) Node {
	return Node{Name: name, Addr: "127.0.0.1:" + name, Meta: Meta{NodeID: name, Region: region}}
}

// formatEvents renders events compactly: "join:b" "leave:b" "update:b" "eu-west=suspect".
func formatEvents(evs []Event) string {
	var parts []string
	for _, ev := range evs {
		if ev.Kind == EventRegionState {
			parts = append(parts, fmt.Sprintf("%s=%s", ev.Region, ev.State))
		} else {
			parts = append(parts, fmt.Sprintf("%s:%s", ev.Kind, ev.Node.Name))
		}
	}
	return strings.Join(parts, " ")
}

func TestViewRegionStates(t *testing.T) {
	const grace = time.Second
	t0 := time.Unix(1_700_000_000, 0)
	type step struct {
		at     time.Duration
		do     func(v *view, now time.Time) []Event
		events string
		region string // region to check after the step
		state  RegionState
		alive  int
		known  int
	}
	join := func(name, region string) func(*view, time.Time) []Event {
		return func(v *view, now time.Time) []Event { return v.join(vnode(name, region), now) }
	}
	leave := func(name string) func(*view, time.Time) []Event {
		return func(v *view, now time.Time) []Event { return v.leave(name, now) }
	}
	tick := func(v *view, now time.Time) []Event { return v.tick(now) }
	tests := []struct {
		name  string
		steps []step
	}{
		{"suspect then down after grace, rejoin makes it up", []step{
			{0, join("b", "eu-west"), "join:b eu-west=up", "eu-west", RegionUp, 1, 1},
			{0, join("c", "eu-west"), "join:c", "eu-west", RegionUp, 2, 2},
			{time.Second, leave("b"), "leave:b", "eu-west", RegionUp, 1, 2},
			{2 * time.Second, leave("c"), "leave:c eu-west=suspect", "eu-west", RegionSuspect, 0, 2},
			{2*time.Second + grace - time.Millisecond, tick, "", "eu-west", RegionSuspect, 0, 2},
			{2*time.Second + grace, tick, "eu-west=down", "eu-west", RegionDown, 0, 2},
			{4 * time.Second, tick, "", "eu-west", RegionDown, 0, 2},
			{5 * time.Second, join("c", "eu-west"), "join:c eu-west=up", "eu-west", RegionUp, 1, 2},
		}},
		{"node back within grace: suspect to up, never down", []step{
			{0, join("b", "ap-south"), "join:b ap-south=up", "ap-south", RegionUp, 1, 1},
			{0, leave("b"), "leave:b ap-south=suspect", "ap-south", RegionSuspect, 0, 1},
			{grace / 2, join("b", "ap-south"), "join:b ap-south=up", "ap-south", RegionUp, 1, 1},
			{2 * grace, tick, "", "ap-south", RegionUp, 1, 1},
		}},
		{"own region stays up, self never leaves", []step{
			{0, leave("self"), "", "us-east", RegionUp, 1, 1},
			{0, join("b", "us-east"), "join:b", "us-east", RegionUp, 2, 2},
			{0, leave("b"), "leave:b", "us-east", RegionUp, 1, 2},
		}},
		{"duplicate leave and unknown node are ignored", []step{
			{0, join("b", "eu-west"), "join:b eu-west=up", "eu-west", RegionUp, 1, 1},
			{0, leave("b"), "leave:b eu-west=suspect", "eu-west", RegionSuspect, 0, 1},
			{0, leave("b"), "", "eu-west", RegionSuspect, 0, 1},
			{0, leave("zz"), "", "eu-west", RegionSuspect, 0, 1},
		}},
		{"meta update moves a node between regions", []step{
			{0, join("b", "eu-west"), "join:b eu-west=up", "eu-west", RegionUp, 1, 1},
			{0, func(v *view, now time.Time) []Event { return v.update(vnode("b", "eu-north"), now) },
				"update:b eu-west=suspect eu-north=up", "eu-north", RegionUp, 1, 1},
			{0, func(v *view, now time.Time) []Event { return v.update(vnode("b", "eu-north"), now) },
				"", "eu-west", RegionSuspect, 0, 0},
		}},
		{"join of an alive node with new meta is an update", []step{
			{0, join("b", "eu-west"), "join:b eu-west=up", "eu-west", RegionUp, 1, 1},
			{0, func(v *view, now time.Time) []Event {
				n := vnode("b", "eu-west")
				n.Meta.HTTPURL = "http://b"
				return v.join(n, now)
			}, "update:b", "eu-west", RegionUp, 1, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newView(vnode("self", "us-east"), grace, t0)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				if got := formatEvents(s.do(v, now)); got != s.events {
					t.Fatalf("step %d: events %q, want %q", i, got, s.events)
				}
				h := v.region(s.region)
				if h.State != s.state || h.Alive != s.alive || h.Known != s.known {
					t.Fatalf("step %d: %s = %s alive %d known %d, want %s alive %d known %d",
						i, s.region, h.State, h.Alive, h.Known, s.state, s.alive, s.known)
				}
			}
		})
	}
}

func TestViewNextDeadlineAndDeadAddrs(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	v := newView(vnode("self", "us-east"), time.Second, t0)
	if _, ok := v.nextDeadline(); ok {
		t.Fatal("deadline with no suspect region")
	}
	v.join(vnode("b", "eu-west"), t0)
	v.join(vnode("c", "ap-south"), t0)
	v.leave("b", t0.Add(time.Second))
	v.leave("c", t0.Add(3*time.Second))
	if d, ok := v.nextDeadline(); !ok || !d.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("nextDeadline = %v %v, want %v", d, ok, t0.Add(2*time.Second))
	}
	if got, want := strings.Join(v.deadAddrs(), ","), "127.0.0.1:b,127.0.0.1:c"; got != want {
		t.Fatalf("deadAddrs = %s, want %s", got, want)
	}
	// A new node on a dead node's address: that address is in use, not dead.
	n := vnode("d", "ap-south")
	n.Addr = "127.0.0.1:c"
	v.join(n, t0.Add(4*time.Second))
	if got, want := strings.Join(v.deadAddrs(), ","), "127.0.0.1:b"; got != want {
		t.Fatalf("deadAddrs = %s, want %s", got, want)
	}
	// A rival claiming b's name from another address is rejoined while b is dead, and
	// forgotten once b is back.
	v.conflict("b", "127.0.0.1:b2")
	if got, want := strings.Join(v.deadAddrs(), ","), "127.0.0.1:b,127.0.0.1:b2"; got != want {
		t.Fatalf("deadAddrs = %s, want %s", got, want)
	}
	nb := vnode("b", "eu-west")
	nb.Addr = "127.0.0.1:b2"
	v.join(nb, t0.Add(5*time.Second))
	if got := v.deadAddrs(); len(got) != 0 {
		t.Fatalf("deadAddrs = %v, want none", got)
	}
	if got := len(v.members()); got != 3 {
		t.Fatalf("members = %d, want 3 (self, b, d)", got)
	}
}

func TestHubDropsForSlowSubscriber(t *testing.T) {
	var h hub
	slow, cancelSlow := h.subscribe(1)
	fast, cancelFast := h.subscribe(10)
	evs := []Event{{Kind: EventNodeJoin}, {Kind: EventNodeLeave}, {Kind: EventNodeUpdate}}
	h.publish(evs) // must not block although slow holds only one
	if got := h.dropped.Load(); got != 2 {
		t.Fatalf("dropped = %d, want 2", got)
	}
	if ev := <-slow; ev.Kind != EventNodeJoin {
		t.Fatalf("slow got %v, want the first event", ev.Kind)
	}
	for _, want := range evs {
		if ev := <-fast; ev.Kind != want.Kind {
			t.Fatalf("fast got %v, want %v", ev.Kind, want.Kind)
		}
	}
	cancelSlow()
	cancelSlow() // idempotent
	if _, ok := <-slow; ok {
		t.Fatal("slow channel open after cancel")
	}
	h.close()
	if _, ok := <-fast; ok {
		t.Fatal("fast channel open after hub close")
	}
	cancelFast() // after close: no panic
	late, _ := h.subscribe(1)
	if _, ok := <-late; ok {
		t.Fatal("subscription after close is open")
	}
}
