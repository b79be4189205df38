package mesh

import (
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventNodeJoin: a node became alive (new, or back after being dead).
	EventNodeJoin EventKind = iota + 1
	// EventNodeLeave: a node died or left gracefully (memberlist does not tell them apart).
	EventNodeLeave
	// EventNodeUpdate: a node's metadata changed.
	EventNodeUpdate
	// EventRegionState: a region changed State.
	EventRegionState
)

// String returns "join", "leave", "update" or "region".
func (k EventKind) String() string {
	switch k {
	case EventNodeJoin:
		return "join"
	case EventNodeLeave:
		return "leave"
	case EventNodeUpdate:
		return "update"
	case EventRegionState:
		return "region"
	default:
		return "unknown"
	}
}

// Event is one membership change as this node saw it. Node is set for node events; Region
// and State for EventRegionState (Region is also set for node events: the node's region).
type Event struct {
	Kind   EventKind
	Node   Node
	Region string
	State  RegionState
	Time   time.Time
}

// hub fans events out to subscribers without ever blocking the publisher: a subscriber whose
// buffer is full misses the event, and the miss is counted (Mesh.DroppedEvents).
type hub struct {
	mu      sync.Mutex
	next    int
	subs    map[int]chan Event
	closed  bool
	dropped atomic.Uint64
}

func (h *hub) subscribe(buffer int) (<-chan Event, func()) {
	if buffer < 1 {
		buffer = 1
	}
	ch := make(chan Event, buffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	if h.subs == nil {
		h.subs = make(map[int]chan Event)
	}
	id := h.next
	h.next++
	h.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if c, ok := h.subs[id]; ok {
				delete(h.subs, id)
				close(c)
			}
		})
	}
}

func (h *hub) publish(evs []Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range evs {
		for _, ch := range h.subs {
			select {
			case ch <- ev:
			default:
				h.dropped.Add(1)
			}
		}
	}
}

// close closes every subscriber channel; later subscriptions get a closed channel.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for id, ch := range h.subs {
		delete(h.subs, id)
		close(ch)
	}
}
