package matcher

import (
	"math/rand/v2"
	"testing"
)

// benchCmd is a compact command of the exchange-core workload (24 bytes, so 3M fit in 72 MB).
type benchCmd struct {
	target uint64 // order to cancel or move
	price  int32
	qty    int32
	acct   uint32
	kind   uint8 // bcGTC, bcIOC, bcCancel, bcMove
	side   Side
}

const (
	bcGTC uint8 = iota
	bcIOC
	bcCancel
	bcMove
)

const (
	wlMid      = 100_000
	wlHalf     = 800 // prices per side around the mid (about 750 of the 1600 are occupied)
	wlOrders   = 1000
	wlAccounts = 1000
)

// toCommand expands c into cmd, which is reused across calls so the timed loop does not
// allocate. Only fields this workload uses are written; the others stay zero.
func (c *benchCmd) toCommand(cmd *Command, seq uint64) {
	cmd.Seq, cmd.Time, cmd.Account = seq, int64(seq)*1000, uint64(c.acct)
	o := &cmd.Order
	o.Side, o.Type, o.TimeInForce, o.Price, o.Qty = c.side, Limit, GTC, int64(c.price), int64(c.qty)
	cmd.OrderID, cmd.Mode = 0, 0
	switch c.kind {
	case bcGTC:
		cmd.Kind = CmdNew
	case bcIOC:
		cmd.Kind, o.TimeInForce = CmdNew, IOC
	case bcCancel:
		cmd.Kind, cmd.OrderID = CmdCancel, c.target
	case bcMove:
		cmd.Kind, cmd.OrderID, cmd.Mode = CmdCancelReplace, c.target, StopOnFailure
	}
}

// exchangeCoreWorkload generates the exchange-core style workload from a fixed seed: warm
// commands that build a book of about 1,000 orders over about 750 levels, then n commands:
// 9% GTC limit, 3% IOC, 6% cancel, 82% move (cancel-replace to a new price, same remaining size).
// It simulates the book to know which orders rest; the returned book is the state after warm-up.
func exchangeCoreWorkload(tb testing.TB, seed uint64, n int) (warm, run []benchCmd, stats wlStats) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b, err := NewBook(benchSpec())
	if err != nil {
		tb.Fatal(err)
	}
	var resting [3][]uint64       // per side, resting order ids
	pos := map[uint64]int{}       // id -> index in resting[side]
	sideOf := map[uint64]Side{}   // id -> side
	acctOf := map[uint64]uint32{} // id -> account
	add := func(id uint64, s Side, a uint32) {
		pos[id], sideOf[id], acctOf[id] = len(resting[s]), s, a
		resting[s] = append(resting[s], id)
	}
	del := func(id uint64) {
		s, ok := sideOf[id]
		if !ok {
			return
		}
		i := pos[id]
		last := resting[s][len(resting[s])-1]
		resting[s][i], pos[last] = last, i
		resting[s] = resting[s][:len(resting[s])-1]
		delete(pos, id)
		delete(sideOf, id)
		delete(acctOf, id)
	}
	price := func(s Side) int32 {
		off := int32(1 + rng.IntN(wlHalf))
		if s == Buy {
			return wlMid - off
		}
		return wlMid + off
	}
	var cmd Command
	seq := uint64(0)
	apply := func(c *benchCmd) {
		seq++
		c.toCommand(&cmd, seq)
		evs := b.Apply(&cmd)
		for i := range evs {
			e := &evs[i]
			switch e.Kind {
			case EvAccepted:
				if _, open := b.Order(e.OrderID); open {
					add(e.OrderID, e.Side, uint32(e.Account))
				}
			case EvTrade:
				if e.MakerExecutedQty == e.MakerQty {
					del(e.MakerOrderID)
				}
			case EvCanceled, EvExpired:
				del(e.OrderID)
			}
		}
		if hasTrade(evs) {
			stats.tradingCmds++
		}
	}
	side := func() Side {
		// Lean toward the thinner side to keep both near wlOrders/2.
		nb, na := len(resting[Buy]), len(resting[Sell])
		if rng.IntN(nb+na+2) < na+1 {
			return Buy
		}
		return Sell
	}
	for i := 0; i < wlOrders; i++ {
		s := Side(1 + i%2)
		c := benchCmd{kind: bcGTC, side: s, price: price(s), qty: int32(1 + rng.IntN(100)), acct: uint32(1 + rng.IntN(wlAccounts))}
		apply(&c)
		warm = append(warm, c)
	}
	run = make([]benchCmd, 0, n)
	for len(run) < n {
		var c benchCmd
		r := rng.IntN(100)
		switch {
		case r < 9:
			s := side()
			c = benchCmd{kind: bcGTC, side: s, price: price(s), qty: int32(1 + rng.IntN(100)), acct: uint32(1 + rng.IntN(wlAccounts))}
		case r < 12:
			// IOC crossing the spread; sized to take about one order (more when the book is big).
			s := side().Opposite()
			opp := s.Opposite()
			lv, ok := b.best(opp)
			if !ok {
				continue
			}
			// Feedback keeps the book near wlOrders: below it, take part of the first order;
			// above it, take the whole best level.
			q := lv.Qty
			if b.open < wlOrders {
				q = max(1, b.orders[b.levels[b.side[opp].ladder.level(lv.Price)].head].remaining/2)
			}
			p := int32(wlMid + wlHalf + 1)
			if s == Sell {
				p = wlMid - wlHalf - 1
			}
			c = benchCmd{kind: bcIOC, side: s, price: p, qty: int32(q), acct: uint32(1 + rng.IntN(wlAccounts))}
		case r < 18:
			s := side().Opposite()
			if len(resting[s]) == 0 {
				continue
			}
			id := resting[s][rng.IntN(len(resting[s]))]
			c = benchCmd{kind: bcCancel, target: id, acct: acctOf[id]}
		default:
			s := Side(1 + rng.IntN(2))
			if len(resting[s]) == 0 {
				continue
			}
			id := resting[s][rng.IntN(len(resting[s]))]
			o, _ := b.Order(id)
			c = benchCmd{kind: bcMove, target: id, side: s, price: price(s), qty: int32(o.Remaining), acct: acctOf[id]}
		}
		apply(&c)
		run = append(run, c)
		stats.kinds[c.kind]++
	}
	stats.open, stats.levels = b.open, b.side[Buy].levels+b.side[Sell].levels
	return warm, run, stats
}

type wlStats struct {
	kinds       [4]int
	tradingCmds int
	open        int
	levels      int
}

func hasTrade(evs []Event) bool {
	for i := range evs {
		if evs[i].Kind == EvTrade {
			return true
		}
	}
	return false
}

func benchSpec() Spec {
	s := DefaultSpec()
	s.Symbol = "BENCH"
	return s
}

func TestExchangeCoreWorkloadShape(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	_, run, st := exchangeCoreWorkload(t, 1, n)
	if len(run) != n {
		t.Fatalf("generated %d commands", len(run))
	}
	pct := func(k int) float64 { return 100 * float64(k) / float64(n) }
	t.Logf("GTC %.1f%% IOC %.1f%% cancel %.1f%% move %.1f%%; trading commands %.1f%%; open orders %d on %d levels",
		pct(st.kinds[bcGTC]), pct(st.kinds[bcIOC]), pct(st.kinds[bcCancel]), pct(st.kinds[bcMove]), pct(st.tradingCmds), st.open, st.levels)
	if p := pct(st.kinds[bcMove]); p < 80 || p > 84 {
		t.Errorf("move share %.1f%%, want about 82%%", p)
	}
	if p := pct(st.tradingCmds); p < 2 || p > 5 {
		t.Errorf("trading commands %.1f%%, want about 3%%", p)
	}
	if st.open < 600 || st.open > 1500 {
		t.Errorf("open orders %d, want about 1000", st.open)
	}
}
