package region

import (
	"context"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/geomesh/geomesh/proto"
)

// Metrics of one node, in a registry of its own (the demo and the tests run several nodes in one
// process). Names follow client-compat.md §D with the prefix geomesh_. Counters and histograms
// are updated where things happen; the state gauges (homes, phases, regions, plans, lags) are
// read from the node's caches when scraped, so they can never drift from what the node sees.
type nodeMetrics struct {
	reg *prometheus.Registry

	moves        *prometheus.CounterVec   // reason, result
	moveDuration *prometheus.HistogramVec // reason
	haltDuration prometheus.Histogram
	failovers    prometheus.Counter
	snapshots    *prometheus.CounterVec // result
	evtAppend    prometheus.Histogram
}

// latencyBuckets span 100 µs to ~50 s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2.5, 15)

func newNodeMetrics(n *Node) *nodeMetrics {
	reg := prometheus.NewRegistry()
	m := &nodeMetrics{reg: reg,
		moves: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_symbol_moves_total",
			Help: "Changes of a symbol's home region, by reason (failover, operator, rebalance, evacuation) and result."},
			[]string{"reason", "result"}),
		moveDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "geomesh_symbol_move_duration_seconds",
			Help:    "From the ownership change to the new owner's matcher caught up, seen by the new owner.",
			Buckets: latencyBuckets, NativeHistogramBucketFactor: 1.1}, []string{"reason"}),
		haltDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "geomesh_symbol_halt_duration_seconds",
			Help: "How long a symbol stayed HALT before it resumed.", Buckets: prometheus.ExponentialBuckets(0.1, 3, 12)}),
		failovers: prometheus.NewCounter(prometheus.CounterOpts{Name: "geomesh_failovers_total",
			Help: "Symbols this node's controller re-homed after their region went down."}),
		snapshots: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "geomesh_snapshots_total",
			Help: "Book snapshots written by this node's matchers, by result."}, []string{"result"}),
		evtAppend: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "geomesh_evt_append_duration_seconds",
			Help:    "Fenced append of one command's events to EVT_<S> (R3), by this node's matchers.",
			Buckets: latencyBuckets, NativeHistogramBucketFactor: 1.1}),
	}
	reg.MustRegister(m.moves, m.moveDuration, m.haltDuration, m.failovers, m.snapshots, m.evtAppend,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(), &stateCollector{n: n})
	return m
}

// Registry is the node's metrics registry: serve it with promhttp.HandlerFor, and register the
// gateway's metrics of the same region in it.
func (n *Node) Registry() *prometheus.Registry { return n.metrics.reg }

// buildInfo is geomesh_build_info{version,revision,goversion} = 1.
func buildInfo() prometheus.Collector {
	version, revision, goVersion := "(devel)", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "geomesh_build_info", Help: "Build of the running binary.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion}})
	g.Set(1)
	return g
}

// moveReason is the reason label of an ownership change: failover, operator (move, restore),
// rebalance or evacuation; "" for changes that do not move a symbol's home.
func moveReason(ch Change) string {
	if ch.Action == proto.AuditAction_AUDIT_ACTION_FAILOVER {
		return "failover"
	}
	return reasonLabel(ch.Reason)
}

// reasonLabel maps a record's reason ("plan evacuate p123", "failover", ...) to a label.
func reasonLabel(reason string) string {
	switch {
	case reason == ReasonFailover || reason == ReasonSettled:
		return "failover"
	case strings.HasPrefix(reason, "plan evacuate"):
		return "evacuation"
	case strings.HasPrefix(reason, "plan rebalance"):
		return "rebalance"
	case reason == ReasonPlacement:
		return "placement"
	}
	return "operator"
}

// observeChange counts one stored ownership change (Ownership.Update calls it).
func (m *nodeMetrics) observeChange(cur, next *proto.OwnershipRecord, ch Change) {
	if m == nil {
		return
	}
	if cur.HomeRegion != next.HomeRegion {
		m.moves.WithLabelValues(moveReason(ch), "success").Inc()
		if ch.Action == proto.AuditAction_AUDIT_ACTION_FAILOVER {
			m.failovers.Inc()
		}
	}
	if cur.Phase == proto.Phase_PHASE_HALT && next.Phase != proto.Phase_PHASE_HALT && cur.UpdatedUnixNano > 0 {
		m.haltDuration.Observe(time.Duration(next.UpdatedUnixNano - cur.UpdatedUnixNano).Seconds())
	}
}

// observeFailedMove counts a change of home that could not be stored.
func (m *nodeMetrics) observeFailedMove(ch Change) {
	if m != nil {
		m.moves.WithLabelValues(moveReason(ch), "failure").Inc()
	}
}

// stateCollector reads the node's view of the mesh when scraped.
type stateCollector struct{ n *Node }

var (
	descHome = prometheus.NewDesc("geomesh_symbol_home_info", "The home region of each symbol (1 per symbol).",
		[]string{"symbol", "region"}, nil)
	descStatus = prometheus.NewDesc("geomesh_symbol_status", "The phase of each symbol: 1 for the current one.",
		[]string{"symbol", "status"}, nil)
	descNotTrading = prometheus.NewDesc("geomesh_symbols_not_trading", "Symbols whose phase is not TRADING.", nil, nil)
	descEpoch      = prometheus.NewDesc("geomesh_symbol_epoch", "Ownership epoch of each symbol.", []string{"symbol"}, nil)
	descRegionUp   = prometheus.NewDesc("geomesh_region_up", "1 when gossip sees the region up, 0 when suspect or down.",
		[]string{"region"}, nil)
	descCordoned = prometheus.NewDesc("geomesh_region_cordoned", "1 when the region is cordoned.", []string{"region"}, nil)
	descEvac     = prometheus.NewDesc("geomesh_region_evacuation_in_progress", "1 while an evacuation plan of the region runs.",
		[]string{"region"}, nil)
	descEvacLeft = prometheus.NewDesc("geomesh_evacuation_symbols_remaining", "Symbols an active evacuation still has to move.",
		[]string{"region"}, nil)
	descPlanSteps = prometheus.NewDesc("geomesh_plan_steps", "Steps of unfinished plans, by plan kind and step state.",
		[]string{"kind", "state"}, nil)
	descController = prometheus.NewDesc("geomesh_controller_active", "1 when this node holds the controller lease.", nil, nil)
	descMatching   = prometheus.NewDesc("geomesh_matcher_symbols", "Symbols whose matcher runs on this node.", nil, nil)
	descCmdLag     = prometheus.NewDesc("geomesh_matcher_pending_commands",
		"Commands in CMD_<S> this node's matcher has not applied yet (replication lag of the book).", []string{"symbol"}, nil)
	descEvtLag = prometheus.NewDesc("geomesh_matcher_unwritten_events",
		"Applied commands whose events are not in EVT_<S> yet.", []string{"symbol"}, nil)
	descSnapLag = prometheus.NewDesc("geomesh_snapshot_lag_commands",
		"Commands applied since this node's matcher last saved a snapshot of the book.", []string{"symbol"}, nil)
	phasesOf = []proto.Phase{proto.Phase_PHASE_TRADING, proto.Phase_PHASE_CANCEL_ONLY, proto.Phase_PHASE_POST_ONLY, proto.Phase_PHASE_HALT}
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHome, descStatus, descNotTrading, descEpoch, descRegionUp, descCordoned,
		descEvac, descEvacLeft, descPlanSteps, descController, descMatching, descCmdLag, descEvtLag, descSnapLag} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	notTrading := 0
	for _, r := range n.cache.all() {
		gauge(descHome, 1, r.Symbol, r.HomeRegion)
		gauge(descEpoch, float64(r.Epoch), r.Symbol)
		for _, p := range phasesOf {
			v := 0.0
			if r.Phase == p {
				v = 1
			}
			gauge(descStatus, v, r.Symbol, strings.TrimPrefix(p.String(), "PHASE_"))
		}
		if r.Phase != proto.Phase_PHASE_TRADING {
			notTrading++
		}
	}
	gauge(descNotTrading, float64(notTrading))
	active := 0.0
	if n.ControllerActive() {
		active = 1
	}
	gauge(descController, active)
	if n.host != nil {
		lags := n.host.lags()
		gauge(descMatching, float64(len(lags)))
		for sym, l := range lags {
			gauge(descCmdLag, float64(l.pending), sym)
			gauge(descEvtLag, float64(l.unwritten), sym)
			gauge(descSnapLag, float64(l.sinceSnapshot), sym)
		}
	}
	if n.mesh == nil || !n.Ready() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, h := range n.mesh.Regions() {
		up := 0.0
		if h.State.String() == "up" {
			up = 1
		}
		gauge(descRegionUp, up, h.Region)
		cordoned := 0.0
		if n.cordoned(ctx, h.Region) {
			cordoned = 1
		}
		gauge(descCordoned, cordoned, h.Region)
	}
	plans, err := n.Plans(ctx)
	if err != nil {
		return
	}
	evac := map[string]int{}
	steps := map[[2]string]int{}
	for _, p := range plans {
		if planFinished(p) {
			continue
		}
		kind := strings.ToLower(strings.TrimPrefix(p.Kind.String(), "PLAN_KIND_"))
		left := 0
		for _, s := range p.Steps {
			steps[[2]string{kind, strings.ToLower(strings.TrimPrefix(s.State.String(), "STEP_STATE_"))}]++
			if !stepFinished(s) {
				left++
			}
		}
		if p.Kind == proto.PlanKind_PLAN_KIND_EVACUATE {
			evac[p.Region] += left
		}
	}
	for _, h := range n.mesh.Regions() {
		left, ok := evac[h.Region]
		in := 0.0
		if ok {
			in = 1
		}
		gauge(descEvac, in, h.Region)
		gauge(descEvacLeft, float64(left), h.Region)
	}
	for k, v := range steps {
		gauge(descPlanSteps, float64(v), k[0], k[1])
	}
}

// planFinished: the plan runs no more steps.
func planFinished(p *proto.Plan) bool {
	return p.State != proto.PlanState_PLAN_STATE_PENDING && p.State != proto.PlanState_PLAN_STATE_RUNNING &&
		p.State != proto.PlanState_PLAN_STATE_ABORTING
}

// stepFinished: the step will not change again.
func stepFinished(s *proto.Step) bool {
	return s.State != proto.StepState_STEP_STATE_PENDING && s.State != proto.StepState_STEP_STATE_RUNNING
}

// runnerLag is one matcher's distance behind the log, its events and its snapshot.
type runnerLag struct{ pending, unwritten, sinceSnapshot uint64 }

// lags reports every running matcher's lag.
func (h *host) lags() map[string]runnerLag {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]runnerLag{}
	for sym, r := range h.runners {
		if r.finished() {
			continue
		}
		applied := r.applied.Load()
		l := runnerLag{pending: r.cmdPending.Load()}
		if w := r.evtWritten.Load(); applied > w {
			l.unwritten = applied - w
		}
		if s := r.snapAt.Load(); applied > s {
			l.sinceSnapshot = applied - s
		}
		out[sym] = l
	}
	return out
}
