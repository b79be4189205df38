package matcher

import (
	"encoding/binary"
	"fmt"
)

// EventKind selects which fields of an Event are meaningful.
type EventKind uint8

// Event kinds.
const (
	EvAccepted     EventKind = 1
	EvRejected     EventKind = 2
	EvTrade        EventKind = 3
	EvCanceled     EventKind = 4
	EvExpired      EventKind = 5
	EvReplaced     EventKind = 6
	EvAmended      EventKind = 7
	EvDepthUpdate  EventKind = 8
	EvPhaseChanged EventKind = 9
)

var eventNames = []string{"", "Accepted", "Rejected", "Trade", "Canceled", "Expired", "Replaced", "Amended", "Depth", "Phase"}

func (k EventKind) String() string { return name(eventNames, uint8(k)) }

// Event is one effect of a command. It is a flat struct (no allocation per event); fields by Kind:
//
//	Accepted:     OrderID, Account, ClientOrderID, Side, Type, TimeInForce, STP, Price, Qty, QuoteQty
//	Rejected:     Code, Msg, Account, ClientOrderID (request's order id or cancel target),
//	              OrderID (cancel/amend target)
//	Trade:        TradeID, Price, Qty, QuoteQty (=Price*Qty) and the taker in OrderID, Account,
//	              ClientOrderID, Side, ExecutedQty, ExecutedQuote (cumulative after the trade);
//	              the maker in MakerOrderID, MakerAccount, MakerClientOrderID, MakerQty (order
//	              quantity), MakerExecutedQty, MakerExecutedQuote. The taker's order quantity is in
//	              the Accepted event of the same command.
//	Canceled:     OrderID, Account, ClientOrderID, Side, Type, Price, Qty, QuoteQty, ExecutedQty,
//	              ExecutedQuote, Reason, CancelClientOrderID (the cancel request's own id)
//	Expired:      as Canceled; Reason IOC, FOK, MARKET_NO_LIQUIDITY or STP
//	Replaced:     Account, OrderID (the canceled order), NewOrderID, CancelResult, Code (cancel's
//	              reject code), NewOrderResult, NewOrderCode (new order's reject code)
//	Amended:      OrderID, Account, ClientOrderID, Side, Price, Qty (new), ExecutedQty
//	Depth:        UpdateID, Side, Price, Qty (new total at the level; 0 = level removed)
//	PhaseChanged: OldPhase, Phase, Msg (reason)
type Event struct {
	Kind                EventKind
	Side                Side
	Type                OrderType
	TimeInForce         TimeInForce
	STP                 STPMode
	Reason              Reason
	OldPhase            Phase
	Phase               Phase
	CancelResult        Result
	NewOrderResult      Result
	Code                int32
	NewOrderCode        int32
	OrderID             uint64
	NewOrderID          uint64
	Account             uint64
	TradeID             uint64
	UpdateID            uint64
	MakerOrderID        uint64
	MakerAccount        uint64
	Price               int64
	Qty                 int64
	QuoteQty            int64
	ExecutedQty         int64
	ExecutedQuote       int64
	MakerQty            int64
	MakerExecutedQty    int64
	MakerExecutedQuote  int64
	ClientOrderID       string
	CancelClientOrderID string
	MakerClientOrderID  string
	Msg                 string
}

const eventsVersion = 1

// AppendEvents appends the canonical binary encoding of evs to dst: a version byte, a count and
// every field of every event in a fixed order (varints and length-prefixed strings). Equal event
// lists always encode to equal bytes.
func AppendEvents(dst []byte, evs []Event) []byte {
	dst = append(dst, eventsVersion)
	dst = binary.AppendUvarint(dst, uint64(len(evs)))
	for i := range evs {
		e := &evs[i]
		dst = append(dst, byte(e.Kind), byte(e.Side), byte(e.Type), byte(e.TimeInForce), byte(e.STP),
			byte(e.Reason), byte(e.OldPhase), byte(e.Phase), byte(e.CancelResult), byte(e.NewOrderResult))
		dst = binary.AppendVarint(dst, int64(e.Code))
		dst = binary.AppendVarint(dst, int64(e.NewOrderCode))
		for _, u := range [...]uint64{e.OrderID, e.NewOrderID, e.Account, e.TradeID, e.UpdateID, e.MakerOrderID, e.MakerAccount} {
			dst = binary.AppendUvarint(dst, u)
		}
		for _, v := range [...]int64{e.Price, e.Qty, e.QuoteQty, e.ExecutedQty, e.ExecutedQuote, e.MakerQty, e.MakerExecutedQty, e.MakerExecutedQuote} {
			dst = binary.AppendVarint(dst, v)
		}
		for _, s := range [...]string{e.ClientOrderID, e.CancelClientOrderID, e.MakerClientOrderID, e.Msg} {
			dst = appendString(dst, s)
		}
	}
	return dst
}

// DecodeEvents decodes the output of AppendEvents. It returns an error wrapping
// ErrEventsCorrupt for truncated, trailing or malformed input and never panics.
func DecodeEvents(b []byte) ([]Event, error) {
	r := reader{b: b}
	if v := r.byte(); r.err == nil && v != eventsVersion {
		return nil, fmt.Errorf("decode events: version %d: %w", v, ErrEventsCorrupt)
	}
	n := r.uvarint()
	const minEventBytes = 10 + 2 + 7 + 8 + 4
	if r.err != nil || n > uint64(len(r.b)-r.off)/minEventBytes {
		return nil, fmt.Errorf("decode events: count: %w", ErrEventsCorrupt)
	}
	evs := make([]Event, n)
	for i := range evs {
		e := &evs[i]
		e.Kind, e.Side, e.Type = EventKind(r.byte()), Side(r.byte()), OrderType(r.byte())
		e.TimeInForce, e.STP, e.Reason = TimeInForce(r.byte()), STPMode(r.byte()), Reason(r.byte())
		e.OldPhase, e.Phase = Phase(r.byte()), Phase(r.byte())
		e.CancelResult, e.NewOrderResult = Result(r.byte()), Result(r.byte())
		e.Code, e.NewOrderCode = r.int32(), r.int32()
		for _, p := range [...]*uint64{&e.OrderID, &e.NewOrderID, &e.Account, &e.TradeID, &e.UpdateID, &e.MakerOrderID, &e.MakerAccount} {
			*p = r.uvarint()
		}
		for _, p := range [...]*int64{&e.Price, &e.Qty, &e.QuoteQty, &e.ExecutedQty, &e.ExecutedQuote, &e.MakerQty, &e.MakerExecutedQty, &e.MakerExecutedQuote} {
			*p = r.varint()
		}
		for _, p := range [...]*string{&e.ClientOrderID, &e.CancelClientOrderID, &e.MakerClientOrderID, &e.Msg} {
			*p = r.string()
		}
		if r.err != nil {
			return nil, fmt.Errorf("decode events: event %d: %w", i, ErrEventsCorrupt)
		}
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("decode events: %d trailing bytes: %w", len(r.b)-r.off, ErrEventsCorrupt)
	}
	return evs, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// reader is a bounds-checked decoder with a sticky error.
type reader struct {
	b   []byte
	off int
	err error
}

var errShort = fmt.Errorf("truncated input")

func (r *reader) byte() uint8 {
	if r.err != nil || r.off >= len(r.b) {
		r.err = errShort
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.err = errShort
		return 0
	}
	r.off += n
	return v
}

func (r *reader) int32() int32 {
	v := r.varint()
	if v != int64(int32(v)) {
		r.err = errShort
		return 0
	}
	return int32(v)
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = errShort
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s
}
