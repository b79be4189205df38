package matcher

import "fmt"

// Book is the order book and all other state of one symbol. Create it with NewBook or Restore;
// change it only with Apply. See the package doc for the concurrency contract.
type Book struct {
	spec   Spec
	lim    limits
	phase  Phase
	lastID uint64 // last order id: the Seq of the last command that placed an order
	lastTr uint64 // last trade id
	lastUp uint64 // last depth update id
	seq    uint64 // last applied command Seq
	time   int64  // Time of the last applied command

	orders    []order // slab; index 0.. ; free slots chained through next
	freeOrder int32
	open      int // number of resting orders
	byID      idIndex
	byClient  map[clientKey]int32

	levels    []level
	freeLevel int32
	side      [3]bookSide // indexed by Side

	accounts  []account // never freed: an account with no open orders has count 0
	byAccount idTable
	acctHint  int32 // account slot likely to be needed next (set by cancel-replace), or none

	// kept is the slot of the order that the cancel half of a cancel-replace removed while it
	// was the newest (last linked) order of its account, or none. Its account links and the
	// account's count stay as they were: the new half gets a higher id (the command's Seq) and
	// the same slot, so if it rests, rest would link it in exactly that place again, and rest
	// only restores the slot's own links (keptAcct, keptPrev). Otherwise settleKept unlinks it, before anything
	// else reads or changes the account's list, and in any case before Apply returns.
	kept, keptAcct, keptPrev int32

	// noMove turns the move fast path of cancel-replace off (tests compare both paths).
	noMove bool

	ev    []Event       // reusable event buffer returned by Apply
	dirty []depthChange // levels changed by the current command
}

type bookSide struct {
	ladder ladder
	levels int
}

type clientKey struct {
	account uint64
	id      string
}

// order is a resting order. prev/next link the price level FIFO (or the free list), aprev/anext
// the owner's open orders in id order. The fields touched when a neighbour is linked or
// unlinked come first so they share the first cache line; the struct is padded to 128 bytes.
type order struct {
	prev, next    int32
	aprev, anext  int32
	level         int32
	acct          int32
	remaining     int64
	price         int64
	id            uint64
	account       uint64
	side          Side
	typ           OrderType
	tif           TimeInForce
	stp           STPMode
	qty           int64 // order quantity (lowered by amend)
	executed      int64
	executedQuote int64
	time          int64
	clientOrderID string
	_             [12]byte
}

type level struct {
	price      int64
	qty        int64
	count      int32
	head, tail int32
	next       int32 // free list
}

type account struct {
	id         uint64
	count      int32
	head, tail int32 // open orders in id order, linked through order.aprev/anext
}

type depthChange struct {
	side  Side
	price int64
	qty   int64
}

const none int32 = -1

// NewBook returns an empty book for spec in phase TRADING.
func NewBook(spec Spec) (*Book, error) {
	lim, err := spec.limits()
	if err != nil {
		return nil, fmt.Errorf("new book: %w", err)
	}
	b := &Book{
		spec: spec, lim: lim, phase: Trading,
		freeOrder: none, freeLevel: none, acctHint: none, kept: none,
		byID:      newIDIndex(),
		byClient:  make(map[clientKey]int32),
		byAccount: newIDTable(256),
		ev:        make([]Event, 0, 64), // at least moveEvents
		dirty:     make([]depthChange, 0, 16),
	}
	for s := Buy; s <= Sell; s++ {
		b.side[s] = bookSide{ladder: newLadder()}
	}
	return b, nil
}

// Spec returns the symbol spec.
func (b *Book) Spec() Spec { return b.spec }

// slot readies e, a slot of the event buffer, for an event of kind k as emit does.
func slot(e *Event, k EventKind) *Event {
	if e.Kind != k {
		*e = Event{}
		e.Kind = k
	}
	return e
}

// emit appends an event of kind k to the buffer and returns it for filling in. The slot may
// still hold an event of an earlier command. If that event has another kind, emit zeroes the
// slot; if it has kind k, emit leaves it as it is, because the writer of each kind sets every
// field that kind uses (see Event), zero or not, so nothing stale survives. On the hot path (a
// cancel-replace emits the same kinds in the same order command after command) this writes
// each event once instead of clearing the buffer and then filling it in.
func (b *Book) emit(k EventKind) *Event {
	var e *Event
	if ev, n := b.ev, len(b.ev); n < cap(ev) {
		ev = ev[:n+1]
		b.ev, e = ev, &ev[n]
	} else {
		b.ev = append(ev, Event{})
		e = &b.ev[n]
	}
	if e.Kind != k {
		*e = Event{}
		e.Kind = k
	}
	return e
}

// touch records the new total of a level changed by the current command.
func (b *Book) touch(s Side, price, qty int64) {
	for i := len(b.dirty) - 1; i >= 0; i-- {
		if d := &b.dirty[i]; d.price == price && d.side == s {
			d.qty = qty
			return
		}
	}
	b.dirty = append(b.dirty, depthChange{side: s, price: price, qty: qty})
}

// flushDepth emits one DepthUpdate per level changed by the command, all with one update id.
func (b *Book) flushDepth() {
	if len(b.dirty) == 0 {
		return
	}
	b.lastUp++
	for _, d := range b.dirty {
		e := b.emit(EvDepthUpdate) // sets every field of the kind
		e.UpdateID, e.Side, e.Price, e.Qty = b.lastUp, d.side, d.price, d.qty
	}
}

// bestPrice returns the best price of side s.
func (b *Book) bestPrice(s Side) (int64, bool) {
	if s == Buy {
		return b.side[Buy].ladder.max()
	}
	return b.side[Sell].ladder.min()
}

// bestLevel returns the best level of side s.
func (b *Book) bestLevel(s Side) (int32, bool) {
	bs := &b.side[s]
	var p int64
	var ok bool
	if s == Buy {
		p, ok = bs.ladder.max()
	} else {
		p, ok = bs.ladder.min()
	}
	if !ok {
		return none, false
	}
	return bs.ladder.level(p), true
}

// nextLevel returns the next worse level of side s after price p.
func (b *Book) nextLevel(s Side, p int64) (int32, bool) {
	bs := &b.side[s]
	var ok bool
	if s == Buy {
		p, ok = bs.ladder.below(p)
	} else {
		p, ok = bs.ladder.above(p)
	}
	if !ok {
		return none, false
	}
	return bs.ladder.level(p), true
}

// crosses reports whether an order of side s at limit price p would take from the book.
func (b *Book) crosses(s Side, p int64) bool {
	if s == Buy {
		best, ok := b.side[Sell].ladder.min()
		return ok && p >= best
	}
	best, ok := b.side[Buy].ladder.max()
	return ok && p <= best
}

// allocOrder returns a free order slot.
func (b *Book) allocOrder() int32 {
	if i := b.freeOrder; i != none {
		b.freeOrder = b.orders[i].next
		return i
	}
	b.orders = append(b.orders, order{})
	return int32(len(b.orders) - 1)
}

// freeSlot returns slot oi, which holds no resting order, to the free list.
func (b *Book) freeSlot(oi int32) {
	o := &b.orders[oi]
	*o = order{} // zeroed in place (a literal with fields would be built on the stack and copied)
	o.next = b.freeOrder
	b.freeOrder = oi
}

// rest links the order in slot oi (fields set) into its level, account and indexes.
func (b *Book) rest(oi int32) {
	o := &b.orders[oi]
	b.touch(o.side, o.price, b.linkLevel(o, oi))
	if b.kept == oi { // still linked in its account, at the place this order belongs
		o.acct, o.aprev, o.anext = b.keptAcct, b.keptPrev, none
		b.kept = none
	} else {
		if b.kept != none {
			b.settleKept()
		}
		ai := b.acctHint // cancel-replace just unlinked an order of the same account
		if ai < 0 || int(ai) >= len(b.accounts) || b.accounts[ai].id != o.account {
			ai = b.byAccount.get(o.account)
		}
		if ai < 0 {
			b.accounts = append(b.accounts, account{id: o.account, head: none, tail: none})
			ai = int32(len(b.accounts) - 1)
			b.byAccount.put(o.account, ai)
		}
		a := &b.accounts[ai]
		o.acct, o.aprev, o.anext = ai, a.tail, none
		if a.tail != none {
			b.orders[a.tail].anext = oi
		} else {
			a.head = oi
		}
		a.tail = oi
		a.count++
	}
	b.byID.put(o.id, oi)
	if o.clientOrderID != "" {
		b.byClient[clientKey{o.account, o.clientOrderID}] = oi
	}
	b.open++
}

// linkLevel links the order o, in slot oi, at the tail of its price level, creating the level
// if needed, and returns the level's new total (the caller records the depth change).
func (b *Book) linkLevel(o *order, oi int32) int64 {
	bs := &b.side[o.side]
	cell, ok := bs.ladder.cell(o.price)
	li := *cell
	if !ok {
		if li = b.freeLevel; li != none {
			b.freeLevel = b.levels[li].next
		} else {
			b.levels = append(b.levels, level{})
			li = int32(len(b.levels) - 1)
		}
		b.levels[li] = level{price: o.price, head: none, tail: none}
		*cell = li
		bs.levels++
	}
	lv := &b.levels[li]
	o.level, o.prev, o.next = li, lv.tail, none
	if lv.tail != none {
		b.orders[lv.tail].next = oi
	} else {
		lv.head = oi
	}
	lv.tail = oi
	lv.count++
	lv.qty += o.remaining
	return lv.qty
}

// unlinkLevel unlinks the resting order o from its price level, freeing the level when it
// becomes empty, and returns the level's new total (the caller records the depth change).
func (b *Book) unlinkLevel(o *order) int64 {
	lv := &b.levels[o.level]
	if o.prev != none {
		b.orders[o.prev].next = o.next
	} else {
		lv.head = o.next
	}
	if o.next != none {
		b.orders[o.next].prev = o.prev
	} else {
		lv.tail = o.prev
	}
	lv.count--
	lv.qty -= o.remaining
	if lv.count == 0 {
		bs := &b.side[o.side]
		bs.ladder.remove(o.price)
		bs.levels--
		lv.next = b.freeLevel
		b.freeLevel = o.level
	}
	return lv.qty
}

// remove unlinks the order in slot oi from everything and frees the slot (and its level when
// it becomes empty). The level's depth change is recorded.
func (b *Book) remove(oi int32) {
	b.unlinkAccount(oi)
	b.removeKeepAccount(oi)
}

// settleKept unlinks the kept slot from its account's list (see Book.kept), if there is one.
func (b *Book) settleKept() {
	if b.kept == none {
		return
	}
	a := &b.accounts[b.keptAcct]
	if b.keptPrev != none {
		b.orders[b.keptPrev].anext = none
	} else {
		a.head = none
	}
	a.tail = b.keptPrev
	a.count--
	b.kept = none
}

// unlinkAccount unlinks the order in slot oi from its account's list. The account slot stays:
// accounts are few and come back.
func (b *Book) unlinkAccount(oi int32) {
	o := &b.orders[oi]
	a := &b.accounts[o.acct]
	if o.aprev != none {
		b.orders[o.aprev].anext = o.anext
	} else {
		a.head = o.anext
	}
	if o.anext != none {
		b.orders[o.anext].aprev = o.aprev
	} else {
		a.tail = o.aprev
	}
	a.count--
}

// removeKeepAccount is remove without the account's list.
func (b *Book) removeKeepAccount(oi int32) {
	o := &b.orders[oi]
	b.touch(o.side, o.price, b.unlinkLevel(o))
	b.byID.del(o.id)
	if o.clientOrderID != "" {
		delete(b.byClient, clientKey{o.account, o.clientOrderID})
	}
	b.open--
	o.clientOrderID = "" // drop the reference; allocOrder's callers overwrite the rest
	o.next = b.freeOrder
	b.freeOrder = oi
}

// openCount returns the number of open orders of acct.
func (b *Book) openCount(acct uint64) int32 {
	ai := b.byAccount.get(acct)
	if ai < 0 {
		return 0
	}
	if b.kept != none && ai == b.keptAcct {
		return b.accounts[ai].count - 1 // the kept order is canceled
	}
	return b.accounts[ai].count
}
