package region

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// ErrInvalidPlan: an operation was refused by validation (unknown region or symbol, a target
// that is down or cordoned, a conflicting plan...). Nothing was changed.
var ErrInvalidPlan = errors.New("region: invalid plan")

// OpOptions are the common options of operator actions.
type OpOptions struct {
	Actor, Reason string
	DryRun        bool    // plan only, change nothing
	Concurrency   int     // moves in flight at once (0 = default 4)
	RatePerSecond float64 // moves started per second (0 = default 10)
}

// RegionStatus is one region as this node sees it.
type RegionStatus struct {
	Name     string
	State    string
	Alive    int
	Known    int
	Cordoned bool
	Symbols  int
}

// SymbolStatus is one symbol's ownership.
type SymbolStatus struct {
	Symbol, Home, Phase   string
	Epoch                 uint64
	Preferred             []string
	Policy, Reason, Actor string
	UpdatedUnixNano       int64
}

// Status is the mesh as this node sees it.
type Status struct {
	Node, Region, Controller string
	Regions                  []RegionStatus
	Symbols                  []SymbolStatus
}

func symbolStatus(r *proto.OwnershipRecord) SymbolStatus {
	return SymbolStatus{Symbol: r.Symbol, Home: r.HomeRegion, Phase: r.Phase.String(), Epoch: r.Epoch,
		Preferred: r.PreferredRegions, Policy: r.FailoverPolicy.String(), Reason: r.Reason, Actor: r.Actor,
		UpdatedUnixNano: r.UpdatedUnixNano}
}

// Status reports regions (gossip health, cordons, homed symbols), symbols and the controller.
func (n *Node) Status(ctx context.Context) (*Status, error) {
	if !n.Ready() {
		return nil, ErrNotReady
	}
	st := &Status{Node: n.cfg.NodeID, Region: n.cfg.Region}
	if lease, err := n.lease(ctx); err == nil && time.Now().UnixNano() < lease.ExpiresUnixNano {
		st.Controller = lease.Holder
	}
	load := map[string]int{}
	for _, r := range n.cache.all() {
		load[r.HomeRegion]++
		st.Symbols = append(st.Symbols, symbolStatus(r))
	}
	for _, h := range n.mesh.Regions() {
		st.Regions = append(st.Regions, RegionStatus{Name: h.Region, State: h.State.String(), Alive: h.Alive,
			Known: h.Known, Cordoned: n.cordoned(ctx, h.Region), Symbols: load[h.Region]})
	}
	return st, nil
}

func (n *Node) lease(ctx context.Context) (*proto.Lease, error) {
	kv, err := n.js.KeyValue(ctx, client.BucketControl)
	if err != nil {
		return nil, err
	}
	e, err := kv.Get(ctx, keyLease)
	if err != nil {
		return nil, err
	}
	return proto.DecodeLease(e.Value())
}

// Cordon marks region as receiving no new homes (failover, moves and placement skip it).
func (n *Node) Cordon(ctx context.Context, region, actor, reason string) error {
	return n.setCordon(ctx, region, true, actor, reason)
}

// Uncordon lets region receive homes again.
func (n *Node) Uncordon(ctx context.Context, region, actor, reason string) error {
	return n.setCordon(ctx, region, false, actor, reason)
}

func (n *Node) setCordon(ctx context.Context, region string, cordoned bool, actor, reason string) error {
	if !n.knownRegion(region) {
		return fmt.Errorf("%w: unknown region %q", ErrInvalidPlan, region)
	}
	kv, err := n.js.KeyValue(ctx, client.BucketControl)
	if err != nil {
		return err
	}
	rec := &proto.RegionRecord{SchemaVersion: proto.SchemaVersion, Region: region, Cordoned: cordoned,
		Reason: reason, Actor: actor, UpdatedUnixNano: time.Now().UnixNano()}
	b, err := gproto.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, "region."+region, b); err != nil {
		return fmt.Errorf("cordon %s: %w", region, err)
	}
	action := proto.AuditAction_AUDIT_ACTION_UNCORDON
	if cordoned {
		action = proto.AuditAction_AUDIT_ACTION_CORDON
	}
	n.owners.audit(ctx, &proto.AuditEntry{Action: action, Region: region, Actor: actor, Reason: reason})
	return nil
}

func (n *Node) knownRegion(region string) bool {
	for _, h := range n.mesh.Regions() {
		if h.Region == region {
			return true
		}
	}
	return false
}

// Halt stops all trading and cancelling of symbol until an operator resumes it.
func (n *Node) Halt(ctx context.Context, symbol, actor, reason string) (*proto.OwnershipRecord, error) {
	return n.setPhase(ctx, symbol, proto.Phase_PHASE_HALT, proto.AuditAction_AUDIT_ACTION_HALT, actor, reason)
}

// Resume sets symbol's phase (TRADING, CANCEL_ONLY or POST_ONLY; unspecified = TRADING).
func (n *Node) Resume(ctx context.Context, symbol string, phase proto.Phase, actor, reason string) (*proto.OwnershipRecord, error) {
	if phase == proto.Phase_PHASE_UNSPECIFIED {
		phase = proto.Phase_PHASE_TRADING
	}
	if phase == proto.Phase_PHASE_HALT {
		return nil, fmt.Errorf("%w: resume to HALT: use halt", ErrInvalidPlan)
	}
	return n.setPhase(ctx, symbol, phase, proto.AuditAction_AUDIT_ACTION_RESUME, actor, reason)
}

func (n *Node) setPhase(ctx context.Context, symbol string, phase proto.Phase, action proto.AuditAction, actor, reason string) (*proto.OwnershipRecord, error) {
	if !n.Ready() {
		return nil, ErrNotReady
	}
	// The log first: whoever reads the new phase in OWNERS afterwards finds the book in it.
	if cur := n.cache.get(symbol); cur != nil && cur.Phase != phase {
		if err := n.appendPhase(ctx, symbol, phase, reason, "op-"+strconv.FormatUint(cur.Epoch+1, 10)); err != nil {
			return nil, err
		}
	}
	rec, err := n.owners.Update(ctx, symbol, Change{Action: action, Actor: actor, Reason: reason,
		Mutate: func(r *proto.OwnershipRecord) error {
			if r.Phase == phase && r.SettleUntilUnixNano == 0 {
				return ErrNoChange
			}
			r.Phase, r.SettleUntilUnixNano = phase, 0
			return nil
		}})
	if err == nil {
		n.cache.put(rec)
	}
	return rec, err
}

// appendPhase appends SetPhase(phase) to symbol's command log; tag makes its request id unique
// per intended change, so a retried append is deduped.
func (n *Node) appendPhase(ctx context.Context, symbol string, phase proto.Phase, reason, tag string) error {
	cmd := &proto.Command{SchemaVersion: proto.SchemaVersion, Symbol: symbol,
		RequestId: "phase-" + symbol + "-" + tag, IngressRegion: n.cfg.Region,
		Body: &proto.Command_SetPhase{SetPhase: &proto.SetPhase{Phase: phase, Reason: reason}}}
	if err := n.appendCommand(ctx, cmd); err != nil {
		return fmt.Errorf("set phase of %s: %w", symbol, err)
	}
	return nil
}

// History returns symbol's audit entries, oldest first (the newest limit ones; 0 = all).
func (n *Node) History(ctx context.Context, symbol string, limit int) ([]*proto.AuditEntry, error) {
	if !n.Ready() {
		return nil, ErrNotReady
	}
	if n.cache.get(symbol) == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownSymbol, symbol)
	}
	return n.owners.History(ctx, symbol, limit)
}

// pickHome returns the first preferred region that is up, not cordoned and not exclude; else the
// up, uncordoned region with the fewest homed symbols; "" when there is none.
func (n *Node) pickHome(ctx context.Context, preferred []string, exclude string) string {
	for _, r := range preferred {
		if r != exclude && n.regionUp(r) && !n.cordoned(ctx, r) {
			return r
		}
	}
	load := n.load()
	var cands []string
	for _, h := range n.mesh.Regions() {
		if h.Region != exclude && n.regionUp(h.Region) && !n.cordoned(ctx, h.Region) {
			cands = append(cands, h.Region)
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if load[cands[i]] != load[cands[j]] {
			return load[cands[i]] < load[cands[j]]
		}
		return cands[i] < cands[j]
	})
	if len(cands) == 0 {
		return ""
	}
	return cands[0]
}

func (n *Node) load() map[string]int {
	load := map[string]int{}
	for _, rec := range n.cache.all() {
		load[rec.HomeRegion]++
	}
	return load
}
