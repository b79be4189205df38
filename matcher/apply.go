package matcher

// Apply applies one command and returns the events it produced: at least one, and a command
// that fails produces a Rejected event first. Depth updates come last, one per changed level,
// sharing one update id. The returned slice is owned by the Book and valid until the next Apply.
//
// Seq is the command's log sequence and must be above zero: the order a command places (new
// order, new half of cancel-replace) gets OrderID = Seq, so whoever appended the command knows
// the order id from the append's acknowledgement. A command with Seq 0 is rejected (ErrNoSeq)
// and changes nothing. A command whose Seq is not above the last applied Seq was already
// applied: Apply ignores it and returns nil, so replaying an overlapping log tail is harmless
// and no order id can be assigned twice.
//
// Phases: TRADING accepts everything; CANCEL_ONLY accepts cancel, cancel-all, amend (it only
// lowers quantity) and the cancel half of cancel-replace; POST_ONLY additionally accepts LIMIT
// GTC and LIMIT_MAKER orders that would rest without taking (MARKET, IOC and FOK are rejected);
// HALT accepts only set-phase.
func (b *Book) Apply(c *Command) []Event {
	b.ev = b.ev[:0] // emit overwrites or zeroes each reused slot
	b.dirty = b.dirty[:0]
	if c.Seq <= b.seq {
		if c.Seq == 0 {
			b.reject(ErrNoSeq, c.Account, 0, "")
			return b.ev[:len(b.ev):len(b.ev)]
		}
		return nil
	}
	b.seq, b.time = c.Seq, c.Time
	switch c.Kind {
	case CmdNew:
		b.newOrder(c, &c.Order)
	case CmdCancel:
		b.cancel(c)
	case CmdCancelAll:
		b.cancelAll(c)
	case CmdCancelReplace:
		b.cancelReplace(c)
	case CmdAmend:
		b.amend(c)
	case CmdSetPhase:
		b.setPhase(c)
	default:
		b.reject(ErrUnknownCommand, c.Account, 0, "")
	}
	if len(b.dirty) > 0 {
		b.flushDepth()
	}
	return b.ev[:len(b.ev):len(b.ev)] // a caller's append must not write into the buffer
}

func (b *Book) reject(err *CodeError, acct, orderID uint64, clientOrderID string) {
	e := b.emit(EvRejected)
	e.Code, e.Msg, e.Account, e.OrderID, e.ClientOrderID = err.Code, err.Msg, acct, orderID, clientOrderID
}

// takerState is what an incoming order needs beyond its order record while it matches.
type takerState struct {
	quoteQty   int64 // MARKET by quote: the order's quote quantity
	quoteLeft  int64 // MARKET by quote: quote units not yet spent
	byQuote    bool
	done       bool // stopped by STP or by a quote remainder too small for one lot
	stpExpired bool
}

func (st *takerState) left(t *order) bool {
	if st.done {
		return false
	}
	if st.byQuote {
		return st.quoteLeft > 0
	}
	return t.remaining > 0
}

// checkNew validates a new order against parameters, recvWindow, phase, filters and book state.
func (b *Book) checkNew(c *Command, no *NewOrder) *CodeError {
	if !no.Side.valid() {
		return ErrInvalidSide
	}
	switch no.Type {
	case Limit:
		if no.TimeInForce < GTC || no.TimeInForce > FOK {
			return ErrInvalidTIF
		}
		if no.QuoteQty != 0 {
			return ErrQuoteNotReq
		}
	case LimitMaker:
		if no.TimeInForce != 0 {
			return ErrTIFNotRequired
		}
		if no.QuoteQty != 0 {
			return ErrQuoteNotReq
		}
	case Market:
		if no.TimeInForce != 0 {
			return ErrTIFNotRequired
		}
		if no.Price != 0 {
			return ErrPriceNotReq
		}
		if no.Qty == 0 && no.QuoteQty == 0 {
			return ErrMissingQty
		}
		if no.Qty != 0 && no.QuoteQty != 0 {
			return ErrQuoteNotReq
		}
	default:
		return ErrInvalidType
	}
	if no.STP > STPExpireBoth {
		return ErrBadParam
	}
	if no.RecvWindowMs > 0 {
		now := c.Time / 1e6
		if now-no.ClientTimeMs > no.RecvWindowMs {
			return ErrRecvWindow
		}
		if no.ClientTimeMs-now > 1000 {
			return ErrClientAhead
		}
	}
	if !validClientID(no.ClientOrderID) {
		return ErrBadClientID
	}
	switch b.phase {
	case Halt, CancelOnly:
		return ErrMarketClosed
	case PostOnly:
		if no.Type == Market || no.TimeInForce == IOC || no.TimeInForce == FOK {
			return ErrPhaseOrderType
		}
	}
	l := &b.lim
	if no.Type == Market && no.QuoteQty != 0 {
		if no.QuoteQty < 0 || no.QuoteQty < l.minNotional || (l.maxNotional > 0 && no.QuoteQty > l.maxNotional) {
			return ErrNotional
		}
	} else {
		if no.Type != Market && (no.Price < l.minPrice || no.Price > l.maxPrice) {
			return ErrPriceFilter
		}
		if no.Qty < l.minQty || no.Qty > l.maxQty {
			return ErrLotSize
		}
		if no.Type != Market {
			if n := no.Price * no.Qty; n < l.minNotional || (l.maxNotional > 0 && n > l.maxNotional) {
				return ErrNotional
			}
		}
	}
	if l.maxOrders > 0 && b.openCount(c.Account) >= l.maxOrders {
		return ErrMaxNumOrders
	}
	if no.ClientOrderID != "" {
		if _, dup := b.byClient[clientKey{c.Account, no.ClientOrderID}]; dup {
			return ErrDuplicateOrder
		}
	}
	if (no.Type == LimitMaker || b.phase == PostOnly) && b.crosses(no.Side, no.Price) {
		return ErrWouldTake
	}
	return nil
}

func validClientID(s string) bool {
	if len(s) > 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
			ch == '.' || ch == '_' || ch == ':' || ch == '/' || ch == '-') {
			return false
		}
	}
	return true
}

// newOrder places no for c.Account; it returns the new order id (c.Seq), or the rejection. The
// incoming order is written straight into a slab slot, matches from there, and either rests in
// place or gives the slot back.
func (b *Book) newOrder(c *Command, no *NewOrder) (uint64, *CodeError) {
	if err := b.checkNew(c, no); err != nil {
		b.reject(err, c.Account, 0, no.ClientOrderID)
		return 0, err
	}
	b.lastID = c.Seq // above every earlier id: Apply only takes increasing sequences
	b.byID.advance(c.Seq)
	ti := b.allocOrder()
	t := &b.orders[ti]
	// Every field, one store each: a composite literal would be built on the stack and copied.
	t.prev, t.next, t.level, t.aprev, t.anext, t.acct = none, none, none, 0, 0, 0 // rest links the order
	t.id, t.account, t.clientOrderID, t.price, t.qty, t.remaining, t.time = c.Seq, c.Account, no.ClientOrderID, no.Price, no.Qty, no.Qty, c.Time
	t.side, t.typ, t.tif, t.stp, t.executed, t.executedQuote = no.Side, no.Type, no.TimeInForce, no.STP, 0, 0
	st := takerState{quoteQty: no.QuoteQty, quoteLeft: no.QuoteQty, byQuote: no.Type == Market && no.QuoteQty != 0}
	e := b.emit(EvAccepted)
	e.OrderID, e.Account, e.ClientOrderID, e.Side, e.Type = t.id, t.account, t.clientOrderID, t.side, t.typ
	e.TimeInForce, e.STP, e.Price, e.Qty, e.QuoteQty = t.tif, t.stp, t.price, t.qty, st.quoteQty

	id := t.id
	if t.tif == FOK && !b.fillable(t) {
		b.expireTaker(t, &st, ReasonFOK)
		b.freeSlot(ti)
		return id, nil
	}
	// A limit order that does not cross takes nothing: match would only find that out, so
	// skip it (the book has nothing to offer at acceptable prices, as match would report).
	exhausted := true
	if t.typ == Market || b.crosses(t.side, t.price) {
		b.settleKept() // match may remove orders of the account
		exhausted = b.match(t, &st)
	}
	switch {
	case st.stpExpired:
	case t.typ == Market:
		if exhausted || t.executed == 0 {
			b.expireTaker(t, &st, ReasonMarketNoLiquidity)
		}
	case !st.left(t):
	case t.tif == IOC:
		b.expireTaker(t, &st, ReasonIOC)
	case t.tif == FOK: // unreachable after fillable; kept so the order can never rest
		b.expireTaker(t, &st, ReasonFOK)
	default:
		b.rest(ti)
		return id, nil
	}
	b.freeSlot(ti)
	return id, nil
}

func (b *Book) expireTaker(t *order, st *takerState, r Reason) {
	e := b.emit(EvExpired)
	e.OrderID, e.Account, e.ClientOrderID, e.Side, e.Type, e.Price = t.id, t.account, t.clientOrderID, t.side, t.typ, t.price
	e.Qty, e.QuoteQty, e.ExecutedQty, e.ExecutedQuote, e.Reason = t.qty, st.quoteQty, t.executed, t.executedQuote, r
	e.TimeInForce, e.CancelClientOrderID = t.tif, "" // the fields endOrder sets (see emit)
}

// endOrder emits Canceled or Expired for a resting order and removes it.
func (b *Book) endOrder(oi int32, k EventKind, r Reason, cancelID string) {
	b.emitEnd(oi, k, r, cancelID)
	b.remove(oi)
}

// emitEnd emits Canceled or Expired for the resting order in slot oi.
func (b *Book) emitEnd(oi int32, k EventKind, r Reason, cancelID string) {
	o := &b.orders[oi]
	e := b.emit(k)
	e.OrderID, e.Account, e.ClientOrderID, e.Side, e.Type, e.Price = o.id, o.account, o.clientOrderID, o.side, o.typ, o.price
	e.Qty, e.ExecutedQty, e.ExecutedQuote, e.Reason, e.CancelClientOrderID = o.qty, o.executed, o.executedQuote, r, cancelID
	e.TimeInForce, e.QuoteQty = o.tif, 0 // the fields expireTaker sets (see emit)
}

// match takes liquidity for the incoming order t at acceptable prices. It reports whether it
// stopped because the book had nothing more to offer at acceptable prices.
func (b *Book) match(t *order, st *takerState) (exhausted bool) {
	opp := t.side.Opposite()
	limit := t.typ != Market
	for st.left(t) {
		price, ok := b.bestPrice(opp)
		if !ok {
			return true
		}
		if limit && (t.side == Buy && price > t.price || t.side == Sell && price < t.price) {
			return true
		}
		li := b.side[opp].ladder.level(price)
		for oi := b.levels[li].head; oi != none && st.left(t); {
			o := &b.orders[oi]
			next := o.next
			if t.stp != STPNone && o.account == t.account {
				switch t.stp {
				case STPExpireTaker:
					st.done, st.stpExpired = true, true
					b.expireTaker(t, st, ReasonSTP)
					return false
				case STPExpireMaker:
					b.endOrder(oi, EvExpired, ReasonSTP, "")
				case STPExpireBoth:
					b.endOrder(oi, EvExpired, ReasonSTP, "")
					st.done, st.stpExpired = true, true
					b.expireTaker(t, st, ReasonSTP)
					return false
				}
				oi = next
				continue
			}
			q := o.remaining
			if st.byQuote {
				if m := st.quoteLeft / price; m < q {
					q = m
				}
				if q == 0 {
					st.done = true
					return false
				}
			} else if t.remaining < q {
				q = t.remaining
			}
			quote := q * price
			o.remaining -= q
			o.executed += q
			o.executedQuote += quote
			b.levels[li].qty -= q
			t.executed += q
			t.executedQuote += quote
			if st.byQuote {
				st.quoteLeft -= quote
			} else {
				t.remaining -= q
			}
			b.lastTr++
			e := b.emit(EvTrade)
			e.TradeID, e.Price, e.Qty, e.QuoteQty = b.lastTr, price, q, quote
			e.OrderID, e.Account, e.ClientOrderID, e.Side = t.id, t.account, t.clientOrderID, t.side
			e.ExecutedQty, e.ExecutedQuote = t.executed, t.executedQuote
			e.MakerOrderID, e.MakerAccount, e.MakerClientOrderID = o.id, o.account, o.clientOrderID
			e.MakerQty, e.MakerExecutedQty, e.MakerExecutedQuote = o.qty, o.executed, o.executedQuote
			if o.remaining == 0 {
				b.remove(oi) // records the level change
			} else {
				b.touch(opp, price, b.levels[li].qty)
			}
			oi = next
		}
	}
	return false
}

// fillable reports whether a FOK taker would fill completely, walking the book as match would
// (own orders are skipped under EXPIRE_MAKER and stop the walk under EXPIRE_TAKER/EXPIRE_BOTH).
func (b *Book) fillable(t *order) bool {
	opp := t.side.Opposite()
	need := t.remaining
	li, ok := b.bestLevel(opp)
	for ok {
		lv := &b.levels[li]
		if t.side == Buy && lv.price > t.price || t.side == Sell && lv.price < t.price {
			return false
		}
		for oi := lv.head; oi != none; oi = b.orders[oi].next {
			o := &b.orders[oi]
			if t.stp != STPNone && o.account == t.account {
				if t.stp == STPExpireMaker {
					continue
				}
				return false
			}
			if need -= o.remaining; need <= 0 {
				return true
			}
		}
		li, ok = b.nextLevel(opp, lv.price)
	}
	return false
}

// lookup finds an open order of acct by id or client order id (both given: both must match).
func (b *Book) lookup(acct, id uint64, clientID string) (int32, *CodeError) {
	var oi int32 = none
	switch {
	case id != 0:
		oi = b.byID.get(id)
		if oi >= 0 && clientID != "" && b.orders[oi].clientOrderID != clientID {
			oi = none
		}
	case clientID != "":
		if i, ok := b.byClient[clientKey{acct, clientID}]; ok {
			oi = i
		}
	default:
		return none, ErrMissingTarget
	}
	if oi < 0 || b.orders[oi].account != acct {
		return none, ErrUnknownOrder
	}
	return oi, nil
}

func (b *Book) cancel(c *Command) {
	if b.phase == Halt {
		b.reject(ErrCancelClosed, c.Account, c.OrderID, c.OrigClientOrderID)
		return
	}
	oi, err := b.lookup(c.Account, c.OrderID, c.OrigClientOrderID)
	if err != nil {
		b.reject(err, c.Account, c.OrderID, c.OrigClientOrderID)
		return
	}
	b.endOrder(oi, EvCanceled, ReasonUser, c.ClientOrderID)
}

func (b *Book) cancelAll(c *Command) {
	if b.phase == Halt {
		b.reject(ErrCancelClosed, c.Account, 0, "")
		return
	}
	ai := b.byAccount.get(c.Account)
	if ai < 0 || b.accounts[ai].count == 0 {
		b.reject(ErrUnknownOrder, c.Account, 0, "")
		return
	}
	// Removing an order unlinks it, so read the next link first.
	for oi := b.accounts[ai].head; oi != none; {
		next := b.orders[oi].anext
		b.endOrder(oi, EvCanceled, ReasonCancelAll, c.ClientOrderID)
		oi = next
	}
}

func (b *Book) cancelReplace(c *Command) {
	if c.Mode != StopOnFailure && c.Mode != AllowFailure {
		b.reject(ErrBadParam, c.Account, c.OrderID, c.OrigClientOrderID)
		return
	}
	var canceled uint64
	var cancelErr *CodeError
	var oi int32
	switch {
	case b.phase == Halt:
		cancelErr = ErrCancelClosed
	case c.OrderID != 0 && c.OrigClientOrderID == "": // lookup's common case, without the call
		if oi = b.byID.get(c.OrderID); oi < 0 || b.orders[oi].account != c.Account {
			cancelErr = ErrUnknownOrder
		}
	default:
		oi, cancelErr = b.lookup(c.Account, c.OrderID, c.OrigClientOrderID)
	}
	if cancelErr == nil && b.canMove(c, oi) {
		b.move(c, oi)
		return
	}
	if cancelErr != nil {
		b.reject(cancelErr, c.Account, c.OrderID, c.OrigClientOrderID)
	} else {
		canceled = b.orders[oi].id
		b.acctHint = b.orders[oi].acct
		b.emitEnd(oi, EvCanceled, ReasonReplace, c.ClientOrderID)
		if o := &b.orders[oi]; o.anext == none { // the account's newest order: keep its links (see Book.kept)
			b.kept, b.keptAcct, b.keptPrev = oi, o.acct, o.aprev
		} else {
			b.unlinkAccount(oi)
		}
		b.removeKeepAccount(oi)
	}
	newResult, newID := NotAttempted, uint64(0)
	var newErr *CodeError
	if cancelErr == nil || c.Mode == AllowFailure {
		newID, newErr = b.newOrder(c, &c.Order)
		b.acctHint = none
		newResult = Success
		if newErr != nil {
			newResult = Failure
		}
	}
	b.settleKept() // the new order did not rest in the kept slot
	e := b.emit(EvReplaced)
	e.Account, e.OrderID, e.NewOrderID, e.NewOrderResult = c.Account, canceled, newID, newResult
	e.CancelResult, e.Code, e.NewOrderCode = Success, 0, 0
	if cancelErr != nil {
		e.CancelResult, e.Code = Failure, cancelErr.Code
	}
	if newErr != nil {
		e.NewOrderCode = newErr.Code
	}
}

// canMove reports whether the cancel-replace c of the open order in slot oi (found, and the
// cancel allowed) is a move: the new order is a LIMIT GTC on the same side that passes every
// check of checkNew and does not cross, so the general path would cancel the order, accept the
// new one and rest it without matching. The removal of the old order cannot change the answer:
// it is on the new order's side, and crossing depends only on the other side.
func (b *Book) canMove(c *Command, oi int32) bool {
	if b.noMove {
		return false
	}
	no, o, l := &c.Order, &b.orders[oi], &b.lim
	if b.phase != Trading || no.Type != Limit || no.TimeInForce != GTC || no.Side != o.side ||
		no.QuoteQty != 0 || no.RecvWindowMs != 0 || no.STP > STPExpireBoth ||
		no.Price < l.minPrice || no.Price > l.maxPrice || no.Qty < l.minQty || no.Qty > l.maxQty {
		return false
	}
	if n := no.Price * no.Qty; n < l.minNotional || (l.maxNotional > 0 && n > l.maxNotional) {
		return false
	}
	// checkNew counts the account's open orders without the canceled one.
	if l.maxOrders > 0 && b.accounts[o.acct].count-1 >= l.maxOrders {
		return false
	}
	if no.ClientOrderID != "" {
		if !validClientID(no.ClientOrderID) {
			return false
		}
		if di, dup := b.byClient[clientKey{c.Account, no.ClientOrderID}]; dup && di != oi {
			return false
		}
	}
	return !b.crosses(no.Side, no.Price)
}

// move is cancelReplace for a move (see canMove). It emits the events of the general path and
// leaves the book in the same state, slab layout included: the general path frees the slot
// and allocates it again at once, and unlinks and links the same levels in the same order.
// The order keeps its slot and its place in its account's list when it is the account's
// newest order (it stays the newest: its new id is the highest). It writes the events straight
// into the buffer, which is empty (nothing before it in this command emitted or touched a
// level) and at least moveEvents long (NewBook), so it emits the depth updates itself.
func (b *Book) move(c *Command, oi int32) {
	no := &c.Order
	ev := b.ev[:moveEvents]
	o := &b.orders[oi]
	canceled, oldPrice := o.id, o.price

	e := slot(&ev[0], EvCanceled) // as emitEnd
	e.OrderID, e.Account, e.ClientOrderID, e.Side, e.Type, e.Price = o.id, o.account, o.clientOrderID, o.side, o.typ, o.price
	e.Qty, e.ExecutedQty, e.ExecutedQuote, e.Reason, e.CancelClientOrderID = o.qty, o.executed, o.executedQuote, ReasonReplace, c.ClientOrderID
	e.TimeInForce, e.QuoteQty = o.tif, 0

	oldQty := b.unlinkLevel(o)
	b.byID.del(canceled)
	if o.clientOrderID != "" {
		delete(b.byClient, clientKey{o.account, o.clientOrderID})
	}
	if o.anext != none { // not the account's newest: relink at the tail, after that newest
		b.unlinkAccount(oi)
		a := &b.accounts[o.acct]
		o.aprev, o.anext = a.tail, none
		b.orders[a.tail].anext = oi
		a.tail = oi
		a.count++
	}
	o.id, o.clientOrderID, o.price, o.qty, o.remaining, o.time = c.Seq, no.ClientOrderID, no.Price, no.Qty, no.Qty, c.Time
	o.typ, o.tif, o.stp, o.executed, o.executedQuote = Limit, GTC, no.STP, 0, 0
	b.lastID = c.Seq
	b.byID.advance(c.Seq)
	b.byID.put(c.Seq, oi)
	if o.clientOrderID != "" {
		b.byClient[clientKey{o.account, o.clientOrderID}] = oi
	}
	e = slot(&ev[1], EvAccepted)
	e.OrderID, e.Account, e.ClientOrderID, e.Side, e.Type = o.id, o.account, o.clientOrderID, o.side, Limit
	e.TimeInForce, e.STP, e.Price, e.Qty, e.QuoteQty = GTC, o.stp, o.price, o.qty, 0
	newQty := b.linkLevel(o, oi)

	e = slot(&ev[2], EvReplaced)
	e.Account, e.OrderID, e.NewOrderID, e.NewOrderResult = c.Account, canceled, o.id, Success
	e.CancelResult, e.Code, e.NewOrderCode = Success, 0, 0

	// The depth updates flushDepth would emit: the old level, then the new one (one update when
	// the price did not change; the side did not).
	b.lastUp++
	e = slot(&ev[3], EvDepthUpdate)
	if oldPrice == o.price {
		e.UpdateID, e.Side, e.Price, e.Qty = b.lastUp, o.side, o.price, newQty
		b.ev = ev[:4]
		return
	}
	e.UpdateID, e.Side, e.Price, e.Qty = b.lastUp, o.side, oldPrice, oldQty
	e = slot(&ev[4], EvDepthUpdate)
	e.UpdateID, e.Side, e.Price, e.Qty = b.lastUp, o.side, o.price, newQty
	b.ev = ev
}

// moveEvents is the most events a move emits.
const moveEvents = 5

func (b *Book) amend(c *Command) {
	if b.phase == Halt {
		b.reject(ErrCancelClosed, c.Account, c.OrderID, c.OrigClientOrderID)
		return
	}
	oi, err := b.lookup(c.Account, c.OrderID, c.OrigClientOrderID)
	if err == nil {
		o := &b.orders[oi]
		switch {
		case c.NewQty >= o.qty || c.NewQty <= o.executed:
			err = ErrAmendQty
		case c.NewQty < b.lim.minQty:
			err = ErrLotSize
		}
	}
	if err != nil {
		b.reject(err, c.Account, c.OrderID, c.OrigClientOrderID)
		return
	}
	o := &b.orders[oi]
	rem := c.NewQty - o.executed
	lv := &b.levels[o.level]
	lv.qty -= o.remaining - rem
	o.remaining, o.qty = rem, c.NewQty
	b.touch(o.side, o.price, lv.qty)
	e := b.emit(EvAmended)
	e.OrderID, e.Account, e.ClientOrderID, e.Side, e.Price = o.id, o.account, o.clientOrderID, o.side, o.price
	e.Qty, e.ExecutedQty, e.ExecutedQuote = o.qty, o.executed, o.executedQuote
}

func (b *Book) setPhase(c *Command) {
	if c.Phase < Trading || c.Phase > Halt {
		b.reject(ErrBadParam, c.Account, 0, "")
		return
	}
	e := b.emit(EvPhaseChanged)
	e.OldPhase, e.Phase, e.Msg = b.phase, c.Phase, c.Reason
	b.phase = c.Phase
}
