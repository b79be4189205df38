package proto

import (
	"errors"
	"math"
	"strings"
	"testing"
)

type validateCase struct {
	name  string
	msg   versioned
	valid bool
	field string // for invalid cases: the error names this field
}

func cmd(mut func(*Command)) *Command {
	c := sampleCommands()["new_order"]
	mut(c)
	return c
}

func newOrder(mut func(*NewOrder)) *Command {
	return cmd(func(c *Command) { mut(c.GetNewOrder()) })
}

func body(name string, mut func(*Command)) *Command {
	c := sampleCommands()[name]
	mut(c)
	return c
}

func batch(e *Event) *EventBatch {
	b := sampleEventBatch()
	b.Events = []*Event{e}
	return b
}

func TestValidateCommand(t *testing.T) {
	runValidate(t, []validateCase{
		{name: "sample", msg: cmd(func(*Command) {}), valid: true},
		{name: "no body", msg: cmd(func(c *Command) { c.Body = nil }), field: "body"},
		{name: "empty symbol", msg: cmd(func(c *Command) { c.Symbol = "" }), field: "symbol"},
		{name: "lower-case symbol", msg: cmd(func(c *Command) { c.Symbol = "btcusdt" }), field: "symbol"},
		{name: "symbol with dot", msg: cmd(func(c *Command) { c.Symbol = "BTC.USDT" }), field: "symbol"},
		{name: "symbol too long", msg: cmd(func(c *Command) { c.Symbol = strings.Repeat("A", 21) }), field: "symbol"},
		{name: "empty request id", msg: cmd(func(c *Command) { c.RequestId = "" }), field: "request_id"},
		{name: "request id with space", msg: cmd(func(c *Command) { c.RequestId = "a b" }), field: "request_id"},
		{name: "request id too long", msg: cmd(func(c *Command) { c.RequestId = strings.Repeat("x", MaxRequestIDLen+1) }), field: "request_id"},
		{name: "no reply_to, no ingress region", msg: cmd(func(c *Command) { c.ReplyTo, c.IngressRegion = "", "" }), valid: true},
		{name: "reply_to with newline", msg: cmd(func(c *Command) { c.ReplyTo = "a\nb" }), field: "reply_to"},
		{name: "negative qty", msg: newOrder(func(o *NewOrder) { o.Qty = -1 }), field: "new_order.qty"},
		{name: "negative price", msg: newOrder(func(o *NewOrder) { o.Price = -1 }), field: "new_order.price"},
		{name: "negative quote qty", msg: newOrder(func(o *NewOrder) { o.QuoteQty = -1 }), field: "new_order.quote_qty"},
		{name: "negative recv window", msg: newOrder(func(o *NewOrder) { o.RecvWindowMs = -1 }), field: "new_order.recv_window_ms"},
		{name: "negative client time", msg: newOrder(func(o *NewOrder) { o.ClientTimeMs = -1 }), field: "new_order.client_time_ms"},
		{name: "account 0", msg: newOrder(func(o *NewOrder) { o.Account = 0 }), field: "new_order.account"},
		{name: "no client order id", msg: newOrder(func(o *NewOrder) { o.ClientOrderId = "" }), valid: true},
		{name: "client order id 36 chars", msg: newOrder(func(o *NewOrder) { o.ClientOrderId = strings.Repeat("a", 36) }), valid: true},
		{name: "client order id 37 chars", msg: newOrder(func(o *NewOrder) { o.ClientOrderId = strings.Repeat("a", 37) }), field: "new_order.client_order_id"},
		{name: "client order id bad char", msg: newOrder(func(o *NewOrder) { o.ClientOrderId = "a*b" }), field: "new_order.client_order_id"},
		{name: "side unset", msg: newOrder(func(o *NewOrder) { o.Side = Side_SIDE_UNSPECIFIED }), field: "new_order.side"},
		{name: "side unknown", msg: newOrder(func(o *NewOrder) { o.Side = 9 }), field: "new_order.side"},
		{name: "type unset", msg: newOrder(func(o *NewOrder) { o.Type = 0 }), field: "new_order.type"},
		{name: "tif unset is fine (MARKET)", msg: newOrder(func(o *NewOrder) { o.TimeInForce = 0 }), valid: true},
		{name: "tif unknown", msg: newOrder(func(o *NewOrder) { o.TimeInForce = 77 }), field: "new_order.time_in_force"},
		{name: "stp unknown", msg: newOrder(func(o *NewOrder) { o.StpMode = -1 }), field: "new_order.stp_mode"},
		{name: "cancel by client id only", msg: body("cancel", func(c *Command) { c.GetCancel().OrderId = 0 }), valid: true},
		{name: "cancel by order id only", msg: body("cancel", func(c *Command) { c.GetCancel().OrigClientOrderId = "" }), valid: true},
		{name: "cancel without target", msg: body("cancel", func(c *Command) {
			c.GetCancel().OrderId, c.GetCancel().OrigClientOrderId = 0, ""
		}), field: "cancel.order_id"},
		{name: "cancel order id above 2^53", msg: body("cancel", func(c *Command) { c.GetCancel().OrderId = MaxID + 1 }), field: "cancel.order_id"},
		{name: "cancel account 0", msg: body("cancel", func(c *Command) { c.GetCancel().Account = 0 }), field: "cancel.account"},
		{name: "cancel-all account 0", msg: body("cancel_all", func(c *Command) { c.GetCancelAll().Account = 0 }), field: "cancel_all.account"},
		{name: "cancel-replace mode unset", msg: body("cancel_replace", func(c *Command) { c.GetCancelReplace().Mode = 0 }), field: "cancel_replace.mode"},
		{name: "cancel-replace without new order", msg: body("cancel_replace", func(c *Command) { c.GetCancelReplace().NewOrder = nil }), field: "cancel_replace.new_order"},
		{name: "cancel-replace other account", msg: body("cancel_replace", func(c *Command) { c.GetCancelReplace().NewOrder.Account = 43 }), field: "cancel_replace.new_order.account"},
		{name: "cancel-replace bad new order", msg: body("cancel_replace", func(c *Command) { c.GetCancelReplace().NewOrder.Qty = -5 }), field: "cancel_replace.new_order.qty"},
		{name: "cancel-replace without target", msg: body("cancel_replace", func(c *Command) {
			c.GetCancelReplace().OrderId, c.GetCancelReplace().OrigClientOrderId = 0, ""
		}), field: "cancel_replace.order_id"},
		{name: "amend zero qty", msg: body("amend", func(c *Command) { c.GetAmend().NewQty = 0 }), field: "amend.new_qty"},
		{name: "amend without target", msg: body("amend", func(c *Command) {
			c.GetAmend().OrderId, c.GetAmend().OrigClientOrderId = 0, ""
		}), field: "amend.order_id"},
		{name: "set phase unset", msg: body("set_phase", func(c *Command) { c.GetSetPhase().Phase = 0 }), field: "set_phase.phase"},
		{name: "set phase unknown", msg: body("set_phase", func(c *Command) { c.GetSetPhase().Phase = 5 }), field: "set_phase.phase"},
	})
}

func TestValidateEvents(t *testing.T) {
	ev := func(i int, mut func(*Event)) *EventBatch {
		e := sampleEvents()[i]
		mut(e)
		return batch(e)
	}
	const (
		accepted = iota
		rejected
		trade
		canceled
		expired
		replaced
		amended
		depth
		phase
	)
	runValidate(t, []validateCase{
		{name: "sample", msg: sampleEventBatch(), valid: true},
		{name: "no events", msg: func() versioned { b := sampleEventBatch(); b.Events = nil; return b }(), field: "events"},
		{name: "cmd_seq 0", msg: func() versioned { b := sampleEventBatch(); b.CmdSeq = 0; return b }(), field: "cmd_seq"},
		{name: "bad symbol", msg: func() versioned { b := sampleEventBatch(); b.Symbol = "x y"; return b }(), field: "symbol"},
		{name: "event without kind", msg: batch(&Event{}), field: "events[0].kind"},
		{name: "accepted for a cancel (no order fields)", msg: batch(&Event{Kind: &Event_Accepted{Accepted: &Accepted{}}}), valid: true},
		{name: "accepted negative qty", msg: ev(accepted, func(e *Event) { e.GetAccepted().Qty = -1 }), field: "events[0].accepted.qty"},
		{name: "accepted unknown type", msg: ev(accepted, func(e *Event) { e.GetAccepted().Type = 12 }), field: "events[0].accepted.type"},
		{name: "rejected without code", msg: ev(rejected, func(e *Event) { e.GetRejected().Code = 0 }), field: "events[0].rejected.code"},
		{name: "trade id 0", msg: ev(trade, func(e *Event) { e.GetTrade().TradeId = 0 }), field: "events[0].trade.trade_id"},
		{name: "trade id 2^53", msg: ev(trade, func(e *Event) { e.GetTrade().TradeId = MaxID + 1 }), field: "events[0].trade.trade_id"},
		{name: "trade id 2^53-1", msg: ev(trade, func(e *Event) { e.GetTrade().TradeId = MaxID }), valid: true},
		{name: "trade zero qty", msg: ev(trade, func(e *Event) { e.GetTrade().Qty = 0 }), field: "events[0].trade.qty"},
		{name: "trade taker side unset", msg: ev(trade, func(e *Event) { e.GetTrade().TakerSide = 0 }), field: "events[0].trade.taker_side"},
		{name: "trade maker account 0", msg: ev(trade, func(e *Event) { e.GetTrade().MakerAccount = 0 }), field: "events[0].trade.maker_account"},
		{name: "trade cumulative below trade", msg: ev(trade, func(e *Event) { e.GetTrade().TakerExecutedQty = 9 }), field: "events[0].trade.executed_qty"},
		{name: "trade cumulative quote below trade", msg: ev(trade, func(e *Event) { e.GetTrade().MakerExecutedQuoteQty = 1 }), field: "events[0].trade.executed_quote_qty"},
		{name: "canceled reason unset", msg: ev(canceled, func(e *Event) { e.GetCanceled().Reason = 0 }), field: "events[0].canceled.reason"},
		{name: "canceled order id 0", msg: ev(canceled, func(e *Event) { e.GetCanceled().OrderId = 0 }), field: "events[0].canceled.order_id"},
		{name: "expired reason unknown", msg: ev(expired, func(e *Event) { e.GetExpired().Reason = 99 }), field: "events[0].expired.reason"},
		{name: "replaced result unset", msg: ev(replaced, func(e *Event) { e.GetReplaced().NewOrderResult = 0 }), field: "events[0].replaced.new_order_result"},
		{name: "amended qty 0", msg: ev(amended, func(e *Event) { e.GetAmended().NewQty = 0 }), field: "events[0].amended.new_qty"},
		{name: "rejected echoes a bad client order id", msg: ev(rejected, func(e *Event) { e.GetRejected().ClientOrderId = "bad id!" }), valid: true},
		{name: "rejected order id above 2^53", msg: ev(rejected, func(e *Event) { e.GetRejected().OrderId = MaxID + 1 }), field: "events[0].rejected.order_id"},
		{name: "canceled negative qty", msg: ev(canceled, func(e *Event) { e.GetCanceled().Qty = -1 }), field: "events[0].canceled.qty"},
		{name: "expired unknown side", msg: ev(expired, func(e *Event) { e.GetExpired().Side = 3 }), field: "events[0].expired.side"},
		{name: "amended negative executed", msg: ev(amended, func(e *Event) { e.GetAmended().ExecutedQty = -1 }), field: "events[0].amended.executed_qty"},
		{name: "trade negative maker order qty", msg: ev(trade, func(e *Event) { e.GetTrade().MakerOrderQty = -1 }), field: "events[0].trade.maker_order_qty"},
		{name: "depth level removed", msg: ev(depth, func(e *Event) { e.GetDepthUpdate().Qty = 0 }), valid: true},
		{name: "depth negative qty", msg: ev(depth, func(e *Event) { e.GetDepthUpdate().Qty = -1 }), field: "events[0].depth_update.qty"},
		{name: "depth update id 0", msg: ev(depth, func(e *Event) { e.GetDepthUpdate().UpdateId = 0 }), field: "events[0].depth_update.update_id"},
		{name: "phase changed new unset", msg: ev(phase, func(e *Event) { e.GetPhaseChanged().NewPhase = 0 }), field: "events[0].phase_changed.new_phase"},
		{name: "phase changed from unset", msg: ev(phase, func(e *Event) { e.GetPhaseChanged().OldPhase = 0 }), valid: true},
	})
}

func TestValidateCommandResult(t *testing.T) {
	res := func(mut func(*CommandResult)) *CommandResult {
		r := sampleCommandResult()
		mut(r)
		return r
	}
	runValidate(t, []validateCase{
		{name: "rejected", msg: res(func(*CommandResult) {}), valid: true},
		{name: "rejected without code", msg: res(func(r *CommandResult) { r.RejectCode = 0 }), field: "reject_code"},
		{name: "status unset", msg: res(func(r *CommandResult) { r.Status = 0 }), field: "status"},
		{name: "accepted", msg: res(func(r *CommandResult) {
			r.Status, r.RejectCode, r.RejectMsg, r.Events = CommandStatus_COMMAND_STATUS_ACCEPTED, 0, "", sampleEvents()
		}), valid: true},
		{name: "accepted without seq", msg: res(func(r *CommandResult) {
			r.Status, r.CmdSeq = CommandStatus_COMMAND_STATUS_ACCEPTED, 0
		}), field: "cmd_seq"},
		{name: "unknown without seq or events", msg: res(func(r *CommandResult) {
			r.Status, r.CmdSeq, r.Events = CommandStatus_COMMAND_STATUS_UNKNOWN, 0, nil
		}), valid: true},
		{name: "bad event", msg: res(func(r *CommandResult) { r.Events = []*Event{{}} }), field: "events[0].kind"},
	})
}

func TestValidateRecords(t *testing.T) {
	own := func(mut func(*OwnershipRecord)) *OwnershipRecord {
		o := sampleOwnershipRecord()
		mut(o)
		return o
	}
	snap := func(mut func(*SnapshotEnvelope)) *SnapshotEnvelope {
		s := sampleSnapshotEnvelope()
		mut(s)
		return s
	}
	plan := func(mut func(*Plan)) *Plan {
		p := samplePlan()
		mut(p)
		return p
	}
	audit := func(mut func(*AuditEntry)) *AuditEntry {
		a := sampleAuditEntry()
		mut(a)
		return a
	}
	node := func(mut func(*NodeMeta)) *NodeMeta {
		n := sampleNodeMeta()
		mut(n)
		return n
	}
	key := func(mut func(*ApiKey)) *ApiKey {
		k := sampleApiKey()
		mut(k)
		return k
	}
	runValidate(t, []validateCase{
		{name: "ownership default policy", msg: own(func(o *OwnershipRecord) { o.FailoverPolicy = 0 }), valid: true},
		{name: "ownership no home", msg: own(func(o *OwnershipRecord) { o.HomeRegion = "" }), field: "home_region"},
		{name: "ownership phase unset", msg: own(func(o *OwnershipRecord) { o.Phase = 0 }), field: "phase"},
		{name: "ownership policy unknown", msg: own(func(o *OwnershipRecord) { o.FailoverPolicy = 8 }), field: "failover_policy"},
		{name: "ownership duplicate preference", msg: own(func(o *OwnershipRecord) { o.PreferredRegions = []string{"a", "b", "a"} }), field: "preferred_regions[2]"},
		{name: "ownership empty preference", msg: own(func(o *OwnershipRecord) { o.PreferredRegions = []string{""} }), field: "preferred_regions[0]"},
		{name: "ownership no spec", msg: own(func(o *OwnershipRecord) { o.Spec = nil }), field: "spec"},
		{name: "ownership spec of another symbol", msg: own(func(o *OwnershipRecord) { o.Spec.Symbol = "ETHUSDT" }), field: "spec.symbol"},
		{name: "spec zero tick", msg: own(func(o *OwnershipRecord) { o.Spec.TickSize = "0.000" }), field: "spec.tick_size"},
		{name: "spec no step", msg: own(func(o *OwnershipRecord) { o.Spec.StepSize = "" }), field: "spec.step_size"},
		{name: "spec exponent", msg: own(func(o *OwnershipRecord) { o.Spec.MinNotional = "1e3" }), field: "spec.min_notional"},
		{name: "spec negative", msg: own(func(o *OwnershipRecord) { o.Spec.MaxQty = "-1" }), field: "spec.max_qty"},
		{name: "spec optional limits empty", msg: own(func(o *OwnershipRecord) {
			o.Spec.MinPrice, o.Spec.MaxPrice, o.Spec.MinQty, o.Spec.MaxQty, o.Spec.MinNotional, o.Spec.MaxNotional = "", "", "", "", "", ""
		}), valid: true},
		{name: "snapshot bad checksum", msg: snap(func(s *SnapshotEnvelope) { s.State = append(s.State, 0) }), field: "state_sha256"},
		{name: "snapshot no checksum", msg: snap(func(s *SnapshotEnvelope) { s.StateSha256 = nil }), field: "state_sha256"},
		{name: "snapshot no format version", msg: snap(func(s *SnapshotEnvelope) { s.MatcherFormatVersion = 0 }), field: "matcher_format_version"},
		{name: "snapshot no symbol", msg: snap(func(s *SnapshotEnvelope) { s.Symbol = "" }), field: "symbol"},
		{name: "node no id", msg: node(func(n *NodeMeta) { n.NodeId = "" }), field: "node_id"},
		{name: "node no region", msg: node(func(n *NodeMeta) { n.Region = "" }), field: "region"},
		{name: "node relative url", msg: node(func(n *NodeMeta) { n.AdminUrl = "/admin" }), field: "admin_url"},
		{name: "node empty role", msg: node(func(n *NodeMeta) { n.Roles = []string{""} }), field: "roles[0]"},
		{name: "plan kind unset", msg: plan(func(p *Plan) { p.Kind = 0 }), field: "kind"},
		{name: "plan state unset", msg: plan(func(p *Plan) { p.State = 0 }), field: "state"},
		{name: "plan evacuate without region", msg: plan(func(p *Plan) { p.Region = "" }), field: "region"},
		{name: "plan rebalance without region", msg: plan(func(p *Plan) { p.Kind, p.Region = PlanKind_PLAN_KIND_REBALANCE, "" }), valid: true},
		{name: "plan NaN rate", msg: plan(func(p *Plan) { p.RatePerSecond = math.NaN() }), field: "rate_per_second"},
		{name: "plan negative rate", msg: plan(func(p *Plan) { p.RatePerSecond = -1 }), field: "rate_per_second"},
		{name: "plan step bad symbol", msg: plan(func(p *Plan) { p.Steps[0].Symbol = "" }), field: "steps[0].symbol"},
		{name: "plan step state unset", msg: plan(func(p *Plan) { p.Steps[0].State = 0 }), field: "steps[0].state"},
		{name: "plan no id", msg: plan(func(p *Plan) { p.Id = "" }), field: "id"},
		{name: "audit region-level", msg: audit(func(a *AuditEntry) { a.Symbol, a.Action = "", AuditAction_AUDIT_ACTION_CORDON }), valid: true},
		{name: "audit neither symbol nor region", msg: audit(func(a *AuditEntry) { a.Symbol, a.Region = "", "" }), field: "symbol"},
		{name: "audit action unset", msg: audit(func(a *AuditEntry) { a.Action = 0 }), field: "action"},
		{name: "audit phase unknown", msg: audit(func(a *AuditEntry) { a.NewPhase = 10 }), field: "new_phase"},
		{name: "api key no secret", msg: key(func(k *ApiKey) { k.Secret = nil }), field: "secret"},
		{name: "api key account 0", msg: key(func(k *ApiKey) { k.Account = 0 }), field: "account"},
		{name: "api key duplicate permission", msg: key(func(k *ApiKey) { k.Permissions = []Permission{1, 1} }), field: "permissions[1]"},
		{name: "api key unknown permission", msg: key(func(k *ApiKey) { k.Permissions = []Permission{99} }), field: "permissions[0]"},
		{name: "api key admin permission", msg: key(func(k *ApiKey) { k.Permissions = []Permission{Permission_PERMISSION_ADMIN} }), valid: true},
		{name: "api key no permissions", msg: key(func(k *ApiKey) { k.Permissions = nil }), valid: true},
		{name: "api key with space", msg: key(func(k *ApiKey) { k.ApiKey = "a b" }), field: "api_key"},
		{name: "listen key account 0", msg: func() versioned { k := sampleListenKey(); k.Account = 0; return k }(), field: "account"},
		{name: "listen key empty", msg: func() versioned { k := sampleListenKey(); k.ListenKey = ""; return k }(), field: "listen_key"},
		{name: "region record no region", msg: func() versioned { r := sampleRegionRecord(); r.Region = ""; return r }(), field: "region"},
		{name: "lease no holder", msg: func() versioned { l := sampleLease(); l.Holder = ""; return l }(), field: "holder"},
		{name: "lease no region", msg: func() versioned { l := sampleLease(); l.Region = ""; return l }(), field: "region"},
	})
}

// runValidate checks each case through Validate and through its Decode helper.
func runValidate(t *testing.T, cases []validateCase) {
	t.Helper()
	byName := map[string]decoder{}
	for _, d := range decoders() {
		byName[d.name] = d
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.Validate()
			switch {
			case tc.valid && err != nil:
				t.Fatalf("Validate: %v, want valid", err)
			case !tc.valid && !errors.Is(err, ErrInvalid):
				t.Fatalf("Validate: %v, want ErrInvalid", err)
			case !tc.valid && !strings.Contains(err.Error(), tc.field+":"):
				t.Errorf("Validate: %q does not name field %q", err, tc.field)
			}
			d := byName[string(tc.msg.ProtoReflect().Descriptor().Name())]
			_, derr := d.decode(mustMarshal(t, tc.msg))
			if (derr == nil) != tc.valid || (derr != nil && !errors.Is(derr, ErrInvalid)) {
				t.Errorf("Decode%s: %v, want valid=%v", d.name, derr, tc.valid)
			}
		})
	}
}
