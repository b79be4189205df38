package matcher

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
)

// fuzzSpec is a small book so that fuzzed commands collide: prices 95..105, qty 1..8, three
// accounts, at most 8 open orders per account, notional at most 800.
func fuzzSpec() Spec {
	s := DefaultSpec()
	s.MaxNumOrders = 8
	s.MaxNotional = s.TickSize.Mul(s.StepSize).Mul(decimal.NewFromInt(800))
	return s
}

// decodeCommands turns fuzz bytes into commands, 4 bytes each, applying them to a book of
// fuzzSpec as it goes so that cancel, amend and replace aim at recent order ids.
func decodeCommands(data []byte) []Command {
	b, err := NewBook(fuzzSpec())
	if err != nil {
		panic(err)
	}
	var cmds []Command
	coids := []string{"", "", "a", "b", "c", "d"}
	for i := 0; i+4 <= len(data); i += 4 {
		b0, b1, b2, b3 := data[i], data[i+1], data[i+2], data[i+3]
		seq := uint64(len(cmds) + 1)
		c := Command{Seq: seq, Time: int64(seq) * 1e6, Account: uint64(1 + b1%3)}
		// Aim at one of the account's open orders most of the time, else a recent id.
		target := b.lastID - min(uint64(b3%4), b.lastID)
		newQty := int64(b3 % 8)
		if open := b.OpenOrders(c.Account, nil); len(open) > 0 && b3&0x80 == 0 {
			o := open[int(b2)%len(open)]
			target = o.ID
			newQty = o.ExecutedQty + int64(b3>>3)%(o.Remaining+1)
		}
		no := NewOrder{
			ClientOrderID: coids[int(b2>>4)%len(coids)],
			Side:          Side(1 + (b1>>2)&1),
			Type:          Limit,
			TimeInForce:   [4]TimeInForce{GTC, GTC, IOC, FOK}[(b1>>3)%4],
			Price:         95 + int64(b2%11),
			Qty:           1 + int64(b3>>3)%8,
			STP:           STPMode((b1 >> 5) % 4),
		}
		switch b0 % 16 {
		case 0, 1, 2, 3, 4, 5:
			c.Kind, c.Order = CmdNew, no
		case 6:
			no.Type, no.TimeInForce = LimitMaker, 0
			c.Kind, c.Order = CmdNew, no
		case 7:
			no.Type, no.TimeInForce, no.Price = Market, 0, 0
			if b0&0x10 != 0 {
				no.Qty, no.QuoteQty = 0, 100+int64(b3)*2
			}
			c.Kind, c.Order = CmdNew, no
		case 8, 9:
			c.Kind, c.OrderID = CmdCancel, target
			if b0&0x10 != 0 {
				c.OrderID, c.OrigClientOrderID = 0, no.ClientOrderID
			}
		case 10:
			c.Kind = CmdCancelAll
		case 11, 12:
			c.Kind, c.OrderID, c.Order, c.Mode = CmdCancelReplace, target, no, ReplaceMode(1+(b0>>4)&1)
		case 13:
			c.Kind, c.OrderID, c.NewQty = CmdAmend, target, newQty
		case 14:
			if b0&0xf0 == 0 { // phase changes are rarer
				c.Kind, c.Phase = CmdSetPhase, Phase(1+(b2%4))
			} else {
				c.Kind, c.Phase = CmdSetPhase, Trading
			}
		default:
			no.RecvWindowMs, no.ClientTimeMs = int64(b3%4), int64(seq)-int64(b2%8)
			c.Kind, c.Order = CmdNew, no
		}
		cmds = append(cmds, c)
		b.Apply(&cmds[len(cmds)-1])
	}
	return cmds
}

// model tracks every order from the events alone to check conservation and prices.
type model struct {
	price    map[uint64]int64 // limit price of accepted limit orders
	placed   map[uint64]int64 // order quantity (after amends); absent for quote-market orders
	filled   map[uint64]int64
	closed   map[uint64]bool
	lastID   uint64
	lastTr   uint64
	lastUp   uint64
	accepted []uint64
}

func newModel() *model {
	return &model{price: map[uint64]int64{}, placed: map[uint64]int64{}, filled: map[uint64]int64{}, closed: map[uint64]bool{}}
}

func (m *model) check(b *Book, c *Command, evs []Event) error {
	if len(evs) == 0 {
		return fmt.Errorf("command produced no events")
	}
	up := uint64(0)
	for i := range evs {
		e := &evs[i]
		switch e.Kind {
		case EvAccepted:
			if e.OrderID <= m.lastID || e.OrderID != c.Seq {
				return fmt.Errorf("order id %d after %d, command seq %d", e.OrderID, m.lastID, c.Seq)
			}
			m.lastID = e.OrderID
			m.accepted = append(m.accepted, e.OrderID)
			if e.Type != Market {
				m.price[e.OrderID] = e.Price
			}
			if e.QuoteQty == 0 {
				m.placed[e.OrderID] = e.Qty
			}
		case EvTrade:
			if e.TradeID != m.lastTr+1 {
				return fmt.Errorf("trade id %d after %d", e.TradeID, m.lastTr)
			}
			m.lastTr = e.TradeID
			mp, ok := m.price[e.MakerOrderID]
			if !ok || e.Price != mp {
				return fmt.Errorf("trade %d at %d, maker %d price %d", e.TradeID, e.Price, e.MakerOrderID, mp)
			}
			if tp, ok := m.price[e.OrderID]; ok && (e.Side == Buy && e.Price > tp || e.Side == Sell && e.Price < tp) {
				return fmt.Errorf("trade %d at %d beyond taker limit %d", e.TradeID, e.Price, tp)
			}
			if e.Qty <= 0 || e.QuoteQty != e.Qty*e.Price {
				return fmt.Errorf("trade %d qty %d quote %d", e.TradeID, e.Qty, e.QuoteQty)
			}
			m.filled[e.OrderID] += e.Qty
			m.filled[e.MakerOrderID] += e.Qty
			if m.filled[e.OrderID] != e.ExecutedQty || m.filled[e.MakerOrderID] != e.MakerExecutedQty {
				return fmt.Errorf("trade %d cumulative quantities", e.TradeID)
			}
			if e.MakerAccount == e.Account && c.Order.STP != STPNone {
				return fmt.Errorf("self trade with STP %s", c.Order.STP)
			}
		case EvAmended:
			m.placed[e.OrderID] = e.Qty
		case EvCanceled, EvExpired:
			if m.closed[e.OrderID] {
				return fmt.Errorf("order %d closed twice", e.OrderID)
			}
			m.closed[e.OrderID] = true
			if e.ExecutedQty != m.filled[e.OrderID] {
				return fmt.Errorf("order %d closed with executed %d, filled %d", e.OrderID, e.ExecutedQty, m.filled[e.OrderID])
			}
		case EvDepthUpdate:
			if up == 0 {
				if e.UpdateID != m.lastUp+1 {
					return fmt.Errorf("update id %d after %d", e.UpdateID, m.lastUp)
				}
				up = e.UpdateID
			} else if e.UpdateID != up {
				return fmt.Errorf("two update ids in one command")
			}
			m.lastUp = e.UpdateID
			var got int64
			for _, l := range b.Depth(e.Side, 0, nil) {
				if l.Price == e.Price {
					got = l.Qty
				}
			}
			if got != e.Qty {
				return fmt.Errorf("depth update %s %d = %d, book has %d", e.Side, e.Price, e.Qty, got)
			}
		}
	}
	// Conservation for every order: placed = filled + (canceled/expired remainder) + resting.
	for _, id := range m.accepted {
		placed, byBase := m.placed[id]
		o, open := b.Order(id)
		switch {
		case open && m.closed[id]:
			return fmt.Errorf("order %d closed but open", id)
		case open:
			if !byBase || o.Remaining+m.filled[id] != placed || o.ExecutedQty != m.filled[id] {
				return fmt.Errorf("order %d: resting %d + filled %d != placed %d", id, o.Remaining, m.filled[id], placed)
			}
		case !m.closed[id] && byBase && m.filled[id] != placed:
			return fmt.Errorf("order %d gone: filled %d of %d without cancel or expiry", id, m.filled[id], placed)
		case byBase && m.filled[id] > placed:
			return fmt.Errorf("order %d overfilled: %d of %d", id, m.filled[id], placed)
		}
	}
	// Drop settled orders so the check stays linear.
	keep := m.accepted[:0]
	for _, id := range m.accepted {
		if _, open := b.Order(id); open {
			keep = append(keep, id)
		}
	}
	m.accepted = keep
	return nil
}

// runLog applies cmds to b and returns the encoded events of each command.
func runLog(b *Book, cmds []Command) [][]byte {
	out := make([][]byte, len(cmds))
	for i := range cmds {
		out[i] = AppendEvents(nil, b.Apply(&cmds[i]))
	}
	return out
}

func FuzzBookApply(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(checkLog)
}

// checkLog is the body of FuzzBookApply: decode data to a command log, check every command
// against the model and the book invariants, then replay from scratch and from snapshots.
func checkLog(t *testing.T, data []byte) {
	{
		if len(data) > 4*128 { // keep each execution (and the fuzzer's minimisation) cheap
			data = data[:4*128]
		}
		cmds := decodeCommands(data)
		spec := fuzzSpec()
		b, err := NewBook(spec)
		if err != nil {
			t.Fatal(err)
		}
		m := newModel()
		// Snapshots after every prefix length that is a multiple of step (about 12 points).
		step := 1 + len(cmds)/12
		events := make([][]byte, len(cmds))
		snaps := make([][]byte, len(cmds)+1)
		snaps[0] = b.Snapshot()
		for i := range cmds {
			evs := b.Apply(&cmds[i])
			if err := m.check(b, &cmds[i], evs); err != nil {
				t.Fatalf("command %d %s: %v\nevents:\n%s", i+1, FormatCommand(&cmds[i]), err, formatEvents(evs))
			}
			checkInvariants(t, b)
			events[i] = AppendEvents(nil, evs)
			if (i+1)%step == 0 {
				snaps[i+1] = b.Snapshot()
			}
		}
		final := b.Hash()
		// Replay from scratch (snapshot 0 is the empty book) and from every snapshot taken;
		// every other replay without the move fast path of cancel-replace, which must not
		// change any event.
		for k := 0; k <= len(cmds); k += step {
			rb, err := Restore(snaps[k])
			if err != nil {
				t.Fatalf("restore snapshot %d: %v", k, err)
			}
			rb.noMove = (k/step)%2 == 0
			if !bytes.Equal(rb.Snapshot(), snaps[k]) {
				t.Fatalf("snapshot %d does not round-trip", k)
			}
			for i, got := range runLog(rb, cmds[k:]) {
				if !bytes.Equal(got, events[k+i]) {
					t.Fatalf("replay from snapshot %d: command %d events differ", k, k+i+1)
				}
			}
			if rb.Hash() != final {
				t.Fatalf("replay from snapshot %d: hash differs", k)
			}
		}
	}
}

func formatEvents(evs []Event) string {
	var buf bytes.Buffer
	for i := range evs {
		buf.WriteString(FormatEvent(&evs[i]) + "\n")
	}
	return buf.String()
}

// fuzzSeeds are the seed corpus: a few hand-written sequences and a deterministic pseudo-random one.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{
		{},
		{0, 0, 5, 16, 0, 4, 5, 16}, // buy then sell at 100: a trade
		{0, 0, 5, 16, 0, 1, 5, 16, 0, 33, 5, 16, 0, 37, 5, 16}, // STP
		{0, 0, 5, 16, 8, 0, 0, 0, 11, 0, 6, 0, 13, 0, 0, 2},    // cancel, replace, amend
		{14, 0, 1, 0, 0, 0, 5, 16, 14, 0, 3, 0, 0, 4, 5, 16},   // phases
	}
	x := uint32(1)
	r := make([]byte, 4*200)
	for i := range r {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		r[i] = byte(x)
	}
	return append(seeds, r)
}

// TestFuzzSeedCoverage makes sure the decoder reaches every event kind, so FuzzBookApply's
// assertions are exercised by the seed corpus and not vacuous.
func TestFuzzSeedCoverage(t *testing.T) {
	seeds := fuzzSeeds()
	cmds := decodeCommands(seeds[len(seeds)-1])
	b, err := NewBook(fuzzSpec())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[EventKind]int{}
	reasons := map[Reason]int{}
	codes := map[int32]int{}
	for i := range cmds {
		for _, e := range b.Apply(&cmds[i]) {
			seen[e.Kind]++
			reasons[e.Reason]++
			if e.Kind == EvRejected {
				codes[e.Code]++
			}
		}
	}
	for k := EvAccepted; k <= EvPhaseChanged; k++ {
		if seen[k] == 0 {
			t.Errorf("seed corpus never produces %s", k)
		}
	}
	for r := ReasonUser; r <= ReasonSTP; r++ {
		if reasons[r] == 0 {
			t.Errorf("seed corpus never produces reason %s", r)
		}
	}
	t.Logf("events: %v; reject codes %v", seen, codes)
}
