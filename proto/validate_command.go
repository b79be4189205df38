package proto

// Validate checks that the command is structurally sound: the supported schema version, a valid
// symbol and request id, a body, and well-formed body fields (known enums, non-negative numbers,
// identifiers). It does not check trading rules (price and quantity combinations per order type,
// filters, phases): those are the matcher's, which rejects with Binance codes.
func (c *Command) Validate() error {
	if err := checkVersion(c.GetSchemaVersion()); err != nil {
		return err
	}
	if err := firstErr(
		checkSymbol("symbol", c.GetSymbol()),
		checkName("request_id", c.GetRequestId()),
		checkOptName("reply_to", c.GetReplyTo()),
		checkOptKey("ingress_region", c.GetIngressRegion()),
	); err != nil {
		return err
	}
	switch b := c.GetBody().(type) {
	case *Command_NewOrder:
		return within("new_order", b.NewOrder.check())
	case *Command_Cancel:
		return within("cancel", b.Cancel.check())
	case *Command_CancelAll:
		return within("cancel_all", checkAccount("account", b.CancelAll.GetAccount()))
	case *Command_CancelReplace:
		return within("cancel_replace", b.CancelReplace.check())
	case *Command_Amend:
		return within("amend", b.Amend.check())
	case *Command_SetPhase:
		return within("set_phase", checkSetEnum("phase", b.SetPhase.GetPhase()))
	default:
		return invalid("body", "not set")
	}
}

func (o *NewOrder) check() error {
	return firstErr(
		checkAccount("account", o.GetAccount()),
		checkOptClientOrderID("client_order_id", o.GetClientOrderId()),
		checkSetEnum("side", o.GetSide()),
		checkSetEnum("type", o.GetType()),
		checkEnum("time_in_force", o.GetTimeInForce()),
		checkNonNeg("price", o.GetPrice()),
		checkNonNeg("qty", o.GetQty()),
		checkNonNeg("quote_qty", o.GetQuoteQty()),
		checkEnum("stp_mode", o.GetStpMode()),
		checkNonNeg("client_time_ms", o.GetClientTimeMs()),
		checkNonNeg("recv_window_ms", o.GetRecvWindowMs()),
	)
}

// checkTarget checks an order reference: an order id, a client order id, or both.
func checkTarget(orderID uint64, origClientOrderID string) error {
	if orderID == 0 && origClientOrderID == "" {
		return invalid("order_id", "neither order_id nor orig_client_order_id set")
	}
	return firstErr(
		checkOptID("order_id", orderID),
		checkOptClientOrderID("orig_client_order_id", origClientOrderID),
	)
}

func (c *Cancel) check() error {
	return firstErr(
		checkAccount("account", c.GetAccount()),
		checkTarget(c.GetOrderId(), c.GetOrigClientOrderId()),
		checkOptClientOrderID("client_order_id", c.GetClientOrderId()),
	)
}

func (c *CancelReplace) check() error {
	if err := firstErr(
		checkAccount("account", c.GetAccount()),
		checkSetEnum("mode", c.GetMode()),
		checkTarget(c.GetOrderId(), c.GetOrigClientOrderId()),
		checkOptClientOrderID("cancel_client_order_id", c.GetCancelClientOrderId()),
	); err != nil {
		return err
	}
	if c.GetNewOrder() == nil {
		return invalid("new_order", "not set")
	}
	if c.GetNewOrder().GetAccount() != c.GetAccount() {
		return invalid("new_order.account", "%d differs from account %d", c.GetNewOrder().GetAccount(), c.GetAccount())
	}
	return within("new_order", c.GetNewOrder().check())
}

func (a *Amend) check() error {
	return firstErr(
		checkAccount("account", a.GetAccount()),
		checkTarget(a.GetOrderId(), a.GetOrigClientOrderId()),
		checkPositive("new_qty", a.GetNewQty()),
	)
}

// Validate checks the result's structure: version, symbol, a set status, a reject code when
// rejected, a command sequence when accepted, and every event.
func (r *CommandResult) Validate() error {
	if err := checkVersion(r.GetSchemaVersion()); err != nil {
		return err
	}
	if err := firstErr(
		checkSymbol("symbol", r.GetSymbol()),
		checkSetEnum("status", r.GetStatus()),
		checkNonNeg("cmd_time_unix_nano", r.GetCmdTimeUnixNano()),
	); err != nil {
		return err
	}
	switch r.GetStatus() {
	case CommandStatus_COMMAND_STATUS_REJECTED:
		if r.GetRejectCode() == 0 {
			return invalid("reject_code", "rejected without a code")
		}
	case CommandStatus_COMMAND_STATUS_ACCEPTED:
		if r.GetCmdSeq() == 0 {
			return invalid("cmd_seq", "accepted without a command sequence")
		}
	}
	return checkEvents(r.GetEvents(), false)
}
