package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// symbolSpec is what the workload needs of a symbol's exchangeInfo filters, in integer units of
// 10^-priceDec (prices) and 10^-qtyDec (quantities).
type symbolSpec struct {
	Symbol       string
	priceDec     int32
	qtyDec       int32
	tick         int64 // PRICE_FILTER tickSize in price units
	minPrice     int64
	maxPrice     int64
	step         int64 // LOT_SIZE stepSize in qty units
	minQty       int64
	maxQty       int64
	minNotional  decimal.Decimal
	maxNumOrders int
}

// filterJSON is one entry of exchangeInfo's filters (the fields the workload reads).
type filterJSON struct {
	FilterType   string `json:"filterType"`
	MinPrice     string `json:"minPrice"`
	MaxPrice     string `json:"maxPrice"`
	TickSize     string `json:"tickSize"`
	MinQty       string `json:"minQty"`
	MaxQty       string `json:"maxQty"`
	StepSize     string `json:"stepSize"`
	MinNotional  string `json:"minNotional"`
	MaxNumOrders int    `json:"maxNumOrders"`
}

// symbolJSON is one exchangeInfo symbol.
type symbolJSON struct {
	Symbol  string       `json:"symbol"`
	Status  string       `json:"status"`
	Filters []filterJSON `json:"filters"`
}

// decimals is the number of decimal places of d (0 for integers).
func decimals(d decimal.Decimal) int32 { return max(0, -d.Exponent()) }

// units is d in units of 10^-dec (d must have at most dec decimals).
func units(d decimal.Decimal, dec int32) int64 { return d.Shift(dec).IntPart() }

// specOf reads the filters of an exchangeInfo symbol.
func specOf(s symbolJSON) (*symbolSpec, error) {
	var pf, lf, nf *filterJSON
	sp := &symbolSpec{Symbol: s.Symbol}
	for i := range s.Filters {
		switch f := &s.Filters[i]; f.FilterType {
		case "PRICE_FILTER":
			pf = f
		case "LOT_SIZE":
			lf = f
		case "NOTIONAL", "MIN_NOTIONAL":
			nf = f
		case "MAX_NUM_ORDERS":
			sp.maxNumOrders = f.MaxNumOrders
		}
	}
	if pf == nil || lf == nil {
		return nil, fmt.Errorf("symbol %s: exchangeInfo has no PRICE_FILTER or LOT_SIZE", s.Symbol)
	}
	dec := func(name, v string) (decimal.Decimal, error) {
		d, err := decimal.NewFromString(v)
		if err != nil {
			return d, fmt.Errorf("symbol %s: %s %q: %w", s.Symbol, name, v, err)
		}
		return d, nil
	}
	var errs []error
	get := func(name, v string) decimal.Decimal {
		d, err := dec(name, v)
		errs = append(errs, err)
		return d
	}
	tick, minP, maxP := get("tickSize", pf.TickSize), get("minPrice", pf.MinPrice), get("maxPrice", pf.MaxPrice)
	step, minQ, maxQ := get("stepSize", lf.StepSize), get("minQty", lf.MinQty), get("maxQty", lf.MaxQty)
	if nf != nil && nf.MinNotional != "" {
		sp.minNotional = get("minNotional", nf.MinNotional)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if !tick.IsPositive() || !step.IsPositive() {
		return nil, fmt.Errorf("symbol %s: tickSize and stepSize must be positive", s.Symbol)
	}
	sp.priceDec = max(decimals(tick), decimals(minP))
	sp.qtyDec = max(decimals(step), decimals(minQ))
	sp.tick, sp.minPrice, sp.maxPrice = units(tick, sp.priceDec), units(minP, sp.priceDec), units(maxP, sp.priceDec)
	sp.step, sp.minQty, sp.maxQty = units(step, sp.qtyDec), units(minQ, sp.qtyDec), units(maxQ, sp.qtyDec)
	return sp, nil
}

// formatUnits writes v (in units of 10^-dec) as a decimal string with dec decimals.
func formatUnits(v int64, dec int32) string {
	s := strconv.FormatInt(v, 10)
	if dec == 0 {
		return s
	}
	if len(s) <= int(dec) {
		s = strings.Repeat("0", int(dec)-len(s)+1) + s
	}
	return s[:len(s)-int(dec)] + "." + s[len(s)-int(dec):]
}

func (sp *symbolSpec) price(v int64) string { return formatUnits(v, sp.priceDec) }
func (sp *symbolSpec) qty(v int64) string   { return formatUnits(v, sp.qtyDec) }

// ladder is where the workload quotes a symbol: a mid price, the distance between quoting
// levels, and the smallest quantity that meets the filters at the lowest quoted price.
type ladder struct {
	mid, gap int64 // price units
	levels   int64 // levels quoted on each side of mid
	baseQty  int64 // qty units
}

// newLadder fits a ladder of levels per side around mid (price units; 0 picks one) inside the
// symbol's filters.
func newLadder(sp *symbolSpec, mid int64, levels int64) (ladder, error) {
	if mid <= 0 {
		mid = 1000 * pow10(sp.priceDec)
		if mid < sp.minPrice || (sp.maxPrice > 0 && mid > sp.maxPrice) {
			mid = (sp.minPrice + sp.maxPrice) / 2
		}
	}
	mid = mid / sp.tick * sp.tick
	gap := max(sp.tick, mid/10000/sp.tick*sp.tick) // about 1 bp
	for levels > 1 && mid-levels*gap < max(sp.minPrice, sp.tick) {
		levels--
	}
	lo := mid - levels*gap
	if lo < max(sp.minPrice, sp.tick) || (sp.maxPrice > 0 && mid+levels*gap > sp.maxPrice) {
		return ladder{}, fmt.Errorf("symbol %s: no room for a quote ladder around %s", sp.Symbol, sp.price(mid))
	}
	// smallest qty with lo*qty >= 1.5*minNotional, rounded up to the step
	q := sp.minQty
	if sp.minNotional.IsPositive() {
		need := sp.minNotional.Mul(decimal.NewFromFloat(1.5)).Div(decimal.New(lo, -sp.priceDec))
		q = max(q, units(need.Shift(sp.qtyDec).Ceil().Shift(-sp.qtyDec), sp.qtyDec)+1)
	}
	q = (q + sp.step - 1) / sp.step * sp.step
	if sp.maxQty > 0 && 4*q > sp.maxQty {
		return ladder{}, fmt.Errorf("symbol %s: minimum notional needs more than a quarter of maxQty", sp.Symbol)
	}
	return ladder{mid: mid, gap: gap, levels: levels, baseQty: q}, nil
}

func pow10(n int32) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// opKind is what one scheduled request does.
type opKind int

const (
	opPlace   opKind = iota // a resting limit order (GTC) around the mid
	opCancel                // cancel a resting order
	opReplace               // cancel-replace a resting order to a new price
	opCross                 // an IOC limit order crossing the mid (trades with resting orders)
)

// opName is the journal's and the report's name of an operation.
func (k opKind) opName() string {
	switch k {
	case opCancel:
		return "cancel"
	case opReplace:
		return "replace"
	default:
		return "place"
	}
}

// mix are the relative weights of the operations.
type mix struct{ place, cancel, replace, cross int }

// parseMix reads "place=50,cancel=25,replace=20,cross=5".
func parseMix(s string) (mix, error) {
	var m mix
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return m, fmt.Errorf("--mix %q: want name=weight pairs, e.g. place=50,cancel=25,replace=20,cross=5", s)
		}
		switch k {
		case "place":
			m.place = n
		case "cancel":
			m.cancel = n
		case "replace":
			m.replace = n
		case "cross":
			m.cross = n
		default:
			return m, fmt.Errorf("--mix: unknown operation %q (place, cancel, replace, cross)", k)
		}
	}
	if m.place+m.cross == 0 {
		return m, fmt.Errorf("--mix %q: place or cross must have a positive weight", s)
	}
	return m, nil
}

// pick draws an operation by weight (r uniform in [0,1)).
func (m mix) pick(r float64) opKind {
	total := float64(m.place + m.cancel + m.replace + m.cross)
	x := r * total
	switch {
	case x < float64(m.place):
		return opPlace
	case x < float64(m.place+m.cancel):
		return opCancel
	case x < float64(m.place+m.cancel+m.replace):
		return opReplace
	default:
		return opCross
	}
}

// resting is an order the workload believes rests in the book.
type resting struct {
	cid     string
	orderID int64
	buy     bool
	price   int64
}

// book is the workload's view of one account's resting orders in one symbol: acknowledged
// places and moves are added, cancels and moves take one out before they are sent (so two
// requests never target the same order).
type book struct {
	mu   sync.Mutex
	open []resting
}

func (b *book) add(o resting) {
	b.mu.Lock()
	b.open = append(b.open, o)
	b.mu.Unlock()
}

// take removes and returns the oldest resting order.
func (b *book) take() (resting, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.open) == 0 {
		return resting{}, false
	}
	o := b.open[0]
	b.open = b.open[1:]
	return o, true
}

func (b *book) size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.open)
}

// choose turns the drawn operation into one that makes sense for a book of n resting orders
// with at most maxOpen: nothing to cancel or move → place; full → move or cancel instead of
// adding.
func choose(k opKind, n, maxOpen int, r *rand.Rand) opKind {
	switch {
	case (k == opCancel || k == opReplace) && n == 0:
		return opPlace
	case k == opPlace && n >= maxOpen:
		if r.IntN(2) == 0 {
			return opCancel
		}
		return opReplace
	}
	return k
}

// quote is a resting order's side and price: level 1..levels away from the mid on its side.
func (l ladder) quote(r *rand.Rand) (buy bool, price int64) {
	buy = r.IntN(2) == 0
	return buy, l.quoteSide(r, buy)
}

// quoteSide is a resting order's price on the given side.
func (l ladder) quoteSide(r *rand.Rand, buy bool) int64 {
	lvl := 1 + r.Int64N(l.levels)
	if buy {
		return l.mid - lvl*l.gap
	}
	return l.mid + lvl*l.gap
}

// crossing is an IOC order's side and price: through the whole ladder on the other side.
func (l ladder) crossing(r *rand.Rand) (buy bool, price int64) {
	buy = r.IntN(2) == 0
	if buy {
		return true, l.mid + l.levels*l.gap
	}
	return false, l.mid - l.levels*l.gap
}
