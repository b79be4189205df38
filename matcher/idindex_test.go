package matcher

import "testing"

func TestIDIndex(t *testing.T) {
	x := newIDIndex()
	x.advance(3)
	x.put(2, 20)
	x.put(3, 30)
	if x.get(2) != 20 || x.get(3) != 30 || x.get(1) != none || x.get(4) != none || x.get(0) != none {
		t.Fatal("basic lookups")
	}
	// Move the counter far enough that id 2 leaves the ring but stays open.
	x.advance(2 + ringSize)
	if x.get(2) != 20 || len(x.old) != 1 {
		t.Fatalf("evicted id 2: get=%d old=%v", x.get(2), x.old)
	}
	x.put(2+ringSize, 7) // same ring slot as id 2
	if x.get(2+ringSize) != 7 || x.get(2) != 20 {
		t.Fatal("ring slot reuse")
	}
	x.del(2)
	x.del(3)
	if x.get(2) != none || x.get(3) != none || len(x.old) != 0 || x.get(2+ringSize) != 7 {
		t.Fatal("deletes")
	}
	// An id put after it already left the window goes straight to the map (restore does this).
	x.put(1, 11)
	if x.get(1) != 11 || len(x.old) != 1 {
		t.Fatal("put of an old id")
	}
}

// TestOldOrderSurvivesRing keeps an order open while more than ringSize ids are assigned.
func TestOldOrderSurvivesRing(t *testing.T) {
	b, err := NewBook(DefaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	apply := func(c Command) []Event {
		seq++
		c.Seq, c.Time = seq, int64(seq)
		return b.Apply(&c)
	}
	apply(Command{Kind: CmdNew, Account: 1, Order: NewOrder{ClientOrderID: "old", Side: Buy, Type: Limit, TimeInForce: GTC, Price: 10, Qty: 1}})
	for i := 0; i < ringSize+10; i++ {
		apply(Command{Kind: CmdNew, Account: 2, Order: NewOrder{Side: Sell, Type: Limit, TimeInForce: IOC, Price: 20, Qty: 1}})
	}
	if _, ok := b.Order(1); !ok {
		t.Fatal("order 1 lost after the ring wrapped")
	}
	snap := b.Snapshot()
	evs := apply(Command{Kind: CmdCancel, Account: 1, OrderID: 1})
	if len(evs) == 0 || evs[0].Kind != EvCanceled {
		t.Fatalf("cancel old order: %+v", evs)
	}
	rb, err := Restore(snap)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := rb.OrderByClientID(1, "old"); !ok || o.ID != 1 {
		t.Fatal("restored book lost order 1")
	}
	checkInvariants(t, rb)
}
