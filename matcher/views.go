package matcher

// Read-only views. They never change the book and allocate only into the caller's slices.

// OrderView is a resting order as the rest of the system sees it.
type OrderView struct {
	ID            uint64
	Account       uint64
	ClientOrderID string
	Side          Side
	Type          OrderType
	TimeInForce   TimeInForce
	STP           STPMode
	Price         int64 // ticks
	Qty           int64 // order quantity, lots
	Remaining     int64 // lots
	ExecutedQty   int64 // lots
	ExecutedQuote int64 // quote units
	Time          int64 // Time of the command that placed it (Unix ns)
}

// LevelView is one aggregated price level.
type LevelView struct {
	Price  int64 // ticks
	Qty    int64 // total remaining lots
	Orders int   // number of orders
}

// Counters are the book's per-symbol counters.
type Counters struct {
	LastOrderID  uint64
	LastTradeID  uint64
	LastUpdateID uint64
	LastSeq      uint64 // Seq of the last applied command
	LastTime     int64  // Time of the last applied command
	OpenOrders   int
	BidLevels    int
	AskLevels    int
}

// Counters returns the book's counters.
func (b *Book) Counters() Counters {
	return Counters{
		LastOrderID: b.lastID, LastTradeID: b.lastTr, LastUpdateID: b.lastUp, LastSeq: b.seq,
		LastTime: b.time, OpenOrders: b.open, BidLevels: b.side[Buy].levels, AskLevels: b.side[Sell].levels,
	}
}

// Phase returns the trading phase.
func (b *Book) Phase() Phase { return b.phase }

// BestBid returns the best bid level.
func (b *Book) BestBid() (LevelView, bool) { return b.best(Buy) }

// BestAsk returns the best ask level.
func (b *Book) BestAsk() (LevelView, bool) { return b.best(Sell) }

func (b *Book) best(s Side) (LevelView, bool) {
	li, ok := b.bestLevel(s)
	if !ok {
		return LevelView{}, false
	}
	lv := &b.levels[li]
	return LevelView{Price: lv.price, Qty: lv.qty, Orders: int(lv.count)}, true
}

// Depth appends up to n levels of side s to dst, best first (n <= 0: all levels).
func (b *Book) Depth(s Side, n int, dst []LevelView) []LevelView {
	if !s.valid() {
		return dst
	}
	k := 0
	for li, ok := b.bestLevel(s); ok && (n <= 0 || k < n); li, ok = b.nextLevel(s, b.levels[li].price) {
		lv := &b.levels[li]
		dst = append(dst, LevelView{Price: lv.price, Qty: lv.qty, Orders: int(lv.count)})
		k++
	}
	return dst
}

// OpenOrders appends the open orders of acct to dst in order id order.
func (b *Book) OpenOrders(acct uint64, dst []OrderView) []OrderView {
	ai := b.byAccount.get(acct)
	if ai < 0 {
		return dst
	}
	for oi := b.accounts[ai].head; oi != none; oi = b.orders[oi].anext {
		dst = append(dst, b.view(oi))
	}
	return dst
}

// AllOrders appends every open order to dst, bids then asks, best level first, FIFO within a level.
func (b *Book) AllOrders(dst []OrderView) []OrderView {
	for s := Buy; s <= Sell; s++ {
		b.eachOrder(s, func(o *order) { dst = append(dst, viewOf(o)) })
	}
	return dst
}

// Order returns the open order with id.
func (b *Book) Order(id uint64) (OrderView, bool) {
	oi := b.byID.get(id)
	if oi < 0 {
		return OrderView{}, false
	}
	return b.view(oi), true
}

// OrderByClientID returns the open order of acct with the client order id.
func (b *Book) OrderByClientID(acct uint64, clientOrderID string) (OrderView, bool) {
	oi, ok := b.byClient[clientKey{acct, clientOrderID}]
	if !ok {
		return OrderView{}, false
	}
	return b.view(oi), true
}

func (b *Book) view(oi int32) OrderView { return viewOf(&b.orders[oi]) }

func viewOf(o *order) OrderView {
	return OrderView{
		ID: o.id, Account: o.account, ClientOrderID: o.clientOrderID, Side: o.side, Type: o.typ,
		TimeInForce: o.tif, STP: o.stp, Price: o.price, Qty: o.qty, Remaining: o.remaining,
		ExecutedQty: o.executed, ExecutedQuote: o.executedQuote, Time: o.time,
	}
}
