package matcher

import (
	"fmt"
	"testing"
)

// checkInvariants fails t when the book's internal structures disagree with each other.
func checkInvariants(t testing.TB, b *Book) {
	t.Helper()
	if err := invariants(b); err != nil {
		t.Fatalf("invariant broken after seq %d: %v", b.seq, err)
	}
}

func invariants(b *Book) error {
	if b.kept != none {
		return fmt.Errorf("slot %d still kept after Apply", b.kept)
	}
	total := 0
	perAccount := map[uint64]int32{}
	for s := Buy; s <= Sell; s++ {
		bs := &b.side[s]
		levels := 0
		prev := int64(-1)
		for li, ok := b.bestLevel(s); ok; li, ok = b.nextLevel(s, b.levels[li].price) {
			if li < 0 {
				return fmt.Errorf("%s ladder has a price with no level", s)
			}
			lv := &b.levels[li]
			if prev >= 0 && (s == Buy && lv.price >= prev || s == Sell && lv.price <= prev) {
				return fmt.Errorf("%s levels out of order at %d", s, lv.price)
			}
			prev = lv.price
			levels++
			var sum int64
			var n int32
			last := none
			var lastID uint64
			for oi := lv.head; oi != none; oi = b.orders[oi].next {
				o := &b.orders[oi]
				if o.prev != last || o.level != li || o.side != s || o.price != lv.price {
					return fmt.Errorf("order %d links", o.id)
				}
				if o.id <= lastID {
					return fmt.Errorf("level %d FIFO not in id order", lv.price)
				}
				if o.remaining <= 0 || o.remaining+o.executed != o.qty {
					return fmt.Errorf("order %d quantities %d+%d != %d", o.id, o.remaining, o.executed, o.qty)
				}
				if b.byID.get(o.id) != oi {
					return fmt.Errorf("order %d not indexed", o.id)
				}
				if o.clientOrderID != "" && b.byClient[clientKey{o.account, o.clientOrderID}] != oi {
					return fmt.Errorf("order %d client id not indexed", o.id)
				}
				lastID = o.id
				last = oi
				sum += o.remaining
				n++
				perAccount[o.account]++
			}
			if lv.tail != last || sum != lv.qty || n != lv.count || n == 0 {
				return fmt.Errorf("%s level %d: qty %d/%d count %d/%d", s, lv.price, lv.qty, sum, lv.count, n)
			}
			total += int(n)
		}
		// The cached lowest and highest prices against the bitmap.
		l := &bs.ladder
		lo, okLo := l.min()
		hi, okHi := l.max()
		if okLo != (len(l.keys) > 0) || okHi != okLo || l.n != levels ||
			okLo && (lo != l.lowest(0) || hi != l.highest(len(l.keys)-1)) {
			return fmt.Errorf("%s ladder: %d prices, lowest %d highest %d", s, l.n, lo, hi)
		}
		if levels != bs.levels {
			return fmt.Errorf("%s level count %d, recorded %d", s, levels, bs.levels)
		}
	}
	if indexed := b.byID.count(); total != b.open || total != indexed || len(b.byClient) > total {
		return fmt.Errorf("open orders %d, recorded %d, indexed %d", total, b.open, indexed)
	}
	if bid, ok := b.BestBid(); ok {
		if ask, ok := b.BestAsk(); ok && bid.Price >= ask.Price {
			return fmt.Errorf("crossed book: bid %d >= ask %d", bid.Price, ask.Price)
		}
	}
	for i := range b.accounts {
		a := &b.accounts[i]
		if b.byAccount.get(a.id) != int32(i) || a.count != perAccount[a.id] || (a.count == 0) != (a.head == none) {
			return fmt.Errorf("account %d slot %d count %d, counted %d", a.id, i, a.count, perAccount[a.id])
		}
	}
	for acct, n := range perAccount { // order-independent check
		if got := b.openCount(acct); got != n {
			return fmt.Errorf("account %d open %d, recorded %d", acct, n, got)
		}
		var lastID uint64
		k := int32(0)
		for oi := b.accounts[b.byAccount.get(acct)].head; oi != none; oi = b.orders[oi].anext {
			if b.orders[oi].id <= lastID || b.orders[oi].account != acct {
				return fmt.Errorf("account %d list", acct)
			}
			lastID = b.orders[oi].id
			k++
		}
		if k != n {
			return fmt.Errorf("account %d list length %d != %d", acct, k, n)
		}
	}
	return nil
}

// count returns the number of indexed ids (test helper; O(ring size)).
func (x *idIndex) count() int {
	n := len(x.old)
	for _, v := range x.ring {
		if v != none {
			n++
		}
	}
	return n
}
