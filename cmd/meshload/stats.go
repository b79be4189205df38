package main

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1 µs to 2 minutes, 3 significant digits.
const (
	histMinUS = 1
	histMaxUS = 120_000_000
	histSig   = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMinUS, histMaxUS, histSig) }

// statKey is one cell of the measurements: the answering region, the operation ("place/ACK",
// "place/FULL", "cancel", "replace") and the transport ("rest" or "ws").
type statKey struct{ region, op, transport string }

// cell holds a key's measurements: the latency of every definite answer (ack or rejected), and
// counts by result and rejections by Binance error code.
type cell struct {
	hist    *hdrhistogram.Histogram
	results map[string]int64
	codes   map[int]int64
}

func newCell() *cell {
	return &cell{hist: newHist(), results: map[string]int64{}, codes: map[int]int64{}}
}

func (c *cell) merge(o *cell) {
	c.hist.Merge(o.hist)
	for k, v := range o.results {
		c.results[k] += v
	}
	for k, v := range o.codes {
		c.codes[k] += v
	}
}

// stats collects the measured requests (those due after the warm-up); safe for concurrent use.
type stats struct {
	mu    sync.Mutex
	cells map[statKey]*cell
	last  time.Time // completion of the last measured request

	resends  atomic.Int64 // requests sent again to another region (connection error, 503)
	resolves atomic.Int64 // outcome-unknown answers resolved by querying the order
}

func newStats() *stats { return &stats{cells: map[statKey]*cell{}} }

// record adds one measured request's outcome: its latency (from its intended time) goes into
// the histogram when the answer was definite.
func (s *stats) record(k statKey, latency time.Duration, result string, code int, done time.Time) {
	us := max(histMinUS, min(histMaxUS, latency.Microseconds()))
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cells[k]
	if c == nil {
		c = newCell()
		s.cells[k] = c
	}
	c.results[result]++
	if code != 0 && result == resultRejected {
		c.codes[code]++
	}
	if result == resultAck || result == resultRejected {
		_ = c.hist.RecordValue(us)
	}
	if done.After(s.last) {
		s.last = done
	}
}

// summary is one row of the report.
type summary struct {
	Region    string           `json:"region"`
	Op        string           `json:"op"`
	Transport string           `json:"transport"`
	Requests  int64            `json:"requests"`
	Ack       int64            `json:"ack"`
	Rejected  int64            `json:"rejected"`
	Unknown   int64            `json:"unknown"`
	Failed    int64            `json:"failed"`
	Measured  int64            `json:"measured"` // latencies in the histogram (ack + rejected)
	P50US     int64            `json:"p50_us"`
	P99US     int64            `json:"p99_us"`
	P999US    int64            `json:"p999_us"`
	MaxUS     int64            `json:"max_us"`
	RPS       float64          `json:"throughput_rps"` // definite answers per second of the window
	Errors    map[string]int64 `json:"errors_by_code,omitempty"`
}

func summarize(region, op, transport string, c *cell, window time.Duration) summary {
	s := summary{Region: region, Op: op, Transport: transport,
		Ack: c.results[resultAck], Rejected: c.results[resultRejected],
		Unknown: c.results[resultUnknown], Failed: c.results[resultFailed],
		Measured: c.hist.TotalCount()}
	s.Requests = s.Ack + s.Rejected + s.Unknown + s.Failed
	if s.Measured > 0 {
		s.P50US, s.P99US, s.P999US = c.hist.ValueAtQuantile(50), c.hist.ValueAtQuantile(99), c.hist.ValueAtQuantile(99.9)
		s.MaxUS = c.hist.Max()
	}
	if window > 0 {
		s.RPS = float64(s.Ack+s.Rejected) / window.Seconds()
	}
	if len(c.codes) > 0 {
		s.Errors = map[string]int64{}
		for code, n := range c.codes {
			s.Errors[strconv.Itoa(code)] = n
		}
	}
	return s
}

// all is the name of an aggregate dimension in a row.
const all = "all"

// rows summarizes the cells: one row per region and operation, then per operation over all
// regions, then per transport, then the total. window is the measured window's length.
func (s *stats) rows(window time.Duration) []summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	group := func(f func(statKey) statKey) map[statKey]*cell {
		out := map[statKey]*cell{}
		for k, c := range s.cells {
			g := f(k)
			if out[g] == nil {
				out[g] = newCell()
			}
			out[g].merge(c)
		}
		return out
	}
	var out []summary
	add := func(m map[statKey]*cell) {
		for _, k := range slices.SortedFunc(maps.Keys(m), func(a, b statKey) int {
			return cmp.Or(cmp.Compare(a.region, b.region), cmp.Compare(a.op, b.op), cmp.Compare(a.transport, b.transport))
		}) {
			out = append(out, summarize(k.region, k.op, k.transport, m[k], window))
		}
	}
	add(group(func(k statKey) statKey { return statKey{k.region, k.op, all} }))
	add(group(func(k statKey) statKey { return statKey{all, k.op, all} }))
	add(group(func(k statKey) statKey { return statKey{all, all, k.transport} }))
	add(group(func(statKey) statKey { return statKey{all, all, all} }))
	return out
}

// find returns the row of (region, op, transport).
func find(rows []summary, region, op, transport string) (summary, bool) {
	for _, r := range rows {
		if r.Region == region && r.Op == op && r.Transport == transport {
			return r, true
		}
	}
	return summary{}, false
}

// ratio is a/b, or 0 when either is missing.
func ratio(a, b int64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
