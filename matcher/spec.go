package matcher

import (
	"fmt"
	"math"
	"math/big"

	"github.com/shopspring/decimal"
)

// Spec describes one symbol: assets, tick and step size and the Binance filters. Prices are
// converted to int64 ticks (multiples of TickSize), quantities to int64 lots (multiples of
// StepSize) and notionals to quote units of TickSize*StepSize.
type Spec struct {
	Symbol       string
	BaseAsset    string
	QuoteAsset   string
	TickSize     decimal.Decimal
	StepSize     decimal.Decimal
	MinPrice     decimal.Decimal // PRICE_FILTER
	MaxPrice     decimal.Decimal // PRICE_FILTER
	MinQty       decimal.Decimal // LOT_SIZE
	MaxQty       decimal.Decimal // LOT_SIZE
	MinNotional  decimal.Decimal // NOTIONAL; zero = no minimum
	MaxNotional  decimal.Decimal // NOTIONAL; zero = no maximum
	MaxNumOrders int             // MAX_NUM_ORDERS per account in this symbol; zero = no limit
}

// Limits on the integer representation, proven by Validate: every price*qty product, every
// level total and every cumulative quote fits in int64 with room to spare.
const (
	maxLots    = 1 << 40 // largest MaxQty in lots
	maxProduct = 1 << 62 // largest MaxPrice ticks * MaxQty lots
)

// limits is the Spec in integer units, as the book checks it.
type limits struct {
	minPrice, maxPrice       int64 // ticks
	minQty, maxQty           int64 // lots
	minNotional, maxNotional int64 // quote units; maxNotional 0 = none
	maxOrders                int32 // 0 = none
}

// DefaultSpec returns a spec with tick and step size 1, convenient for tests and scripts:
// prices 1..1,000,000, quantities 1..1,000,000, no notional or open-order limit.
func DefaultSpec() Spec {
	one := decimal.NewFromInt(1)
	return Spec{
		Symbol: "TESTUSDT", BaseAsset: "TEST", QuoteAsset: "USDT",
		TickSize: one, StepSize: one, MinPrice: one, MaxPrice: decimal.NewFromInt(1_000_000),
		MinQty: one, MaxQty: decimal.NewFromInt(1_000_000),
	}
}

// Validate checks that sizes are positive, limits are multiples of their size and ordered, and
// that MaxPrice*MaxQty (in ticks*lots) cannot overflow int64.
func (s *Spec) Validate() error {
	_, err := s.limits()
	return err
}

func (s *Spec) limits() (limits, error) {
	var l limits
	bad := func(format string, a ...any) (limits, error) {
		return limits{}, fmt.Errorf("spec %q: %s: %w", s.Symbol, fmt.Sprintf(format, a...), ErrInvalidSpec)
	}
	for _, d := range []decimal.Decimal{s.TickSize, s.StepSize, s.MinPrice, s.MaxPrice, s.MinQty, s.MaxQty, s.MinNotional, s.MaxNotional} {
		// Keep decimal arithmetic cheap: a value like 1e999999999 would make Div and Mod explode.
		if e := d.Exponent(); e < -30 || e > 30 || d.Coefficient().BitLen() > 128 {
			return bad("decimal with exponent %d out of range", e)
		}
	}
	if !s.TickSize.IsPositive() || !s.StepSize.IsPositive() {
		return bad("tick size and step size must be positive")
	}
	if s.MaxNumOrders < 0 || s.MaxNumOrders > math.MaxInt32 {
		return bad("max num orders %d out of range", s.MaxNumOrders)
	}
	units := func(v, size decimal.Decimal, what string) (int64, error) {
		q := v.Div(size)
		if v.IsNegative() || !v.Mod(size).IsZero() || !q.LessThan(decimal.NewFromInt(maxProduct)) {
			return 0, fmt.Errorf("spec %q: %s %s is not a non-negative multiple of %s below 2^62: %w", s.Symbol, what, v, size, ErrInvalidSpec)
		}
		return q.IntPart(), nil
	}
	var err error
	if l.minPrice, err = units(s.MinPrice, s.TickSize, "min price"); err != nil {
		return l, err
	}
	if l.maxPrice, err = units(s.MaxPrice, s.TickSize, "max price"); err != nil {
		return l, err
	}
	if l.minQty, err = units(s.MinQty, s.StepSize, "min qty"); err != nil {
		return l, err
	}
	if l.maxQty, err = units(s.MaxQty, s.StepSize, "max qty"); err != nil {
		return l, err
	}
	if l.minPrice < 1 || l.maxPrice < l.minPrice {
		return bad("need 0 < min price <= max price")
	}
	if l.minQty < 1 || l.maxQty < l.minQty || l.maxQty > maxLots {
		return bad("need 0 < min qty <= max qty <= 2^40 lots")
	}
	if new(big.Int).Mul(big.NewInt(l.maxPrice), big.NewInt(l.maxQty)).Cmp(big.NewInt(maxProduct)) > 0 {
		return bad("max price * max qty = %d ticks * %d lots overflows 2^62 quote units", l.maxPrice, l.maxQty)
	}
	unit := s.TickSize.Mul(s.StepSize)
	if s.MinNotional.IsNegative() || s.MaxNotional.IsNegative() {
		return bad("negative notional")
	}
	// Round the minimum up and the maximum down to whole quote units; clamp to int64.
	l.minNotional = clampUnits(s.MinNotional.Div(unit).Ceil())
	l.maxNotional = clampUnits(s.MaxNotional.Div(unit).Floor())
	if !s.MaxNotional.IsZero() && (l.maxNotional < l.minNotional || l.maxNotional < 1) {
		return bad("max notional below min notional or one quote unit")
	}
	l.maxOrders = int32(s.MaxNumOrders)
	return l, nil
}

func clampUnits(d decimal.Decimal) int64 {
	if d.GreaterThan(decimal.NewFromInt(math.MaxInt64)) {
		return math.MaxInt64
	}
	return d.IntPart()
}

// ParsePrice converts a decimal price string to ticks. Errors (wrapping a *CodeError):
// ErrIllegalPrice for anything but ^[0-9]{1,20}(\.[0-9]{1,20})?$ (so also negatives),
// ErrPricePrecision for more decimals than the tick size has, ErrPriceFilter for a value that is
// not a multiple of the tick size or does not fit int64. Zero parses to 0; the book's
// PRICE_FILTER rejects it.
func (s *Spec) ParsePrice(str string) (int64, error) {
	return parseUnits(str, s.TickSize, ErrIllegalPrice, ErrPricePrecision, ErrPriceFilter, "price")
}

// ParseQty converts a decimal base quantity to lots (as ParsePrice, with LOT_SIZE).
func (s *Spec) ParseQty(str string) (int64, error) {
	return parseUnits(str, s.StepSize, ErrIllegalQty, ErrQtyPrecision, ErrLotSize, "quantity")
}

// ParseQuoteQty converts a decimal quote quantity to quote units of TickSize*StepSize (as
// ParsePrice, with NOTIONAL).
func (s *Spec) ParseQuoteQty(str string) (int64, error) {
	return parseUnits(str, s.TickSize.Mul(s.StepSize), ErrIllegalQuoteQty, ErrQuotePrecision, ErrNotional, "quoteOrderQty")
}

func parseUnits(str string, size decimal.Decimal, illegal, precision, filter *CodeError, what string) (int64, error) {
	fracDigits, ok := numberSyntax(str)
	if !ok {
		return 0, fmt.Errorf("parse %s %q: %w", what, str, illegal)
	}
	// Decimals that matter: the fraction without trailing zeros.
	digits := fracDigits
	for i := len(str) - 1; digits > 0 && str[i] == '0'; i-- {
		digits--
	}
	if digits > decimalPlaces(size) {
		return 0, fmt.Errorf("parse %s %q: %w", what, str, precision)
	}
	d, err := decimal.NewFromString(str)
	if err != nil {
		return 0, fmt.Errorf("parse %s %q: %w", what, str, illegal)
	}
	if !d.Mod(size).IsZero() {
		return 0, fmt.Errorf("parse %s %q: not a multiple of %s: %w", what, str, size, filter)
	}
	q := d.Div(size)
	if q.GreaterThan(decimal.NewFromInt(math.MaxInt64)) {
		return 0, fmt.Errorf("parse %s %q: overflows int64: %w", what, str, filter)
	}
	return q.IntPart(), nil
}

// numberSyntax checks ^[0-9]{1,20}(\.[0-9]{1,20})?$ and returns the number of fraction digits.
func numberSyntax(s string) (fracDigits int, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < 1 || i > 20 {
		return 0, false
	}
	if i == len(s) {
		return 0, true
	}
	if s[i] != '.' {
		return 0, false
	}
	j := i + 1
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	fracDigits = j - i - 1
	if j != len(s) || fracDigits < 1 || fracDigits > 20 {
		return 0, false
	}
	return fracDigits, true
}

// decimalPlaces is the number of fractional digits of d without trailing zeros.
func decimalPlaces(d decimal.Decimal) int {
	n := 0
	for !d.Equal(d.Truncate(int32(n))) {
		n++
	}
	return n
}

// FormatPrice formats ticks as a Binance-style fixed-decimal string (at least 8 decimals).
func (s *Spec) FormatPrice(ticks int64) string { return formatUnits(ticks, s.TickSize) }

// FormatQty formats lots as a Binance-style fixed-decimal string (at least 8 decimals).
func (s *Spec) FormatQty(lots int64) string { return formatUnits(lots, s.StepSize) }

// FormatQuote formats quote units (ticks*lots) as a fixed-decimal string (at least 8 decimals).
func (s *Spec) FormatQuote(units int64) string { return formatUnits(units, s.TickSize.Mul(s.StepSize)) }

func formatUnits(n int64, size decimal.Decimal) string {
	places := decimalPlaces(size)
	if places < 8 {
		places = 8
	}
	return decimal.NewFromInt(n).Mul(size).StringFixed(int32(places))
}
