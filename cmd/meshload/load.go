package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
)

// symState is one loaded symbol: its filters, its quote ladder, and a book of resting orders
// per account.
type symState struct {
	spec    *symbolSpec
	ladder  ladder
	maxOpen int
	books   []*book
}

// loader runs one load: targets, accounts, symbols, measurements.
type loader struct {
	opts     options
	log      *slog.Logger
	targets  []*target
	accounts []account
	syms     []*symState
	stats    *stats
	journal  *journal
	runID    string
	seq      atomic.Int64

	measureFrom time.Time
}

func newLoader(opts options, specs []targetSpec, accounts []account, log *slog.Logger) *loader {
	l := &loader{opts: opts, log: log, accounts: accounts, stats: newStats(), runID: newRunID()}
	for _, ts := range specs {
		l.targets = append(l.targets, newTarget(ts, opts.httpConns, opts.wsConns))
	}
	return l
}

// newRunID is 5 random base-36 characters: client order ids of different runs differ.
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	v := uint64(0)
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	s := strconv.FormatUint(v%60_466_176, 36) // 36^5
	for len(s) < 5 {
		s = "0" + s
	}
	return s
}

func (l *loader) close() {
	for _, t := range l.targets {
		t.close()
	}
}

// getJSON GETs path (a public endpoint) from the first target that answers 200.
func (l *loader) getJSON(ctx context.Context, path string, v any) error {
	var errs []error
	for _, t := range l.targets {
		rq, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+path, nil)
		if err != nil {
			return err
		}
		resp, err := t.httpc.Do(rq)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			errs = append(errs, fmt.Errorf("%s %s: %d %s", t.region, path, resp.StatusCode, b))
			continue
		}
		return json.Unmarshal(b, v)
	}
	return fmt.Errorf("GET %s: %w", path, errors.Join(errs...))
}

// setupSymbols reads exchangeInfo and prepares the symbols to load (--symbols, or every
// TRADING one).
func (l *loader) setupSymbols(ctx context.Context) error {
	var info struct {
		Symbols []symbolJSON `json:"symbols"`
	}
	if err := l.getJSON(ctx, "/api/v3/exchangeInfo", &info); err != nil {
		return fmt.Errorf("exchangeInfo: %w", err)
	}
	var mid decimal.Decimal
	if l.opts.mid != "" {
		var err error
		if mid, err = decimal.NewFromString(l.opts.mid); err != nil || !mid.IsPositive() {
			return fmt.Errorf("--mid %q: want a positive decimal", l.opts.mid)
		}
	}
	byName := map[string]symbolJSON{}
	for _, s := range info.Symbols {
		byName[s.Symbol] = s
	}
	names := l.opts.symbols
	if len(names) == 0 || l.opts.symbolsAuto {
		names = nil
		for _, s := range info.Symbols {
			if s.Status == "TRADING" {
				names = append(names, s.Symbol)
			}
		}
		slices.Sort(names)
	}
	if len(names) == 0 {
		return errors.New("exchangeInfo lists no TRADING symbol")
	}
	for _, name := range names {
		sj, ok := byName[name]
		if !ok {
			return fmt.Errorf("symbol %s: not in exchangeInfo", name)
		}
		sp, err := specOf(sj)
		if err != nil {
			return err
		}
		m := int64(0)
		if l.opts.mid != "" {
			m = units(mid.Div(decimal.New(1, -sp.priceDec)).Floor().Shift(-sp.priceDec), sp.priceDec)
		}
		ld, err := newLadder(sp, m, l.opts.levels)
		if err != nil {
			return err
		}
		maxOpen := l.opts.maxOpen
		if sp.maxNumOrders > 0 {
			// leave room for the places in flight while the book is near full
			maxOpen = min(maxOpen, sp.maxNumOrders*3/4)
		}
		st := &symState{spec: sp, ladder: ld, maxOpen: max(1, maxOpen)}
		for range l.accounts {
			st.books = append(st.books, &book{})
		}
		l.syms = append(l.syms, st)
	}
	return nil
}

// awaitAuth waits until every target authenticates every account (a gateway learns keys
// through its ACCOUNTS watch), up to timeout.
func (l *loader) awaitAuth(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, t := range l.targets {
		for _, a := range l.accounts {
			var last answer
			for {
				last = t.rest(ctx, http.MethodGet, "/api/v3/account", restBody(a.secret, nil, time.Now().UnixMilli(), l.opts.recvWindow), a.key)
				if last.err == nil && last.status == http.StatusOK {
					break
				}
				if !sleepCtx(ctx, 100*time.Millisecond) {
					if last.err != nil {
						return fmt.Errorf("%s: account %d: %w", t.region, a.id, last.err)
					}
					return fmt.Errorf("%s: account %d: key %s refused: HTTP %d code %d", t.region, a.id, a.key, last.status, last.code)
				}
			}
		}
	}
	return nil
}

// cancelOpen cancels every open order of every loaded account in every loaded symbol
// (DELETE /api/v3/openOrders), so orders left by an earlier run against the same mesh do not
// count against MAX_NUM_ORDERS. "Unknown order" (-2011: none open) is fine.
func (l *loader) cancelOpen(ctx context.Context) error {
	t := l.targets[0]
	for _, a := range l.accounts {
		for _, s := range l.syms {
			q := []param{{"symbol", s.spec.Symbol}}
			ans := t.rest(ctx, http.MethodDelete, "/api/v3/openOrders", restBody(a.secret, q, time.Now().UnixMilli(), l.opts.recvWindow), a.key)
			if ans.err != nil {
				return fmt.Errorf("cancel open orders of account %d in %s: %w", a.id, s.spec.Symbol, ans.err)
			}
			if ans.status != http.StatusOK && ans.code != -2011 {
				return fmt.Errorf("cancel open orders of account %d in %s: HTTP %d code %d", a.id, s.spec.Symbol, ans.status, ans.code)
			}
		}
	}
	return nil
}

// result is the whole run's outcome (the -o json document).
type result struct {
	Rate        float64   `json:"target_rate"`
	Duration    string    `json:"duration"`
	Warmup      string    `json:"warmup"`
	RespTypes   []string  `json:"resp_types"`
	WSFraction  float64   `json:"ws_fraction"`
	Regions     []string  `json:"regions"`
	Symbols     int       `json:"symbols"`
	Accounts    int       `json:"accounts"`
	Scheduled   int64     `json:"scheduled"`
	Measured    int64     `json:"measured_requests"`
	WindowSec   float64   `json:"window_s"`
	AchievedRPS float64   `json:"achieved_rps"`
	Resends     int64     `json:"retries_resent"`
	Resolves    int64     `json:"retries_resolved"`
	Errors      int64     `json:"errors"`
	Rows        []summary `json:"rows"`
	Raw         *summary  `json:"raw_baseline,omitempty"`
	Ratios      *ratios   `json:"ratios,omitempty"`
}

// ratios compare order latencies with the raw append (issue #6 targets in the names' notes).
type ratios struct {
	AckP50  float64 `json:"ack_p50_over_raw_p50"`  // target <= 1.5
	FullP50 float64 `json:"full_p50_over_raw_p50"` // target <= 2.5
	AckP99  float64 `json:"ack_p99_over_raw_p99"`  // target <= 2
}

// benign are rejections the workload causes itself by racing trades (a cancel or move of an
// order that just filled); they do not count as errors.
func benign(code string) bool { return code == "-2011" || code == "-2021" || code == "-2022" }

// load runs the schedule (and the raw baseline next to it) and returns the result.
func (l *loader) load(ctx context.Context, raw *rawBaseline) (*result, error) {
	if l.opts.journal != "" {
		j, err := openJournal(l.opts.journal)
		if err != nil {
			return nil, err
		}
		l.journal = j
	}
	total := l.opts.warmup + l.opts.duration
	start := time.Now().Add(50 * time.Millisecond)
	l.measureFrom = start.Add(l.opts.warmup)
	var wg sync.WaitGroup
	if raw != nil {
		wg.Go(func() { raw.run(ctx, start, total, l.measureFrom) })
	}
	var scheduled int64
	pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) {
		scheduled = schedule(ctx, start, l.opts.rate, total, l.opts.maxInFlight, func(i int64, due time.Time) {
			l.fire(ctx, i, due)
		})
	})
	wg.Wait()
	jerr := l.journal.Close()
	end := l.stats.last
	window := end.Sub(l.measureFrom)
	if window < l.opts.duration {
		window = l.opts.duration
	}
	res := &result{Rate: l.opts.rate, Duration: l.opts.duration.String(), Warmup: l.opts.warmup.String(),
		RespTypes: l.opts.resp, WSFraction: l.opts.wsFraction, Symbols: len(l.syms), Accounts: len(l.accounts),
		Scheduled: scheduled, WindowSec: window.Seconds(), Resends: l.stats.resends.Load(), Resolves: l.stats.resolves.Load()}
	for _, t := range l.targets {
		res.Regions = append(res.Regions, t.region)
	}
	res.Rows = l.stats.rows(window)
	if tot, ok := find(res.Rows, all, all, all); ok {
		res.Measured = tot.Requests
		res.AchievedRPS = tot.RPS
		res.Errors = tot.Unknown + tot.Failed
		for code, n := range tot.Errors {
			if !benign(code) {
				res.Errors += n
			}
		}
	}
	if raw != nil {
		rs := raw.summary(window)
		res.Raw = &rs
		ack, _ := find(res.Rows, all, "place/ACK", all)
		full, _ := find(res.Rows, all, "place/FULL", all)
		res.Ratios = &ratios{AckP50: ratio(ack.P50US, rs.P50US), FullP50: ratio(full.P50US, rs.P50US), AckP99: ratio(ack.P99US, rs.P99US)}
	}
	return res, jerr
}
