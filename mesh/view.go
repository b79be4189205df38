package mesh

import (
	"sort"
	"time"
)

// Node is a member of the mesh.
type Node struct {
	Name string // memberlist node name
	Addr string // gossip "ip:port"
	Meta Meta
}

// RegionState is a region's health as one node sees it.
type RegionState int

// Region states.
const (
	// RegionUnknown: no node of the region has ever been seen.
	RegionUnknown RegionState = iota
	// RegionUp: at least one node of the region is alive.
	RegionUp
	// RegionSuspect: no node of the region is alive, for less than Config.RegionDownGrace.
	RegionSuspect
	// RegionDown: no node of the region has been alive for Config.RegionDownGrace or more.
	RegionDown
)

// String returns "unknown", "up", "suspect" or "down".
func (s RegionState) String() string {
	switch s {
	case RegionUp:
		return "up"
	case RegionSuspect:
		return "suspect"
	case RegionDown:
		return "down"
	default:
		return "unknown"
	}
}

// RegionHealth is one region's health as this node sees it.
type RegionHealth struct {
	Region string
	State  RegionState
	Alive  int       // nodes of the region alive now
	Known  int       // nodes of the region ever seen (dead ones are remembered)
	Since  time.Time // when State was entered
}

// view is the mesh's membership and region state machine. It is pure: time comes in as an
// argument, every change returns the events it caused, and the caller serialises calls.
type view struct {
	self    string
	grace   time.Duration
	nodes   map[string]*nodeRec
	regions map[string]*regionRec
}

type nodeRec struct {
	node  Node
	alive bool
	// rival is the address of another node claiming this name (memberlist reported a
	// conflict): most likely this node restarted on a new port. Rejoined once rec is dead.
	rival string
}

type regionRec struct {
	state   RegionState
	since   time.Time
	members map[string]struct{} // node names ever seen in the region
}

func newView(self Node, grace time.Duration, now time.Time) *view {
	v := &view{
		self:    self.Name,
		grace:   grace,
		nodes:   make(map[string]*nodeRec),
		regions: make(map[string]*regionRec),
	}
	v.join(self, now)
	return v
}

// join records n as alive.
func (v *view) join(n Node, now time.Time) []Event {
	n.Meta = n.Meta.clone()
	rec, ok := v.nodes[n.Name]
	if ok && rec.alive {
		return v.update(n, now)
	}
	var evs []Event
	old := ""
	if ok {
		old = rec.node.Meta.Region
		rec.node, rec.alive, rec.rival = n, true, ""
	} else {
		rec = &nodeRec{node: n, alive: true}
		v.nodes[n.Name] = rec
	}
	evs = append(evs, Event{Kind: EventNodeJoin, Node: n, Region: n.Meta.Region, Time: now})
	return v.place(evs, n.Name, old, n.Meta.Region, now)
}

// leave records the named node as dead or left. The local node never leaves its own view.
func (v *view) leave(name string, now time.Time) []Event {
	rec, ok := v.nodes[name]
	if !ok || !rec.alive || name == v.self {
		return nil
	}
	rec.alive = false
	evs := []Event{{Kind: EventNodeLeave, Node: rec.node, Region: rec.node.Meta.Region, Time: now}}
	return v.recompute(evs, rec.node.Meta.Region, now)
}

// update records new metadata or a new address for an alive node.
func (v *view) update(n Node, now time.Time) []Event {
	rec, ok := v.nodes[n.Name]
	if !ok || !rec.alive {
		return v.join(n, now)
	}
	if rec.node.Addr == n.Addr && rec.node.Meta.equal(n.Meta) {
		return nil
	}
	old := rec.node.Meta.Region
	rec.node = Node{Name: n.Name, Addr: n.Addr, Meta: n.Meta.clone()}
	evs := []Event{{Kind: EventNodeUpdate, Node: rec.node, Region: n.Meta.Region, Time: now}}
	return v.place(evs, n.Name, old, n.Meta.Region, now)
}

// place moves a node's region membership from old to region and recomputes both.
func (v *view) place(evs []Event, name, old, region string, now time.Time) []Event {
	if old != region && old != "" {
		if r := v.regions[old]; r != nil {
			delete(r.members, name)
		}
		evs = v.recompute(evs, old, now)
	}
	if region == "" {
		return evs
	}
	r := v.regions[region]
	if r == nil {
		r = &regionRec{state: RegionUnknown, since: now, members: make(map[string]struct{})}
		v.regions[region] = r
	}
	r.members[name] = struct{}{}
	return v.recompute(evs, region, now)
}

// tick moves regions whose grace ran out from Suspect to Down.
func (v *view) tick(now time.Time) []Event {
	var evs []Event
	for _, name := range v.regionNames() {
		if v.regions[name].state == RegionSuspect {
			evs = v.recompute(evs, name, now)
		}
	}
	return evs
}

// nextDeadline is the earliest time tick has work to do.
func (v *view) nextDeadline() (time.Time, bool) {
	var next time.Time
	found := false
	for _, r := range v.regions {
		if r.state != RegionSuspect {
			continue
		}
		if d := r.since.Add(v.grace); !found || d.Before(next) {
			next, found = d, true
		}
	}
	return next, found
}

func (v *view) recompute(evs []Event, region string, now time.Time) []Event {
	r := v.regions[region]
	if r == nil {
		return evs
	}
	to := r.state
	switch alive, _ := v.count(r); {
	case alive > 0:
		to = RegionUp
	case r.state == RegionSuspect && now.Sub(r.since) >= v.grace:
		to = RegionDown
	case r.state == RegionUp || r.state == RegionUnknown:
		to = RegionSuspect
	}
	if to == r.state {
		return evs
	}
	r.state, r.since = to, now
	return append(evs, Event{Kind: EventRegionState, Region: region, State: to, Time: now})
}

func (v *view) count(r *regionRec) (alive, known int) {
	for name := range r.members {
		if v.nodes[name].alive {
			alive++
		}
	}
	return alive, len(r.members)
}

func (v *view) regionNames() []string {
	names := make([]string, 0, len(v.regions))
	for name := range v.regions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (v *view) region(name string) RegionHealth {
	r := v.regions[name]
	if r == nil {
		return RegionHealth{Region: name, State: RegionUnknown}
	}
	alive, known := v.count(r)
	return RegionHealth{Region: name, State: r.state, Alive: alive, Known: known, Since: r.since}
}

func (v *view) regionsHealth() []RegionHealth {
	out := make([]RegionHealth, 0, len(v.regions))
	for _, name := range v.regionNames() {
		out = append(out, v.region(name))
	}
	return out
}

// members returns the alive nodes sorted by name.
func (v *view) members() []Node {
	out := make([]Node, 0, len(v.nodes))
	for _, rec := range v.nodes {
		if rec.alive {
			n := rec.node
			n.Meta = n.Meta.clone()
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (v *view) node(name string) (Node, bool) {
	rec, ok := v.nodes[name]
	if !ok {
		return Node{}, false
	}
	n := rec.node
	n.Meta = n.Meta.clone()
	return n, rec.alive
}

// conflict records that another node claims name from addr.
func (v *view) conflict(name, addr string) {
	if rec, ok := v.nodes[name]; ok && addr != rec.node.Addr {
		rec.rival = addr
	}
}

// deadAddrs returns the gossip addresses of dead nodes, and of rivals for their names, that
// no alive node uses, sorted.
func (v *view) deadAddrs() []string {
	used := make(map[string]bool)
	for _, rec := range v.nodes {
		if rec.alive {
			used[rec.node.Addr] = true
		}
	}
	var out []string
	for _, rec := range v.nodes {
		if rec.alive {
			continue
		}
		for _, addr := range []string{rec.node.Addr, rec.rival} {
			if addr != "" && !used[addr] {
				used[addr] = true
				out = append(out, addr)
			}
		}
	}
	sort.Strings(out)
	return out
}
