package gateway

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/geomesh/geomesh/matcher"
)

// rateLimits advertised in exchangeInfo.
func (g *Gateway) rateLimits() []map[string]any {
	out := []map[string]any{}
	if g.cfg.WeightLimit > 0 {
		out = append(out, map[string]any{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": g.cfg.WeightLimit})
	}
	if g.cfg.OrderLimit10s > 0 {
		out = append(out, map[string]any{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": g.cfg.OrderLimit10s})
	}
	return out
}

// fmtDec formats a spec decimal with at least 8 decimals, as Binance does.
func fmtDec(d decimal.Decimal) string {
	places := int32(8)
	if e := -d.Exponent(); e > places {
		places = e
	}
	return d.StringFixed(places)
}

// symbolsParam resolves the symbol/symbols parameter: every known symbol when absent.
func (g *Gateway) symbolsParam(q *req) ([]*symbol, bool, *apiError) {
	names, aerr := q.p.symbols()
	if aerr != nil {
		return nil, false, aerr
	}
	if names == nil {
		return g.reg.all(), false, nil
	}
	out := make([]*symbol, 0, len(names))
	for _, n := range names {
		s := g.reg.get(n)
		if s == nil {
			return nil, false, errInvalidSymbol
		}
		out = append(out, s)
	}
	return out, q.p.has("symbol"), nil
}

// oneSymbol resolves the mandatory symbol parameter.
func (g *Gateway) oneSymbol(q *req) (*symbol, *apiError) {
	name, aerr := q.p.require("symbol")
	if aerr != nil {
		return nil, aerr
	}
	s := g.reg.get(name)
	if s == nil {
		return nil, errInvalidSymbol
	}
	return s, nil
}

func (g *Gateway) exchangeInfo(q *req) (any, *apiError) {
	syms, _, aerr := g.symbolsParam(q)
	if aerr != nil {
		return nil, aerr
	}
	list := make([]map[string]any, 0, len(syms))
	for _, s := range syms {
		list = append(list, symbolInfo(s))
	}
	return map[string]any{
		"timezone": "UTC", "serverTime": q.now.UnixMilli(), "rateLimits": g.rateLimits(),
		"exchangeFilters": []any{}, "symbols": list,
	}, nil
}

func symbolInfo(s *symbol) map[string]any {
	sp := s.spec
	maxNotional := sp.MaxNotional
	if maxNotional.IsZero() {
		maxNotional = decimal.New(9, 12)
	}
	filters := []map[string]any{
		{"filterType": "PRICE_FILTER", "minPrice": fmtDec(sp.MinPrice), "maxPrice": fmtDec(sp.MaxPrice), "tickSize": fmtDec(sp.TickSize)},
		{"filterType": "LOT_SIZE", "minQty": fmtDec(sp.MinQty), "maxQty": fmtDec(sp.MaxQty), "stepSize": fmtDec(sp.StepSize)},
		{"filterType": "NOTIONAL", "minNotional": fmtDec(sp.MinNotional), "applyMinToMarket": true,
			"maxNotional": fmtDec(maxNotional), "applyMaxToMarket": !sp.MaxNotional.IsZero(), "avgPriceMins": 5},
		{"filterType": "MARKET_LOT_SIZE", "minQty": fmtDec(sp.MinQty), "maxQty": fmtDec(sp.MaxQty), "stepSize": fmtDec(sp.StepSize)},
	}
	if sp.MaxNumOrders > 0 {
		filters = append(filters, map[string]any{"filterType": "MAX_NUM_ORDERS", "maxNumOrders": sp.MaxNumOrders})
	}
	return map[string]any{
		"symbol": s.name, "status": symbolStatus(s.record().GetPhase()),
		"baseAsset": sp.BaseAsset, "baseAssetPrecision": 8, "quoteAsset": sp.QuoteAsset, "quotePrecision": 8,
		"quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
		"orderTypes":     []string{"LIMIT", "LIMIT_MAKER", "MARKET"},
		"icebergAllowed": false, "ocoAllowed": false, "otoAllowed": false, "opoAllowed": false,
		"quoteOrderQtyMarketAllowed": true, "allowTrailingStop": false, "cancelReplaceAllowed": true,
		"amendAllowed": false, "pegInstructionsAllowed": false, "isSpotTradingAllowed": true,
		"isMarginTradingAllowed": false, "filters": filters, "permissions": []string{},
		"permissionSets": [][]string{{"SPOT"}}, "defaultSelfTradePreventionMode": "NONE",
		"allowedSelfTradePreventionModes": []string{"NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"},
	}
}

func levelsJSON(sp *matcher.Spec, ls []level) [][2]string {
	out := make([][2]string, len(ls))
	for i, l := range ls {
		out[i] = [2]string{sp.FormatPrice(l.Price), sp.FormatQty(l.Qty)}
	}
	return out
}

func (g *Gateway) depth(q *req) (any, *apiError) {
	s, aerr := g.oneSymbol(q)
	if aerr != nil {
		return nil, aerr
	}
	g.awaitAnswered(q, s, 0)
	limit, aerr := q.p.limit(100, 5000)
	if aerr != nil {
		return nil, aerr
	}
	bids, asks, id := s.book.depth(limit)
	return map[string]any{"lastUpdateId": id, "bids": levelsJSON(&s.spec, bids), "asks": levelsJSON(&s.spec, asks)}, nil
}

type tradeJSON struct {
	ID           uint64 `json:"id"`
	Price        string `json:"price"`
	Qty          string `json:"qty"`
	QuoteQty     string `json:"quoteQty"`
	Time         int64  `json:"time"`
	IsBuyerMaker bool   `json:"isBuyerMaker"`
	IsBestMatch  bool   `json:"isBestMatch"`
}

func (g *Gateway) trades(q *req) (any, *apiError) {
	s, aerr := g.oneSymbol(q)
	if aerr != nil {
		return nil, aerr
	}
	g.awaitAnswered(q, s, 0)
	limit, aerr := q.p.limit(500, 1000)
	if aerr != nil {
		return nil, aerr
	}
	ts := s.book.recentTrades(limit)
	out := make([]tradeJSON, len(ts))
	for i, t := range ts {
		out[i] = tradeJSON{ID: t.ID, Price: s.spec.FormatPrice(t.Price), Qty: s.spec.FormatQty(t.Qty),
			QuoteQty: s.spec.FormatQuote(t.QuoteQty), Time: t.TimeNano / 1e6, IsBuyerMaker: t.BuyerIsMaker, IsBestMatch: true}
	}
	return out, nil
}

// one returns the single object when the request named one symbol, else the list.
func one[T any](list []T, single bool) any {
	if single && len(list) == 1 {
		return list[0]
	}
	return list
}

func (g *Gateway) tickerPrice(q *req) (any, *apiError) {
	syms, single, aerr := g.symbolsParam(q)
	if aerr != nil {
		return nil, aerr
	}
	for _, s := range syms {
		g.awaitAnswered(q, s, 0)
	}
	type price struct {
		Symbol string `json:"symbol"`
		Price  string `json:"price"`
	}
	out := make([]price, 0, len(syms))
	for _, s := range syms {
		last := s.book.recentTrades(1)
		p := int64(0)
		if len(last) == 1 {
			p = last[0].Price
		}
		out = append(out, price{s.name, s.spec.FormatPrice(p)})
	}
	return one(out, single), nil
}

type bookTickerJSON struct {
	Symbol   string `json:"symbol"`
	BidPrice string `json:"bidPrice"`
	BidQty   string `json:"bidQty"`
	AskPrice string `json:"askPrice"`
	AskQty   string `json:"askQty"`
}

func bookTickerOf(s *symbol) (bookTickerJSON, uint64) {
	bid, ask, id := s.book.best()
	sp := &s.spec
	return bookTickerJSON{Symbol: s.name, BidPrice: sp.FormatPrice(bid.Price), BidQty: sp.FormatQty(bid.Qty),
		AskPrice: sp.FormatPrice(ask.Price), AskQty: sp.FormatQty(ask.Qty)}, id
}

func (g *Gateway) bookTicker(q *req) (any, *apiError) {
	syms, single, aerr := g.symbolsParam(q)
	if aerr != nil {
		return nil, aerr
	}
	for _, s := range syms {
		g.awaitAnswered(q, s, 0)
	}
	out := make([]bookTickerJSON, 0, len(syms))
	for _, s := range syms {
		bt, _ := bookTickerOf(s)
		out = append(out, bt)
	}
	return one(out, single), nil
}

type ticker24hJSON struct {
	Symbol             string `json:"symbol"`
	PriceChange        string `json:"priceChange"`
	PriceChangePercent string `json:"priceChangePercent"`
	WeightedAvgPrice   string `json:"weightedAvgPrice"`
	PrevClosePrice     string `json:"prevClosePrice"`
	LastPrice          string `json:"lastPrice"`
	LastQty            string `json:"lastQty"`
	BidPrice           string `json:"bidPrice"`
	BidQty             string `json:"bidQty"`
	AskPrice           string `json:"askPrice"`
	AskQty             string `json:"askQty"`
	OpenPrice          string `json:"openPrice"`
	HighPrice          string `json:"highPrice"`
	LowPrice           string `json:"lowPrice"`
	Volume             string `json:"volume"`
	QuoteVolume        string `json:"quoteVolume"`
	OpenTime           int64  `json:"openTime"`
	CloseTime          int64  `json:"closeTime"`
	FirstID            int64  `json:"firstId"`
	LastID             int64  `json:"lastId"`
	Count              int    `json:"count"`
}

// ticker24 computes the rolling 24 h statistics of s at now from its replica.
func ticker24(s *symbol, now time.Time) ticker24hJSON {
	sp := &s.spec
	ts := s.book.dayTrades(now)
	bt, _ := bookTickerOf(s)
	t := ticker24hJSON{Symbol: s.name, BidPrice: bt.BidPrice, BidQty: bt.BidQty, AskPrice: bt.AskPrice, AskQty: bt.AskQty,
		OpenTime: now.Add(-24 * time.Hour).UnixMilli(), CloseTime: now.UnixMilli(), FirstID: -1, LastID: -1, Count: len(ts)}
	var open, last, high, low, lastQty, vol, quote int64
	for i, tr := range ts {
		if i == 0 {
			open, high, low = tr.Price, tr.Price, tr.Price
		}
		high, low = max(high, tr.Price), min(low, tr.Price)
		last, lastQty = tr.Price, tr.Qty
		vol += tr.Qty
		quote += tr.QuoteQty
	}
	if len(ts) > 0 {
		t.FirstID, t.LastID = int64(ts[0].ID), int64(ts[len(ts)-1].ID)
	}
	t.PriceChange = sp.FormatPrice(last - open)
	t.PrevClosePrice, t.OpenPrice, t.LastPrice = sp.FormatPrice(open), sp.FormatPrice(open), sp.FormatPrice(last)
	t.HighPrice, t.LowPrice, t.LastQty = sp.FormatPrice(high), sp.FormatPrice(low), sp.FormatQty(lastQty)
	t.Volume, t.QuoteVolume = sp.FormatQty(vol), sp.FormatQuote(quote)
	t.PriceChangePercent, t.WeightedAvgPrice = "0.000", sp.FormatPrice(0)
	if open != 0 {
		t.PriceChangePercent = decimal.NewFromInt(100 * (last - open)).Div(decimal.NewFromInt(open)).StringFixed(3)
	}
	if vol != 0 {
		q, _ := decimal.NewFromString(t.QuoteVolume)
		v, _ := decimal.NewFromString(t.Volume)
		t.WeightedAvgPrice = q.Div(v).StringFixed(8)
	}
	return t
}

func (g *Gateway) ticker24h(q *req) (any, *apiError) {
	syms, single, aerr := g.symbolsParam(q)
	if aerr != nil {
		return nil, aerr
	}
	for _, s := range syms {
		g.awaitAnswered(q, s, 0)
	}
	out := make([]ticker24hJSON, 0, len(syms))
	for _, s := range syms {
		out = append(out, ticker24(s, q.now))
	}
	return one(out, single), nil
}
