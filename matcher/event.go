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

const eventsVersion = 2

// AppendEvents appends the canonical binary encoding of evs to dst: a version byte, a count,
// then per event a varint bit mask of its non-zero fields followed by those fields in a fixed
// order (bytes, zig-zag varints, uvarints, length-prefixed strings). Equal event lists always
// encode to equal bytes, and each byte string decodes to exactly one list.
func AppendEvents(dst []byte, evs []Event) []byte {
	dst = append(dst, eventsVersion)
	dst = binary.AppendUvarint(dst, uint64(len(evs)))
	for i := range evs {
		e := &evs[i]
		small := [...]uint8{uint8(e.Kind), uint8(e.Side), uint8(e.Type), uint8(e.TimeInForce), uint8(e.STP),
			uint8(e.Reason), uint8(e.OldPhase), uint8(e.Phase), uint8(e.CancelResult), uint8(e.NewOrderResult)}
		ints := [...]int64{int64(e.Code), int64(e.NewOrderCode), e.Price, e.Qty, e.QuoteQty, e.ExecutedQty,
			e.ExecutedQuote, e.MakerQty, e.MakerExecutedQty, e.MakerExecutedQuote}
		uints := [...]uint64{e.OrderID, e.NewOrderID, e.Account, e.TradeID, e.UpdateID, e.MakerOrderID, e.MakerAccount}
		strs := [...]string{e.ClientOrderID, e.CancelClientOrderID, e.MakerClientOrderID, e.Msg}
		var mask uint64
		bit := uint64(1)
		for _, v := range small {
			if v != 0 {
				mask |= bit
			}
			bit <<= 1
		}
		for _, v := range ints {
			if v != 0 {
				mask |= bit
			}
			bit <<= 1
		}
		for _, v := range uints {
			if v != 0 {
				mask |= bit
			}
			bit <<= 1
		}
		for _, v := range strs {
			if v != "" {
				mask |= bit
			}
			bit <<= 1
		}
		dst = binary.AppendUvarint(dst, mask)
		for _, v := range small {
			if v != 0 {
				dst = append(dst, v)
			}
		}
		for _, v := range ints {
			if v != 0 {
				dst = binary.AppendVarint(dst, v)
			}
		}
		for _, v := range uints {
			if v != 0 {
				dst = binary.AppendUvarint(dst, v)
			}
		}
		for _, v := range strs {
			if v != "" {
				dst = appendString(dst, v)
			}
		}
	}
	return dst
}

// eventFields is the number of fields AppendEvents can encode (bits of the mask).
const eventFields = 10 + 10 + 7 + 4

// DecodeEvents decodes the output of AppendEvents. It returns an error wrapping
// ErrEventsCorrupt for truncated, trailing, non-canonical or malformed input and never panics.
func DecodeEvents(b []byte) ([]Event, error) {
	r := reader{b: b}
	if v := r.byte(); r.err == nil && v != eventsVersion {
		return nil, fmt.Errorf("decode events: version %d: %w", v, ErrEventsCorrupt)
	}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)-r.off) { // every event takes at least one byte
		return nil, fmt.Errorf("decode events: count: %w", ErrEventsCorrupt)
	}
	evs := make([]Event, n)
	for i := range evs {
		e := &evs[i]
		mask := r.uvarint()
		if mask>>eventFields != 0 {
			return nil, fmt.Errorf("decode events: event %d: unknown fields: %w", i, ErrEventsCorrupt)
		}
		bit := uint64(1)
		field := func() bool { ok := mask&bit != 0; bit <<= 1; return ok }
		small := [...]*uint8{(*uint8)(&e.Kind), (*uint8)(&e.Side), (*uint8)(&e.Type), (*uint8)(&e.TimeInForce),
			(*uint8)(&e.STP), (*uint8)(&e.Reason), (*uint8)(&e.OldPhase), (*uint8)(&e.Phase),
			(*uint8)(&e.CancelResult), (*uint8)(&e.NewOrderResult)}
		for _, p := range small {
			if field() {
				if *p = r.byte(); *p == 0 {
					r.err = errShort
				}
			}
		}
		var code, newCode int64
		ints := [...]*int64{&code, &newCode, &e.Price, &e.Qty, &e.QuoteQty, &e.ExecutedQty, &e.ExecutedQuote,
			&e.MakerQty, &e.MakerExecutedQty, &e.MakerExecutedQuote}
		for _, p := range ints {
			if field() {
				if *p = r.varint(); *p == 0 {
					r.err = errShort
				}
			}
		}
		if code != int64(int32(code)) || newCode != int64(int32(newCode)) {
			r.err = errShort
		}
		e.Code, e.NewOrderCode = int32(code), int32(newCode)
		uints := [...]*uint64{&e.OrderID, &e.NewOrderID, &e.Account, &e.TradeID, &e.UpdateID, &e.MakerOrderID, &e.MakerAccount}
		for _, p := range uints {
			if field() {
				if *p = r.uvarint(); *p == 0 {
					r.err = errShort
				}
			}
		}
		strs := [...]*string{&e.ClientOrderID, &e.CancelClientOrderID, &e.MakerClientOrderID, &e.Msg}
		for _, p := range strs {
			if field() {
				if *p = r.string(); *p == "" {
					r.err = errShort
				}
			}
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

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// reader is a bounds-checked decoder with a sticky error. It accepts only minimal varints, so
// whatever decodes re-encodes to the same bytes.
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
	if n <= 0 || n != uvarintLen(v) { // truncated, overflowing or not minimal (non-canonical)
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
	if n <= 0 || n != uvarintLen(uint64(v<<1)^uint64(v>>63)) {
		r.err = errShort
		return 0
	}
	r.off += n
	return v
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
