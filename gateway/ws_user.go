package gateway

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// subscribeUser starts the user-data stream of a listen key (valid in every region: its record
// is in KV ACCOUNTS) from user.<account>. False when name is not a live listen key.
func (wc *wsConn) subscribeUser(name string) bool {
	g := wc.h.g
	if g.accounts == nil {
		return false // not started
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rec, err := getListenKey(ctx, g.accounts, name, g.cfg.Now())
	if err != nil || rec == nil {
		return false
	}
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.users[name] != nil {
		return true
	}
	sub, err := g.cfg.NC.Subscribe(client.UserSubject(rec.Account), func(m *nats.Msg) {
		b, err := proto.DecodeEventBatch(m.Data)
		if err != nil {
			return
		}
		s := g.reg.get(b.Symbol)
		if s == nil {
			return
		}
		for _, rep := range executionReports(s, b, rec.Account) {
			wc.push(name, rep)
		}
	})
	if err != nil {
		return false
	}
	wc.users[name] = sub
	wc.subs[name] = true
	wc.h.goConn(func() { wc.watchListenKey(name) })
	return true
}

// watchListenKey checks the listen key every WSPingInterval; once it expired or was closed the
// client gets listenKeyExpired and the stream ends (the connection stays open, as on Binance).
func (wc *wsConn) watchListenKey(name string) {
	g := wc.h.g
	t := time.NewTicker(g.cfg.WSPingInterval)
	defer t.Stop()
	for {
		select {
		case <-wc.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		rec, err := getListenKey(ctx, g.accounts, name, g.cfg.Now())
		cancel()
		if err != nil || rec != nil {
			continue // alive, or KV unreachable: keep streaming
		}
		wc.mu.Lock()
		_, live := wc.users[name]
		wc.mu.Unlock()
		if !live {
			return // unsubscribed
		}
		wc.unsubscribe(name)
		b, _ := json.Marshal(map[string]any{"e": "listenKeyExpired", "E": g.cfg.Now().UnixMilli(), "listenKey": name})
		wc.push(name, b)
		return
	}
}

// executionReport is the user-data event of an order change, with every field go-binance decodes.
type executionReport struct {
	E               string  `json:"e"`
	EventTime       int64   `json:"E"`
	Symbol          string  `json:"s"`
	ClientOrderID   string  `json:"c"`
	Side            string  `json:"S"`
	Type            string  `json:"o"`
	TimeInForce     string  `json:"f"`
	Qty             string  `json:"q"`
	Price           string  `json:"p"`
	StopPrice       string  `json:"P"`
	IcebergQty      string  `json:"F"`
	OrderListID     int64   `json:"g"`
	OrigClientID    string  `json:"C"`
	ExecType        string  `json:"x"`
	Status          string  `json:"X"`
	RejectReason    string  `json:"r"`
	OrderID         uint64  `json:"i"`
	LastQty         string  `json:"l"`
	CumQty          string  `json:"z"`
	LastPrice       string  `json:"L"`
	Commission      string  `json:"n"`
	CommissionAsset *string `json:"N"`
	TransactTime    int64   `json:"T"`
	TradeID         int64   `json:"t"`
	ExecutionID     uint64  `json:"I"`
	IsWorking       bool    `json:"w"`
	IsMaker         bool    `json:"m"`
	Ignore          bool    `json:"M"`
	CreateTime      int64   `json:"O"`
	CumQuote        string  `json:"Z"`
	LastQuote       string  `json:"Y"`
	QuoteQty        string  `json:"Q"`
	WorkingTime     int64   `json:"W"`
	STP             string  `json:"V"`
}

// executionReports turns the events of batch that concern account into executionReport payloads,
// in event order. Order fields the events lack (time in force, STP mode) come from the replica.
func executionReports(s *symbol, batch *proto.EventBatch, account uint64) [][]byte {
	sp := &s.spec
	ms := batch.CmdTimeUnixNano / 1e6
	orders := map[uint64]*orderRec{}
	get := func(id uint64) *orderRec {
		if o := orders[id]; o != nil {
			return o
		}
		if o := s.book.byID(id); o != nil {
			orders[id] = o
			return o
		}
		return nil
	}
	// A taker that neither rests nor expires in its batch is FILLED by its last trade.
	lastTrade := map[uint64]int{}
	ended := map[uint64]bool{}
	for i, e := range batch.Events {
		if t := e.GetTrade(); t != nil {
			lastTrade[t.TakerOrderId] = i
		}
		if x := e.GetExpired(); x != nil {
			ended[x.OrderId] = true
		}
	}
	var out [][]byte
	emit := func(o *orderRec, x, status string, mod func(*executionReport)) {
		r := executionReport{E: "executionReport", EventTime: ms, Symbol: s.name, ClientOrderID: o.ClientOrderID,
			Side: sideName(o.Side), Type: typeName(o.Type), TimeInForce: tifName(o.TIF), Qty: sp.FormatQty(o.Qty),
			Price: sp.FormatPrice(o.Price), StopPrice: sp.FormatPrice(0), IcebergQty: sp.FormatQty(0), OrderListID: -1,
			ExecType: x, Status: status, RejectReason: "NONE", OrderID: o.ID, LastQty: sp.FormatQty(0),
			CumQty: sp.FormatQty(o.Executed), LastPrice: sp.FormatPrice(0), Commission: "0", TransactTime: ms,
			TradeID: -1, ExecutionID: batch.CmdSeq, IsWorking: isOpen(status), CreateTime: o.TimeNano / 1e6,
			CumQuote: sp.FormatQuote(o.ExecutedQuote), LastQuote: sp.FormatQuote(0), QuoteQty: sp.FormatQuote(o.QuoteQty),
			WorkingTime: o.TimeNano / 1e6, STP: stpName(o.STP)}
		if mod != nil {
			mod(&r)
		}
		b, _ := json.Marshal(r)
		out = append(out, b)
	}
	for i, e := range batch.Events {
		applyOrderEvents([]*proto.Event{e}, batch.CmdTimeUnixNano, get, func(o *orderRec) { orders[o.ID] = o })
		switch {
		case e.GetAccepted() != nil:
			a := e.GetAccepted()
			if a.Account != account || a.Type == proto.OrderType_ORDER_TYPE_UNSPECIFIED {
				continue
			}
			o := get(a.OrderId)
			if o == nil {
				continue
			}
			// the replica may already hold later state of this order: report it as placed
			n := *o
			n.Executed, n.ExecutedQuote, n.Status = 0, 0, statusNew
			orders[o.ID] = &n
			emit(&n, "NEW", statusNew, nil)
		case e.GetTrade() != nil:
			t := e.GetTrade()
			for _, side := range []struct {
				id, acct uint64
				maker    bool
			}{{t.MakerOrderId, t.MakerAccount, true}, {t.TakerOrderId, t.TakerAccount, false}} {
				if side.acct != account {
					continue
				}
				o := get(side.id)
				if o == nil {
					continue
				}
				if side.maker {
					o.Executed, o.ExecutedQuote = t.MakerExecutedQty, t.MakerExecutedQuoteQty
				} else {
					o.Executed, o.ExecutedQuote = t.TakerExecutedQty, t.TakerExecutedQuoteQty
				}
				status := statusPartiallyFilled
				if (o.Qty > 0 && o.Executed >= o.Qty) || (!side.maker && lastTrade[o.ID] == i && !ended[o.ID] &&
					(o.Type == proto.OrderType_ORDER_TYPE_MARKET || o.TIF != proto.TimeInForce_TIME_IN_FORCE_GTC)) {
					status = statusFilled
				}
				o.Status = status
				asset := sp.BaseAsset
				if o.Side == proto.Side_SIDE_SELL {
					asset = sp.QuoteAsset
				}
				emit(o, "TRADE", status, func(r *executionReport) {
					r.LastQty, r.LastPrice, r.LastQuote = sp.FormatQty(t.Qty), sp.FormatPrice(t.Price), sp.FormatQuote(t.QuoteQty)
					r.TradeID, r.IsMaker, r.Ignore, r.CommissionAsset = int64(t.TradeId), side.maker, true, &asset
				})
			}
		case e.GetCanceled() != nil:
			c := e.GetCanceled()
			if c.Account != account {
				continue
			}
			if o := get(c.OrderId); o != nil {
				emit(o, "CANCELED", statusCanceled, func(r *executionReport) {
					r.ClientOrderID, r.OrigClientID = c.CancelClientOrderId, c.ClientOrderId
					if r.ClientOrderID == "" {
						r.ClientOrderID = c.ClientOrderId
					}
				})
			}
		case e.GetExpired() != nil:
			x := e.GetExpired()
			if x.Account != account {
				continue
			}
			if o := get(x.OrderId); o != nil {
				ex := "EXPIRED"
				if o.Status == statusExpiredInMatch {
					ex = "TRADE_PREVENTION"
				}
				emit(o, ex, o.Status, nil)
			}
		}
	}
	return out
}
