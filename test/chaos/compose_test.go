package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/geomesh/geomesh/test/compose"
	"github.com/geomesh/geomesh/test/e2e"
)

// TestChaosCompose runs the chaos rounds against the docker compose deployment of
// deploy/compose.yaml (test/compose starts it) with one fault kind: `docker network disconnect`
// of a region from the shared network (the inter-region links), then `connect` back. It runs
// only with GEOMESH_CHAOS_COMPOSE=1 (it builds an image and needs docker and compose).
//
// The invariants it can check from outside the containers (their NATS is not published):
// every acknowledged new order is found (GET /api/v3/order by client id) in every region, the
// books are equal everywhere, and no symbol stays without trading longer than the RTO bound.
// Exactly-once and EVT == replay(CMD) need the logs and are TestChaos's.
func TestChaosCompose(t *testing.T) {
	if testing.Short() || os.Getenv("GEOMESH_CHAOS_COMPOSE") == "" {
		t.Skip("set GEOMESH_CHAOS_COMPOSE=1 to run the chaos rounds against deploy/compose.yaml (docker)")
	}
	st := settingsFromEnv(t)
	rng := rand.New(rand.NewPCG(st.seed, 0x636f6d70))
	t.Logf("chaos compose: seed %d, %d rounds, RTO bound %v", st.seed, st.rounds, st.rtoBound)
	d := compose.Up(t, compose.Options{})
	compose.Await(t, 3*time.Minute, "compose mesh ready", func() error {
		for _, r := range compose.Regions {
			if err := d.Ready(r); err != nil {
				return err
			}
		}
		return composeConverged(d)
	})
	syms, err := d.Symbols(compose.Regions[0])
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for s := range syms {
		names = append(names, s)
	}
	slices.Sort(names)
	var gws []Gateway
	for _, r := range compose.Regions {
		gws = append(gws, Gateway{Region: r, URL: d.REST(r)})
	}
	// One development key (account 1) shared by 4 workers: 100 orders per 10 s per account and
	// gateway bounds the rate.
	key := Key{Account: 1, APIKey: compose.APIKey, Secret: compose.APISecret}
	drv := NewDriver(LoadConfig{Gateways: gws, Keys: []Key{key, key, key, key}, Symbols: names, Rate: 20, Seed: st.seed})
	defer drv.Stop()

	var rto []time.Duration
	for n := 1; n <= st.rounds; n++ {
		target := compose.Regions[rng.IntN(len(compose.Regions))]
		dwell := 5*time.Second + time.Duration(rng.Int64N(int64(10*time.Second)))
		before := len(drv.Records())
		start := time.Now()
		awaitAccepted(t, drv, names, start)
		time.Sleep(time.Until(start.Add(warmFor))) // load before the fault
		homes := map[string]string{}
		if s, err := d.Symbols(target); err == nil {
			for k, v := range s {
				homes[k] = v.Home
			}
		}
		faultAt := time.Now()
		d.Partition(target) // docker network disconnect <project>_shared <container>
		time.Sleep(dwell)   // the fault's duration, drawn by the RNG
		d.Heal(target)
		compose.Await(t, 3*time.Minute, "compose mesh converged after the partition", func() error { return composeConverged(d) })
		converged := time.Now()
		awaitAccepted(t, drv, names, converged)
		time.Sleep(time.Until(converged.Add(tailFor)))
		end := time.Now()
		drv.Pause()
		acc := drv.Accepts()
		for _, s := range names {
			g := MaxGap(acc[s], faultAt, end)
			if homes[s] == target {
				rto = append(rto, g)
			}
			if g > st.rtoBound {
				t.Errorf("round %d: %s did not trade for %v (bound %v)", n, s, g, st.rtoBound)
			}
		}
		recs := drv.Records()
		failed := 0
		for _, rec := range recs[before:] {
			if rec.Result == ResultUnknown || rec.Result == ResultFailed {
				failed++
			}
		}
		lost := composeLost(t, drv, recs[before:])
		for _, s := range names {
			if p := composeBooks(d, s); p != "" {
				t.Errorf("round %d: %s", n, p)
			}
		}
		t.Logf("round %d: docker network disconnect %s for %v: converged %v after the fault; %d requests, %d without answer, %d acknowledged orders not found",
			n, target, dwell.Round(100*time.Millisecond), converged.Sub(faultAt).Round(time.Millisecond), len(recs)-before, failed, lost)
		if lost > 0 {
			t.Errorf("round %d: %d acknowledged orders not found", n, lost)
		}
		drv.Resume()
		if t.Failed() {
			break
		}
	}
	t.Logf("chaos compose: %d rounds, RTO p50 %v max %v over %d affected symbols", st.rounds,
		Percentile(rto, 50).Round(10*time.Millisecond), Percentile(rto, 100).Round(10*time.Millisecond), len(rto))
}

// composeSymbols is the number of symbols deploy/compose/*.yaml configure.
const composeSymbols = 3

// composeConverged: every region's admin API shows every symbol TRADING with one home and epoch.
func composeConverged(d *compose.Deployment) error {
	var ref map[string]compose.Symbol
	for _, r := range compose.Regions {
		if err := d.Ready(r); err != nil {
			return err
		}
		s, err := d.Symbols(r)
		if err != nil {
			return err
		}
		if len(s) < composeSymbols {
			return fmt.Errorf("%s knows %d symbols, want %d", r, len(s), composeSymbols)
		}
		for _, x := range s {
			if x.Phase != "PHASE_TRADING" {
				return fmt.Errorf("%s: %s is %s", r, x.Symbol, x.Phase)
			}
		}
		if ref == nil {
			ref = s
			continue
		}
		for k, v := range s {
			if ref[k] != v {
				return fmt.Errorf("%s sees %+v, %s %+v", r, v, compose.Regions[0], ref[k])
			}
		}
	}
	return nil
}

func awaitAccepted(t *testing.T, d *Driver, names []string, since time.Time) {
	t.Helper()
	compose.Await(t, time.Minute, "orders accepted", func() error {
		acc := d.Accepts()
		for _, s := range names {
			if ts := acc[s]; len(ts) == 0 || !ts[len(ts)-1].After(since) {
				return fmt.Errorf("no order of %s accepted since %s (answers since: %s)", s,
					since.Format(time.TimeOnly), answersSince(d.Records(), s, since))
			}
		}
		return nil
	})
}

// answersSince summarizes what the gateways answered symbol's requests since a time: counts by
// operation, result and code, so a symbol that stops trading in a round tells why.
func answersSince(recs []Record, symbol string, since time.Time) string {
	n := map[string]int{}
	for _, r := range recs {
		if r.Symbol == symbol && r.TS.After(since) {
			n[fmt.Sprintf("%s %s %d via %s", r.Op, r.Result, r.Code, r.Region)]++
		}
	}
	if len(n) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s ×%d", k, n[k]))
	}
	return strings.Join(out, ", ")
}

// composeLost counts the acknowledged new orders of recs that some region's gateway does not
// find.
func composeLost(t *testing.T, d *Driver, recs []Record) int {
	t.Helper()
	lost := 0
	for _, rec := range recs {
		if rec.Result != ResultAck || rec.Op == OpCancel || rec.OrderID == 0 {
			continue
		}
		for i := range compose.Regions {
			var status, code int
			err := e2e.Poll(20*time.Second, 200*time.Millisecond, func() error {
				var err error
				status, code, err = d.Lookup(i, rec.Account, rec.Symbol, rec.ClientOrderID)
				if err == nil && status != http.StatusOK && code != -2013 {
					err = fmt.Errorf("HTTP %d code %d", status, code)
				}
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("not found")
				}
				return err
			})
			if err != nil {
				lost++
				t.Logf("acknowledged %s %s (order %d) in %s: %v", rec.Op, rec.ClientOrderID, rec.OrderID, compose.Regions[i], err)
				break
			}
		}
	}
	return lost
}

// composeBooks compares every region's full book of sym (limit 5000) once they agree on
// lastUpdateId; it returns a problem ("" if none).
func composeBooks(d *compose.Deployment, sym string) string {
	err := e2e.Poll(30*time.Second, 500*time.Millisecond, func() error {
		var ref []byte
		for _, r := range compose.Regions {
			resp, err := http.Get(d.REST(r) + "/api/v3/depth?limit=5000&symbol=" + sym)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("depth %s from %s: %d", sym, r, resp.StatusCode)
			}
			var dp depth
			if err := json.Unmarshal(b, &dp); err != nil {
				return err
			}
			if ref == nil {
				ref = b
			} else if !bytes.Equal(ref, b) {
				return fmt.Errorf("book of %s in %s differs from %s's", sym, r, compose.Regions[0])
			}
		}
		return nil
	})
	if err != nil {
		return err.Error()
	}
	return ""
}
