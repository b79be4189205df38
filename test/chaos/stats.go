package chaos

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// MaxGap is the longest stretch within [from, to] without an event in sorted ts: from from to
// the first event, between consecutive events, and from the last event to to. For a symbol's
// accepted new orders it is how long clients saw the symbol not trading.
func MaxGap(ts []time.Time, from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	i, _ := slices.BinarySearchFunc(ts, from, time.Time.Compare)
	prev, gap := from, time.Duration(0)
	for ; i < len(ts) && !ts[i].After(to); i++ {
		gap = max(gap, ts[i].Sub(prev))
		prev = ts[i]
	}
	return max(gap, to.Sub(prev))
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of ds, 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// RoundResult is what one round did and measured.
type RoundResult struct {
	N        int
	Kind     string
	Target   string
	Detail   string          // dwell, method
	Took     time.Duration   // fault to the end of the round (before the checks)
	RTO      []time.Duration // longest non-trading stretch of each affected symbol
	Sent     int             // requests finished during the round
	Acked    int
	Failed   int      // no definite answer (unknown or failed) among the round's requests
	Problems []string // invariants broken: the test fails
	Notes    []string // worth knowing, not an invariant (e.g. an unclean exit after SIGTERM)
}

// Summary is the table of a whole run.
type Summary struct {
	Seed     uint64
	Rounds   []RoundResult
	Acked    int // acknowledged requests over the run
	Lost     int // acknowledged, not in CMD_<S>
	Dup      int // request ids in CMD_<S> more than once
	Commands uint64
	RTOBound time.Duration
	Enabled  []string
	Disabled []string
}

// Write prints the per-round lines and the totals table.
func (s Summary) Write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "round\tfault\ttarget\tdetail\ttook\tmax RTO\trequests\tacked\tfailed\tproblems\tnotes\n")
	var rto []time.Duration
	kinds := map[string]int{}
	var rollingFailed, failed int
	for _, r := range s.Rounds {
		kinds[r.Kind]++
		failed += r.Failed
		if r.Kind == KindRolling {
			rollingFailed += r.Failed
		}
		rto = append(rto, r.RTO...)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\t%v\t%d\t%d\t%d\t%d\t%d\n", r.N, r.Kind, r.Target, r.Detail,
			r.Took.Round(100*time.Millisecond), Percentile(r.RTO, 100).Round(10*time.Millisecond), r.Sent, r.Acked,
			r.Failed, len(r.Problems), len(r.Notes))
	}
	_ = tw.Flush()
	var byKind []string
	for _, k := range AllKinds {
		if kinds[k] > 0 {
			byKind = append(byKind, fmt.Sprintf("%s=%d", k, kinds[k]))
		}
	}
	fmt.Fprintf(w, "\nchaos summary (seed %d)\n", s.Seed)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "  %s\t%v\n", k, v) }
	row("rounds", len(s.Rounds))
	row("faults by kind", strings.Join(byKind, " "))
	row("fault kinds enabled", strings.Join(s.Enabled, " "))
	if len(s.Disabled) > 0 {
		row("fault kinds disabled", strings.Join(s.Disabled, "; "))
	}
	row("orders acknowledged", s.Acked)
	row("commands in the logs", s.Commands)
	row("lost (must be 0)", s.Lost)
	row("duplicated (must be 0)", s.Dup)
	row("RTO p50 / max (affected symbols)", fmt.Sprintf("%v / %v (bound %v, %d samples)",
		Percentile(rto, 50).Round(10*time.Millisecond), Percentile(rto, 100).Round(10*time.Millisecond), s.RTOBound, len(rto)))
	row("failed during rolling restarts (must be 0)", rollingFailed)
	row("failed during other faults", failed-rollingFailed)
	_ = tw.Flush()
}

// Fault kinds.
const (
	KindKill      = "kill"
	KindStop      = "stop"
	KindPartition = "partition"
	KindSlow      = "slow"
	KindRolling   = "rolling"
)

// AllKinds in table order.
var AllKinds = []string{KindKill, KindStop, KindPartition, KindSlow, KindRolling}
