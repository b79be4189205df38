package proto

import "fmt"

// Validate checks the batch's structure: version, symbol, a command sequence, at least one event,
// and every event.
func (b *EventBatch) Validate() error {
	if err := checkVersion(b.GetSchemaVersion()); err != nil {
		return err
	}
	if err := firstErr(
		checkSymbol("symbol", b.GetSymbol()),
		checkNonNeg("cmd_time_unix_nano", b.GetCmdTimeUnixNano()),
	); err != nil {
		return err
	}
	if b.GetCmdSeq() == 0 {
		return invalid("cmd_seq", "not set")
	}
	return checkEvents(b.GetEvents(), true)
}

// checkEvents validates each event; nonEmpty requires at least one.
func checkEvents(events []*Event, nonEmpty bool) error {
	if nonEmpty && len(events) == 0 {
		return invalid("events", "empty")
	}
	for i, e := range events {
		if err := e.Validate(); err != nil {
			return within(fmt.Sprintf("events[%d]", i), err)
		}
	}
	return nil
}

// Validate checks that the event has a kind and that its fields are well formed.
func (e *Event) Validate() error {
	switch k := e.GetKind().(type) {
	case *Event_Accepted:
		return within("accepted", k.Accepted.check())
	case *Event_Rejected:
		if k.Rejected.GetCode() == 0 {
			return invalid("rejected.code", "not set")
		}
		// client_order_id echoes the request, valid or not: it is not checked.
		return within("rejected", checkOptID("order_id", k.Rejected.GetOrderId()))
	case *Event_Trade:
		return within("trade", k.Trade.check())
	case *Event_Canceled:
		return within("canceled", k.Canceled.check())
	case *Event_Expired:
		return within("expired", k.Expired.check())
	case *Event_Replaced:
		return within("replaced", k.Replaced.check())
	case *Event_Amended:
		return within("amended", k.Amended.check())
	case *Event_DepthUpdate:
		return within("depth_update", k.DepthUpdate.check())
	case *Event_PhaseChanged:
		return within("phase_changed", firstErr(
			checkEnum("old_phase", k.PhaseChanged.GetOldPhase()),
			checkSetEnum("new_phase", k.PhaseChanged.GetNewPhase()),
		))
	default:
		return invalid("kind", "not set")
	}
}

func (a *Accepted) check() error {
	return firstErr(
		checkOptID("order_id", a.GetOrderId()),
		checkOptClientOrderID("client_order_id", a.GetClientOrderId()),
		checkEnum("side", a.GetSide()),
		checkEnum("type", a.GetType()),
		checkEnum("time_in_force", a.GetTimeInForce()),
		checkNonNeg("price", a.GetPrice()),
		checkNonNeg("qty", a.GetQty()),
		checkNonNeg("quote_qty", a.GetQuoteQty()),
		checkEnum("stp_mode", a.GetStpMode()),
		checkNonNeg("time_unix_nano", a.GetTimeUnixNano()),
	)
}

func (t *Trade) check() error {
	if err := firstErr(
		checkID("trade_id", t.GetTradeId()),
		checkPositive("price", t.GetPrice()),
		checkPositive("qty", t.GetQty()),
		checkPositive("quote_qty", t.GetQuoteQty()),
		checkID("maker_order_id", t.GetMakerOrderId()),
		checkAccount("maker_account", t.GetMakerAccount()),
		checkOptClientOrderID("maker_client_order_id", t.GetMakerClientOrderId()),
		checkID("taker_order_id", t.GetTakerOrderId()),
		checkAccount("taker_account", t.GetTakerAccount()),
		checkOptClientOrderID("taker_client_order_id", t.GetTakerClientOrderId()),
		checkSetEnum("taker_side", t.GetTakerSide()),
		checkNonNeg("maker_order_qty", t.GetMakerOrderQty()),
	); err != nil {
		return err
	}
	// Cumulative figures include this trade.
	if t.GetMakerExecutedQty() < t.GetQty() || t.GetTakerExecutedQty() < t.GetQty() {
		return invalid("executed_qty", "cumulative qty below the trade's qty %d", t.GetQty())
	}
	if t.GetMakerExecutedQuoteQty() < t.GetQuoteQty() || t.GetTakerExecutedQuoteQty() < t.GetQuoteQty() {
		return invalid("executed_quote_qty", "cumulative quote qty below the trade's %d", t.GetQuoteQty())
	}
	return nil
}

func (c *Canceled) check() error {
	return firstErr(
		checkID("order_id", c.GetOrderId()),
		checkAccount("account", c.GetAccount()),
		checkOptClientOrderID("client_order_id", c.GetClientOrderId()),
		checkSetEnum("reason", c.GetReason()),
		checkOptClientOrderID("cancel_client_order_id", c.GetCancelClientOrderId()),
		checkNonNeg("executed_qty", c.GetExecutedQty()),
		checkNonNeg("executed_quote_qty", c.GetExecutedQuoteQty()),
		checkEnum("side", c.GetSide()),
		checkEnum("type", c.GetType()),
		checkNonNeg("price", c.GetPrice()),
		checkNonNeg("qty", c.GetQty()),
		checkNonNeg("quote_qty", c.GetQuoteQty()),
	)
}

func (x *Expired) check() error {
	return firstErr(
		checkID("order_id", x.GetOrderId()),
		checkAccount("account", x.GetAccount()),
		checkOptClientOrderID("client_order_id", x.GetClientOrderId()),
		checkSetEnum("reason", x.GetReason()),
		checkNonNeg("executed_qty", x.GetExecutedQty()),
		checkNonNeg("executed_quote_qty", x.GetExecutedQuoteQty()),
		checkEnum("side", x.GetSide()),
		checkEnum("type", x.GetType()),
		checkNonNeg("price", x.GetPrice()),
		checkNonNeg("qty", x.GetQty()),
		checkNonNeg("quote_qty", x.GetQuoteQty()),
	)
}

func (r *Replaced) check() error {
	return firstErr(
		checkSetEnum("cancel_result", r.GetCancelResult()),
		checkSetEnum("new_order_result", r.GetNewOrderResult()),
		checkOptID("canceled_order_id", r.GetCanceledOrderId()),
		checkOptID("new_order_id", r.GetNewOrderId()),
	)
}

func (a *Amended) check() error {
	return firstErr(
		checkID("order_id", a.GetOrderId()),
		checkAccount("account", a.GetAccount()),
		checkOptClientOrderID("client_order_id", a.GetClientOrderId()),
		checkPositive("new_qty", a.GetNewQty()),
		checkEnum("side", a.GetSide()),
		checkNonNeg("price", a.GetPrice()),
		checkNonNeg("executed_qty", a.GetExecutedQty()),
	)
}

func (d *DepthUpdate) check() error {
	return firstErr(
		checkID("update_id", d.GetUpdateId()),
		checkSetEnum("side", d.GetSide()),
		checkPositive("price", d.GetPrice()),
		checkNonNeg("qty", d.GetQty()),
	)
}
