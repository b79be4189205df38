package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/client"
)

const sym = "BTCUSDT"

// binary is the regiond executable TestMain builds once ("" under -short).
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(RunWithBinary(m, "geomesh-e2e-bin-", &binary))
}

// symbolYAML is the extra config of every process: one symbol preferring us-east, then eu-west,
// a 1 s settle window and frequent snapshots (so the new owner restores one and replays a tail).
const symbolYAML = `settle_window: 1s
snapshot_every: 50
symbols:
  - symbol: BTCUSDT
    base_asset: BTC
    quote_asset: USDT
    tick_size: "0.01"
    step_size: "0.00001"
    min_price: "0.01"
    max_price: "1000000"
    min_qty: "0.00001"
    max_qty: "9000"
    min_notional: "5"
    max_notional: "9000000"
    max_num_orders: 200
    preferred_regions: [us-east, eu-west, ap-south]
`

func btcSpec(t testing.TB) region.SymbolConfig {
	return region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")
}

// figures are what one kill scenario measured, all from the SIGKILL.
type figures struct {
	detection time.Duration // until a survivor's gossip declared us-east down (its log line's time)
	rehome    time.Duration // until OWNERS held a new home (the KV entry's time)
	rto       time.Duration // until the first fill of an order appended after the kill came back
}

// TestSIGKILLFailover runs three regiond processes, SIGKILLs the one homing BTCUSDT under a
// continuous order flow from the other two, and checks the failover end to end: re-homed to the
// next preferred region, every acknowledged order in the log exactly once, EVT equal to a replay
// of CMD, trading resumed; then the killed process restarts from its data directory and must not
// take the symbol back (fencing). GEOMESH_E2E_RUNS=N repeats it N times on fresh meshes and logs
// the median figures.
func TestSIGKILLFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three regiond processes")
	}
	runs := 1
	if v := os.Getenv("GEOMESH_E2E_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GEOMESH_E2E_RUNS=%q: want a positive integer", v)
		}
		runs = n
	}
	if runs == 1 {
		killScenario(t)
		return
	}
	var all []figures
	for i := range runs {
		t.Run(fmt.Sprintf("run-%d", i+1), func(t *testing.T) { all = append(all, killScenario(t)) })
	}
	if len(all) == 0 {
		return
	}
	pick := func(f func(figures) time.Duration) []time.Duration {
		var ds []time.Duration
		for _, x := range all {
			ds = append(ds, f(x))
		}
		return ds
	}
	det := pick(func(f figures) time.Duration { return f.detection })
	reh := pick(func(f figures) time.Duration { return f.rehome })
	rto := pick(func(f figures) time.Duration { return f.rto })
	t.Logf("%d runs: median detection %v, re-home %v, RTO %v", len(all), median(det), median(reh), median(rto))
	t.Logf("detection %v; re-home %v; RTO %v", det, reh, rto)
}

// budget bounds a whole scenario: each wait gets at most its own cap and what is left.
type budget time.Time

func (b budget) left(limit time.Duration) time.Duration {
	return max(0, min(limit, time.Until(time.Time(b))))
}

func killScenario(t *testing.T) figures {
	began := time.Now()
	b := budget(began.Add(85 * time.Second))
	m := Start(t, Options{Binary: binary, Extra: symbolYAML})
	var conns = map[string]*nats.Conn{}
	var jss = map[string]jetstream.JetStream{}
	for _, r := range []string{"us-east", "eu-west", "ap-south"} {
		conns[r] = m.Connect(r, b.left(20*time.Second))
		js, err := jetstream.New(conns[r])
		if err != nil {
			t.Fatal(err)
		}
		jss[r] = js
	}

	// Ready: BTCUSDT homed in us-east, and an order placed from eu-west gets its result.
	first := awaitOwner(t, jss["eu-west"], b.left(30*time.Second), func(r *proto.OwnershipRecord) error {
		if r.HomeRegion != "us-east" {
			return fmt.Errorf("home %s", r.HomeRegion)
		}
		return nil
	})
	placed := time.Since(began)
	probe := submitter(t, conns["eu-west"])
	if err := Poll(b.left(20*time.Second), 100*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		res, err := probe.Submit(ctx, newOrder("probe-1", 1, proto.Side_SIDE_BUY, proto.TimeInForce_TIME_IN_FORCE_IOC), client.WaitResult)
		if err != nil {
			return err
		}
		if res.Answer.GetStatus() != proto.CommandStatus_COMMAND_STATUS_ACCEPTED {
			return fmt.Errorf("probe answer %v", res.Answer)
		}
		return nil
	}); err != nil {
		t.Fatalf("no result for an order before the kill: %v", err)
	}
	ready := time.Since(began)

	f := startFlow(t, map[string]*nats.Conn{"eu-west": conns["eu-west"], "ap-south": conns["ap-south"]})
	if err := Poll(b.left(15*time.Second), 20*time.Millisecond, func() error {
		if n := f.fillCount(); n < 20 {
			return fmt.Errorf("%d fills", n)
		}
		return nil
	}); err != nil {
		f.end()
		t.Fatalf("fills before the kill: %v", err)
	}

	// SIGKILL the home region's process.
	killed := m.Kill("us-east")
	var fig figures
	rec := awaitOwner(t, jss["eu-west"], b.left(20*time.Second), func(r *proto.OwnershipRecord) error {
		if r.HomeRegion == "us-east" {
			return errors.New("home is still us-east")
		}
		return nil
	})
	fig.rehome = rec.at.Sub(killed)
	if rec.HomeRegion != "eu-west" || rec.Epoch <= first.Epoch {
		t.Errorf("after the kill: home %s epoch %d (was %d); want the next preferred region eu-west, a higher epoch",
			rec.HomeRegion, rec.Epoch, first.Epoch)
	}
	fig.detection = detection(t, m, killed)

	trading := awaitOwner(t, jss["eu-west"], b.left(15*time.Second), func(r *proto.OwnershipRecord) error {
		if r.Phase != proto.Phase_PHASE_TRADING || r.HomeRegion == "us-east" {
			return fmt.Errorf("home %s phase %v", r.HomeRegion, r.Phase)
		}
		return nil
	})
	if err := Poll(b.left(15*time.Second), 20*time.Millisecond, func() error {
		if _, ok := f.firstFillAfter(trading.at); !ok {
			return errors.New("no fill of an order appended after the symbol became TRADING again")
		}
		return nil
	}); err != nil {
		f.end()
		t.Fatalf("trading did not resume: %v", err)
	}
	firstFill, _ := f.firstFillAfter(killed)
	fig.rto = firstFill.Sub(killed)
	acked := f.end()
	t.Logf("BTCUSDT homed in us-east after %v, first order result after %v", placed.Round(time.Millisecond),
		ready.Round(time.Millisecond))
	t.Logf("SIGKILL of us-east: detected after %v, re-homed to %s (epoch %d) after %v, "+
		"TRADING after %v, first fill after %v (RTO)", fig.detection, rec.HomeRegion,
		rec.Epoch, fig.rehome, trading.at.Sub(killed), fig.rto)

	rep := checkLog(t, jss["eu-west"], b, acked)
	if len(rep.Epochs) < 2 {
		t.Errorf("EVT epochs %v: want the old and the new owner's", rep.Epochs)
	}
	t.Logf("%d commands, %d acknowledged, %d fills seen by clients, EVT epochs %v", rep.Commands, len(acked),
		f.fillCount(), rep.Epochs)

	// The killed process comes back with its config and data: it must not take the symbol back.
	m.Restart("us-east")
	m.AwaitLog("us-east", b.left(30*time.Second), "msg=node_ready")
	conns["us-east"] = m.Connect("us-east", b.left(10*time.Second))
	after := map[string]bool{}
	for _, r := range []string{"us-east", "eu-west", "ap-south"} {
		id := "after-restart-" + r
		sub := submitter(t, conns[r])
		if err := Poll(b.left(15*time.Second), 100*time.Millisecond, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := sub.Submit(ctx, newOrder(id, 30, proto.Side_SIDE_SELL, proto.TimeInForce_TIME_IN_FORCE_IOC), client.WaitResult)
			return err
		}); err != nil {
			t.Fatalf("order from %s after the restart: %v", r, err)
		}
		after[id] = true
	}
	now, _, err := Owner(t.Context(), jss["eu-west"], sym)
	if err != nil {
		t.Fatal(err)
	}
	if now.HomeRegion != trading.HomeRegion || now.Epoch != trading.Epoch {
		t.Errorf("after the restart: home %s epoch %d, want %s %d unchanged", now.HomeRegion, now.Epoch,
			trading.HomeRegion, trading.Epoch)
	}
	if line := FindLine(m.Proc("us-east").Log(), "msg=matcher_starting", "symbol="+sym); line != "" {
		t.Errorf("restarted old owner started a matcher: %s", line)
	}
	for id := range acked {
		after[id] = true
	}
	rep2 := checkLog(t, jss["eu-west"], b, after)
	if last := rep2.Epochs[len(rep2.Epochs)-1]; last != trading.Epoch {
		t.Errorf("after the restart EVT ends with epoch %d, want the current owner's %d (epochs %v)",
			last, trading.Epoch, rep2.Epochs)
	}
	if took := time.Since(began); took > 90*time.Second {
		t.Errorf("scenario took %v, want under 90s", took)
	}
	return fig
}

// owned is an ownership record and the time OWNERS stored it.
type owned struct {
	*proto.OwnershipRecord
	at time.Time
}

func awaitOwner(t *testing.T, js jetstream.JetStream, timeout time.Duration, cond func(*proto.OwnershipRecord) error) owned {
	t.Helper()
	var got owned
	err := Poll(timeout, 10*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		rec, at, err := Owner(ctx, js, sym)
		if err != nil {
			return err
		}
		got = owned{rec, at}
		return cond(rec)
	})
	if err != nil {
		t.Fatalf("owner of %s: %v", sym, err)
	}
	return got
}

// detection is how long after killed the first survivor's gossip declared us-east down.
func detection(t *testing.T, m *Mesh, killed time.Time) time.Duration {
	t.Helper()
	var first time.Time
	for _, r := range []string{"eu-west", "ap-south"} {
		line := m.AwaitLog(r, 10*time.Second, `msg="region state"`, "region=us-east state=down")
		at, err := LineTime(line)
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first.Sub(killed)
}

func submitter(t *testing.T, nc *nats.Conn) *client.Submitter {
	t.Helper()
	s, err := client.NewSubmitter(nc, client.SubmitterConfig{AppendTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newOrder(id string, acct uint64, side proto.Side, tif proto.TimeInForce) *proto.Command {
	return &proto.Command{Symbol: sym, RequestId: id, Body: &proto.Command_NewOrder{NewOrder: &proto.NewOrder{
		Account: acct, ClientOrderId: id, Side: side, Type: proto.OrderType_ORDER_TYPE_LIMIT,
		TimeInForce: tif, Price: 10000, Qty: 10000, // 100.00 USDT, 0.1 BTC
	}}}
}

// fill is a trade a client saw in the answer to its order.
type fill struct {
	received time.Time // when the answer arrived
	cmdTime  time.Time // when the order was appended to CMD_<S>
}

// flow places orders from several regions until ended, remembering every acknowledged request
// id and every fill. Each region alternates sides at one price, so most orders trade.
type flow struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nfills atomic.Int64

	mu    sync.Mutex
	acked map[string]bool
	fills []fill
}

func startFlow(t *testing.T, conns map[string]*nats.Conn) *flow {
	f := &flow{acked: map[string]bool{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	i := 0
	for r, nc := range conns {
		sub := submitter(t, nc)
		acct := uint64(10 + 2*i)
		i++
		f.wg.Go(func() { f.run(r, sub, acct) })
	}
	return f
}

func (f *flow) run(r string, sub *client.Submitter, acct uint64) {
	for n := 0; f.ctx.Err() == nil; n++ {
		id := fmt.Sprintf("%s-%d", r, n)
		side := proto.Side_SIDE_BUY
		if n%2 == 1 {
			side = proto.Side_SIDE_SELL
		}
		ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
		res, err := sub.Submit(ctx, newOrder(id, acct+uint64(n%2), side, proto.TimeInForce_TIME_IN_FORCE_GTC), client.WaitResult)
		cancel()
		if err == nil || errors.Is(err, client.ErrOutcomeUnknown) && res != nil {
			f.mu.Lock()
			f.acked[id] = true // appended: the log holds it whatever happens next
			f.mu.Unlock()
		}
		if err == nil && res.Answer != nil {
			for _, e := range res.Answer.Events {
				if e.GetTrade() != nil {
					f.mu.Lock()
					f.fills = append(f.fills, fill{received: time.Now(), cmdTime: time.Unix(0, res.Answer.CmdTimeUnixNano)})
					f.mu.Unlock()
					f.nfills.Add(1)
					break
				}
			}
		}
		if err != nil { // pace a client that got an error
			select {
			case <-f.ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func (f *flow) fillCount() int64 { return f.nfills.Load() }

// firstFillAfter returns when the first fill of an order appended after t arrived.
func (f *flow) firstFillAfter(t time.Time) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first time.Time
	for _, fl := range f.fills {
		if fl.cmdTime.After(t) && (first.IsZero() || fl.received.Before(first)) {
			first = fl.received
		}
	}
	return first, !first.IsZero()
}

// end stops the flow (cancelling requests in flight) and returns the acknowledged request ids.
func (f *flow) end() map[string]bool {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acked
}

// checkLog waits until EVT_<S> has caught up with CMD_<S> and VerifyLog passes, then checks that
// every acknowledged request id is in CMD_<S> exactly once and no request id twice.
func checkLog(t *testing.T, js jetstream.JetStream, b budget, acked map[string]bool) *region.LogReport {
	t.Helper()
	spec, err := region.SpecOf(btcSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	var rep *region.LogReport
	if err := Poll(b.left(20*time.Second), 100*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if rep, err = region.VerifyLog(ctx, js, sym, spec); err != nil {
			return err
		}
		if rep.Events != rep.Commands {
			return fmt.Errorf("EVT has %d of %d", rep.Events, rep.Commands)
		}
		return nil
	}); err != nil {
		t.Fatalf("VerifyLog %s: %v", sym, err)
	}
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

// median of ds (the lower middle one for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
