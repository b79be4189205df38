package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/test/e2e"
)

// binary is the regiond executable TestMain builds once ("" under -short).
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(e2e.RunWithBinary(m, "geomesh-chaos-bin-", &binary))
}

const (
	adminToken = "chaos-admin-token"
	nKeys      = 48              // accounts (one load worker each; 100 orders per 10 s per account)
	nSources   = 8               // client source addresses: 6 for the load, 2 for the checker
	warmFor    = 5 * time.Second // load before each fault
	tailFor    = 5 * time.Second // load on the converged mesh after each fault
)

var regions = []string{"us-east", "eu-west", "ap-south"}

// symbols: one homed in each region, one of them with the cancel_open_orders policy.
var symbols = []region.SymbolConfig{
	withPolicy(region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east", "eu-west", "ap-south"), "settle_then_trade"),
	withPolicy(region.DemoSymbol("ETHUSDT", "ETH", "USDT", "eu-west", "ap-south", "us-east"), "cancel_open_orders"),
	withPolicy(region.DemoSymbol("SOLUSDT", "SOL", "USDT", "ap-south", "us-east", "eu-west"), "settle_then_trade"),
}

func withPolicy(s region.SymbolConfig, p string) region.SymbolConfig {
	s.FailoverPolicy = p
	s.MaxNumOrders = 1000
	return s
}

func symbolNames() []string {
	var out []string
	for _, s := range symbols {
		out = append(out, s.Symbol)
	}
	return out
}

func keys() []Key {
	var ks []Key
	for i := range nKeys {
		ks = append(ks, Key{Account: uint64(100 + i), APIKey: fmt.Sprintf("chaosKey%d", i), Secret: fmt.Sprintf("chaosSecret%d", i)})
	}
	return ks
}

// extraYAML is the config every region shares: fast settle, frequent snapshots, the symbols and
// the API keys.
func extraYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "settle_window: 1s\nsnapshot_every: 500\nadmin_token: %s\nsymbols:\n", adminToken)
	for _, s := range symbols {
		fmt.Fprintf(&b, "  - symbol: %s\n    base_asset: %s\n    quote_asset: %s\n    tick_size: %q\n    step_size: %q\n"+
			"    min_price: %q\n    max_price: %q\n    min_qty: %q\n    max_qty: %q\n    min_notional: %q\n"+
			"    max_notional: %q\n    max_num_orders: %d\n    preferred_regions: [%s]\n    failover_policy: %s\n",
			s.Symbol, s.BaseAsset, s.QuoteAsset, s.TickSize, s.StepSize, s.MinPrice, s.MaxPrice, s.MinQty, s.MaxQty,
			s.MinNotional, s.MaxNotional, s.MaxNumOrders, strings.Join(s.Preferred, ", "), s.FailoverPolicy)
	}
	b.WriteString("bootstrap_keys:\n")
	for _, k := range keys() {
		fmt.Fprintf(&b, "  - account: %d\n    api_key: %s\n    secret: %s\n    permissions: [read, trade]\n", k.Account, k.APIKey, k.Secret)
	}
	return b.String()
}

// settings of a run, from the environment.
type settings struct {
	rounds   int
	seed     uint64
	rate     float64
	rtoBound time.Duration
	only     []string // GEOMESH_CHAOS_FAULTS
}

func settingsFromEnv(t *testing.T) settings {
	s := settings{rounds: 3, seed: uint64(time.Now().UnixNano()), rate: 150, rtoBound: 30 * time.Second}
	if v := os.Getenv("GEOMESH_CHAOS_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GEOMESH_CHAOS_ROUNDS=%q: want a positive integer", v)
		}
		s.rounds = n
	}
	if v := os.Getenv("GEOMESH_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("GEOMESH_CHAOS_SEED=%q: want an unsigned integer", v)
		}
		s.seed = n
	}
	if v := os.Getenv("GEOMESH_CHAOS_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			t.Fatalf("GEOMESH_CHAOS_RATE=%q: want a positive number", v)
		}
		s.rate = f
	}
	if v := os.Getenv("GEOMESH_CHAOS_RTO_BOUND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("GEOMESH_CHAOS_RTO_BOUND=%q: want a positive duration", v)
		}
		s.rtoBound = d
	}
	if v := os.Getenv("GEOMESH_CHAOS_FAULTS"); v != "" {
		for k := range strings.SplitSeq(v, ",") {
			if !slices.Contains(AllKinds, k) {
				t.Fatalf("GEOMESH_CHAOS_FAULTS: unknown kind %q (kinds: %s)", k, strings.Join(AllKinds, ","))
			}
			s.only = append(s.only, k)
		}
	}
	return s
}

// run is one chaos run's state.
type run struct {
	t        *testing.T
	m        *e2e.Mesh
	nw       *Net // nil without namespaces
	slow     SlowMethod
	gw       []Gateway
	admin    map[string]string // region -> admin base URL
	conns    map[string]*nats.Conn
	check    []*http.Client // checker clients (own source addresses)
	nCheck   int
	d        *Driver
	rng      *rand.Rand
	settings settings
	summary  Summary
}

// TestChaos: see the package documentation.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three regiond processes and injects faults for minutes")
	}
	st := settingsFromEnv(t)
	r := &run{t: t, settings: st, rng: rand.New(rand.NewPCG(st.seed, 0x6d657368)), admin: map[string]string{},
		conns: map[string]*nats.Conn{}}
	r.summary.Seed, r.summary.RTOBound = st.seed, st.rtoBound
	r.logf("chaos: seed %d (replay with GEOMESH_CHAOS_SEED=%d), %d rounds, %.0f requests/s, RTO bound %v",
		st.seed, st.seed, st.rounds, st.rate, st.rtoBound)

	// Capabilities.
	enabled := []string{KindKill, KindStop, KindRolling}
	var disabled []string
	nw, err := NewNet(regions, nSources)
	if err == nil {
		t.Cleanup(nw.Close) // after the mesh's cleanup has killed the processes (LIFO)
		err = nw.Probe()
	}
	if err != nil {
		disabled = append(disabled, fmt.Sprintf("partition, slow (no network namespaces: %v)", err))
		nw = nil
	} else {
		r.nw = nw
		enabled = append(enabled, KindPartition)
		if m, err := nw.ProbeSlow(); err != nil {
			disabled = append(disabled, fmt.Sprintf("slow (no usable qdisc: %v)", err))
		} else {
			r.slow = m
			enabled = append(enabled, KindSlow)
		}
	}
	if len(st.only) > 0 {
		var keep []string
		for _, k := range enabled {
			if slices.Contains(st.only, k) {
				keep = append(keep, k)
			} else {
				disabled = append(disabled, k+" (not in GEOMESH_CHAOS_FAULTS)")
			}
		}
		enabled = keep
		if len(enabled) == 0 {
			t.Fatalf("GEOMESH_CHAOS_FAULTS=%v: none of them is enabled here (%v)", st.only, disabled)
		}
	}
	slices.SortFunc(enabled, func(a, b string) int { return slices.Index(AllKinds, a) - slices.Index(AllKinds, b) })
	r.summary.Enabled, r.summary.Disabled = enabled, disabled
	r.logf("chaos: fault kinds enabled: %s", strings.Join(enabled, ", "))
	for _, d := range disabled {
		r.logf("chaos: disabled: %s", d)
	}
	if r.slow != "" {
		r.logf("chaos: slow link = %s (%s)", r.slow, strings.Join(slowArgs(r.slow), " "))
	}

	// The mesh.
	opts := e2e.Options{Binary: binary, Regions: regions, Extra: extraYAML()}
	var sources, checkSources []string
	httpAddr, adminAddr := map[string]string{}, map[string]string{}
	if nw != nil {
		opts.Hosts, opts.Wrap = nw.Hosts(), nw.Wrap
		for i, rg := range regions {
			httpAddr[rg], adminAddr[rg] = nw.IP(i)+":8080", nw.IP(i)+":9090"
		}
		sources, checkSources = nw.SourceIPs[:nSources-2], nw.SourceIPs[nSources-2:]
	} else {
		ports := e2e.FreePorts(t, 2*len(regions))
		for i, rg := range regions {
			httpAddr[rg] = "127.0.0.1:" + strconv.Itoa(ports[2*i])
			adminAddr[rg] = "127.0.0.1:" + strconv.Itoa(ports[2*i+1])
		}
		for i := range nSources {
			sources = append(sources, fmt.Sprintf("127.0.0.%d", 10+i))
		}
		sources, checkSources = sources[:nSources-2], sources[nSources-2:]
	}
	opts.RegionExtra = func(rg string) string {
		return fmt.Sprintf("http_addr: %s\nadmin_addr: %s\n", httpAddr[rg], adminAddr[rg])
	}
	for _, rg := range regions {
		r.gw = append(r.gw, Gateway{Region: rg, URL: "http://" + httpAddr[rg]})
		r.admin[rg] = "http://" + adminAddr[rg]
	}
	for _, ip := range checkSources {
		tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second,
			LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
		r.check = append(r.check, &http.Client{Transport: tr, Timeout: 10 * time.Second})
	}
	began := time.Now()
	r.m = e2e.Start(t, opts)
	for _, rg := range regions {
		r.conns[rg] = r.m.Connect(rg, 60*time.Second)
	}
	r.awaitConverged(90*time.Second, true)
	r.logf("chaos: mesh ready after %v (configs, data, logs: %s)", time.Since(began).Round(time.Millisecond), r.m.Dir())

	jf, err := os.Create(filepath.Join(r.m.Dir(), "journal.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	r.d = NewDriver(LoadConfig{Gateways: r.gw, Keys: keys(), Symbols: symbolNames(), Rate: st.rate,
		SourceIPs: sources, Seed: st.seed, Journal: jf})
	defer r.d.Stop()

	for n := 1; n <= st.rounds; n++ {
		kind := enabled[r.rng.IntN(len(enabled))]
		target := regions[r.rng.IntN(len(regions))]
		res := r.round(n, kind, target)
		r.summary.Rounds = append(r.summary.Rounds, res)
		for _, p := range res.Notes {
			r.logf("round %d (%s %s): note: %s", n, kind, res.Target, p)
		}
		for _, p := range res.Problems {
			t.Errorf("round %d (%s %s): %s", n, kind, res.Target, p)
		}
		if t.Failed() {
			break
		}
	}
	r.d.Stop()
	var buf bytes.Buffer
	r.summary.Write(&buf)
	r.logf("\n%s", buf.String())
	r.logf("chaos: whole run %v; journal: %s", time.Since(began).Round(time.Second), jf.Name())
	if r.summary.Lost != 0 || r.summary.Dup != 0 {
		t.Errorf("lost %d, duplicated %d: want 0 and 0", r.summary.Lost, r.summary.Dup)
	}
}

func (r *run) logf(format string, args ...any) {
	r.t.Helper()
	r.t.Logf(format, args...)
}

// round injects one fault under load, waits for the mesh to heal and converge, then checks the
// invariants with the load paused.
func (r *run) round(n int, kind, target string) RoundResult {
	res := RoundResult{N: n, Kind: kind, Target: target}
	if kind == KindRolling {
		res.Target = "all"
	}
	before := len(r.d.Records())
	start := time.Now()
	// Warm: the load flows for a while before the fault (a duration of the scenario, not a
	// synchronization: awaitAccepts is the condition).
	if err := r.awaitAccepts(start, 30*time.Second); err != nil {
		res.Problems = append(res.Problems, "before the fault: "+err.Error())
		return res
	}
	time.Sleep(time.Until(start.Add(warmFor)))
	homes := r.homes()
	faultAt := time.Now()
	r.logf("round %d: %s %s (homes %v)", n, kind, res.Target, homes)
	affected := map[string]bool{}
	for s, h := range homes {
		if h == target || kind == KindRolling {
			affected[s] = true
		}
	}
	dwell := func(lo, hi time.Duration) time.Duration {
		d := lo + time.Duration(r.rng.Int64N(int64(hi-lo)+1))
		res.Detail = d.Round(100 * time.Millisecond).String()
		return d
	}
	switch kind {
	case KindKill:
		d := dwell(2*time.Second, 10*time.Second)
		r.m.Kill(target)
		time.Sleep(d) // the fault's duration (a choice of the RNG), not a synchronization
		r.m.Restart(target)
		r.m.AwaitLog(target, 60*time.Second, "msg=node_ready")
	case KindStop:
		d := dwell(2*time.Second, 6*time.Second)
		if err := r.m.Signal(target, syscall.SIGSTOP); err != nil {
			r.t.Fatal(err)
		}
		time.Sleep(d)
		if err := r.m.Signal(target, syscall.SIGCONT); err != nil {
			r.t.Fatal(err)
		}
	case KindPartition:
		d := dwell(4*time.Second, 12*time.Second)
		if err := r.nw.Partition(target); err != nil {
			r.t.Fatal(err)
		}
		time.Sleep(d)
		if err := r.nw.Heal(); err != nil {
			r.t.Fatal(err)
		}
	case KindSlow:
		d := dwell(8*time.Second, 15*time.Second)
		res.Detail += " " + string(r.slow)
		if err := r.nw.Slow(target, r.slow); err != nil {
			r.t.Fatal(err)
		}
		time.Sleep(d)
		if err := r.nw.Unslow(); err != nil {
			r.t.Fatal(err)
		}
	case KindRolling:
		for _, rg := range regions {
			probs, notes := r.rollOne(rg)
			res.Problems = append(res.Problems, probs...)
			res.Notes = append(res.Notes, notes...)
		}
	}
	healed := time.Now()
	r.awaitConverged(90*time.Second, false)
	// Trading resumed: every symbol accepted an order after convergence.
	converged := time.Now()
	if err := r.awaitAccepts(converged, 30*time.Second); err != nil {
		res.Problems = append(res.Problems, "after healing: "+err.Error())
	}
	time.Sleep(time.Until(converged.Add(tailFor))) // steady load on the healed mesh
	end := time.Now()
	res.Took = end.Sub(faultAt)
	r.d.Pause()
	acc := r.d.Accepts()
	for _, s := range symbolNames() {
		g := MaxGap(acc[s], faultAt, end)
		if affected[s] {
			res.RTO = append(res.RTO, g)
		}
		if g > r.settings.rtoBound {
			res.Problems = append(res.Problems, fmt.Sprintf("%s did not trade for %v (bound %v)", s, g.Round(time.Millisecond), r.settings.rtoBound))
		}
	}
	recs := r.d.Records()[before:]
	res.Sent = len(recs)
	var lat []time.Duration
	for _, rec := range recs {
		lat = append(lat, time.Duration(rec.LatencyUS)*time.Microsecond)
		switch rec.Result {
		case ResultAck:
			res.Acked++
		case ResultUnknown, ResultFailed:
			res.Failed++
			if kind == KindRolling {
				res.Problems = append(res.Problems, fmt.Sprintf("request without a definite answer during the rolling restart: %+v", rec))
			}
		}
	}
	r.logf("round %d: %s %s %s: healed after %v, converged after %v; %d requests (%.0f/s), %d acked, %d without answer, "+
		"latency p50 %v p99 %v max %v (retries included); RTO %v",
		n, kind, res.Target, res.Detail, healed.Sub(faultAt).Round(time.Millisecond), converged.Sub(faultAt).Round(time.Millisecond),
		res.Sent, float64(res.Sent)/end.Sub(start).Seconds(), res.Acked, res.Failed, Percentile(lat, 50).Round(time.Millisecond),
		Percentile(lat, 99).Round(time.Millisecond), Percentile(lat, 100).Round(time.Millisecond), res.RTO)
	res.Problems = append(res.Problems, r.checkInvariants()...)
	r.d.Resume()
	return res
}

// rollOne is one step of a rolling restart: evacuate rg, SIGTERM it, restart it on its data,
// wait until it is ready, restore it. It returns the problems seen (an unclean exit included).
func (r *run) rollOne(rg string) (problems, notes []string) {
	via := regions[(slices.Index(regions, rg)+1)%len(regions)]
	if p := r.plan(via, "/regions/"+rg+"/evacuate"); p != "" {
		problems = append(problems, "evacuate "+rg+": "+p)
	}
	if on := r.leadersOn(rg); len(on) > 0 {
		notes = append(notes, fmt.Sprintf("%s still led %s when SIGTERMed after its evacuation", rg, strings.Join(on, ",")))
	}
	t0 := time.Now()
	st, err := r.m.Stop(rg, 30*time.Second)
	if err != nil {
		problems = append(problems, fmt.Sprintf("SIGTERM %s: %v", rg, err))
	} else {
		r.logf("  %s: evacuated, stopped by SIGTERM in %v (exit %d)", rg, time.Since(t0).Round(time.Millisecond), st.ExitCode())
		if st.ExitCode() != 0 {
			log := strings.Split(strings.TrimSpace(r.m.Proc(rg).Log()), "\n")
			notes = append(notes, fmt.Sprintf("%s exited %d after SIGTERM (took %v): %s", rg, st.ExitCode(),
				time.Since(t0).Round(time.Millisecond), log[len(log)-1]))
		}
	}
	r.m.Restart(rg)
	r.m.AwaitLog(rg, 60*time.Second, "msg=node_ready")
	if err := e2e.Poll(30*time.Second, 100*time.Millisecond, func() error { return r.ping(rg) }); err != nil {
		return append(problems, fmt.Sprintf("gateway of %s after the restart: %v", rg, err)), notes
	}
	if p := r.plan(rg, "/regions/"+rg+"/restore"); p != "" {
		problems = append(problems, "restore "+rg+": "+p)
	}
	return problems, notes
}

// streamsOf describes the CMD_ and EVT_ streams of sym (last sequence, leader, replicas with
// their lag), the evidence when the log check fails.
func (r *run) streamsOf(sym string) string {
	js, err := r.js()
	if err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []string
	for _, name := range []string{"CMD_" + sym, "EVT_" + sym} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		info, err := s.Info(ctx)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		desc := fmt.Sprintf("%s: last seq %d", name, info.State.LastSeq)
		if c := info.Cluster; c != nil {
			desc += ", leader " + c.Leader
			for _, p := range c.Replicas {
				desc += fmt.Sprintf(", replica %s current=%v lag=%d active=%v", p.Name, p.Current, p.Lag, p.Active.Round(time.Millisecond))
			}
		}
		out = append(out, desc)
	}
	return strings.Join(out, "; ")
}

// leadersOn lists the streams (KV buckets included) whose leader is a server of region rg.
func (r *run) leadersOn(rg string) []string {
	js, err := r.js()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var on []string
	l := js.ListStreams(ctx)
	for info := range l.Info() {
		if info.Cluster != nil && strings.HasPrefix(info.Cluster.Leader, rg+"-") {
			on = append(on, info.Config.Name)
		}
	}
	slices.Sort(on)
	return on
}

// plan POSTs an admin operation that creates a plan on region via's admin API and polls the plan
// until it finished. A refusal (4xx other than 429) is not retried.
func (r *run) plan(via, path string) string {
	var p struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Error string `json:"error"`
	}
	var refused error
	err := e2e.Poll(30*time.Second, 200*time.Millisecond, func() error {
		err := r.adminDo(via, http.MethodPost, path, `{"actor":"chaos","reason":"rolling restart"}`, &p)
		var he httpError
		if errors.As(err, &he) && he.status >= 400 && he.status < 500 && he.status != http.StatusTooManyRequests {
			refused = err
			return nil
		}
		return err
	})
	if refused != nil {
		return refused.Error()
	}
	if err != nil {
		return err.Error()
	}
	err = e2e.Poll(90*time.Second, 200*time.Millisecond, func() error {
		switch p.State {
		case "PLAN_STATE_SUCCEEDED", "PLAN_STATE_FAILED", "PLAN_STATE_ABORTED":
			return nil
		}
		if err := r.adminDo(via, http.MethodGet, "/plans/"+p.ID, "", &p); err != nil {
			return err
		}
		return fmt.Errorf("plan %s is %s", p.ID, p.State)
	})
	if err != nil {
		return fmt.Sprintf("plan %s: %v", p.ID, err)
	}
	if p.State != "PLAN_STATE_SUCCEEDED" {
		return fmt.Sprintf("plan %s %s: %s", p.ID, p.State, p.Error)
	}
	return ""
}

// httpError is an admin API answer with an error status.
type httpError struct {
	status int
	msg    string
}

func (e httpError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func (r *run) adminDo(rg, method, path, body string, out any) error {
	req, err := http.NewRequest(method, r.admin[rg]+"/admin/v1"+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.checker().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %w", method, path, httpError{resp.StatusCode, string(bytes.TrimSpace(b))})
	}
	return json.Unmarshal(b, out)
}

func (r *run) checker() *http.Client {
	r.nCheck++
	return r.check[r.nCheck%len(r.check)]
}

func (r *run) ping(rg string) error {
	resp, err := r.checker().Get(r.gw[slices.Index(regions, rg)].URL + "/api/v3/ping")
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping %s: %d", rg, resp.StatusCode)
	}
	return nil
}

type adminSymbol struct {
	Symbol string `json:"symbol"`
	Home   string `json:"home"`
	Phase  string `json:"phase"`
	Epoch  uint64 `json:"epoch"`
}

// symbolsVia reads every symbol's ownership from region rg's admin API.
func (r *run) symbolsVia(rg string) ([]adminSymbol, error) {
	var out struct {
		Symbols []adminSymbol `json:"symbols"`
	}
	err := r.adminDo(rg, http.MethodGet, "/symbols", "", &out)
	return out.Symbols, err
}

// homes maps each symbol to its home region, read from the first region that answers.
func (r *run) homes() map[string]string {
	m := map[string]string{}
	for _, rg := range regions {
		ss, err := r.symbolsVia(rg)
		if err != nil {
			continue
		}
		for _, s := range ss {
			m[s.Symbol] = s.Home
		}
		return m
	}
	return m
}

// awaitConverged waits until every process runs, every gateway answers, and every region's
// admin API shows every symbol TRADING, with the same home and epoch everywhere (atHome: in its
// first preferred region, the start).
func (r *run) awaitConverged(timeout time.Duration, atHome bool) {
	r.t.Helper()
	err := e2e.Poll(timeout, 200*time.Millisecond, func() error {
		var ref map[string]adminSymbol
		for _, rg := range regions {
			if r.m.Proc(rg).Exited() {
				return fmt.Errorf("%s: %w", rg, e2e.ErrExited)
			}
			if err := r.ping(rg); err != nil {
				return err
			}
			ss, err := r.symbolsVia(rg)
			if err != nil {
				return err
			}
			if len(ss) != len(symbols) {
				return fmt.Errorf("%s knows %d symbols", rg, len(ss))
			}
			got := map[string]adminSymbol{}
			for _, s := range ss {
				got[s.Symbol] = s
				if s.Phase != "PHASE_TRADING" {
					return fmt.Errorf("%s: %s is %s in %s", rg, s.Symbol, s.Phase, s.Home)
				}
			}
			if atHome {
				for _, s := range symbols {
					if got[s.Symbol].Home != s.Preferred[0] {
						return fmt.Errorf("%s homed in %s", s.Symbol, got[s.Symbol].Home)
					}
				}
			}
			if ref == nil {
				ref = got
			} else {
				for s, a := range got {
					if ref[s] != a {
						return fmt.Errorf("%s sees %+v, %s %+v", rg, a, regions[0], ref[s])
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		r.t.Fatalf("mesh did not converge: %v", err)
	}
}

// awaitAccepts waits until every symbol has accepted a new order after since.
func (r *run) awaitAccepts(since time.Time, timeout time.Duration) error {
	return e2e.Poll(timeout, 100*time.Millisecond, func() error {
		acc := r.d.Accepts()
		for _, s := range symbolNames() {
			ts := acc[s]
			if len(ts) == 0 || !ts[len(ts)-1].After(since) {
				return fmt.Errorf("no order of %s accepted since %s", s, since.Format(time.TimeOnly))
			}
		}
		return nil
	})
}

// js returns a JetStream context on a region whose connection is up.
func (r *run) js() (jetstream.JetStream, error) {
	for _, rg := range regions {
		if nc := r.conns[rg]; nc.IsConnected() {
			return jetstream.New(nc)
		}
	}
	return nil, errors.New("no NATS connection is up")
}

// checkInvariants runs with the load paused: the logs (exactly once, EVT == replay of CMD) and
// the books of every region. It updates the summary and returns the problems.
func (r *run) checkInvariants() []string {
	var problems []string
	recs := r.d.Records()
	acked := map[string]map[string]bool{} // symbol -> dedupe ids
	nAcked := 0
	for _, rec := range recs {
		if rec.Result != ResultAck {
			continue
		}
		if acked[rec.Symbol] == nil {
			acked[rec.Symbol] = map[string]bool{}
		}
		acked[rec.Symbol][rec.DedupeID()] = true
		nAcked++
	}
	lost, dup := 0, 0
	var commands uint64
	for _, sc := range symbols {
		spec, err := region.SpecOf(sc)
		if err != nil {
			r.t.Fatal(err)
		}
		var rep *region.LogReport
		err = e2e.Poll(45*time.Second, 200*time.Millisecond, func() error {
			js, err := r.js()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if rep, err = region.VerifyLog(ctx, js, sc.Symbol, spec); err != nil {
				return err
			}
			if rep.Events != rep.Commands {
				return fmt.Errorf("EVT_%s has %d of %d", sc.Symbol, rep.Events, rep.Commands)
			}
			return nil
		})
		if err != nil {
			problems = append(problems, fmt.Sprintf("VerifyLog %s: %v; %s", sc.Symbol, err, r.streamsOf(sc.Symbol)))
			continue
		}
		commands += rep.Commands
		seen := map[string]int{}
		for _, id := range rep.RequestIDs {
			seen[id]++
		}
		for id := range acked[sc.Symbol] {
			if seen[id] != 1 {
				lost++
				problems = append(problems, fmt.Sprintf("acknowledged request %s is in CMD_%s %d times", id, sc.Symbol, seen[id]))
			}
		}
		for id, c := range seen {
			if c > 1 {
				dup++
				problems = append(problems, fmt.Sprintf("request %s is in CMD_%s %d times", id, sc.Symbol, c))
			}
		}
		if p := r.checkBooks(sc.Symbol); p != "" {
			problems = append(problems, p)
		}
	}
	r.summary.Acked, r.summary.Lost, r.summary.Dup, r.summary.Commands = nAcked, lost, dup, commands
	return problems
}

// depth is GET /api/v3/depth's answer.
type depth struct {
	LastUpdateID uint64      `json:"lastUpdateId"`
	Bids         [][2]string `json:"bids"`
	Asks         [][2]string `json:"asks"`
}

func (r *run) depth(rg, sym string, limit int) (depth, error) {
	var d depth
	resp, err := r.checker().Get(fmt.Sprintf("%s/api/v3/depth?symbol=%s&limit=%d", r.gw[slices.Index(regions, rg)].URL, sym, limit))
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return d, fmt.Errorf("depth %s from %s: %d %s", sym, rg, resp.StatusCode, bytes.TrimSpace(b))
	}
	return d, json.Unmarshal(b, &d)
}

// checkBooks waits until every region's replica of sym has the same lastUpdateId (cheap reads),
// then compares the full books (limit 5000). It returns a problem ("" if none).
func (r *run) checkBooks(sym string) string {
	var last error
	err := e2e.Poll(30*time.Second, 300*time.Millisecond, func() error {
		var ref uint64
		for i, rg := range regions {
			d, err := r.depth(rg, sym, 5)
			if err != nil {
				return err
			}
			if i == 0 {
				ref = d.LastUpdateID
			} else if d.LastUpdateID != ref {
				return fmt.Errorf("lastUpdateId %d in %s, %d in %s", ref, regions[0], d.LastUpdateID, rg)
			}
		}
		var full []depth
		for _, rg := range regions {
			d, err := r.depth(rg, sym, 5000)
			if err != nil {
				return err
			}
			full = append(full, d)
		}
		for i := 1; i < len(full); i++ {
			if full[i].LastUpdateID != full[0].LastUpdateID || !slices.Equal(full[i].Bids, full[0].Bids) || !slices.Equal(full[i].Asks, full[0].Asks) {
				last = fmt.Errorf("book of %s in %s (id %d, %d bids, %d asks) differs from %s's (id %d, %d bids, %d asks)",
					sym, regions[i], full[i].LastUpdateID, len(full[i].Bids), len(full[i].Asks), regions[0], full[0].LastUpdateID,
					len(full[0].Bids), len(full[0].Asks))
				return last
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Sprintf("books of %s: %v", sym, err)
	}
	return ""
}
