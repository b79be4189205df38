package matcher

// Side of an order. The zero value is invalid.
type Side uint8

// Sides.
const (
	Buy  Side = 1
	Sell Side = 2
)

// OrderType of a new order. The zero value is invalid.
type OrderType uint8

// Order types.
const (
	Limit      OrderType = 1
	Market     OrderType = 2
	LimitMaker OrderType = 3
)

// TimeInForce of a LIMIT order; zero (unset) for MARKET and LIMIT_MAKER.
type TimeInForce uint8

// Time in force values.
const (
	GTC TimeInForce = 1
	IOC TimeInForce = 2
	FOK TimeInForce = 3
)

// STPMode is the taker's self-trade prevention mode; it applies when maker and taker belong
// to the same account. The zero value is NONE.
type STPMode uint8

// Self-trade prevention modes (Binance semantics).
const (
	STPNone        STPMode = 0
	STPExpireTaker STPMode = 1
	STPExpireMaker STPMode = 2
	STPExpireBoth  STPMode = 3
)

// Phase is the symbol's trading phase. The zero value is invalid; a new Book is TRADING.
type Phase uint8

// Trading phases: what each allows is documented on Book.Apply.
const (
	Trading    Phase = 1
	CancelOnly Phase = 2
	PostOnly   Phase = 3
	Halt       Phase = 4
)

// ReplaceMode is the cancel-replace cancelReplaceMode.
type ReplaceMode uint8

// Cancel-replace modes.
const (
	StopOnFailure ReplaceMode = 1
	AllowFailure  ReplaceMode = 2
)

// Reason says why an order left the book without being filled (Canceled and Expired events).
type Reason uint8

// Reasons. Expired with ReasonSTP is Binance status EXPIRED_IN_MATCH; other Expired are EXPIRED.
const (
	ReasonUser              Reason = 1 // Canceled: cancel request
	ReasonCancelAll         Reason = 2 // Canceled: cancel-all request
	ReasonReplace           Reason = 3 // Canceled: cancel half of cancel-replace
	ReasonIOC               Reason = 4 // Expired: IOC remainder
	ReasonFOK               Reason = 5 // Expired: FOK not fully fillable
	ReasonMarketNoLiquidity Reason = 6 // Expired: MARKET remainder, book exhausted
	ReasonSTP               Reason = 7 // Expired: self-trade prevention
)

// Result of one half of a cancel-replace.
type Result uint8

// Cancel-replace results.
const (
	Success      Result = 1
	Failure      Result = 2
	NotAttempted Result = 3
)

// CommandKind selects which fields of a Command are used.
type CommandKind uint8

// Command kinds.
const (
	CmdNew           CommandKind = 1
	CmdCancel        CommandKind = 2
	CmdCancelAll     CommandKind = 3
	CmdCancelReplace CommandKind = 4
	CmdAmend         CommandKind = 5
	CmdSetPhase      CommandKind = 6
)

// NewOrder is the order half of CmdNew and CmdCancelReplace.
type NewOrder struct {
	ClientOrderID string // ≤36 chars of [A-Za-z0-9._:/-]; empty = none
	Side          Side
	Type          OrderType
	TimeInForce   TimeInForce // LIMIT only
	Price         int64       // ticks; LIMIT and LIMIT_MAKER only
	Qty           int64       // lots (base quantity)
	QuoteQty      int64       // MARKET by quote: quote units (ticks*lots)
	STP           STPMode
	ClientTimeMs  int64 // request timestamp (ms)
	RecvWindowMs  int64 // 0 = no recvWindow check
}

// Command is one entry of the symbol's command log. Seq and Time are assigned by the log.
// Field use by Kind:
//
//	CmdNew:           Account, Order
//	CmdCancel:        Account, OrderID or OrigClientOrderID, ClientOrderID (the cancel's own id)
//	CmdCancelAll:     Account
//	CmdCancelReplace: Account, Mode, OrderID or OrigClientOrderID, ClientOrderID (cancel's id), Order
//	CmdAmend:         Account, OrderID or OrigClientOrderID, NewQty
//	CmdSetPhase:      Phase, Reason
type Command struct {
	Kind              CommandKind
	Seq               uint64 // CMD_<S> stream sequence
	Time              int64  // append time, Unix ns
	Account           uint64
	OrderID           uint64
	OrigClientOrderID string
	ClientOrderID     string
	NewQty            int64
	Mode              ReplaceMode
	Phase             Phase
	Reason            string
	Order             NewOrder
}

var (
	sideNames    = []string{"", "BUY", "SELL"}
	typeNames    = []string{"", "LIMIT", "MARKET", "LIMIT_MAKER"}
	tifNames     = []string{"", "GTC", "IOC", "FOK"}
	stpNames     = []string{"NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"}
	phaseNames   = []string{"", "TRADING", "CANCEL_ONLY", "POST_ONLY", "HALT"}
	modeNames    = []string{"", "STOP_ON_FAILURE", "ALLOW_FAILURE"}
	reasonNames  = []string{"", "USER", "CANCEL_ALL", "REPLACE", "IOC", "FOK", "MARKET_NO_LIQUIDITY", "STP"}
	resultNames  = []string{"", "SUCCESS", "FAILURE", "NOT_ATTEMPTED"}
	cmdNames     = []string{"", "new", "cancel", "cancel-all", "replace", "amend", "phase"}
	unknownNames = "UNKNOWN"
)

func name(names []string, v uint8) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return unknownNames
}

func (s Side) String() string        { return name(sideNames, uint8(s)) }
func (t OrderType) String() string   { return name(typeNames, uint8(t)) }
func (t TimeInForce) String() string { return name(tifNames, uint8(t)) }
func (m STPMode) String() string     { return name(stpNames, uint8(m)) }
func (p Phase) String() string       { return name(phaseNames, uint8(p)) }
func (m ReplaceMode) String() string { return name(modeNames, uint8(m)) }
func (r Reason) String() string      { return name(reasonNames, uint8(r)) }
func (r Result) String() string      { return name(resultNames, uint8(r)) }
func (k CommandKind) String() string { return name(cmdNames, uint8(k)) }

// Opposite returns the other side.
func (s Side) Opposite() Side { return 3 - s }

func (s Side) valid() bool { return s == Buy || s == Sell }
