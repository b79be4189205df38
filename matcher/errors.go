package matcher

import (
	"errors"
	"strconv"
)

// CodeError is a client-facing rejection: a Binance error code and its message. The book puts
// both into a Rejected event; the edge parsers return them wrapped with the parameter they were
// parsing. Compare with errors.Is against the sentinels below.
type CodeError struct {
	Code int32
	Msg  string
}

func (e *CodeError) Error() string { return strconv.Itoa(int(e.Code)) + " " + e.Msg }

// Binance codes and messages used by the matcher. Where Binance has no exact equivalent the
// closest documented message is used; the choice is recorded next to the sentinel.
var (
	// Edge parsers (Spec.Parse*): syntax and precision of decimal strings.
	ErrIllegalPrice    = &CodeError{-1100, "Illegal characters found in parameter 'price'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."}
	ErrIllegalQty      = &CodeError{-1100, "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."}
	ErrIllegalQuoteQty = &CodeError{-1100, "Illegal characters found in parameter 'quoteOrderQty'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."}
	ErrPricePrecision  = &CodeError{-1111, "Parameter 'price' has too much precision."}
	ErrQtyPrecision    = &CodeError{-1111, "Parameter 'quantity' has too much precision."}
	ErrQuotePrecision  = &CodeError{-1111, "Parameter 'quoteOrderQty' has too much precision."}

	// Filters (-1013). Parsers also return these when a value is finer than tick/step size or
	// too large for int64 (any such value is beyond the filter's maximum).
	ErrPriceFilter    = &CodeError{-1013, "Filter failure: PRICE_FILTER"}
	ErrLotSize        = &CodeError{-1013, "Filter failure: LOT_SIZE"}
	ErrNotional       = &CodeError{-1013, "Filter failure: NOTIONAL"}
	ErrMaxNumOrders   = &CodeError{-1013, "Filter failure: MAX_NUM_ORDERS"}
	ErrRecvWindow     = &CodeError{-1021, "Timestamp for this request is outside of the recvWindow."}
	ErrClientAhead    = &CodeError{-1021, "Timestamp for this request was 1000ms ahead of the server's time."}
	ErrBadClientID    = &CodeError{-1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."}
	ErrMissingTarget  = &CodeError{-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"}
	ErrMissingQty     = &CodeError{-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"}
	ErrBadParam       = &CodeError{-1102, "Mandatory parameter was not sent, was empty/null, or malformed."}
	ErrTIFNotRequired = &CodeError{-1106, "Parameter 'timeInForce' sent when not required."}
	ErrPriceNotReq    = &CodeError{-1106, "Parameter 'price' sent when not required."}
	ErrQuoteNotReq    = &CodeError{-1106, "Parameter 'quoteOrderQty' sent when not required."}
	ErrInvalidTIF     = &CodeError{-1115, "Invalid timeInForce."}
	ErrInvalidType    = &CodeError{-1116, "Invalid orderType."}
	ErrInvalidSide    = &CodeError{-1117, "Invalid side."}
	ErrUnknownCommand = &CodeError{-1014, "Unknown order composition."}
	// ErrNoSeq rejects a command without a log sequence (Seq 0): order ids are sequences.
	ErrNoSeq = &CodeError{-1102, "Mandatory parameter was not sent, was empty/null, or malformed."}

	// New-order rejections (-2010 NEW_ORDER_REJECTED).
	ErrDuplicateOrder = &CodeError{-2010, "Duplicate order sent."}
	ErrWouldTake      = &CodeError{-2010, "Order would immediately match and take."}
	// ErrMarketClosed rejects new orders in HALT and CANCEL_ONLY.
	ErrMarketClosed = &CodeError{-2010, "Market is closed."}
	// ErrPhaseOrderType rejects MARKET, IOC and FOK orders in POST_ONLY.
	ErrPhaseOrderType = &CodeError{-2010, "This order type is not possible in this trading phase."}

	// Cancel rejections (-2011 CANCEL_REJECTED).
	ErrUnknownOrder = &CodeError{-2011, "Unknown order sent."}
	// ErrCancelClosed rejects cancel, cancel-all, amend and the cancel half of cancel-replace in HALT.
	ErrCancelClosed = &CodeError{-2011, "Market is closed."}

	// ErrAmendQty: amend keepPriority requires executedQty < newQty < origQty (Binance -2038
	// "Order amend (quantity increase) rejected." is the code for a non-decreasing quantity; we
	// use it for every out-of-range new quantity).
	ErrAmendQty = &CodeError{-2038, "Order amend (quantity increase) rejected."}
)

// Cancel-replace summary codes. The Replaced event carries the cancel and new-order codes; the
// gateway answers -2021 when exactly one half failed and -2022 when the request failed as a
// whole (cancel failed with STOP_ON_FAILURE, or both halves failed).
const (
	CodeReplacePartiallyFailed int32 = -2021 // "Order cancel-replace partially failed."
	CodeReplaceFailed          int32 = -2022 // "Order cancel-replace failed."
)

// Errors of the non-client-facing APIs.
var (
	// ErrInvalidSpec: Spec.Validate failed.
	ErrInvalidSpec = errors.New("invalid symbol spec")
	// ErrSnapshotVersion: the snapshot has an unknown magic or version.
	ErrSnapshotVersion = errors.New("unknown snapshot version")
	// ErrSnapshotCorrupt: the snapshot is truncated, fails its checksum or violates a book invariant.
	ErrSnapshotCorrupt = errors.New("corrupt snapshot")
	// ErrEventsCorrupt: DecodeEvents met truncated or malformed input.
	ErrEventsCorrupt = errors.New("corrupt event encoding")
	// ErrScript: a text command or script line could not be parsed.
	ErrScript = errors.New("bad script")
)
