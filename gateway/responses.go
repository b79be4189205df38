package gateway

import (
	"github.com/geomesh/geomesh/proto"
)

// Binance enum names of the proto enums.
func sideName(s proto.Side) string {
	if s == proto.Side_SIDE_SELL {
		return "SELL"
	}
	return "BUY"
}

func typeName(t proto.OrderType) string {
	switch t {
	case proto.OrderType_ORDER_TYPE_MARKET:
		return "MARKET"
	case proto.OrderType_ORDER_TYPE_LIMIT_MAKER:
		return "LIMIT_MAKER"
	default:
		return "LIMIT"
	}
}

func tifName(t proto.TimeInForce) string {
	switch t {
	case proto.TimeInForce_TIME_IN_FORCE_IOC:
		return "IOC"
	case proto.TimeInForce_TIME_IN_FORCE_FOK:
		return "FOK"
	default:
		return "GTC"
	}
}

func stpName(m proto.StpMode) string {
	switch m {
	case proto.StpMode_STP_MODE_EXPIRE_TAKER:
		return "EXPIRE_TAKER"
	case proto.StpMode_STP_MODE_EXPIRE_MAKER:
		return "EXPIRE_MAKER"
	case proto.StpMode_STP_MODE_EXPIRE_BOTH:
		return "EXPIRE_BOTH"
	default:
		return "NONE"
	}
}

// ackJSON is the newOrderRespType=ACK answer.
type ackJSON struct {
	Symbol        string `json:"symbol"`
	OrderID       uint64 `json:"orderId"`
	OrderListID   int    `json:"orderListId"`
	ClientOrderID string `json:"clientOrderId"`
	TransactTime  int64  `json:"transactTime"`
}

// resultJSON is the RESULT answer.
type resultJSON struct {
	ackJSON
	Price                   string `json:"price"`
	OrigQty                 string `json:"origQty"`
	ExecutedQty             string `json:"executedQty"`
	OrigQuoteOrderQty       string `json:"origQuoteOrderQty"`
	CummulativeQuoteQty     string `json:"cummulativeQuoteQty"`
	Status                  string `json:"status"`
	TimeInForce             string `json:"timeInForce"`
	Type                    string `json:"type"`
	Side                    string `json:"side"`
	WorkingTime             int64  `json:"workingTime"`
	SelfTradePreventionMode string `json:"selfTradePreventionMode"`
}

type fillJSON struct {
	Price           string `json:"price"`
	Qty             string `json:"qty"`
	Commission      string `json:"commission"`
	CommissionAsset string `json:"commissionAsset"`
	TradeID         uint64 `json:"tradeId"`
}

// fullJSON is the FULL answer.
type fullJSON struct {
	resultJSON
	Fills []fillJSON `json:"fills"`
}

// queryJSON is an order in GET /api/v3/order and openOrders.
type queryJSON struct {
	Symbol                  string `json:"symbol"`
	OrderID                 uint64 `json:"orderId"`
	OrderListID             int    `json:"orderListId"`
	ClientOrderID           string `json:"clientOrderId"`
	Price                   string `json:"price"`
	OrigQty                 string `json:"origQty"`
	ExecutedQty             string `json:"executedQty"`
	CummulativeQuoteQty     string `json:"cummulativeQuoteQty"`
	Status                  string `json:"status"`
	TimeInForce             string `json:"timeInForce"`
	Type                    string `json:"type"`
	Side                    string `json:"side"`
	StopPrice               string `json:"stopPrice"`
	IcebergQty              string `json:"icebergQty"`
	Time                    int64  `json:"time"`
	UpdateTime              int64  `json:"updateTime"`
	IsWorking               bool   `json:"isWorking"`
	WorkingTime             int64  `json:"workingTime"`
	OrigQuoteOrderQty       string `json:"origQuoteOrderQty"`
	SelfTradePreventionMode string `json:"selfTradePreventionMode"`
}

// cancelJSON is a canceled order in DELETE /api/v3/order and openOrders.
type cancelJSON struct {
	Symbol                  string `json:"symbol"`
	OrigClientOrderID       string `json:"origClientOrderId"`
	OrderID                 uint64 `json:"orderId"`
	OrderListID             int    `json:"orderListId"`
	ClientOrderID           string `json:"clientOrderId"`
	TransactTime            int64  `json:"transactTime"`
	Price                   string `json:"price"`
	OrigQty                 string `json:"origQty"`
	ExecutedQty             string `json:"executedQty"`
	OrigQuoteOrderQty       string `json:"origQuoteOrderQty"`
	CummulativeQuoteQty     string `json:"cummulativeQuoteQty"`
	Status                  string `json:"status"`
	TimeInForce             string `json:"timeInForce"`
	Type                    string `json:"type"`
	Side                    string `json:"side"`
	SelfTradePreventionMode string `json:"selfTradePreventionMode"`
}

func (s *symbol) resultOf(o *orderRec, transactMs int64) resultJSON {
	sp := &s.spec
	return resultJSON{
		ackJSON: ackJSON{Symbol: s.name, OrderID: o.ID, OrderListID: -1, ClientOrderID: o.ClientOrderID, TransactTime: transactMs},
		Price:   sp.FormatPrice(o.Price), OrigQty: sp.FormatQty(o.Qty), ExecutedQty: sp.FormatQty(o.Executed),
		OrigQuoteOrderQty: sp.FormatQuote(o.QuoteQty), CummulativeQuoteQty: sp.FormatQuote(o.ExecutedQuote),
		Status: o.Status, TimeInForce: tifName(o.TIF), Type: typeName(o.Type), Side: sideName(o.Side),
		WorkingTime: o.TimeNano / 1e6, SelfTradePreventionMode: stpName(o.STP),
	}
}

// orderAnswer builds the ACK, RESULT or FULL answer for o from the events of its command.
func (s *symbol) orderAnswer(o *orderRec, respType string, events []*proto.Event, transactMs int64) any {
	res := s.resultOf(o, transactMs)
	switch respType {
	case "ACK":
		return res.ackJSON
	case "RESULT":
		return res
	}
	fills := []fillJSON{}
	asset := s.spec.BaseAsset
	if o.Side == proto.Side_SIDE_SELL {
		asset = s.spec.QuoteAsset
	}
	for _, e := range events {
		if t := e.GetTrade(); t != nil && t.TakerOrderId == o.ID {
			fills = append(fills, fillJSON{Price: s.spec.FormatPrice(t.Price), Qty: s.spec.FormatQty(t.Qty),
				Commission: "0.00000000", CommissionAsset: asset, TradeID: t.TradeId})
		}
	}
	return fullJSON{resultJSON: res, Fills: fills}
}

func (s *symbol) queryOf(o *orderRec) queryJSON {
	sp := &s.spec
	return queryJSON{Symbol: s.name, OrderID: o.ID, OrderListID: -1, ClientOrderID: o.ClientOrderID,
		Price: sp.FormatPrice(o.Price), OrigQty: sp.FormatQty(o.Qty), ExecutedQty: sp.FormatQty(o.Executed),
		CummulativeQuoteQty: sp.FormatQuote(o.ExecutedQuote), Status: o.Status, TimeInForce: tifName(o.TIF),
		Type: typeName(o.Type), Side: sideName(o.Side), StopPrice: sp.FormatPrice(0), IcebergQty: sp.FormatQty(0),
		Time: o.TimeNano / 1e6, UpdateTime: o.UpdateNano / 1e6, IsWorking: true, WorkingTime: o.TimeNano / 1e6,
		OrigQuoteOrderQty: sp.FormatQuote(o.QuoteQty), SelfTradePreventionMode: stpName(o.STP)}
}

func (s *symbol) cancelOf(o *orderRec, cancelID string, transactMs int64) cancelJSON {
	sp := &s.spec
	return cancelJSON{Symbol: s.name, OrigClientOrderID: o.ClientOrderID, OrderID: o.ID, OrderListID: -1,
		ClientOrderID: cancelID, TransactTime: transactMs, Price: sp.FormatPrice(o.Price), OrigQty: sp.FormatQty(o.Qty),
		ExecutedQty: sp.FormatQty(o.Executed), OrigQuoteOrderQty: sp.FormatQuote(o.QuoteQty),
		CummulativeQuoteQty: sp.FormatQuote(o.ExecutedQuote), Status: o.Status, TimeInForce: tifName(o.TIF),
		Type: typeName(o.Type), Side: sideName(o.Side), SelfTradePreventionMode: stpName(o.STP)}
}
