package matcher

import "testing"

// TestEmitReusesNoStaleFields checks emit's contract: a reused event slot keeps no field of the
// event an earlier command left there. It replays a random log of every command kind on two
// books, zeroing the whole event buffer of the second before each command, and requires equal
// events. A writer that skips a field its kind uses makes the first book leak a stale value.
func TestEmitReusesNoStaleFields(t *testing.T) {
	n := 50_000
	if testing.Short() {
		n = 10_000
	}
	cmds := randomLog(3, n)
	reused, err := NewBook(determinismSpec())
	if err != nil {
		t.Fatal(err)
	}
	zeroed, err := NewBook(determinismSpec())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[EventKind]int{}
	var seq uint64
	apply := func(c Command) []Event {
		seq++
		c.Seq, c.Time = seq, int64(seq)*1e5
		got := reused.Apply(&c)
		clear(zeroed.ev[:cap(zeroed.ev)])
		want := zeroed.Apply(&c)
		if len(got) != len(want) {
			t.Fatalf("command %d: %d events, want %d", seq, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("command %d %s: event %d\n got %+v\nwant %+v", seq, FormatCommand(&c), j, got[j], want[j])
			}
			kinds[got[j].Kind]++
		}
		return got
	}
	for i := range cmds {
		evs := apply(cmds[i])
		// randomLog's amends rarely hit (random account); amend some resting orders on purpose.
		if len(evs) > 0 && evs[0].Kind == EvAccepted && evs[0].Qty > 1 && i%5 == 0 {
			if _, open := reused.Order(evs[0].OrderID); open {
				apply(Command{Kind: CmdAmend, Account: evs[0].Account, OrderID: evs[0].OrderID, NewQty: evs[0].Qty - 1})
			}
		}
	}
	for k := EvAccepted; k <= EvPhaseChanged; k++ {
		if kinds[k] == 0 {
			t.Errorf("the log produced no %v event", k)
		}
	}
}

// TestApplyResultCapped checks that appending to Apply's result cannot write into the Book's
// event buffer (whose slots emit reuses).
func TestApplyResultCapped(t *testing.T) {
	b, err := NewBook(DefaultSpec())
	if err != nil {
		t.Fatal(err)
	}
	evs := b.Apply(&Command{Kind: CmdNew, Seq: 1, Time: 1, Account: 1,
		Order: NewOrder{Side: Buy, Type: Limit, TimeInForce: GTC, Price: 100, Qty: 1}})
	if len(evs) == 0 || cap(evs) != len(evs) {
		t.Fatalf("Apply returned len %d cap %d, want cap == len > 0", len(evs), cap(evs))
	}
}
