package region

// Conversions between the matcher's Go types and the geomesh.v1 protobuf messages. They are pure
// functions: no clock, no logging, no shared state.
//
// Where the two vocabularies differ:
//
//   - Enums: matcher values are uint8 with 0 invalid or "unset"; proto enums have UNSPECIFIED = 0.
//     Every matcher value maps to one proto value and back. STP is the exception documented by
//     the proto package: matcher STPNone is 0, proto STP_MODE_NONE is 1 and STP_MODE_UNSPECIFIED
//     is read as NONE. In events, a field the event does not use is 0 in the matcher and
//     UNSPECIFIED in proto, both ways. In commands, UNSPECIFIED is an error where the field is
//     required (side, type, mode, phase) and 0 where it is optional (time in force).
//   - Reasons: the matcher has one Reason; proto has CancelReason (Canceled) and ExpireReason
//     (Expired). CANCEL_REASON_PHASE has no matcher counterpart and does not convert back.
//   - Accepted: the matcher's event has no time; proto Accepted.time_unix_nano is the command's
//     append time (the order's time).
//   - Replaced: the matcher's Replaced carries both reject codes but no message (its Msg is
//     unused for this kind). proto cancel_msg / new_order_msg are filled from the Rejected events
//     of the same command, which hold each failed half's code and message (the cancel's Rejected
//     comes first, the new order's last). Converting back leaves Msg empty: the messages are
//     still in those Rejected events.
//   - Not carried by proto (yet): Canceled/Expired TimeInForce and Amended ExecutedQuote. They
//     are lost on the way to proto and come back as 0; convert_test.go pins this list against
//     the proto descriptors so the gap cannot widen or close silently.

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
)

// errUnconvertible: a proto message holds a value the matcher cannot represent (no command body,
// an unknown or unset required enum, a reason without matcher counterpart). It lives here rather
// than in errors.go only because this file's owner could not edit errors.go; move it freely.
var errUnconvertible = errors.New("region: proto value has no matcher equivalent")

// enumPair is one matcher value and its proto value.
type enumPair[M ~uint8, P interface {
	~int32
	String() string
}] struct {
	m M
	p P
}

// enumMap is a bidirectional enum mapping. Lookups take the first pair matching in each
// direction, so an alias (another proto value read as an existing matcher value) goes last.
type enumMap[M ~uint8, P interface {
	~int32
	String() string
}] []enumPair[M, P]

// toProto returns the proto value of m, UNSPECIFIED (0) when m has none.
func (e enumMap[M, P]) toProto(m M) P {
	for _, x := range e {
		if x.m == m {
			return x.p
		}
	}
	return 0
}

// fromProto returns the matcher value of p, or an error wrapping errUnconvertible.
func (e enumMap[M, P]) fromProto(p P) (M, error) {
	for _, x := range e {
		if x.p == p {
			return x.m, nil
		}
	}
	return 0, fmt.Errorf("%s: %w", p, errUnconvertible)
}

// optFromProto is fromProto with UNSPECIFIED read as the matcher's zero value (field unset).
func (e enumMap[M, P]) optFromProto(p P) (M, error) {
	if p == 0 {
		return 0, nil
	}
	return e.fromProto(p)
}

var (
	sides = enumMap[matcher.Side, proto.Side]{
		{matcher.Buy, proto.Side_SIDE_BUY},
		{matcher.Sell, proto.Side_SIDE_SELL},
	}
	orderTypes = enumMap[matcher.OrderType, proto.OrderType]{
		{matcher.Limit, proto.OrderType_ORDER_TYPE_LIMIT},
		{matcher.Market, proto.OrderType_ORDER_TYPE_MARKET},
		{matcher.LimitMaker, proto.OrderType_ORDER_TYPE_LIMIT_MAKER},
	}
	timesInForce = enumMap[matcher.TimeInForce, proto.TimeInForce]{
		{matcher.GTC, proto.TimeInForce_TIME_IN_FORCE_GTC},
		{matcher.IOC, proto.TimeInForce_TIME_IN_FORCE_IOC},
		{matcher.FOK, proto.TimeInForce_TIME_IN_FORCE_FOK},
	}
	stpModes = enumMap[matcher.STPMode, proto.StpMode]{
		{matcher.STPNone, proto.StpMode_STP_MODE_NONE},
		{matcher.STPExpireTaker, proto.StpMode_STP_MODE_EXPIRE_TAKER},
		{matcher.STPExpireMaker, proto.StpMode_STP_MODE_EXPIRE_MAKER},
		{matcher.STPExpireBoth, proto.StpMode_STP_MODE_EXPIRE_BOTH},
		{matcher.STPNone, proto.StpMode_STP_MODE_UNSPECIFIED}, // documented alias: read as NONE
	}
	phases = enumMap[matcher.Phase, proto.Phase]{
		{matcher.Trading, proto.Phase_PHASE_TRADING},
		{matcher.CancelOnly, proto.Phase_PHASE_CANCEL_ONLY},
		{matcher.PostOnly, proto.Phase_PHASE_POST_ONLY},
		{matcher.Halt, proto.Phase_PHASE_HALT},
	}
	replaceModes = enumMap[matcher.ReplaceMode, proto.CancelReplaceMode]{
		{matcher.StopOnFailure, proto.CancelReplaceMode_CANCEL_REPLACE_MODE_STOP_ON_FAILURE},
		{matcher.AllowFailure, proto.CancelReplaceMode_CANCEL_REPLACE_MODE_ALLOW_FAILURE},
	}
	// cancelReasons and expireReasons split matcher.Reason: every reason is in exactly one.
	cancelReasons = enumMap[matcher.Reason, proto.CancelReason]{
		{matcher.ReasonUser, proto.CancelReason_CANCEL_REASON_USER},
		{matcher.ReasonCancelAll, proto.CancelReason_CANCEL_REASON_CANCEL_ALL},
		{matcher.ReasonReplace, proto.CancelReason_CANCEL_REASON_REPLACE},
	}
	expireReasons = enumMap[matcher.Reason, proto.ExpireReason]{
		{matcher.ReasonIOC, proto.ExpireReason_EXPIRE_REASON_IOC},
		{matcher.ReasonFOK, proto.ExpireReason_EXPIRE_REASON_FOK},
		{matcher.ReasonMarketNoLiquidity, proto.ExpireReason_EXPIRE_REASON_MARKET_NO_LIQUIDITY},
		{matcher.ReasonSTP, proto.ExpireReason_EXPIRE_REASON_STP},
	}
	replaceResults = enumMap[matcher.Result, proto.ReplaceResult]{
		{matcher.Success, proto.ReplaceResult_REPLACE_RESULT_SUCCESS},
		{matcher.Failure, proto.ReplaceResult_REPLACE_RESULT_FAILURE},
		{matcher.NotAttempted, proto.ReplaceResult_REPLACE_RESULT_NOT_ATTEMPTED},
	}
)

// commandToMatcher converts a decoded, validated log entry to the matcher's command. seq and timeNs
// come from the JetStream message metadata (stream sequence, timestamp in Unix ns). Errors wrap
// errUnconvertible; the caller still owes the log a result for seq (a Rejected batch).
func commandToMatcher(pc *proto.Command, seq uint64, timeNs int64) (matcher.Command, error) {
	c := matcher.Command{Seq: seq, Time: timeNs}
	var err error
	switch b := pc.GetBody().(type) {
	case *proto.Command_NewOrder:
		c.Kind, c.Account = matcher.CmdNew, b.NewOrder.GetAccount()
		c.Order, err = newOrderToMatcher(b.NewOrder)
	case *proto.Command_Cancel:
		x := b.Cancel
		c.Kind, c.Account, c.OrderID = matcher.CmdCancel, x.GetAccount(), x.GetOrderId()
		c.OrigClientOrderID, c.ClientOrderID = x.GetOrigClientOrderId(), x.GetClientOrderId()
	case *proto.Command_CancelAll:
		c.Kind, c.Account = matcher.CmdCancelAll, b.CancelAll.GetAccount()
	case *proto.Command_CancelReplace:
		x := b.CancelReplace
		c.Kind, c.Account, c.OrderID = matcher.CmdCancelReplace, x.GetAccount(), x.GetOrderId()
		c.OrigClientOrderID, c.ClientOrderID = x.GetOrigClientOrderId(), x.GetCancelClientOrderId()
		if c.Mode, err = replaceModes.fromProto(x.GetMode()); err == nil {
			c.Order, err = newOrderToMatcher(x.GetNewOrder())
		}
	case *proto.Command_Amend:
		x := b.Amend
		c.Kind, c.Account, c.OrderID = matcher.CmdAmend, x.GetAccount(), x.GetOrderId()
		c.OrigClientOrderID, c.NewQty = x.GetOrigClientOrderId(), x.GetNewQty()
	case *proto.Command_SetPhase:
		c.Kind, c.Reason = matcher.CmdSetPhase, b.SetPhase.GetReason()
		c.Phase, err = phases.fromProto(b.SetPhase.GetPhase())
	default:
		err = fmt.Errorf("no body: %w", errUnconvertible)
	}
	if err != nil {
		return matcher.Command{}, fmt.Errorf("convert command %q (seq %d): %w", pc.GetRequestId(), seq, err)
	}
	return c, nil
}

func newOrderToMatcher(o *proto.NewOrder) (matcher.NewOrder, error) {
	n := matcher.NewOrder{
		ClientOrderID: o.GetClientOrderId(), Price: o.GetPrice(), Qty: o.GetQty(),
		QuoteQty: o.GetQuoteQty(), ClientTimeMs: o.GetClientTimeMs(), RecvWindowMs: o.GetRecvWindowMs(),
	}
	var errs [4]error
	n.Side, errs[0] = sides.fromProto(o.GetSide())
	n.Type, errs[1] = orderTypes.fromProto(o.GetType())
	n.TimeInForce, errs[2] = timesInForce.optFromProto(o.GetTimeInForce())
	n.STP, errs[3] = stpModes.fromProto(o.GetStpMode())
	if err := errors.Join(errs[:]...); err != nil {
		return matcher.NewOrder{}, fmt.Errorf("new order: %w", err)
	}
	return n, nil
}

// commandFromMatcher is the inverse for the parts a Command carries (used by tests and by the
// controller, which builds SetPhase / CancelAll commands): returns a Command with schema_version set,
// symbol, request_id as given. Seq and Time are not carried (the log assigns them); neither are
// fields c.Kind does not use (see matcher.Command). An unknown Kind leaves the body unset, which
// proto validation rejects.
func commandFromMatcher(symbol, requestID string, c matcher.Command) *proto.Command {
	pc := &proto.Command{SchemaVersion: proto.SchemaVersion, Symbol: symbol, RequestId: requestID}
	switch c.Kind {
	case matcher.CmdNew:
		pc.Body = &proto.Command_NewOrder{NewOrder: newOrderToProto(c.Account, &c.Order)}
	case matcher.CmdCancel:
		pc.Body = &proto.Command_Cancel{Cancel: &proto.Cancel{
			Account: c.Account, OrderId: c.OrderID, OrigClientOrderId: c.OrigClientOrderID,
			ClientOrderId: c.ClientOrderID,
		}}
	case matcher.CmdCancelAll:
		pc.Body = &proto.Command_CancelAll{CancelAll: &proto.CancelAll{Account: c.Account}}
	case matcher.CmdCancelReplace:
		pc.Body = &proto.Command_CancelReplace{CancelReplace: &proto.CancelReplace{
			Account: c.Account, Mode: replaceModes.toProto(c.Mode), OrderId: c.OrderID,
			OrigClientOrderId: c.OrigClientOrderID, CancelClientOrderId: c.ClientOrderID,
			NewOrder: newOrderToProto(c.Account, &c.Order),
		}}
	case matcher.CmdAmend:
		pc.Body = &proto.Command_Amend{Amend: &proto.Amend{
			Account: c.Account, OrderId: c.OrderID, OrigClientOrderId: c.OrigClientOrderID, NewQty: c.NewQty,
		}}
	case matcher.CmdSetPhase:
		pc.Body = &proto.Command_SetPhase{SetPhase: &proto.SetPhase{Phase: phases.toProto(c.Phase), Reason: c.Reason}}
	}
	return pc
}

func newOrderToProto(account uint64, o *matcher.NewOrder) *proto.NewOrder {
	return &proto.NewOrder{
		Account: account, ClientOrderId: o.ClientOrderID, Side: sides.toProto(o.Side),
		Type: orderTypes.toProto(o.Type), TimeInForce: timesInForce.toProto(o.TimeInForce),
		Price: o.Price, Qty: o.Qty, QuoteQty: o.QuoteQty, StpMode: stpModes.toProto(o.STP),
		ClientTimeMs: o.ClientTimeMs, RecvWindowMs: o.RecvWindowMs,
	}
}

// eventBatch builds the EVT_<S> message for the events one command produced. epoch is the producer's
// ownership epoch; requestID the command's. It must not keep references to evs (the matcher reuses
// its buffer): it copies every value. A matcher value without proto counterpart (which the matcher
// never produces; the round-trip tests prove it) becomes UNSPECIFIED, which proto validation refuses.
func eventBatch(symbol string, cmdSeq uint64, cmdTimeNs int64, epoch uint64, requestID string, evs []matcher.Event) *proto.EventBatch {
	b := &proto.EventBatch{
		SchemaVersion: proto.SchemaVersion, Symbol: symbol, CmdSeq: cmdSeq, CmdTimeUnixNano: cmdTimeNs,
		Epoch: epoch, RequestId: requestID, Events: make([]*proto.Event, len(evs)),
	}
	pes := make([]proto.Event, len(evs)) // one allocation for the envelopes
	for i := range evs {
		setEventKind(&pes[i], evs, i, cmdTimeNs)
		b.Events[i] = &pes[i]
	}
	return b
}

// setEventKind converts evs[i] into pe; it needs the whole list for Replaced (see the file
// comment). An unknown kind leaves pe without kind, which proto validation refuses.
func setEventKind(pe *proto.Event, evs []matcher.Event, i int, cmdTimeNs int64) {
	e := &evs[i]
	switch e.Kind {
	case matcher.EvAccepted:
		pe.Kind = &proto.Event_Accepted{Accepted: &proto.Accepted{
			OrderId: e.OrderID, Account: e.Account, ClientOrderId: e.ClientOrderID,
			Side: sides.toProto(e.Side), Type: orderTypes.toProto(e.Type),
			TimeInForce: timesInForce.toProto(e.TimeInForce), Price: e.Price, Qty: e.Qty,
			QuoteQty: e.QuoteQty, StpMode: stpModes.toProto(e.STP), TimeUnixNano: cmdTimeNs,
		}}
	case matcher.EvRejected:
		pe.Kind = &proto.Event_Rejected{Rejected: &proto.Rejected{
			Code: e.Code, Msg: e.Msg, Account: e.Account, ClientOrderId: e.ClientOrderID, OrderId: e.OrderID,
		}}
	case matcher.EvTrade:
		pe.Kind = &proto.Event_Trade{Trade: &proto.Trade{
			TradeId: e.TradeID, Price: e.Price, Qty: e.Qty, QuoteQty: e.QuoteQty,
			MakerOrderId: e.MakerOrderID, MakerAccount: e.MakerAccount, MakerClientOrderId: e.MakerClientOrderID,
			TakerOrderId: e.OrderID, TakerAccount: e.Account, TakerClientOrderId: e.ClientOrderID,
			TakerSide: sides.toProto(e.Side), MakerExecutedQty: e.MakerExecutedQty,
			MakerExecutedQuoteQty: e.MakerExecutedQuote, TakerExecutedQty: e.ExecutedQty,
			TakerExecutedQuoteQty: e.ExecutedQuote, MakerOrderQty: e.MakerQty,
		}}
	case matcher.EvCanceled:
		pe.Kind = &proto.Event_Canceled{Canceled: &proto.Canceled{
			OrderId: e.OrderID, Account: e.Account, ClientOrderId: e.ClientOrderID,
			Reason: cancelReasons.toProto(e.Reason), CancelClientOrderId: e.CancelClientOrderID,
			ExecutedQty: e.ExecutedQty, ExecutedQuoteQty: e.ExecutedQuote, Side: sides.toProto(e.Side),
			Type: orderTypes.toProto(e.Type), Price: e.Price, Qty: e.Qty, QuoteQty: e.QuoteQty,
		}}
	case matcher.EvExpired:
		pe.Kind = &proto.Event_Expired{Expired: &proto.Expired{
			OrderId: e.OrderID, Account: e.Account, ClientOrderId: e.ClientOrderID,
			Reason: expireReasons.toProto(e.Reason), ExecutedQty: e.ExecutedQty,
			ExecutedQuoteQty: e.ExecutedQuote, Side: sides.toProto(e.Side), Type: orderTypes.toProto(e.Type),
			Price: e.Price, Qty: e.Qty, QuoteQty: e.QuoteQty,
		}}
	case matcher.EvReplaced:
		cancelMsg, newMsg := replaceMsgs(evs[:i], e)
		pe.Kind = &proto.Event_Replaced{Replaced: &proto.Replaced{
			CancelResult: replaceResults.toProto(e.CancelResult), NewOrderResult: replaceResults.toProto(e.NewOrderResult),
			CanceledOrderId: e.OrderID, NewOrderId: e.NewOrderID, CancelCode: e.Code, CancelMsg: cancelMsg,
			NewOrderCode: e.NewOrderCode, NewOrderMsg: newMsg, Account: e.Account,
		}}
	case matcher.EvAmended:
		pe.Kind = &proto.Event_Amended{Amended: &proto.Amended{
			OrderId: e.OrderID, Account: e.Account, ClientOrderId: e.ClientOrderID, NewQty: e.Qty,
			Side: sides.toProto(e.Side), Price: e.Price, ExecutedQty: e.ExecutedQty,
		}}
	case matcher.EvDepthUpdate:
		pe.Kind = &proto.Event_DepthUpdate{DepthUpdate: &proto.DepthUpdate{
			UpdateId: e.UpdateID, Side: sides.toProto(e.Side), Price: e.Price, Qty: e.Qty,
		}}
	case matcher.EvPhaseChanged:
		pe.Kind = &proto.Event_PhaseChanged{PhaseChanged: &proto.PhaseChanged{
			OldPhase: phases.toProto(e.OldPhase), NewPhase: phases.toProto(e.Phase), Reason: e.Msg,
		}}
	}
}

// replaceMsgs finds the messages of a cancel-replace's failed halves among the Rejected events
// that precede its Replaced event: the cancel's Rejected is emitted first, the new order's last.
func replaceMsgs(before []matcher.Event, r *matcher.Event) (cancelMsg, newMsg string) {
	first, last := -1, -1
	for j := range before {
		if before[j].Kind == matcher.EvRejected {
			if first < 0 {
				first = j
			}
			last = j
		}
	}
	if r.CancelResult == matcher.Failure && first >= 0 && before[first].Code == r.Code {
		cancelMsg = before[first].Msg
	}
	if r.NewOrderResult == matcher.Failure && last >= 0 && before[last].Code == r.NewOrderCode &&
		(last != first || r.CancelResult != matcher.Failure) {
		newMsg = before[last].Msg
	}
	return cancelMsg, newMsg
}

// eventsFromBatch converts back (tests compare a from-scratch matcher replay with what EVT_<S> holds;
// the gateway will build Binance JSON from proto events directly). Fields proto does not carry
// (see the file comment) come back as 0. Errors wrap errUnconvertible.
func eventsFromBatch(b *proto.EventBatch) ([]matcher.Event, error) {
	evs := make([]matcher.Event, len(b.GetEvents()))
	for i, pe := range b.GetEvents() {
		if err := eventFromProto(pe, &evs[i]); err != nil {
			return nil, fmt.Errorf("convert batch %d event %d: %w", b.GetCmdSeq(), i, err)
		}
	}
	return evs, nil
}

func eventFromProto(pe *proto.Event, e *matcher.Event) error {
	var errs [4]error
	switch k := pe.GetKind().(type) {
	case *proto.Event_Accepted:
		x := k.Accepted
		e.Kind, e.OrderID, e.Account, e.ClientOrderID = matcher.EvAccepted, x.GetOrderId(), x.GetAccount(), x.GetClientOrderId()
		e.Price, e.Qty, e.QuoteQty = x.GetPrice(), x.GetQty(), x.GetQuoteQty()
		e.Side, errs[0] = sides.optFromProto(x.GetSide())
		e.Type, errs[1] = orderTypes.optFromProto(x.GetType())
		e.TimeInForce, errs[2] = timesInForce.optFromProto(x.GetTimeInForce())
		e.STP, errs[3] = stpModes.fromProto(x.GetStpMode())
	case *proto.Event_Rejected:
		x := k.Rejected
		e.Kind, e.Code, e.Msg, e.Account = matcher.EvRejected, x.GetCode(), x.GetMsg(), x.GetAccount()
		e.ClientOrderID, e.OrderID = x.GetClientOrderId(), x.GetOrderId()
	case *proto.Event_Trade:
		x := k.Trade
		e.Kind, e.TradeID, e.Price, e.Qty, e.QuoteQty = matcher.EvTrade, x.GetTradeId(), x.GetPrice(), x.GetQty(), x.GetQuoteQty()
		e.MakerOrderID, e.MakerAccount, e.MakerClientOrderID = x.GetMakerOrderId(), x.GetMakerAccount(), x.GetMakerClientOrderId()
		e.OrderID, e.Account, e.ClientOrderID = x.GetTakerOrderId(), x.GetTakerAccount(), x.GetTakerClientOrderId()
		e.MakerExecutedQty, e.MakerExecutedQuote, e.MakerQty = x.GetMakerExecutedQty(), x.GetMakerExecutedQuoteQty(), x.GetMakerOrderQty()
		e.ExecutedQty, e.ExecutedQuote = x.GetTakerExecutedQty(), x.GetTakerExecutedQuoteQty()
		e.Side, errs[0] = sides.fromProto(x.GetTakerSide())
	case *proto.Event_Canceled:
		x := k.Canceled
		e.Kind, e.OrderID, e.Account, e.ClientOrderID = matcher.EvCanceled, x.GetOrderId(), x.GetAccount(), x.GetClientOrderId()
		e.CancelClientOrderID, e.ExecutedQty, e.ExecutedQuote = x.GetCancelClientOrderId(), x.GetExecutedQty(), x.GetExecutedQuoteQty()
		e.Price, e.Qty, e.QuoteQty = x.GetPrice(), x.GetQty(), x.GetQuoteQty()
		e.Reason, errs[0] = cancelReasons.fromProto(x.GetReason())
		e.Side, errs[1] = sides.optFromProto(x.GetSide())
		e.Type, errs[2] = orderTypes.optFromProto(x.GetType())
	case *proto.Event_Expired:
		x := k.Expired
		e.Kind, e.OrderID, e.Account, e.ClientOrderID = matcher.EvExpired, x.GetOrderId(), x.GetAccount(), x.GetClientOrderId()
		e.ExecutedQty, e.ExecutedQuote = x.GetExecutedQty(), x.GetExecutedQuoteQty()
		e.Price, e.Qty, e.QuoteQty = x.GetPrice(), x.GetQty(), x.GetQuoteQty()
		e.Reason, errs[0] = expireReasons.fromProto(x.GetReason())
		e.Side, errs[1] = sides.optFromProto(x.GetSide())
		e.Type, errs[2] = orderTypes.optFromProto(x.GetType())
	case *proto.Event_Replaced:
		x := k.Replaced
		e.Kind, e.Account, e.OrderID, e.NewOrderID = matcher.EvReplaced, x.GetAccount(), x.GetCanceledOrderId(), x.GetNewOrderId()
		e.Code, e.NewOrderCode = x.GetCancelCode(), x.GetNewOrderCode()
		e.CancelResult, errs[0] = replaceResults.fromProto(x.GetCancelResult())
		e.NewOrderResult, errs[1] = replaceResults.fromProto(x.GetNewOrderResult())
	case *proto.Event_Amended:
		x := k.Amended
		e.Kind, e.OrderID, e.Account, e.ClientOrderID = matcher.EvAmended, x.GetOrderId(), x.GetAccount(), x.GetClientOrderId()
		e.Qty, e.Price, e.ExecutedQty = x.GetNewQty(), x.GetPrice(), x.GetExecutedQty()
		e.Side, errs[0] = sides.optFromProto(x.GetSide())
	case *proto.Event_DepthUpdate:
		x := k.DepthUpdate
		e.Kind, e.UpdateID, e.Price, e.Qty = matcher.EvDepthUpdate, x.GetUpdateId(), x.GetPrice(), x.GetQty()
		e.Side, errs[0] = sides.fromProto(x.GetSide())
	case *proto.Event_PhaseChanged:
		x := k.PhaseChanged
		e.Kind, e.Msg = matcher.EvPhaseChanged, x.GetReason()
		e.OldPhase, errs[0] = phases.optFromProto(x.GetOldPhase())
		e.Phase, errs[1] = phases.fromProto(x.GetNewPhase())
	default:
		return fmt.Errorf("no kind: %w", errUnconvertible)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return fmt.Errorf("%s: %w", e.Kind, err)
	}
	return nil
}

// accountsOf returns the sorted, unique accounts an event list concerns (takers, makers,
// requesters), for user-data fan-out on user.<account>. Account 0 (none) is left out.
func accountsOf(evs []matcher.Event) []uint64 {
	var accts []uint64
	for i := range evs {
		if a := evs[i].Account; a != 0 {
			accts = append(accts, a)
		}
		if a := evs[i].MakerAccount; a != 0 {
			accts = append(accts, a)
		}
	}
	slices.Sort(accts)
	return slices.Compact(accts)
}

// filterEvents returns a shallow copy of the batch header with the events keep accepts (shared,
// not copied: treat them as read-only), or nil when it accepts none, so that no empty batch (which
// proto validation refuses) is ever published. Used to build md.<S>.trade, md.<S>.depth and
// per-account user batches.
func filterEvents(b *proto.EventBatch, keep func(*proto.Event) bool) *proto.EventBatch {
	var kept []*proto.Event
	for _, e := range b.GetEvents() {
		if keep(e) {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &proto.EventBatch{
		SchemaVersion: b.GetSchemaVersion(), Symbol: b.GetSymbol(), CmdSeq: b.GetCmdSeq(),
		CmdTimeUnixNano: b.GetCmdTimeUnixNano(), Epoch: b.GetEpoch(), RequestId: b.GetRequestId(),
		Events: kept,
	}
}

// specFromProto converts a symbol spec (decimal strings) to a validated matcher.Spec. Empty
// min_notional / max_notional mean no limit; the other limits are required by the matcher.
// Errors wrap proto.ErrInvalid (malformed message) or matcher.ErrInvalidSpec (inconsistent limits).
func specFromProto(ps *proto.SymbolSpec) (matcher.Spec, error) {
	if err := ps.Validate(); err != nil {
		return matcher.Spec{}, fmt.Errorf("convert symbol spec %q: %w", ps.GetSymbol(), err)
	}
	s := matcher.Spec{
		Symbol: ps.GetSymbol(), BaseAsset: ps.GetBaseAsset(), QuoteAsset: ps.GetQuoteAsset(),
		MaxNumOrders: int(ps.GetMaxNumOrders()),
	}
	for _, f := range []struct {
		dst *decimal.Decimal
		src string
	}{
		{&s.TickSize, ps.GetTickSize()}, {&s.StepSize, ps.GetStepSize()},
		{&s.MinPrice, ps.GetMinPrice()}, {&s.MaxPrice, ps.GetMaxPrice()},
		{&s.MinQty, ps.GetMinQty()}, {&s.MaxQty, ps.GetMaxQty()},
		{&s.MinNotional, ps.GetMinNotional()}, {&s.MaxNotional, ps.GetMaxNotional()},
	} {
		if f.src == "" {
			continue // validated: only optional limits may be empty; zero means none
		}
		d, err := decimal.NewFromString(f.src)
		if err != nil { // unreachable after Validate's syntax check; kept for safety
			return matcher.Spec{}, fmt.Errorf("convert symbol spec %q: %q: %w", ps.GetSymbol(), f.src, proto.ErrInvalid)
		}
		*f.dst = d
	}
	if err := s.Validate(); err != nil {
		return matcher.Spec{}, fmt.Errorf("convert symbol spec: %w", err)
	}
	return s, nil
}

// specToProto converts a matcher.Spec to decimal strings (shortest form, e.g. "0.01"); a zero
// notional limit (none) becomes the empty string.
func specToProto(s matcher.Spec) *proto.SymbolSpec {
	opt := func(d decimal.Decimal) string {
		if d.IsZero() {
			return ""
		}
		return d.String()
	}
	n := int64(s.MaxNumOrders)
	n = max(0, min(n, math.MaxUint32)) // out of range is invalid in the matcher too
	return &proto.SymbolSpec{
		Symbol: s.Symbol, BaseAsset: s.BaseAsset, QuoteAsset: s.QuoteAsset,
		TickSize: s.TickSize.String(), StepSize: s.StepSize.String(),
		MinPrice: s.MinPrice.String(), MaxPrice: s.MaxPrice.String(),
		MinQty: s.MinQty.String(), MaxQty: s.MaxQty.String(),
		MinNotional: opt(s.MinNotional), MaxNotional: opt(s.MaxNotional),
		MaxNumOrders: uint32(n),
	}
}
