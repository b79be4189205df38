package region

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/status"
)

// Status automation: the active controller keeps the STATUS bucket (package status) in step with
// the mesh. Every node watches the bucket (status.Cache) for the admin API; the active controller
// alone writes the automatic records and sends webhooks.
//
// Components: one record per region, recomputed from the gossip view, cordons, evacuation plans,
// in-progress maintenances and the phases of the symbols homed there (status.Map).
//
// Failover incidents, one per outage of a region (a pointer key "open.<region>" created by
// compare-and-swap makes the incident unique even across a controller failover):
//
//	investigating  the region is down (gossip: every node dead for the grace); lists its symbols
//	identified     none of those symbols is homed in the region any more: "SYM from -> to"
//	monitoring     every one of them has left CANCEL_ONLY on its new home (TRADING, or HALT by policy)
//	resolved       the region is up again; or, if it stays down, every moved symbol has been
//	               settled for Config.IncidentResolveAfter (the region's components stay
//	               major_outage, so the page still shows it)
//
// Steps are not skipped while the region stays down: when one observation satisfies several,
// each gets its update, in order; a region back before its symbols moved goes to resolved.
// The work runs in statusLoop, beside the controller's loop (which only remembers the symbols
// of a region the moment it goes down): the bucket never delays a failover. Webhooks: the
// dispatcher (status.Dispatcher) delivers every update once per URL, with a delivery record
// created by compare-and-swap; records this node writes are offered to it directly.
//
// Evacuation plans open a scheduled maintenance "evac-<plan id>" (in_progress) that is
// completed when the plan finishes. Operator maintenances with a window start and complete on
// their own at scheduled_for and scheduled_until.

// statusEvery bounds how often the controller recomputes components and maintenances; failover
// incidents are checked every round of statusLoop (100 ms).
const statusEvery = 200 * time.Millisecond

// statusService is a node's view of the STATUS bucket and, on controller nodes, the webhook
// dispatcher.
type statusService struct {
	store *status.Store
	cache *status.Cache
	disp  *status.Dispatcher

	lastRun time.Time // statusLoop only

	mu sync.Mutex
	// downSyms remembers, per region seen down without an open incident, the symbols homed
	// there when the controller first saw it down: the failover of the same tick moves them,
	// and writing the incident can fail for seconds (STATUS may be electing a new leader after
	// the region's loss).
	downSyms map[string][]string
}

// StatusRenderer is the Statuspage renderer of the mesh's page (webhook bodies, gateways).
func StatusRenderer(pageURL string) status.Renderer {
	return status.Renderer{PageID: "geomesh", Name: "geomesh", URL: strings.TrimRight(pageURL, "/")}
}

// startStatus opens the bucket, starts its watch and, on a controller node with webhooks, the
// dispatcher (it sends only while this node is the active controller).
func (n *Node) startStatus(ctx context.Context) error {
	st, err := status.Open(ctx, n.js)
	if err != nil {
		return err
	}
	s := &statusService{store: st, cache: status.NewCache(n.log)}
	n.status = s
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for ctx.Err() == nil {
			if err := s.cache.Watch(ctx, n.js); err != nil {
				n.log.Debug("status_watch", slog.Any("err", err))
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	if n.ctrl != nil {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.ctrl.statusLoop(ctx)
		}()
	}
	if n.cfg.hasRole(RoleController) && len(n.cfg.Webhooks) > 0 {
		s.disp = &status.Dispatcher{Store: st, Cache: s.cache, Hooks: n.cfg.Webhooks,
			Renderer: StatusRenderer(n.cfg.StatusPageURL), Node: n.cfg.NodeID, Active: n.ControllerActive,
			Backoff: n.cfg.WebhookBackoff, Log: n.log.With(slog.String("component", "webhooks"))}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			s.disp.Run(ctx)
		}()
	}
	return nil
}

// offer hands a record this node just wrote to its webhook dispatcher (nil: none).
func (s *statusService) offer(in *status.Incident) {
	if s != nil && s.disp != nil {
		s.disp.Offer(in)
	}
}

// StatusSnapshot is the node's current view of the STATUS bucket (empty before ready).
func (n *Node) StatusSnapshot() *status.Snapshot {
	if n.status == nil {
		return &status.Snapshot{}
	}
	return n.status.cache.Snapshot()
}

// statusTick runs in the controller's loop right before failover, and only reads memory (no
// I/O, so a STATUS bucket without a leader never delays a failover): it remembers the symbols
// homed in each region the moment it is first seen down, for its incident (statusLoop).
func (c *controller) statusTick(context.Context) {
	s := c.n.status
	if s == nil {
		return
	}
	snap := s.cache.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.downSyms == nil {
		s.downSyms = map[string][]string{}
	}
	for _, h := range c.n.mesh.Regions() {
		if h.Region == c.n.cfg.Region {
			continue
		}
		_, remembered := s.downSyms[h.Region]
		switch open := c.openFailoverIncident(snap, h.Region) != nil; {
		case h.State != mesh.RegionDown || open:
			delete(s.downSyms, h.Region)
		case !remembered:
			s.downSyms[h.Region] = c.homedIn(h.Region)
		}
	}
}

// remembered returns the symbols statusTick remembered for region (nil: none).
func (s *statusService) remembered(region string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downSyms[region]
}

// statusTimeout bounds one round of status work (a STATUS bucket electing a leader can leave
// requests unanswered).
const statusTimeout = 3 * time.Second

// statusLoop is the status automation of a controller node: it works only while the node is
// the active controller, in its own goroutine, so that the status bucket never delays the
// controller's failovers and plans.
func (c *controller) statusLoop(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !c.active() {
			continue
		}
		select {
		case <-c.n.status.cache.Ready():
		default:
			continue // act on the bucket's content only
		}
		wctx, cancel := context.WithTimeout(ctx, statusTimeout)
		c.statusWork(wctx)
		cancel()
	}
}

func (c *controller) statusWork(ctx context.Context) {
	s := c.n.status
	snap := s.cache.Snapshot()
	now := time.Now()
	for _, h := range c.n.mesh.Regions() {
		if h.Region != c.n.cfg.Region {
			c.failoverIncident(ctx, snap, h.Region, h.State.String(), now)
		}
	}
	if now.Sub(s.lastRun) < statusEvery {
		return
	}
	s.lastRun = now
	plans, err := c.n.Plans(ctx)
	if err != nil {
		c.log.Debug("status_plans_unreadable", slog.Any("err", err))
		return
	}
	c.evacuationMaintenances(ctx, snap, plans, now)
	c.scheduledMaintenances(ctx, snap, now)
	c.regionComponents(ctx, snap, plans, now)
}

// regionComponents writes every region's component record whose statuses changed.
func (c *controller) regionComponents(ctx context.Context, snap *status.Snapshot, plans []*proto.Plan, now time.Time) {
	phases := map[string]map[string]int{}
	for _, rec := range c.n.cache.all() {
		if phases[rec.HomeRegion] == nil {
			phases[rec.HomeRegion] = map[string]int{}
		}
		phases[rec.HomeRegion][strings.TrimPrefix(rec.Phase.String(), "PHASE_")]++
	}
	evacuating := map[string]bool{}
	for _, p := range plans {
		if p.Kind == proto.PlanKind_PLAN_KIND_EVACUATE && !p.DryRun && planActive(p) {
			evacuating[p.Region] = true
		}
	}
	for i, h := range c.n.mesh.Regions() {
		state := h.State.String()
		if h.Region == c.n.cfg.Region {
			state = "up"
		}
		cordoned := c.n.cordoned(ctx, h.Region)
		svc, note := status.Map(status.Health{State: state, Cordoned: cordoned, Maintenance: evacuating[h.Region],
			Phases: phases[h.Region]})
		if state == "up" {
			maintenanceOverride(snap, h.Region, svc)
		}
		old := snap.Region(h.Region)
		rec := &status.RegionRecord{Region: h.Region, Health: state, Cordoned: cordoned, Position: i + 1,
			CreatedAt: status.At(now), Services: map[string]status.ServiceState{}, Note: note}
		changed := old == nil || old.Health != state || old.Cordoned != cordoned || old.Note != note || old.Position != i+1
		if old != nil {
			rec.CreatedAt = old.CreatedAt
		}
		for suffix, st := range svc {
			ss := status.ServiceState{Status: st, UpdatedAt: status.At(now)}
			if old != nil {
				if prev, ok := old.Services[suffix]; ok && prev.Status == st {
					ss.UpdatedAt = prev.UpdatedAt
				} else {
					changed = true
				}
			}
			rec.Services[suffix] = ss
		}
		if !changed {
			continue
		}
		if err := c.n.status.store.Put(ctx, status.RegionKey(h.Region), rec); err != nil {
			c.log.Warn("status_component_write_failed", slog.String("region", h.Region), slog.Any("err", err))
			continue
		}
		c.log.Info("status_components", slog.String("region", h.Region), slog.String("status", string(rec.GroupStatus())),
			slog.String("note", note))
	}
}

// maintenanceOverride marks the services an in-progress maintenance names as under_maintenance
// (a component id of the region's group names all of them). Outages win.
func maintenanceOverride(snap *status.Snapshot, region string, svc map[string]status.ComponentStatus) {
	for _, m := range snap.Maintenances {
		if !status.Active(m) {
			continue
		}
		for _, id := range m.Components {
			for suffix, st := range svc {
				if (id == region || id == status.ComponentID(region, suffix)) && st == status.Operational {
					svc[suffix] = status.UnderMaintenance
				}
			}
		}
	}
}

func planActive(p *proto.Plan) bool {
	switch p.State {
	case proto.PlanState_PLAN_STATE_PENDING, proto.PlanState_PLAN_STATE_RUNNING, proto.PlanState_PLAN_STATE_ABORTING:
		return true
	}
	return false
}

// regionComponentIDs are the ids of region's group and services.
func regionComponentIDs(region string) []string {
	ids := []string{region}
	for _, sv := range status.Services {
		ids = append(ids, status.ComponentID(region, sv.Suffix))
	}
	return ids
}

// affected lists region's services moving from their recorded status to to (nil to: back to
// the recorded status from from).
func affected(snap *status.Snapshot, region string, from, to status.ComponentStatus) []status.AffectedComponent {
	out := []status.AffectedComponent{}
	rr := snap.Region(region)
	for _, sv := range status.Services {
		cur := status.Operational
		if rr != nil {
			cur = rr.Services[sv.Suffix].Status
		}
		a := status.AffectedComponent{Code: status.ComponentID(region, sv.Suffix),
			Name: status.RegionTitle(region) + " " + sv.Name, OldStatus: cur, NewStatus: to}
		if to == "" {
			a.OldStatus, a.NewStatus = from, cur
		}
		if a.OldStatus != a.NewStatus {
			out = append(out, a)
		}
	}
	return out
}

func (c *controller) openFailoverIncident(snap *status.Snapshot, region string) *status.Incident {
	for _, in := range snap.Incidents {
		if in.Source == status.SourceFailover && in.Region == region && in.Open() {
			return in
		}
	}
	return nil
}

// failoverIncident opens, advances or resolves the failover incident of region.
func (c *controller) failoverIncident(ctx context.Context, snap *status.Snapshot, region, state string, now time.Time) {
	in := c.openFailoverIncident(snap, region)
	if in == nil {
		if state != "down" {
			return
		}
		// Open it, or read it if the cache has not caught up yet: the incident's progress must
		// not wait for this node's watch of STATUS.
		if in = c.ensureFailoverIncident(ctx, snap, region, now); in == nil {
			return
		}
	}
	// What the incident should say now.
	type step struct{ status, body string }
	var steps []step
	homes := map[string]*proto.OwnershipRecord{}
	direct := 0
	for _, sym := range in.Symbols {
		rec := c.n.cache.get(sym)
		// This node's OWNERS watch can lag after the loss of the bucket's leader, like any
		// watch: a symbol that does not look settled yet is read directly (a few per round).
		if (rec == nil || rec.HomeRegion == region || rec.Phase == proto.Phase_PHASE_CANCEL_ONLY) && direct < maxDirectReads {
			direct++
			if fresh, _, err := c.n.owners.Get(ctx, sym); err == nil && (rec == nil || fresh.Epoch > rec.Epoch ||
				fresh.Epoch == rec.Epoch && fresh.UpdatedUnixNano > rec.UpdatedUnixNano) {
				rec = fresh
			}
		}
		if rec != nil {
			homes[sym] = rec
		}
	}
	var moved, stuck, settling []string
	for _, sym := range in.Symbols {
		rec := homes[sym]
		switch {
		case rec == nil || rec.HomeRegion == region:
			stuck = append(stuck, sym)
		case rec.Phase == proto.Phase_PHASE_CANCEL_ONLY:
			settling = append(settling, sym)
			moved = append(moved, fmt.Sprintf("%s %s → %s", sym, region, rec.HomeRegion))
		default:
			moved = append(moved, fmt.Sprintf("%s %s → %s", sym, region, rec.HomeRegion))
		}
	}
	// Symbols homed in the region that the incident does not list yet (placed meanwhile).
	var extra []string
	for _, rec := range c.n.cache.all() {
		if rec.HomeRegion == region && !slices.Contains(in.Symbols, rec.Symbol) {
			extra = append(extra, rec.Symbol)
		}
	}
	reached := in.Status
	if len(stuck) == 0 && len(extra) == 0 && reached == status.Investigating {
		body := "No symbols were homed in " + region + "."
		if len(moved) > 0 {
			body = "Symbols re-homed to the next preferred live regions: " + strings.Join(moved, ", ") +
				". They accept cancels only while the new owners settle."
		}
		steps = append(steps, step{status.Identified, body})
		reached = status.Identified
	}
	if reached == status.Identified && len(settling) == 0 {
		body := "Every moved symbol is trading again on its new home"
		var list []string
		for _, sym := range in.Symbols {
			phase := homes[sym].GetPhase()
			if phase == proto.Phase_PHASE_HALT {
				body = "Every moved symbol has settled on its new home; halted ones wait for an operator (meshctl resume)"
			}
			list = append(list, fmt.Sprintf("%s %s on %s", sym, strings.TrimPrefix(phase.String(), "PHASE_"), homes[sym].GetHomeRegion()))
		}
		if len(list) > 0 {
			body += ": " + strings.Join(list, ", ")
		}
		steps = append(steps, step{status.Monitoring, body + ". We are monitoring."})
		reached = status.Monitoring
	}
	resolveAfter := c.n.cfg.IncidentResolveAfter
	switch {
	case state == "up":
		body := region + " is reachable again. Symbols stay on their new homes until an operator restores them (meshctl restore " + region + ")."
		steps = append(steps, step{status.Resolved, body})
	case reached == status.Monitoring && resolveAfter > 0 && in.MonitoringAt != nil && now.Sub(in.MonitoringAt.Time) >= resolveAfter:
		steps = append(steps, step{status.Resolved, fmt.Sprintf("Every moved symbol has traded normally for %v; %s remains unreachable and is shown as an outage.", resolveAfter, region)})
	}
	if len(steps) == 0 && len(extra) == 0 {
		return
	}
	next, err := status.Modify(ctx, c.n.status.store, in.Key(), func(cur *status.Incident) error {
		if !cur.Open() {
			return status.ErrNoChange
		}
		changed := false
		for _, sym := range extra {
			if !slices.Contains(cur.Symbols, sym) {
				cur.Symbols = append(cur.Symbols, sym)
				changed = true
			}
		}
		for _, s := range steps {
			if rank(incidentOrder, s.status) <= rank(incidentOrder, cur.Status) {
				continue // a previous controller wrote it already
			}
			var aff []status.AffectedComponent
			if s.status == status.Resolved {
				aff = affected(snap, region, status.MajorOutage, "")
			}
			cur.AddUpdate(s.status, s.body, c.actor(), now, aff)
			changed = true
		}
		if !changed {
			return status.ErrNoChange
		}
		return nil
	})
	if err != nil {
		c.log.Warn("status_incident_update_failed", slog.String("incident", in.ID), slog.Any("err", err))
		return
	}
	c.n.status.offer(next)
	c.log.Info("status_incident", slog.String("incident", in.ID), slog.String("region", region), slog.String("status", next.Status))
	if !next.Open() {
		c.dropPointer(ctx, region, next.ID)
	}
}

// maxDirectReads bounds the ownership records one round of failoverIncident reads directly.
const maxDirectReads = 32

var incidentOrder = []string{status.Investigating, status.Identified, status.Monitoring, status.Resolved}

// ensureFailoverIncident creates region's incident: the pointer first (compare-and-swap), then
// the record. A pointer to a resolved incident is stale (its controller died between resolving
// and dropping it) and is dropped. It returns the open incident (nil: try again next tick).
func (c *controller) ensureFailoverIncident(ctx context.Context, snap *status.Snapshot, region string, now time.Time) *status.Incident {
	kv := c.n.status.store.KV
	id := ""
	e, err := kv.Get(ctx, status.OpenKey(region))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		id = fmt.Sprintf("inc-%s-%s", region, strconv.FormatInt(now.UnixMilli(), 36))
		if _, err := kv.Create(ctx, status.OpenKey(region), []byte(id)); err != nil {
			return nil // another controller won (retried next tick)
		}
	case err != nil:
		return nil
	default:
		id = string(e.Value())
		var cur status.Incident
		_, gerr := c.n.status.store.Get(ctx, status.KeyOf(status.KindIncident, id), &cur)
		if gerr == nil {
			if !cur.Open() {
				_ = kv.Delete(ctx, status.OpenKey(region), jetstream.LastRevision(e.Revision()))
				return nil
			}
			return &cur // open: the cache has not caught up yet
		}
		if !errors.Is(gerr, status.ErrNotFound) {
			return nil
		}
	}
	syms := c.n.status.remembered(region)
	if syms == nil {
		syms = c.homedIn(region)
	}
	in := &status.Incident{ID: id, Kind: status.KindIncident, Source: status.SourceFailover, Region: region, Auto: true,
		Name: status.RegionTitle(region) + " unreachable: symbols failing over", Impact: status.ImpactMajor,
		Components: regionComponentIDs(region), Symbols: append([]string{}, syms...),
		CreatedAt: status.At(now), StartedAt: status.At(now)}
	body := fmt.Sprintf("Every node of %s has stopped answering. ", region)
	if len(syms) > 0 {
		body += fmt.Sprintf("Its %d symbol(s) (%s) are being failed over to their next preferred regions; orders for them may be rejected briefly.", len(syms), strings.Join(syms, ", "))
	} else {
		body += "No symbols are homed there; clients of its gateway should use another region."
	}
	in.AddUpdate(status.Investigating, body, c.actor(), now, affected(snap, region, "", status.MajorOutage))
	if _, err := c.n.status.store.Create(ctx, in.Key(), in); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			c.log.Warn("status_incident_create_failed", slog.String("incident", id), slog.Any("err", err))
		}
		return nil
	}
	c.n.status.offer(in)
	c.log.Warn("status_incident_opened", slog.String("incident", id), slog.String("region", region), slog.Any("symbols", syms))
	return in
}

// homedIn lists the symbols homed in region, sorted.
func (c *controller) homedIn(region string) []string {
	syms := []string{}
	for _, rec := range c.n.cache.all() {
		if rec.HomeRegion == region {
			syms = append(syms, rec.Symbol)
		}
	}
	slices.Sort(syms)
	return syms
}

func (c *controller) dropPointer(ctx context.Context, region, id string) {
	kv := c.n.status.store.KV
	e, err := kv.Get(ctx, status.OpenKey(region))
	if err == nil && string(e.Value()) == id {
		_ = kv.Delete(ctx, status.OpenKey(region), jetstream.LastRevision(e.Revision()))
	}
}

// maintenanceRecent bounds which finished plans still get a maintenance record.
const maintenanceRecent = time.Hour

// evacuationMaintenances mirrors evacuation plans as scheduled maintenances "evac-<plan id>".
func (c *controller) evacuationMaintenances(ctx context.Context, snap *status.Snapshot, plans []*proto.Plan, now time.Time) {
	for _, p := range plans {
		if p.Kind != proto.PlanKind_PLAN_KIND_EVACUATE || p.DryRun || now.Sub(time.Unix(0, p.CreatedUnixNano)) > maintenanceRecent {
			continue
		}
		id := "evac-" + p.Id
		cur := snap.Incident(id)
		if cur != nil && !cur.Open() {
			continue
		}
		active := planActive(p)
		if cur == nil {
			c.createEvacMaintenance(ctx, snap, p, id, now)
			if active {
				continue
			}
		}
		if active {
			continue
		}
		c.completeEvacMaintenance(ctx, p, id, now)
	}
}

func (c *controller) createEvacMaintenance(ctx context.Context, snap *status.Snapshot, p *proto.Plan, id string, now time.Time) {
	var syms []string
	for _, s := range p.Steps {
		syms = append(syms, s.Symbol)
	}
	started := time.Unix(0, p.CreatedUnixNano)
	m := &status.Incident{ID: id, Kind: status.KindMaintenance, Source: status.SourceEvacuate, Region: p.Region,
		PlanID: p.Id, Auto: true, Name: "Planned evacuation of " + status.RegionTitle(p.Region), Impact: status.ImpactMaintenance,
		Components: regionComponentIDs(p.Region), Symbols: syms, CreatedAt: status.At(now), StartedAt: status.At(started)}
	t := status.At(started)
	m.ScheduledFor = &t
	body := fmt.Sprintf("%s is being evacuated (plan %s", p.Region, p.Id)
	if p.Reason != "" {
		body += ", reason: " + p.Reason
	}
	if p.RequestedBy != "" {
		body += ", by " + p.RequestedBy
	}
	body += fmt.Sprintf("): %d symbol(s) move to other regions with a short pause each; its gateway stops taking new homes.", len(syms))
	m.AddUpdate(status.InProgress, body, c.actor(), now, affected(snap, p.Region, "", status.UnderMaintenance))
	if _, err := c.n.status.store.Create(ctx, m.Key(), m); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		c.log.Warn("status_maintenance_create_failed", slog.String("maintenance", id), slog.Any("err", err))
		return
	}
	c.n.status.offer(m)
	c.log.Info("status_maintenance_opened", slog.String("maintenance", id), slog.String("region", p.Region))
}

func (c *controller) completeEvacMaintenance(ctx context.Context, p *proto.Plan, id string, now time.Time) {
	moved := 0
	for _, s := range p.Steps {
		if s.State == proto.StepState_STEP_STATE_SUCCEEDED {
			moved++
		}
	}
	body := fmt.Sprintf("Evacuation of %s finished: %d of %d symbol(s) moved (plan %s %s). The region stays cordoned until restored.",
		p.Region, moved, len(p.Steps), p.Id, strings.ToLower(strings.TrimPrefix(p.State.String(), "PLAN_STATE_")))
	done, err := status.Modify(ctx, c.n.status.store, status.KeyOf(status.KindMaintenance, id), func(m *status.Incident) error {
		if !m.Open() {
			return status.ErrNoChange
		}
		until := status.At(now)
		m.ScheduledUntil = &until
		m.AddUpdate(status.Completed, body, c.actor(), now, nil)
		return nil
	})
	if err != nil {
		if !errors.Is(err, status.ErrNotFound) { // not visible yet: next tick
			c.log.Warn("status_maintenance_update_failed", slog.String("maintenance", id), slog.Any("err", err))
		}
		return
	}
	c.n.status.offer(done)
	c.log.Info("status_maintenance_completed", slog.String("maintenance", id))
}

// scheduledMaintenances starts and completes operator maintenances at their window's edges.
func (c *controller) scheduledMaintenances(ctx context.Context, snap *status.Snapshot, now time.Time) {
	for _, m := range snap.Maintenances {
		if m.Source != status.SourceScheduled || !m.Open() {
			continue
		}
		var next, body string
		switch {
		case m.Status == status.Scheduled && m.ScheduledFor != nil && !now.Before(m.ScheduledFor.Time):
			next, body = status.InProgress, "The scheduled maintenance has started."
		case status.Active(m) && m.ScheduledUntil != nil && !now.Before(m.ScheduledUntil.Time):
			next, body = status.Completed, "The scheduled maintenance has ended."
		default:
			continue
		}
		cur, err := status.Modify(ctx, c.n.status.store, m.Key(), func(cur *status.Incident) error {
			if cur.Status != m.Status {
				return status.ErrNoChange
			}
			cur.AddUpdate(next, body, c.actor(), now, nil)
			return nil
		})
		if err != nil {
			c.log.Warn("status_maintenance_update_failed", slog.String("maintenance", m.ID), slog.Any("err", err))
			continue
		}
		c.n.status.offer(cur)
	}
}

// --- operator actions (admin API) ---
