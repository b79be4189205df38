package matcher

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// sparseLog is randomLog renumbered with gaps between sequences (as when the log holds commands
// of other kinds, or a book starts from a later sequence), including one gap longer than the
// id ring, so ids are sparse and some open orders leave the ring.
func sparseLog(seed uint64, n int) []Command {
	cmds := randomLog(seed, n)
	rng := rand.New(rand.NewPCG(seed, 11))
	seq := uint64(0)
	old2new := map[uint64]uint64{}
	for i := range cmds {
		gap := uint64(1)
		switch r := rng.IntN(100); {
		case i == n/2:
			gap = 3 * ringSize
		case r < 10:
			gap = 2 + uint64(rng.IntN(50))
		}
		seq += gap
		old2new[cmds[i].Seq] = seq
		cmds[i].Seq, cmds[i].Time = seq, int64(seq)*1e5
	}
	// Targets were ids under the old numbering: map them to the new sequences.
	for i := range cmds {
		if id := cmds[i].OrderID; id != 0 {
			cmds[i].OrderID = old2new[id]
		}
	}
	return cmds
}

// TestOrderIDIsCommandSeq applies a sparse log and requires every placed order (new order and the
// new half of cancel-replace) to carry its command's Seq as id, in the Accepted event, in the
// Replaced event and in the book; then replays from snapshots and requires equal events and hash.
func TestOrderIDIsCommandSeq(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 6_000
	}
	cmds := sparseLog(5, n)
	b, err := NewBook(determinismSpec())
	if err != nil {
		t.Fatal(err)
	}
	m := newModel()
	var placed, replaced, old int
	events := make([][]byte, len(cmds))
	snaps := map[int][]byte{}
	for i := range cmds {
		if i%(n/5) == 0 {
			snaps[i] = b.Snapshot()
		}
		c := &cmds[i]
		evs := b.Apply(c)
		if err := m.check(b, c, evs); err != nil {
			t.Fatalf("command %d %s: %v\n%s", i, FormatCommand(c), err, formatEvents(evs))
		}
		events[i] = AppendEvents(nil, evs)
		for j := range evs {
			e := &evs[j]
			switch e.Kind {
			case EvAccepted:
				if e.OrderID != c.Seq {
					t.Fatalf("command seq %d: accepted order id %d", c.Seq, e.OrderID)
				}
				placed++
				if o, ok := b.Order(e.OrderID); ok && o.ID != c.Seq {
					t.Fatalf("command seq %d: book has the order as id %d", c.Seq, o.ID)
				}
			case EvReplaced:
				if e.NewOrderResult == Success {
					if e.NewOrderID != c.Seq {
						t.Fatalf("command seq %d: replaced with new order id %d", c.Seq, e.NewOrderID)
					}
					replaced++
				}
			}
		}
		if i%997 == 0 {
			checkInvariants(t, b)
		}
	}
	checkInvariants(t, b)
	old = len(b.byID.old)
	if placed < n/3 || replaced < n/20 || b.Counters().LastOrderID > b.Counters().LastSeq {
		t.Fatalf("log too quiet: %d placed, %d replaced, counters %+v", placed, replaced, b.Counters())
	}
	t.Logf("%d orders placed (%d by cancel-replace); %d open orders outside the id ring", placed, replaced, old)
	final := b.Hash()
	for k, snap := range snaps {
		rb, err := Restore(snap)
		if err != nil {
			t.Fatalf("restore at %d: %v", k, err)
		}
		for i, got := range runLog(rb, cmds[k:]) {
			if !bytes.Equal(got, events[k+i]) {
				t.Fatalf("replay from snapshot at %d: command %d events differ", k, k+i)
			}
		}
		if rb.Hash() != final {
			t.Fatalf("replay from snapshot at %d: hash differs", k)
		}
	}
}

// TestCancelReplaceIDs pins the ids of a cancel-replace chain with gaps in the sequence.
func TestCancelReplaceIDs(t *testing.T) {
	b, err := NewBook(DefaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	no := NewOrder{Side: Buy, Type: Limit, TimeInForce: GTC, Price: 100, Qty: 5}
	evs := b.Apply(&Command{Kind: CmdNew, Seq: 7, Time: 1, Account: 1, Order: no})
	if evs[0].Kind != EvAccepted || evs[0].OrderID != 7 {
		t.Fatalf("new at seq 7: %+v", evs[0])
	}
	no.Price = 101
	evs = b.Apply(&Command{Kind: CmdCancelReplace, Seq: 12, Time: 2, Account: 1, OrderID: 7, Mode: StopOnFailure, Order: no})
	want := []struct {
		kind     EventKind
		id, newI uint64
	}{{EvCanceled, 7, 0}, {EvAccepted, 12, 0}, {EvReplaced, 7, 12}}
	for i, w := range want {
		if e := evs[i]; e.Kind != w.kind || e.OrderID != w.id || e.NewOrderID != w.newI {
			t.Fatalf("replace at seq 12: event %d = %s %d new %d, want %s %d new %d", i, e.Kind, e.OrderID, e.NewOrderID, w.kind, w.id, w.newI)
		}
	}
	if _, ok := b.Order(7); ok {
		t.Fatal("order 7 still open")
	}
	if o, ok := b.Order(12); !ok || o.Price != 101 {
		t.Fatalf("order 12: %+v %v", o, ok)
	}
	// A cancel of the new id works; a cancel of an id that no command placed does not.
	if evs := b.Apply(&Command{Kind: CmdCancel, Seq: 13, Account: 1, OrderID: 8}); evs[0].Kind != EvRejected {
		t.Fatalf("cancel of id 8 (never an order): %+v", evs[0])
	}
	if evs := b.Apply(&Command{Kind: CmdCancel, Seq: 14, Account: 1, OrderID: 12}); evs[0].Kind != EvCanceled {
		t.Fatalf("cancel of id 12: %+v", evs[0])
	}
	if c := b.Counters(); c.LastOrderID != 12 || c.LastSeq != 14 {
		t.Fatalf("counters %+v", c)
	}
}

// TestStaleOrMissingSeq: a command whose Seq is not above the last applied one is ignored, and
// a command without a sequence is rejected; neither changes the state.
func TestStaleOrMissingSeq(t *testing.T) {
	b, err := NewBook(DefaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	no := NewOrder{Side: Sell, Type: Limit, TimeInForce: GTC, Price: 100, Qty: 5}
	evs := b.Apply(&Command{Kind: CmdNew, Seq: 0, Account: 1, Order: no})
	if len(evs) != 1 || evs[0].Kind != EvRejected || evs[0].Code != ErrNoSeq.Code {
		t.Fatalf("seq 0 on an empty book: %+v", evs)
	}
	if b.Counters() != (Counters{}) {
		t.Fatalf("seq 0 changed the book: %+v", b.Counters())
	}
	b.Apply(&Command{Kind: CmdNew, Seq: 5, Account: 1, Order: no})
	h := b.Hash()
	for _, seq := range []uint64{0, 3, 5} {
		evs := b.Apply(&Command{Kind: CmdNew, Seq: seq, Account: 2, Order: no})
		if seq != 0 && evs != nil {
			t.Fatalf("seq %d after 5: %+v, want ignored", seq, evs)
		}
		if b.Hash() != h {
			t.Fatalf("seq %d after 5 changed the book", seq)
		}
	}
	if o, ok := b.Order(5); !ok || o.Account != 1 {
		t.Fatalf("order 5: %+v %v", o, ok)
	}
}

// TestIDIndexJump moves the newest id far past the ring while orders are open.
func TestIDIndexJump(t *testing.T) {
	x := newIDIndex()
	x.advance(10)
	x.put(4, 40)
	x.put(10, 100)
	x.advance(10 + 5*ringSize)
	x.put(10+5*ringSize, 1)
	if x.get(4) != 40 || x.get(10) != 100 || x.get(10+5*ringSize) != 1 || len(x.old) != 2 {
		t.Fatalf("after jump: get(4)=%d get(10)=%d old=%v", x.get(4), x.get(10), x.old)
	}
	for id := uint64(11); id < 10+5*ringSize; id += 4099 {
		if x.get(id) != none {
			t.Fatalf("id %d never put, found %d", id, x.get(id))
		}
	}
}
