package region

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// Plans are multi-step operations (move, rebalance, evacuate, restore) stored in PLANS, so they
// survive a controller failover: any node validates and stores one, the active controller
// executes it step by step under a concurrency and rate limit, and anyone can abort it (steps
// not started are skipped; nothing is ever left without an owner, because a step is one CAS).

const (
	defaultConcurrency = 4
	defaultRate        = 10.0
)

func (n *Node) regionUp(r string) bool { return n.mesh.Region(r).State == mesh.RegionUp }

// Move plans the move of symbol to region to.
func (n *Node) Move(ctx context.Context, symbol, to string, o OpOptions) (*proto.Plan, error) {
	if !n.Ready() {
		return nil, ErrNotReady
	}
	rec := n.cache.get(symbol)
	if rec == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownSymbol, symbol)
	}
	if err := n.validTarget(ctx, to); err != nil {
		return nil, err
	}
	p := n.newPlan(proto.PlanKind_PLAN_KIND_MOVE, "", o)
	p.Steps = []*proto.Step{{Symbol: symbol, FromRegion: rec.HomeRegion, ToRegion: to}}
	return n.submitPlan(ctx, p)
}

// Evacuate cordons region and plans moving every symbol homed there to its next preferred
// region that is up and not cordoned (else the least loaded).
func (n *Node) Evacuate(ctx context.Context, region string, o OpOptions) (*proto.Plan, error) {
	if !n.Ready() {
		return nil, ErrNotReady
	}
	if !n.knownRegion(region) {
		return nil, fmt.Errorf("%w: unknown region %q", ErrInvalidPlan, region)
	}
	p := n.newPlan(proto.PlanKind_PLAN_KIND_EVACUATE, region, o)
	for _, rec := range n.cache.all() {
		if rec.HomeRegion != region {
			continue
		}
		to := n.pickHome(ctx, rec.PreferredRegions, region)
		if to == "" {
			return nil, fmt.Errorf("%w: no region can take %s", ErrInvalidPlan, rec.Symbol)
		}
		p.Steps = append(p.Steps, &proto.Step{Symbol: rec.Symbol, FromRegion: region, ToRegion: to})
	}
	if !o.DryRun {
		if err := n.Cordon(ctx, region, o.Actor, "evacuate: "+o.Reason); err != nil {
			return nil, err
		}
	}
	return n.submitPlan(ctx, p)
}

// Restore uncordons region and plans moving back every symbol whose first preference it is.
func (n *Node) Restore(ctx context.Context, region string, o OpOptions) (*proto.Plan, error) {
	if !n.Ready() {
		return nil, ErrNotReady
	}
	if !n.knownRegion(region) {
		return nil, fmt.Errorf("%w: unknown region %q", ErrInvalidPlan, region)
	}
	if !n.regionUp(region) {
		return nil, fmt.Errorf("%w: region %s is not up", ErrInvalidPlan, region)
	}
	p := n.newPlan(proto.PlanKind_PLAN_KIND_RESTORE, region, o)
	for _, rec := range n.cache.all() {
		if len(rec.PreferredRegions) > 0 && rec.PreferredRegions[0] == region && rec.HomeRegion != region {
			p.Steps = append(p.Steps, &proto.Step{Symbol: rec.Symbol, FromRegion: rec.HomeRegion, ToRegion: region})
		}
	}
	if !o.DryRun {
		if err := n.Uncordon(ctx, region, o.Actor, "restore: "+o.Reason); err != nil {
			return nil, err
		}
	}
	return n.submitPlan(ctx, p)
}

// Rebalance plans moves from the most to the least loaded up, uncordoned regions until their
// symbol counts differ by at most one, preferring symbols that rank the target higher.
func (n *Node) Rebalance(ctx context.Context, o OpOptions) (*proto.Plan, error) {
	if !n.Ready() {
		return nil, ErrNotReady
	}
	var regions []string
	for _, h := range n.mesh.Regions() {
		if n.regionUp(h.Region) && !n.cordoned(ctx, h.Region) {
			regions = append(regions, h.Region)
		}
	}
	if len(regions) < 2 {
		return nil, fmt.Errorf("%w: fewer than two regions can take symbols", ErrInvalidPlan)
	}
	byHome := map[string][]*proto.OwnershipRecord{}
	for _, rec := range n.cache.all() {
		byHome[rec.HomeRegion] = append(byHome[rec.HomeRegion], rec)
	}
	p := n.newPlan(proto.PlanKind_PLAN_KIND_REBALANCE, "", o)
	for {
		slices.SortFunc(regions, func(a, b string) int {
			if d := len(byHome[a]) - len(byHome[b]); d != 0 {
				return d
			}
			if a < b {
				return -1
			}
			return 1
		})
		least, most := regions[0], regions[len(regions)-1]
		if len(byHome[most])-len(byHome[least]) <= 1 {
			break
		}
		cands := byHome[most]
		best := 0
		for i, rec := range cands {
			if rank(rec.PreferredRegions, least) < rank(cands[best].PreferredRegions, least) {
				best = i
			}
		}
		rec := cands[best]
		byHome[most] = slices.Delete(slices.Clone(cands), best, best+1)
		byHome[least] = append(byHome[least], rec)
		p.Steps = append(p.Steps, &proto.Step{Symbol: rec.Symbol, FromRegion: most, ToRegion: least})
	}
	return n.submitPlan(ctx, p)
}

// planReason is the ownership-record reason of a plan step; the new owner recognises it (a
// planned handover: the previous owner leaves a release snapshot).
func planReason(p *proto.Plan) string {
	return "plan " + strings.ToLower(strings.TrimPrefix(p.Kind.String(), "PLAN_KIND_")) + " " + p.Id
}

func isPlanReason(reason string) bool { return strings.HasPrefix(reason, "plan ") }

func rank(pref []string, r string) int {
	if i := slices.Index(pref, r); i >= 0 {
		return i
	}
	return len(pref)
}

func (n *Node) validTarget(ctx context.Context, to string) error {
	switch {
	case !n.knownRegion(to):
		return fmt.Errorf("%w: unknown region %q", ErrInvalidPlan, to)
	case !n.regionUp(to):
		return fmt.Errorf("%w: region %s is not up", ErrInvalidPlan, to)
	case n.cordoned(ctx, to):
		return fmt.Errorf("%w: region %s is cordoned", ErrInvalidPlan, to)
	}
	return nil
}

func (n *Node) newPlan(kind proto.PlanKind, region string, o OpOptions) *proto.Plan {
	now := time.Now()
	conc, rate := o.Concurrency, o.RatePerSecond
	if conc <= 0 {
		conc = defaultConcurrency
	}
	if rate <= 0 {
		rate = defaultRate
	}
	return &proto.Plan{SchemaVersion: proto.SchemaVersion,
		Id:   "p" + strconv.FormatInt(now.UnixNano(), 36),
		Kind: kind, State: proto.PlanState_PLAN_STATE_PENDING, RequestedBy: o.Actor, Reason: o.Reason,
		CreatedUnixNano: now.UnixNano(), UpdatedUnixNano: now.UnixNano(), DryRun: o.DryRun, Region: region,
		Concurrency: uint32(conc), RatePerSecond: rate}
}

// submitPlan marks steps that are already satisfied as skipped, refuses plans that conflict
// with an active one, and stores the plan (a dry run is returned, not stored). A plan with
// nothing to do succeeds at once, so repeating a finished operation is a no-op.
func (n *Node) submitPlan(ctx context.Context, p *proto.Plan) (*proto.Plan, error) {
	for _, s := range p.Steps {
		s.State = proto.StepState_STEP_STATE_PENDING
		if rec := n.cache.get(s.Symbol); rec != nil && rec.HomeRegion == s.ToRegion {
			s.State = proto.StepState_STEP_STATE_SKIPPED
		}
	}
	if !slices.ContainsFunc(p.Steps, func(s *proto.Step) bool { return s.State == proto.StepState_STEP_STATE_PENDING }) {
		p.State = proto.PlanState_PLAN_STATE_SUCCEEDED
	}
	if p.DryRun {
		return p, nil
	}
	active, err := n.Plans(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range active {
		if a.State != proto.PlanState_PLAN_STATE_PENDING && a.State != proto.PlanState_PLAN_STATE_RUNNING {
			continue
		}
		for _, s := range p.Steps {
			if s.State == proto.StepState_STEP_STATE_PENDING && slices.ContainsFunc(a.Steps, func(o *proto.Step) bool {
				return o.Symbol == s.Symbol && o.State != proto.StepState_STEP_STATE_SUCCEEDED && o.State != proto.StepState_STEP_STATE_SKIPPED
			}) {
				return nil, fmt.Errorf("%w: %s is in active plan %s", ErrInvalidPlan, s.Symbol, a.Id)
			}
		}
	}
	if err := n.putPlan(ctx, p, 0); err != nil {
		return nil, err
	}
	return p, nil
}

func (n *Node) plansKV(ctx context.Context) (jetstream.KeyValue, error) {
	rctx, cancel := context.WithTimeout(ctx, jsRequestTimeout)
	defer cancel()
	return n.js.KeyValue(rctx, client.BucketPlans)
}

// jsRequestTimeout bounds one JetStream request made under a caller's longer context. A request
// lost with a killed server's connection otherwise waits out the caller's whole deadline: a
// plan read right after the controller's region was killed blocked for the 5 minutes of
// TestPlanAbortAndControllerFailover's context.
const jsRequestTimeout = 3 * time.Second

// putPlan stores p; rev 0 creates it, else compare-and-swap on rev.
func (n *Node) putPlan(ctx context.Context, p *proto.Plan, rev uint64) error {
	kv, err := n.plansKV(ctx)
	if err != nil {
		return err
	}
	p.UpdatedUnixNano = time.Now().UnixNano()
	b, err := gproto.Marshal(p)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, jsRequestTimeout)
	defer cancel()
	if rev == 0 {
		_, err = kv.Create(wctx, p.Id, b)
	} else {
		_, err = kv.Update(wctx, p.Id, b, rev)
	}
	if err != nil {
		return fmt.Errorf("store plan %s: %w", p.Id, err)
	}
	return nil
}

// Plan returns one plan.
func (n *Node) Plan(ctx context.Context, id string) (*proto.Plan, error) {
	p, _, err := n.getPlan(ctx, id)
	return p, err
}

func (n *Node) getPlan(ctx context.Context, id string) (*proto.Plan, uint64, error) {
	kv, err := n.plansKV(ctx)
	if err != nil {
		return nil, 0, err
	}
	var e jetstream.KeyValueEntry
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, jsRequestTimeout)
		e, err = kv.Get(rctx, id)
		cancel()
		if attempt == 2 || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			break
		}
	}
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("%w: no plan %q", ErrInvalidPlan, id)
	}
	if err != nil {
		return nil, 0, err
	}
	p, err := proto.DecodePlan(e.Value())
	return p, e.Revision(), err
}

// Plans returns every stored plan, newest first.
func (n *Node) Plans(ctx context.Context) ([]*proto.Plan, error) {
	kv, err := n.plansKV(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, jsRequestTimeout)
	defer cancel()
	keys, err := kv.ListKeys(lctx)
	if err != nil {
		return nil, err
	}
	var out []*proto.Plan
	for k := range keys.Keys() {
		p, _, err := n.getPlan(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *proto.Plan) int { return cmp.Compare(b.CreatedUnixNano, a.CreatedUnixNano) })
	return out, nil
}

// AbortPlan stops a plan: steps not started are skipped; the controller finishes it.
func (n *Node) AbortPlan(ctx context.Context, id, actor string) (*proto.Plan, error) {
	for attempt := 0; attempt < 10; attempt++ {
		p, rev, err := n.getPlan(ctx, id)
		if err != nil {
			return nil, err
		}
		if p.State != proto.PlanState_PLAN_STATE_PENDING && p.State != proto.PlanState_PLAN_STATE_RUNNING {
			return p, nil // finished already: nothing to abort
		}
		p.State = proto.PlanState_PLAN_STATE_ABORTING
		p.Error = "aborted by " + actor
		if err := n.putPlan(ctx, p, rev); err == nil {
			return p, nil
		} else if !isCASConflict(errors.Unwrap(err)) && !isCASConflict(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("abort plan %s: %w", id, ErrConflict)
}

// runPlans is the controller's executor: it advances every active plan by at most its
// concurrency worth of steps per call, respecting its rate.
func (c *controller) runPlans(ctx context.Context) {
	plans, err := c.n.Plans(ctx)
	if err != nil {
		return
	}
	for _, p := range plans {
		switch p.State {
		case proto.PlanState_PLAN_STATE_PENDING, proto.PlanState_PLAN_STATE_RUNNING, proto.PlanState_PLAN_STATE_ABORTING:
			c.advance(ctx, p.Id)
		}
	}
}

func (c *controller) advance(ctx context.Context, id string) {
	p, rev, err := c.n.getPlan(ctx, id)
	if err != nil {
		return
	}
	now := time.Now()
	if p.State == proto.PlanState_PLAN_STATE_ABORTING {
		for _, s := range p.Steps {
			if s.State == proto.StepState_STEP_STATE_PENDING {
				s.State = proto.StepState_STEP_STATE_SKIPPED
			}
		}
		p.State = proto.PlanState_PLAN_STATE_ABORTED
		_ = c.n.putPlan(ctx, p, rev)
		return
	}
	p.State = proto.PlanState_PLAN_STATE_RUNNING
	// Rate: steps started within the last second count against RatePerSecond.
	started := 0
	for _, s := range p.Steps {
		if s.StartedUnixNano > now.Add(-time.Second).UnixNano() {
			started++
		}
	}
	budget := min(int(p.Concurrency), max(1, int(p.RatePerSecond))-started)
	action := map[proto.PlanKind]proto.AuditAction{
		proto.PlanKind_PLAN_KIND_MOVE: proto.AuditAction_AUDIT_ACTION_MOVE, proto.PlanKind_PLAN_KIND_EVACUATE: proto.AuditAction_AUDIT_ACTION_EVACUATE,
		proto.PlanKind_PLAN_KIND_RESTORE: proto.AuditAction_AUDIT_ACTION_RESTORE, proto.PlanKind_PLAN_KIND_REBALANCE: proto.AuditAction_AUDIT_ACTION_REBALANCE,
	}[p.Kind]
	for _, s := range p.Steps {
		if budget <= 0 {
			break
		}
		if s.State != proto.StepState_STEP_STATE_PENDING {
			continue
		}
		budget--
		s.StartedUnixNano = now.UnixNano()
		if err := c.n.validTarget(ctx, s.ToRegion); err != nil {
			// The target went away since planning: pick again for evacuations, fail otherwise.
			rec := c.n.cache.get(s.Symbol)
			if p.Kind == proto.PlanKind_PLAN_KIND_EVACUATE && rec != nil {
				s.ToRegion = c.n.pickHome(ctx, rec.PreferredRegions, p.Region)
			}
			if err := c.n.validTarget(ctx, s.ToRegion); err != nil {
				s.State, s.Error, s.FinishedUnixNano = proto.StepState_STEP_STATE_FAILED, err.Error(), time.Now().UnixNano()
				continue
			}
		}
		from, to := s.FromRegion, s.ToRegion
		rec, err := c.n.owners.Update(ctx, s.Symbol, Change{Action: action, Actor: c.actor(),
			Reason: planReason(p), PlanID: p.Id,
			Mutate: func(r *proto.OwnershipRecord) error {
				if r.HomeRegion == to {
					return ErrNoChange
				}
				if r.HomeRegion != from {
					return fmt.Errorf("%s is homed in %s, not %s", r.Symbol, r.HomeRegion, from)
				}
				s.EpochBefore = r.Epoch
				r.HomeRegion = to
				return nil
			}})
		s.FinishedUnixNano = time.Now().UnixNano()
		if err != nil {
			s.State, s.Error = proto.StepState_STEP_STATE_FAILED, err.Error()
			continue
		}
		c.n.cache.put(rec)
		s.State, s.EpochAfter = proto.StepState_STEP_STATE_SUCCEEDED, rec.Epoch
		c.log.Info("symbol_moved", slog.String("symbol", s.Symbol), slog.String("from", from), slog.String("to", to),
			slog.String("plan", p.Id), slog.Uint64("epoch", rec.Epoch))
	}
	done, failed := true, false
	for _, s := range p.Steps {
		switch s.State {
		case proto.StepState_STEP_STATE_PENDING, proto.StepState_STEP_STATE_RUNNING:
			done = false
		case proto.StepState_STEP_STATE_FAILED:
			failed = true
		}
	}
	if done {
		p.State = proto.PlanState_PLAN_STATE_SUCCEEDED
		if failed {
			p.State, p.Error = proto.PlanState_PLAN_STATE_FAILED, "some steps failed"
		}
	}
	if err := c.n.putPlan(ctx, p, rev); err != nil {
		c.log.Warn("plan_update_failed", slog.String("plan", p.Id), slog.Any("err", err))
	}
}
