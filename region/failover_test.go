package region_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/client"
	"github.com/geomesh/geomesh/test/meshtest"
)

const sym = "BTCUSDT"

func btcSpec(t testing.TB) matcher.Spec {
	t.Helper()
	rec := region.DemoSymbol(sym, "BTC", "USDT", "us-east")
	spec, err := region.SpecOf(rec)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func newOrder(symbol, id string, acct uint64, side proto.Side, tif proto.TimeInForce, price, qty int64) *proto.Command {
	return &proto.Command{Symbol: symbol, RequestId: id, Body: &proto.Command_NewOrder{NewOrder: &proto.NewOrder{
		Account: acct, ClientOrderId: id, Side: side, Type: proto.OrderType_ORDER_TYPE_LIMIT,
		TimeInForce: tif, Price: price, Qty: qty,
	}}}
}

// flow places orders from the given regions until stopped, remembering every acknowledged
// request id. Orders alternate sides around one price so that many of them trade.
type flow struct {
	mu        sync.Mutex
	acked     map[string]bool
	failures  int
	maxGap    time.Duration
	lastAns   map[int]time.Time
	fills     atomic.Int64
	lastFill  atomic.Int64 // unix nano
	markAt    atomic.Int64 // unix nano of a mark (a kill); firstFill is the first fill after it
	firstFill atomic.Int64
	stop      chan struct{}
	wg        sync.WaitGroup
}

func startFlow(t *testing.T, m *meshtest.Mesh, regions ...string) *flow {
	return startFlowOn(t, m, sym, regions...)
}

// startFlowOn is startFlow on symbol.
func startFlowOn(t *testing.T, m *meshtest.Mesh, symbol string, regions ...string) *flow {
	f := &flow{acked: map[string]bool{}, stop: make(chan struct{}), lastAns: map[int]time.Time{}}
	for i, r := range regions {
		sub := m.Node(r).Submitter()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-f.stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%s-%d", symbol, r, n)
				side := proto.Side_SIDE_BUY
				if n%2 == 1 {
					side = proto.Side_SIDE_SELL
				}
				cmd := newOrder(symbol, id, uint64(10+i*2+n%2), side, proto.TimeInForce_TIME_IN_FORCE_GTC, 10000, 10000)
				sent := time.Now().UnixNano()
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				res, err := sub.Submit(ctx, cmd, client.WaitResult)
				cancel()
				f.mu.Lock()
				if err == nil || errors.Is(err, client.ErrOutcomeUnknown) && res != nil {
					f.acked[id] = true
				}
				if err != nil {
					f.failures++
				} else {
					now := time.Now()
					if last, ok := f.lastAns[i]; ok && now.Sub(last) > f.maxGap {
						f.maxGap = now.Sub(last)
					}
					f.lastAns[i] = now
				}
				f.mu.Unlock()
				if err == nil && res.Answer != nil {
					for _, e := range res.Answer.Events {
						if e.GetTrade() != nil {
							now := time.Now().UnixNano()
							f.fills.Add(1)
							f.lastFill.Store(now)
							if mark := f.markAt.Load(); mark != 0 && sent > mark { // an order sent after the mark
								f.firstFill.CompareAndSwap(0, now)
							}
						}
					}
				}
				if err != nil {
					select {
					case <-f.stop:
						return
					case <-time.After(20 * time.Millisecond): // pacing a client that got an error
					}
				}
			}
		}()
	}
	return f
}

// endWithStats stops the flow; it returns the acknowledged ids, the failed requests and the
// longest time any client waited between two answers.
func (f *flow) endWithStats() (map[string]bool, int, time.Duration) {
	acked := f.end()
	f.mu.Lock()
	defer f.mu.Unlock()
	return acked, f.failures, f.maxGap
}

func (f *flow) end() map[string]bool {
	close(f.stop)
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acked
}

// checkLog verifies the central invariant on the symbol's streams once EVT has caught up, and
// that every acknowledged request is in the log exactly once.
func checkLog(t *testing.T, m *meshtest.Mesh, acked map[string]bool) *region.LogReport {
	t.Helper()
	js := m.Node(m.Live()[0]).JetStream()
	var rep *region.LogReport
	m.Await("EVT covers CMD", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var err error
		rep, err = region.VerifyLog(ctx, js, sym, btcSpec(t))
		if err != nil {
			return err
		}
		if rep.Events != rep.Commands {
			return fmt.Errorf("EVT has %d of %d", rep.Events, rep.Commands)
		}
		return nil
	})
	seen := map[string]int{}
	for _, id := range rep.RequestIDs {
		seen[id]++
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged request %s is in CMD_%s %d times", id, sym, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("request %s is in CMD_%s %d times", id, sym, n)
		}
	}
	return rep
}

func TestOrdersMatchAcrossRegions(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	m := meshtest.New(t, meshtest.Options{Symbols: []region.SymbolConfig{
		region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")}})
	m.AwaitConverged()
	m.AwaitOwner(sym, meshtest.HomeIs("us-east"))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A maker in eu-west, a taker in ap-south: the orders go to the matcher in us-east.
	res, err := m.Node("eu-west").Submitter().Submit(ctx,
		newOrder(sym, "maker-1", 1, proto.Side_SIDE_SELL, proto.TimeInForce_TIME_IN_FORCE_GTC, 10000, 20000), client.WaitResult)
	if err != nil {
		t.Fatalf("maker: %v", err)
	}
	if res.Answer.Status != proto.CommandStatus_COMMAND_STATUS_ACCEPTED || res.Answer.Events[0].GetAccepted() == nil {
		t.Fatalf("maker answer: %v", res.Answer)
	}
	res, err = m.Node("ap-south").Submitter().Submit(ctx,
		newOrder(sym, "taker-1", 2, proto.Side_SIDE_BUY, proto.TimeInForce_TIME_IN_FORCE_IOC, 10000, 5000), client.WaitResult)
	if err != nil {
		t.Fatalf("taker: %v", err)
	}
	var trade *proto.Trade
	for _, e := range res.Answer.Events {
		if tr := e.GetTrade(); tr != nil {
			trade = tr
		}
	}
	if trade == nil || trade.Qty != 5000 || trade.Price != 10000 || trade.MakerAccount != 1 || trade.TakerAccount != 2 {
		t.Fatalf("taker answer has no right trade: %v", res.Answer)
	}
	// A retried request (same id) is not placed twice: it gets the original sequence back.
	again, err := m.Node("ap-south").Submitter().Submit(ctx,
		newOrder(sym, "taker-1", 2, proto.Side_SIDE_BUY, proto.TimeInForce_TIME_IN_FORCE_IOC, 10000, 5000), client.WaitResult)
	if err != nil || !again.Duplicate || again.Seq != res.Seq {
		t.Fatalf("retry: %+v, %v; want duplicate of seq %d", again, err, res.Seq)
	}
	// A rejection is a result, not an error.
	rej, err := m.Node("us-east").Submitter().Submit(ctx,
		newOrder(sym, "bad-price", 3, proto.Side_SIDE_BUY, proto.TimeInForce_TIME_IN_FORCE_GTC, 0, 5000), client.WaitResult)
	if err != nil {
		t.Fatalf("bad price: %v", err)
	}
	if rej.Answer.Status != proto.CommandStatus_COMMAND_STATUS_REJECTED || rej.Answer.RejectCode >= 0 {
		t.Fatalf("bad price answer: %v", rej.Answer)
	}
	checkLog(t, m, map[string]bool{"maker-1": true, "taker-1": true, "bad-price": true})
}

func TestFailoverOfHomeRegionUnderFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	m := meshtest.New(t, meshtest.Options{
		Symbols: []region.SymbolConfig{region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")},
		Tune:    func(c *region.Config) { c.SettleWindow = time.Second; c.SnapshotEvery = 50 },
	})
	m.AwaitConverged()
	m.AwaitOwner(sym, meshtest.HomeIs("us-east"))
	// Kill the active controller's region together with the home: the next controller must take
	// the lease and re-home the symbol exactly once.
	var ctrl string
	m.Await("an active controller", func() error {
		for _, r := range m.Live() {
			if m.Node(r).ControllerActive() {
				ctrl = r
				return nil
			}
		}
		return fmt.Errorf("none")
	})
	if ctrl != "us-east" {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		plan, err := m.Node(ctrl).Move(ctx, sym, ctrl, region.OpOptions{Actor: "test"})
		cancel()
		if err != nil {
			t.Fatalf("move to the controller's region: %v", err)
		}
		awaitPlan(t, m, plan.Id, proto.PlanState_PLAN_STATE_SUCCEEDED)
	}
	first := m.AwaitOwner(sym, meshtest.HomeIs(ctrl))
	var others []string
	for _, r := range m.Regions() {
		if r != ctrl {
			others = append(others, r)
		}
	}

	f := startFlow(t, m, others...)
	m.Await("fills before the failure", func() error {
		if f.fills.Load() < 20 {
			return fmt.Errorf("%d fills", f.fills.Load())
		}
		return nil
	})

	killed := time.Now()
	f.markAt.Store(killed.UnixNano())
	m.Kill(ctrl)
	rec := m.AwaitOwner(sym, meshtest.Not(ctrl))
	rehomed := time.Since(killed)
	want := ""
	for _, r := range []string{"us-east", "eu-west", "ap-south"} { // the symbol's preferences
		if r != ctrl && want == "" {
			want = r
		}
	}
	if rec.HomeRegion != want {
		t.Errorf("re-homed to %s, want the next preferred live region %s", rec.HomeRegion, want)
	}
	if rec.Epoch <= first.Epoch {
		t.Errorf("epoch %d after failover, was %d", rec.Epoch, first.Epoch)
	}
	m.AwaitOwner(sym, meshtest.PhaseIs(proto.Phase_PHASE_TRADING))
	fillsAtTrading := f.fills.Load()
	m.Await("a fill after the failover", func() error {
		if f.fills.Load() <= fillsAtTrading {
			return fmt.Errorf("no new fill")
		}
		return nil
	})
	rto := time.Duration(f.firstFill.Load() - killed.UnixNano())
	t.Logf("loss of the home and controller region %s: re-homed after %v, first fill after %v (RTO)", ctrl, rehomed, rto)
	acked := f.end()

	rep := checkLog(t, m, acked)
	if len(rep.Epochs) < 2 {
		t.Errorf("EVT epochs %v: want the old and the new owner's", rep.Epochs)
	}
	t.Logf("%d commands, %d acknowledged, epochs %v", rep.Commands, len(acked), rep.Epochs)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Right after losing a region, AUDIT may be electing a leader, and a read then finds
	// nothing yet: read until the history shows the placement at least.
	var hist []*proto.AuditEntry
	m.Await("the symbol's history readable", func() error {
		var err error
		if hist, err = m.Node(want).History(ctx, sym, 0); err != nil {
			return err
		}
		if len(hist) == 0 {
			return errors.New("no entries yet")
		}
		return nil
	})
	failovers := 0
	for _, e := range hist {
		if e.Action == proto.AuditAction_AUDIT_ACTION_FAILOVER {
			failovers++
			if e.OldHome != ctrl || e.NewEpoch != e.OldEpoch+1 {
				t.Errorf("failover entry %v", e)
			}
		}
	}
	if failovers != 1 {
		t.Errorf("%d failover entries in the history, want exactly 1: %v", failovers, hist)
	}

	// The old owner comes back: it must not run the matcher or publish anything stale.
	m.Restart(ctrl)
	m.AwaitConverged()
	if running := m.Node(ctrl).Matching(); len(running) != 0 {
		t.Errorf("restarted old owner runs matchers %v", running)
	}
	checkLog(t, m, acked)
}

func TestMinorityPartitionFailsFastAndDoesNotResumeOldOwnership(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	m := meshtest.New(t, meshtest.Options{
		Symbols: []region.SymbolConfig{region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")},
		Tune:    func(c *region.Config) { c.SettleWindow = 500 * time.Millisecond },
	})
	m.AwaitConverged()
	first := m.AwaitOwner(sym, meshtest.HomeIs("us-east"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := m.Node("eu-west").Submitter().Submit(ctx,
		newOrder(sym, "before", 1, proto.Side_SIDE_SELL, proto.TimeInForce_TIME_IN_FORCE_GTC, 10000, 20000), client.WaitResult); err != nil {
		t.Fatalf("order before the partition: %v", err)
	}

	m.Partition("us-east")
	m.AwaitRegionState("us-east", "eu-west", mesh.RegionDown)
	m.Await("us-east stops matching", func() error {
		if running := m.Node("us-east").Matching(); len(running) != 0 {
			return fmt.Errorf("still matching %v", running)
		}
		return nil
	})
	// The minority side answers at once with a retryable error; nothing is appended.
	start := time.Now()
	_, err := m.Node("us-east").Submitter().Submit(ctx,
		newOrder(sym, "minority", 2, proto.Side_SIDE_BUY, proto.TimeInForce_TIME_IN_FORCE_GTC, 10000, 1000), client.WaitResult)
	if !errors.Is(err, client.ErrNoQuorum) {
		t.Fatalf("minority submit: %v, want ErrNoQuorum", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("minority submit took %v, want <= 1s", d)
	}

	// The majority re-homes the symbol and trades on.
	rec := m.AwaitOwner(sym, func(r *proto.OwnershipRecord) error {
		if r.HomeRegion != "eu-west" || r.Phase != proto.Phase_PHASE_TRADING {
			return fmt.Errorf("home %s phase %v", r.HomeRegion, r.Phase)
		}
		return nil
	})
	if rec.Epoch <= first.Epoch {
		t.Fatalf("epoch did not grow: %d -> %d", first.Epoch, rec.Epoch)
	}
	res, err := m.Node("ap-south").Submitter().Submit(ctx,
		newOrder(sym, "majority", 3, proto.Side_SIDE_BUY, proto.TimeInForce_TIME_IN_FORCE_IOC, 10000, 5000), client.WaitResult)
	if err != nil || res.Answer.Status != proto.CommandStatus_COMMAND_STATUS_ACCEPTED {
		t.Fatalf("majority order: %+v %v", res, err)
	}

	// Healing: us-east learns the newer epoch and never matches the symbol again.
	m.Heal()
	m.AwaitConverged()
	m.Await("us-east sees the new owner", func() error {
		if got := m.Node("us-east").Owner(sym); got == nil || got.Epoch < rec.Epoch {
			return fmt.Errorf("us-east record %v", got)
		}
		return nil
	})
	if running := m.Node("us-east").Matching(); len(running) != 0 {
		t.Errorf("healed old owner runs %v", running)
	}
	checkLog(t, m, map[string]bool{"before": true, "majority": true})
}

func TestFailoverPolicies(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	cancelSym := region.DemoSymbol("ETHUSDT", "ETH", "USDT", "us-east", "eu-west", "ap-south")
	cancelSym.FailoverPolicy = "cancel_open_orders"
	haltSym := region.DemoSymbol("SOLUSDT", "SOL", "USDT", "us-east", "ap-south", "eu-west")
	haltSym.FailoverPolicy = "halt"
	m := meshtest.New(t, meshtest.Options{
		Symbols: []region.SymbolConfig{cancelSym, haltSym},
		Tune:    func(c *region.Config) { c.SettleWindow = 500 * time.Millisecond },
	})
	m.AwaitConverged()
	m.AwaitOwner("ETHUSDT", meshtest.HomeIs("us-east"))
	m.AwaitOwner("SOLUSDT", meshtest.HomeIs("us-east"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sub := m.Node("eu-west").Submitter()
	for i, s := range []string{"ETHUSDT", "ETHUSDT", "SOLUSDT"} {
		if _, err := sub.Submit(ctx, newOrder(s, fmt.Sprintf("rest-%d", i), uint64(7+i), proto.Side_SIDE_BUY,
			proto.TimeInForce_TIME_IN_FORCE_GTC, 9000+int64(i), 10000), client.WaitResult); err != nil {
			t.Fatalf("resting order %d: %v", i, err)
		}
	}
	// Owners of ETHUSDT orders hear about the failover cancels on their user-data subject.
	userMsgs, err := m.Node("ap-south").Conn().SubscribeSync(client.UserSubject(7))
	if err != nil {
		t.Fatal(err)
	}

	m.Kill("us-east")
	// cancel_open_orders: re-homed, every resting order canceled, then trading after the settle window.
	m.AwaitOwner("ETHUSDT", func(r *proto.OwnershipRecord) error {
		if r.HomeRegion != "eu-west" || r.Phase != proto.Phase_PHASE_TRADING {
			return fmt.Errorf("home %s phase %v", r.HomeRegion, r.Phase)
		}
		return nil
	})
	m.Await("failover cancels reach the log", func() error {
		vctx, vcancel := context.WithTimeout(ctx, 5*time.Second) // a request sent during an election gets no reply: keep it short
		defer vcancel()
		rep, err := region.VerifyLog(vctx, m.Node("eu-west").JetStream(), "ETHUSDT", specOf(t, cancelSym))
		if err != nil {
			return err
		}
		canceled := 0
		for _, id := range rep.RequestIDs {
			if len(id) > 16 && id[:16] == "failover-cancel-" {
				canceled++
			}
		}
		if canceled != 2 || rep.Events != rep.Commands {
			return fmt.Errorf("%d failover cancel-alls, EVT %d of %d", canceled, rep.Events, rep.Commands)
		}
		return nil
	})
	msg, err := userMsgs.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no user-data message for account 7: %v", err)
	}
	batch, err := proto.DecodeEventBatch(msg.Data)
	if err != nil || batch.Events[0].GetCanceled() == nil {
		t.Fatalf("user-data message: %v %v", batch, err)
	}

	// halt: re-homed to its next preferred region and halted; it stays halted past the settle window.
	rec := m.AwaitOwner("SOLUSDT", func(r *proto.OwnershipRecord) error {
		if r.HomeRegion != "ap-south" || r.Phase != proto.Phase_PHASE_HALT {
			return fmt.Errorf("home %s phase %v", r.HomeRegion, r.Phase)
		}
		return nil
	})
	// The halt takes effect where the log says so: when the new owner's SetPhase(HALT) is applied.
	m.Await("SOLUSDT halted in the log", func() error {
		vctx, vcancel := context.WithTimeout(ctx, 5*time.Second) // a request sent during an election gets no reply: keep it short
		defer vcancel()
		rep, err := region.VerifyLog(vctx, m.Node("ap-south").JetStream(), "SOLUSDT", specOf(t, haltSym))
		if err != nil {
			return err
		}
		// The new owner's phase command for the halted epoch (an earlier epoch's does not halt).
		want := fmt.Sprintf("phase-SOLUSDT-%d", rec.Epoch)
		if slices.Contains(rep.RequestIDs, want) && rep.Events == rep.Commands {
			return nil
		}
		return fmt.Errorf("no %s yet in %v", want, rep.RequestIDs)
	})
	res, err := submitRetry(ctx, sub, newOrder("SOLUSDT", "while-halted", 9, proto.Side_SIDE_SELL,
		proto.TimeInForce_TIME_IN_FORCE_GTC, 9500, 10000))
	if err != nil {
		t.Fatalf("order while halted: %v", err)
	}
	if res.Answer.Status != proto.CommandStatus_COMMAND_STATUS_REJECTED {
		t.Errorf("order while halted: %v, want rejected", res.Answer)
	}
	if got := m.Owner("SOLUSDT"); got.Phase != proto.Phase_PHASE_HALT || got.Epoch != rec.Epoch {
		t.Errorf("halted symbol changed by itself: %v", got)
	}

	// The metrics moved: the surviving controller counted two failovers, and every survivor
	// shows the new homes and phases and the dead region down.
	failovers, moves := 0.0, 0.0
	for _, r := range []string{"eu-west", "ap-south"} {
		reg := m.Node(r).Registry()
		failovers += max(0, metricValue(t, reg, "geomesh_failovers_total"))
		moves += max(0, metricValue(t, reg, "geomesh_symbol_moves_total", "reason", "failover", "result", "success"))
		m.Await("metrics of "+r, func() error {
			for _, c := range []struct {
				name   string
				labels []string
				want   float64
			}{
				{"geomesh_symbol_home_info", []string{"symbol", "ETHUSDT", "region", "eu-west"}, 1},
				{"geomesh_symbol_home_info", []string{"symbol", "SOLUSDT", "region", "ap-south"}, 1},
				{"geomesh_symbol_status", []string{"symbol", "SOLUSDT", "status", "HALT"}, 1},
				{"geomesh_symbol_status", []string{"symbol", "ETHUSDT", "status", "TRADING"}, 1},
				{"geomesh_symbols_not_trading", nil, 1},
				{"geomesh_region_up", []string{"region", "us-east"}, 0},
				{"geomesh_region_up", []string{"region", r}, 1},
			} {
				if got := metricValue(t, reg, c.name, c.labels...); got != c.want {
					return fmt.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
				}
			}
			return nil
		})
	}
	if failovers != 2 || moves != 2 {
		t.Errorf("geomesh_failovers_total %v, geomesh_symbol_moves_total{reason=failover} %v on the survivors, want 2 and 2", failovers, moves)
	}
	if got := metricValue(t, m.Node("eu-west").Registry(), "geomesh_symbol_move_duration_seconds", "reason", "failover"); got != 1 {
		t.Errorf("eu-west observed %v failover takeovers (histogram count), want 1 (ETHUSDT)", got)
	}
}

// metricValue is the value of the series of name with exactly the given label pairs (a
// histogram's sample count), summed over series when labels are omitted; -1 when absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total, found := 0.0, false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}) {
					continue series
				}
			}
			found = true
			total += m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return total
}

func specOf(t *testing.T, s region.SymbolConfig) matcher.Spec {
	t.Helper()
	spec, err := region.SpecOf(s)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// submitRetry is what a careful client does: on an unknown outcome or an unavailable log it
// retries with the same request id (the log dedupes it) until ctx ends.
func submitRetry(ctx context.Context, sub *client.Submitter, cmd *proto.Command) (*client.Result, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, 20*time.Second)
		res, err := sub.Submit(actx, cmd, client.WaitResult)
		cancel()
		if err == nil || ctx.Err() != nil ||
			!errors.Is(err, client.ErrOutcomeUnknown) && !errors.Is(err, client.ErrUnavailable) {
			return res, err
		}
	}
}
