package gateway

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
)

// Binance order statuses.
const (
	statusNew             = "NEW"
	statusPartiallyFilled = "PARTIALLY_FILLED"
	statusFilled          = "FILLED"
	statusCanceled        = "CANCELED"
	statusExpired         = "EXPIRED"
	statusExpiredInMatch  = "EXPIRED_IN_MATCH"
)

func isOpen(status string) bool { return status == statusNew || status == statusPartiallyFilled }

// orderRec is the Binance view of one order, built from events alone.
type orderRec struct {
	ID            uint64
	Account       uint64
	ClientOrderID string
	Side          proto.Side
	Type          proto.OrderType
	TIF           proto.TimeInForce
	STP           proto.StpMode
	Price         int64
	Qty           int64
	QuoteQty      int64
	Executed      int64
	ExecutedQuote int64
	Status        string
	TimeNano      int64
	UpdateNano    int64
	retired       bool // queued in book.closed
}

// tradeRec is one public trade.
type tradeRec struct {
	ID           uint64
	Price        int64
	Qty          int64
	QuoteQty     int64
	TimeNano     int64
	BuyerIsMaker bool
}

type clientKey struct {
	account uint64
	id      string
}

// book is the local replica of one symbol, rebuilt from EVT_<S>: depth, recent trades, 24 h
// trades for the ticker, and every order's state. One goroutine (the symbol's follower) writes;
// handlers read under mu.
type book struct {
	symbol string
	spec   matcher.Spec

	mu           sync.RWMutex
	seq          uint64 // last EVT sequence applied
	lastUpdateID uint64
	phase        proto.Phase // from PhaseChanged events (the OWNERS record is authoritative)
	bids, asks   map[int64]int64
	trades       []tradeRec // the last cap(trades) trades, oldest first
	maxTrades    int
	day          []tradeRec // trades of the last 24 h (by command time), oldest first
	orders       map[uint64]*orderRec
	byClient     map[clientKey]uint64
	open         map[uint64]map[uint64]*orderRec // account -> open orders
	closed       []uint64                        // ended orders, oldest first, kept up to maxClosed
	maxClosed    int
	changed      chan struct{} // closed and replaced after every batch

	// Read-your-writes: per account, the newest command this gateway answered for (an ACK
	// right after the append, or the matcher's answer, which may come before the replica has
	// the command's events). A read of that account's orders first waits until the replica
	// applied it. Entries go once applied.
	answered map[uint64]uint64 // account -> sequence

	depthGaps atomic.Uint64 // depth update ids that skipped ahead (metrics; should stay 0)
}

// maxAnswered is the number of accounts per symbol above which answered entries already
// applied are dropped.
const maxAnswered = 1 << 12

func newBook(symbol string, spec matcher.Spec, maxTrades, maxClosed int) *book {
	return &book{symbol: symbol, spec: spec, bids: map[int64]int64{}, asks: map[int64]int64{},
		maxTrades: maxTrades, maxClosed: maxClosed, orders: map[uint64]*orderRec{}, byClient: map[clientKey]uint64{},
		open: map[uint64]map[uint64]*orderRec{}, changed: make(chan struct{}),
		answered: map[uint64]uint64{}}
}

// answeredFor remembers that this gateway answered account for command seq.
func (b *book) answeredFor(account, seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if seq <= b.seq {
		return
	}
	if len(b.answered) >= maxAnswered {
		for a, last := range b.answered {
			if last <= b.seq {
				delete(b.answered, a)
			}
		}
	}
	b.answered[account] = max(b.answered[account], seq)
	b.answered[0] = max(b.answered[0], seq) // the symbol's market data: see awaitSeq
}

// awaitSeq returns the sequence a read of account's orders must wait for: the newest command
// this gateway answered for that the replica has not applied yet, 0 when there is none.
// Account 0 stands for the symbol's public data: a client that got an answer (a fill, say)
// and then reads trades, depth or tickers from the same gateway never sees a book older than
// that answer.
func (b *book) awaitSeq(account uint64) uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if last := b.answered[account]; last > b.seq {
		return last
	}
	return 0
}

// applyBatch folds one EVT_<S> batch into the replica. Batches must come in sequence order;
// an older or repeated one is ignored.
func (b *book) applyBatch(batch *proto.EventBatch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if batch.CmdSeq <= b.seq {
		return
	}
	b.seq = batch.CmdSeq
	t := batch.CmdTimeUnixNano
	touched := applyOrderEvents(batch.Events, t, b.getOrder, b.putOrder)
	for _, o := range touched {
		b.index(o)
	}
	for _, e := range batch.Events {
		switch {
		case e.GetTrade() != nil:
			tr := e.GetTrade()
			rec := tradeRec{ID: tr.TradeId, Price: tr.Price, Qty: tr.Qty, QuoteQty: tr.QuoteQty, TimeNano: t,
				BuyerIsMaker: tr.TakerSide == proto.Side_SIDE_SELL}
			b.trades = append(b.trades, rec)
			if len(b.trades) > b.maxTrades {
				b.trades = slices.Delete(b.trades, 0, len(b.trades)-b.maxTrades)
			}
			b.day = append(b.day, rec)
		case e.GetDepthUpdate() != nil:
			d := e.GetDepthUpdate()
			side := b.bids
			if d.Side == proto.Side_SIDE_SELL {
				side = b.asks
			}
			if d.Qty == 0 {
				delete(side, d.Price)
			} else {
				side[d.Price] = d.Qty
			}
			if b.lastUpdateID != 0 && d.UpdateId > b.lastUpdateID+1 {
				b.depthGaps.Add(1)
			}
			b.lastUpdateID = max(b.lastUpdateID, d.UpdateId)
		case e.GetPhaseChanged() != nil:
			b.phase = e.GetPhaseChanged().NewPhase
		}
	}
	b.trimDay(t)
	close(b.changed)
	b.changed = make(chan struct{})
}

// trimDay drops trades older than 24 h before now (unix nano).
func (b *book) trimDay(now int64) {
	cut := now - int64(24*time.Hour)
	i := 0
	for i < len(b.day) && b.day[i].TimeNano < cut {
		i++
	}
	if i > 0 {
		b.day = slices.Delete(b.day, 0, i)
	}
}

func (b *book) getOrder(id uint64) *orderRec { return b.orders[id] }

func (b *book) putOrder(o *orderRec) {
	b.orders[o.ID] = o
	if o.ClientOrderID != "" {
		b.byClient[clientKey{o.Account, o.ClientOrderID}] = o.ID
	}
}

// index keeps the per-account open-order index in step with o's status.
func (b *book) index(o *orderRec) {
	m := b.open[o.Account]
	if isOpen(o.Status) {
		if m == nil {
			m = map[uint64]*orderRec{}
			b.open[o.Account] = m
		}
		m[o.ID] = o
		return
	}
	if m != nil {
		delete(m, o.ID)
		if len(m) == 0 {
			delete(b.open, o.Account)
		}
	}
	if o.retired {
		return
	}
	o.retired = true
	b.closed = append(b.closed, o.ID)
	for len(b.closed) > b.maxClosed { // forget the oldest ended orders: memory stays bounded
		old := b.orders[b.closed[0]]
		b.closed = b.closed[1:]
		if old == nil {
			continue
		}
		delete(b.orders, old.ID)
		if k := (clientKey{old.Account, old.ClientOrderID}); b.byClient[k] == old.ID {
			delete(b.byClient, k)
		}
	}
}

// applyOrderEvents updates the orders one batch's events concern and returns them. get and put
// read and store orders; the replica passes its index, a single answer passes a scratch map.
// New orders of the batch that neither rest nor end by an event (a taker that filled) end FILLED.
func applyOrderEvents(events []*proto.Event, t int64, get func(uint64) *orderRec, put func(*orderRec)) []*orderRec {
	var touched []*orderRec
	var fresh []*orderRec
	touch := func(o *orderRec) {
		if !slices.Contains(touched, o) {
			touched = append(touched, o)
		}
	}
	find := func(id, account uint64, cid string) *orderRec {
		o := get(id)
		if o == nil { // an order placed before the replica's horizon: rebuild what the event tells
			o = &orderRec{ID: id, Account: account, ClientOrderID: cid, Status: statusNew, TimeNano: t}
			put(o)
		}
		return o
	}
	for _, e := range events {
		switch {
		case e.GetAccepted() != nil:
			a := e.GetAccepted()
			if a.Type == proto.OrderType_ORDER_TYPE_UNSPECIFIED || a.OrderId == 0 || get(a.OrderId) != nil {
				continue // the Accepted of a cancel, cancel-all or amend
			}
			o := &orderRec{ID: a.OrderId, Account: a.Account, ClientOrderID: a.ClientOrderId, Side: a.Side,
				Type: a.Type, TIF: a.TimeInForce, STP: a.StpMode, Price: a.Price, Qty: a.Qty, QuoteQty: a.QuoteQty,
				Status: statusNew, TimeNano: a.TimeUnixNano, UpdateNano: t}
			if o.TimeNano == 0 {
				o.TimeNano = t
			}
			put(o)
			touch(o)
			fresh = append(fresh, o)
		case e.GetTrade() != nil:
			tr := e.GetTrade()
			m := find(tr.MakerOrderId, tr.MakerAccount, tr.MakerClientOrderId)
			m.Executed, m.ExecutedQuote, m.UpdateNano = tr.MakerExecutedQty, tr.MakerExecutedQuoteQty, t
			if m.Qty == 0 {
				m.Qty = tr.MakerOrderQty
			}
			m.Status = statusPartiallyFilled
			if m.Executed >= tr.MakerOrderQty {
				m.Status = statusFilled
			}
			touch(m)
			k := find(tr.TakerOrderId, tr.TakerAccount, tr.TakerClientOrderId)
			k.Executed, k.ExecutedQuote, k.UpdateNano = tr.TakerExecutedQty, tr.TakerExecutedQuoteQty, t
			k.Status = statusPartiallyFilled
			if k.Qty > 0 && k.Executed >= k.Qty {
				k.Status = statusFilled
			}
			touch(k)
		case e.GetCanceled() != nil:
			c := e.GetCanceled()
			o := find(c.OrderId, c.Account, c.ClientOrderId)
			fillPlaced(o, c.Side, c.Type, c.Price, c.Qty, c.QuoteQty)
			o.Executed, o.ExecutedQuote, o.Status, o.UpdateNano = c.ExecutedQty, c.ExecutedQuoteQty, statusCanceled, t
			touch(o)
		case e.GetExpired() != nil:
			x := e.GetExpired()
			o := find(x.OrderId, x.Account, x.ClientOrderId)
			fillPlaced(o, x.Side, x.Type, x.Price, x.Qty, x.QuoteQty)
			o.Executed, o.ExecutedQuote, o.UpdateNano = x.ExecutedQty, x.ExecutedQuoteQty, t
			o.Status = statusExpired
			if x.Reason == proto.ExpireReason_EXPIRE_REASON_STP {
				o.Status = statusExpiredInMatch
			}
			touch(o)
		case e.GetAmended() != nil:
			a := e.GetAmended()
			o := find(a.OrderId, a.Account, a.ClientOrderId)
			o.Qty, o.Executed, o.UpdateNano = a.NewQty, a.ExecutedQty, t
			touch(o)
		}
	}
	for _, o := range fresh {
		if isOpen(o.Status) && (o.Type == proto.OrderType_ORDER_TYPE_MARKET ||
			o.TIF == proto.TimeInForce_TIME_IN_FORCE_IOC || o.TIF == proto.TimeInForce_TIME_IN_FORCE_FOK) {
			o.Status = statusFilled // did not rest and did not expire: filled completely
		}
	}
	return touched
}

// fillPlaced completes an order rebuilt from a later event with the placed fields it carries.
func fillPlaced(o *orderRec, side proto.Side, typ proto.OrderType, price, qty, quote int64) {
	if o.Side == proto.Side_SIDE_UNSPECIFIED {
		o.Side, o.Type, o.Price, o.Qty, o.QuoteQty = side, typ, price, qty, quote
	}
}

// level is one depth level.
type level struct{ Price, Qty int64 }

// depth returns up to limit levels per side (bids descending, asks ascending) and lastUpdateId.
func (b *book) depth(limit int) (bids, asks []level, lastUpdateID uint64) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return sortedLevels(b.bids, true, limit), sortedLevels(b.asks, false, limit), b.lastUpdateID
}

func sortedLevels(side map[int64]int64, desc bool, limit int) []level {
	out := make([]level, 0, len(side))
	for p, q := range side {
		out = append(out, level{p, q})
	}
	slices.SortFunc(out, func(x, y level) int {
		if desc {
			return cmp.Compare(y.Price, x.Price)
		}
		return cmp.Compare(x.Price, y.Price)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// best returns the best bid and ask (zero when the side is empty) and lastUpdateId.
func (b *book) best() (bid, ask level, lastUpdateID uint64) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for p, q := range b.bids {
		if bid.Qty == 0 || p > bid.Price {
			bid = level{p, q}
		}
	}
	for p, q := range b.asks {
		if ask.Qty == 0 || p < ask.Price {
			ask = level{p, q}
		}
	}
	return bid, ask, b.lastUpdateID
}

// recentTrades returns the last limit trades, oldest first.
func (b *book) recentTrades(limit int) []tradeRec {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := min(limit, len(b.trades))
	return slices.Clone(b.trades[len(b.trades)-n:])
}

// dayTrades returns the trades of the 24 h before now.
func (b *book) dayTrades(now time.Time) []tradeRec {
	b.mu.RLock()
	defer b.mu.RUnlock()
	cut := now.Add(-24 * time.Hour).UnixNano()
	i, _ := slices.BinarySearchFunc(b.day, cut, func(t tradeRec, c int64) int { return cmp.Compare(t.TimeNano, c) })
	return slices.Clone(b.day[i:])
}

// lookup finds an order of account by id, or by client id when id is 0. When both are given
// the client id must match. Nil when there is no such order of that account.
func (b *book) lookup(account, id uint64, cid string) *orderRec {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if id == 0 {
		id = b.byClient[clientKey{account, cid}]
	}
	o := b.orders[id]
	if o == nil || o.Account != account || (cid != "" && o.ClientOrderID != cid) {
		return nil
	}
	c := *o
	return &c
}

// openOrders returns copies of the open orders of account, by order id.
func (b *book) openOrders(account uint64) []orderRec {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]orderRec, 0, len(b.open[account]))
	for _, o := range b.open[account] {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(x, y orderRec) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// appliedSeq returns the last applied sequence and a channel closed at the next change.
func (b *book) appliedSeq() (uint64, <-chan struct{}) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.seq, b.changed
}

// byID returns a copy of the order with id, nil when unknown.
func (b *book) byID(id uint64) *orderRec {
	b.mu.RLock()
	defer b.mu.RUnlock()
	o := b.orders[id]
	if o == nil {
		return nil
	}
	c := *o
	return &c
}
