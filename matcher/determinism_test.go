package matcher

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// randomLog generates n commands of every kind from a fixed seed, without looking at a book:
// targets are recent ids or client ids, so some cancels/amends/replaces miss (as in real logs).
func randomLog(seed uint64, n int) []Command {
	rng := rand.New(rand.NewPCG(seed, 7))
	coids := make([]string, 32)
	for i := range coids {
		coids[i] = "c" + strconv.Itoa(i)
	}
	cmds := make([]Command, 0, n)
	var ids uint64 // upper bound of order ids assigned so far (an order's id is its command's Seq)
	phaseLeft := 0
	for len(cmds) < n {
		seq := uint64(len(cmds) + 1)
		c := Command{Seq: seq, Time: int64(seq) * 1e5, Account: uint64(1 + rng.IntN(50))}
		side := Side(1 + rng.IntN(2))
		price := int64(1000 + rng.IntN(41) - 20)
		if side == Buy {
			price -= 3
		} else {
			price += 3
		}
		no := NewOrder{Side: side, Type: Limit, TimeInForce: GTC, Price: price, Qty: int64(1 + rng.IntN(20))}
		if rng.IntN(3) == 0 {
			no.ClientOrderID = coids[rng.IntN(len(coids))]
		}
		switch r := rng.IntN(100); {
		case r < 10:
			no.TimeInForce = IOC
		case r < 15:
			no.TimeInForce = FOK
		case r < 20:
			no.Type, no.TimeInForce = LimitMaker, 0
		case r < 25:
			no.Type, no.TimeInForce, no.Price = Market, 0, 0
			if rng.IntN(2) == 0 {
				no.Qty, no.QuoteQty = 0, int64(500+rng.IntN(20000))
			}
		}
		no.STP = STPMode(rng.IntN(8) % 4) // NONE half the time
		if rng.IntN(50) == 0 {
			no.RecvWindowMs, no.ClientTimeMs = 5, c.Time/1e6-int64(rng.IntN(10))
		}
		target := ids - min(ids, uint64(rng.IntN(450))) // about 300 orders back: 2 in 3 commands place one
		switch r := rng.IntN(1000); {
		case r < 450:
			c.Kind, c.Order = CmdNew, no
			ids = seq
		case r < 650:
			c.Kind, c.OrderID = CmdCancel, target
			if rng.IntN(4) == 0 {
				c.OrderID, c.OrigClientOrderID = 0, coids[rng.IntN(len(coids))]
			}
		case r < 660:
			c.Kind = CmdCancelAll
		case r < 880:
			c.Kind, c.OrderID, c.Order, c.Mode = CmdCancelReplace, target, no, ReplaceMode(1+rng.IntN(2))
			ids = seq
		case r < 998:
			c.Kind, c.OrderID, c.NewQty = CmdAmend, target, int64(1+rng.IntN(19))
		default:
			c.Kind, c.Phase, c.Reason = CmdSetPhase, Phase(2+rng.IntN(3)), "drill"
			phaseLeft = 20 + rng.IntN(200)
		}
		if phaseLeft > 0 {
			if phaseLeft--; phaseLeft == 0 {
				cmds = append(cmds, c)
				seq++
				c = Command{Kind: CmdSetPhase, Seq: seq, Time: int64(seq) * 1e5, Phase: Trading}
			}
		}
		cmds = append(cmds, c)
	}
	return cmds[:n]
}

func determinismSpec() Spec {
	s := DefaultSpec()
	s.MaxNumOrders = 60
	return s
}

// replayHash applies cmds to b and returns sha256 over the encoding of each command's events.
// When snaps has an entry for index i, it snapshots the book before command i and starts
// tails[i], a hash of the events from i on.
func replayHash(b *Book, cmds []Command, tails map[int]hash.Hash, snaps map[int][]byte) []byte {
	h := sha256.New()
	var buf []byte
	var open []hash.Hash
	for i := range cmds {
		if snaps != nil {
			if _, ok := snaps[i]; ok {
				snaps[i] = b.Snapshot()
				tails[i] = sha256.New()
				open = append(open, tails[i])
			}
		}
		buf = AppendEvents(buf[:0], b.Apply(&cmds[i]))
		h.Write(buf)
		for _, t := range open {
			t.Write(buf)
		}
	}
	return h.Sum(nil)
}

// TestDeterminism replays a 1,000,000-command random log twice from scratch (the second time
// without the move fast path of cancel-replace) and from three snapshots taken on the way, and
// requires byte-identical event streams and equal hashes.
func TestDeterminism(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	start := time.Now()
	cmds := randomLog(1, n)
	newBook := func() *Book {
		b, err := NewBook(determinismSpec())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	points := []int{n / 4, n / 2, 3 * n / 4}
	snaps := map[int][]byte{}
	tails := map[int]hash.Hash{}
	for _, p := range points {
		snaps[p] = nil
	}
	first := newBook()
	sum1 := replayHash(first, cmds, tails, snaps)
	final := first.Hash()
	checkInvariants(t, first)
	c := first.Counters()
	t.Logf("%d commands: last order id %d, %d trades, %d open at the end", n, c.LastOrderID, c.LastTradeID, c.OpenOrders)
	if c.LastTradeID < uint64(n)/50 || c.OpenOrders == 0 {
		t.Fatalf("log too quiet to test anything: %+v", c)
	}

	// The four verification replays are independent: run them concurrently (each on its own book).
	type result struct {
		name string
		err  string
	}
	results := make(chan result, 1+len(points))
	go func() {
		second := newBook()
		second.noMove = true // the general path of cancel-replace must give the same events
		sum2 := replayHash(second, cmds, nil, nil)
		switch {
		case !bytes.Equal(sum1, sum2):
			results <- result{"second replay from scratch", "events differ"}
		case second.Hash() != final:
			results <- result{"second replay from scratch", "final hash differs"}
		default:
			results <- result{"second replay from scratch", ""}
		}
	}()
	for _, p := range points {
		b, err := Restore(snaps[p])
		if err != nil {
			t.Fatalf("restore at %d: %v", p, err)
		}
		want := tails[p].Sum(nil)
		go func() {
			name := "replay from snapshot at " + strconv.Itoa(p)
			switch sum := replayHash(b, cmds[p:], nil, nil); {
			case !bytes.Equal(sum, want):
				results <- result{name, "events differ"}
			case b.Hash() != final:
				results <- result{name, "final hash differs"}
			default:
				results <- result{name, ""}
			}
		}()
	}
	for range 1 + len(points) {
		if r := <-results; r.err != "" {
			t.Errorf("%s: %s", r.name, r.err)
		}
	}
	t.Logf("took %v", time.Since(start))
}
