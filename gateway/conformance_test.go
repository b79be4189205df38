package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

func apiCode(err error) int64 {
	var ae *common.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// TestGoBinanceREST drives every REST service of go-binance v2.8.7 that the gateway serves
// against a 3-region mesh. BTCUSDT is homed in us-east; the orders go in through eu-west and
// ap-south, and are read back from the other regions.
func TestGoBinanceREST(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	maker := e.client(t, "eu-west", 1)
	taker := e.client(t, "ap-south", 2)
	makerUS := e.client(t, "us-east", 1)

	if err := maker.NewPingService().Do(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if _, err := maker.NewServerTimeService().Do(ctx); err != nil {
		t.Fatalf("time: %v", err)
	}
	if _, err := maker.NewSetServerTimeService().Do(ctx); err != nil {
		t.Fatalf("set server time: %v", err)
	}
	info, err := maker.NewExchangeInfoService().Symbols(sym).Do(ctx)
	if err != nil || len(info.Symbols) != 1 {
		t.Fatalf("exchangeInfo: %v %+v", err, info)
	}
	s := info.Symbols[0]
	if s.Status != "TRADING" || s.PriceFilter().TickSize != "0.01000000" || s.LotSizeFilter().StepSize != "0.00001000" ||
		s.NotionalFilter() == nil || s.MaxNumOrdersFilter().MaxNumOrders != 200 {
		t.Fatalf("exchangeInfo symbol: %+v", s)
	}
	if _, err := maker.NewExchangeInfoService().Symbol("NOPE").Do(ctx); apiCode(err) != -1121 {
		t.Fatalf("exchangeInfo unknown symbol: %v", err)
	}
	acct, err := maker.NewGetAccountService().Do(ctx)
	if err != nil || !acct.CanTrade || len(acct.Balances) != 0 || acct.AccountType != "SPOT" {
		t.Fatalf("account: %v %+v", err, acct)
	}

	// A resting maker placed in eu-west (home us-east), FULL by default.
	sell, err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeSell).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("1.5").Price("50000.00").NewClientOrderID("mk:1/a").Do(ctx)
	if err != nil || sell.Status != binance.OrderStatusTypeNew || sell.OrderID == 0 || sell.ClientOrderID != "mk:1/a" {
		t.Fatalf("create maker: %v %+v", err, sell)
	}
	// A retry with the same client order id is the same order, not a second one.
	again, err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeSell).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("1.5").Price("50000.00").NewClientOrderID("mk:1/a").Do(ctx)
	if err != nil || again.OrderID != sell.OrderID {
		t.Fatalf("retried create: %v %+v, want order %d", err, again, sell.OrderID)
	}
	if err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeSell).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("1").Price("50000.00").Test(ctx); err != nil {
		t.Fatalf("order test: %v", err)
	}
	if _, err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeSell).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("1").Price("50000.001").Do(ctx); apiCode(err) != -1111 {
		t.Fatalf("too much precision: %v", err)
	}

	// The order is visible from another region (us-east) by id and by client id.
	await(t, "order visible in us-east", func() error {
		o, err := makerUS.NewGetOrderService().Symbol(sym).OrigClientOrderID("mk:1/a").Do(ctx)
		if err != nil {
			return err
		}
		if o.OrderID != sell.OrderID || o.Status != binance.OrderStatusTypeNew || o.OrigQuantity != "1.50000000" {
			return fmt.Errorf("order %+v", o)
		}
		return nil
	})
	if o, err := maker.NewGetOrderService().Symbol(sym).OrderID(sell.OrderID).Do(ctx); err != nil || o.ClientOrderID != "mk:1/a" {
		t.Fatalf("get order by id: %v %+v", err, o)
	}
	if _, err := taker.NewGetOrderService().Symbol(sym).OrderID(sell.OrderID).Do(ctx); apiCode(err) != -2013 {
		t.Fatalf("another account's order: %v", err)
	}
	open, err := maker.NewListOpenOrdersService().Symbol(sym).Do(ctx)
	if err != nil || len(open) != 1 || open[0].OrderID != sell.OrderID {
		t.Fatalf("open orders: %v %+v", err, open)
	}
	await(t, "depth in ap-south", func() error {
		d, err := taker.NewDepthService().Symbol(sym).Limit(5).Do(ctx)
		if err != nil {
			return err
		}
		if len(d.Asks) != 1 || d.Asks[0].Price != "50000.00000000" || d.Asks[0].Quantity != "1.50000000" || d.LastUpdateID == 0 {
			return fmt.Errorf("depth %+v", d)
		}
		return nil
	})

	// A MARKET taker from ap-south fills against it.
	buy, err := taker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
		Quantity("0.5").Do(ctx)
	if err != nil || buy.Status != binance.OrderStatusTypeFilled || len(buy.Fills) != 1 || buy.Fills[0].Price != "50000.00000000" ||
		buy.ExecutedQuantity != "0.50000000" || buy.CummulativeQuoteQuantity != "25000.00000000" {
		t.Fatalf("market buy: %v %+v", err, buy)
	}
	trades, err := taker.NewRecentTradesService().Symbol(sym).Do(ctx) // GET /api/v1/trades
	if err != nil || len(trades) != 1 || trades[0].Price != "50000.00000000" || trades[0].Quantity != "0.50000000" || trades[0].IsBuyerMaker {
		t.Fatalf("recent trades: %v %+v", err, trades)
	}
	prices, err := taker.NewListPricesService().Symbol(sym).Do(ctx)
	if err != nil || len(prices) != 1 || prices[0].Price != "50000.00000000" {
		t.Fatalf("prices: %v %+v", err, prices)
	}
	books, err := taker.NewListBookTickersService().Symbol(sym).Do(ctx)
	if err != nil || len(books) != 1 || books[0].AskPrice != "50000.00000000" || books[0].AskQuantity != "1.00000000" {
		t.Fatalf("book tickers: %v %+v", err, books)
	}
	stats, err := taker.NewListPriceChangeStatsService().Symbol(sym).Do(ctx)
	if err != nil || len(stats) != 1 || stats[0].Count != 1 || stats[0].Volume != "0.50000000" {
		t.Fatalf("24hr: %v %+v", err, stats)
	}
	await(t, "partial fill visible to the maker", func() error {
		o, err := maker.NewGetOrderService().Symbol(sym).OrderID(sell.OrderID).Do(ctx)
		if err != nil {
			return err
		}
		if o.Status != binance.OrderStatusTypePartiallyFilled || o.ExecutedQuantity != "0.50000000" {
			return fmt.Errorf("order %+v", o)
		}
		return nil
	})

	// Cancel-replace the rest of the maker at a new price.
	cr, err := maker.NewCancelReplaceOrderService().Symbol(sym).Side(binance.SideTypeSell).Type(binance.OrderTypeLimit).
		CancelReplaceMode(binance.CancelReplaceModeStopOnFailure).TimeInForce(binance.TimeInForceTypeGTC).
		Quantity("1").Price("51000.00").CancelOrderID(sell.OrderID).NewClientOrderID("mk-2").Do(ctx)
	if err != nil || cr.CancelResult != "SUCCESS" || cr.NewOrderResult != "SUCCESS" || cr.NewOrderResponse == nil ||
		cr.CancelResponse.OrderID != sell.OrderID || cr.NewOrderResponse.ClientOrderID != "mk-2" {
		t.Fatalf("cancelReplace: %v %+v", err, cr)
	}
	// Cancel it (DELETE with a form body).
	cancelRes, err := maker.NewCancelOrderService().Symbol(sym).OrigClientOrderID("mk-2").Do(ctx)
	if err != nil || cancelRes.Status != binance.OrderStatusTypeCanceled || cancelRes.OrigClientOrderID != "mk-2" {
		t.Fatalf("cancel: %v %+v", err, cancelRes)
	}
	if _, err := maker.NewCancelOrderService().Symbol(sym).OrigClientOrderID("mk-2").Do(ctx); apiCode(err) != -2011 {
		t.Fatalf("cancel twice: %v", err)
	}
	// Cancel all (DELETE with a query string).
	for i, p := range []string{"40000.00", "40001.00"} {
		if _, err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.1").Price(p).NewClientOrderID(fmt.Sprintf("bid-%d", i)).Do(ctx); err != nil {
			t.Fatalf("bid %d: %v", i, err)
		}
	}
	all, err := maker.NewCancelOpenOrdersService().Symbol(sym).Do(ctx)
	if err != nil || len(all.Orders) != 2 {
		t.Fatalf("cancel open orders: %v %+v", err, all)
	}
	if open, err := maker.NewListOpenOrdersService().Do(ctx); err != nil || len(open) != 0 {
		t.Fatalf("open orders after cancel all: %v %+v", err, open)
	}

	// ACK answers right after the append: the order id is the command's CMD_<S> sequence, and
	// the order is readable in the same region at once (the query waits for the replica).
	ack, err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.1").Price("39000.00").NewClientOrderID("ack-1").
		NewOrderRespType(binance.NewOrderRespTypeACK).Do(ctx)
	if err != nil || ack.OrderID == 0 || ack.ClientOrderID != "ack-1" || ack.TransactTime == 0 || ack.Status != "" {
		t.Fatalf("ACK order: %v %+v", err, ack)
	}
	if o, err := maker.NewGetOrderService().Symbol(sym).OrigClientOrderID("ack-1").Do(ctx); err != nil ||
		o.OrderID != ack.OrderID || o.Status != binance.OrderStatusTypeNew {
		t.Fatalf("order right after its ACK: %v %+v", err, o)
	}
	if seq := cmdSeqOf(t, e, "ack-1", 1); seq != uint64(ack.OrderID) {
		t.Fatalf("ACK order id %d, its command is CMD sequence %d", ack.OrderID, seq)
	}
	// A retried ACK request is the same order.
	ack2, err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.1").Price("39000.00").NewClientOrderID("ack-1").
		NewOrderRespType(binance.NewOrderRespTypeACK).Do(ctx)
	if err != nil || ack2.OrderID != ack.OrderID {
		t.Fatalf("retried ACK order: %v %+v, want order %d", err, ack2, ack.OrderID)
	}
	// LIMIT_MAKER that would take: rejected synchronously by default (Binance's default ACK
	// for it waits for the matcher); with an explicit ACK it is acknowledged, then not found.
	lm := func() *binance.CreateOrderService {
		return maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeSell).Type(binance.OrderTypeLimitMaker).
			Quantity("0.1").Price("38000.00")
	}
	if _, err := lm().NewClientOrderID("lm-1").Do(ctx); apiCode(err) != -2010 {
		t.Fatalf("crossing LIMIT_MAKER: %v, want -2010", err)
	}
	lmAck, err := lm().NewClientOrderID("lm-2").NewOrderRespType(binance.NewOrderRespTypeACK).Do(ctx)
	if err != nil || lmAck.OrderID == 0 {
		t.Fatalf("crossing LIMIT_MAKER with ACK: %v %+v", err, lmAck)
	}
	if _, err := maker.NewGetOrderService().Symbol(sym).OrderID(lmAck.OrderID).Do(ctx); apiCode(err) != -2013 {
		t.Fatalf("rejected ACKed order: %v, want -2013", err)
	}
	if _, err := maker.NewCancelOrderService().Symbol(sym).OrigClientOrderID("ack-1").Do(ctx); err != nil {
		t.Fatalf("cancel ACKed order: %v", err)
	}

	// User data stream keys.
	lk, err := maker.NewStartUserStreamService().Do(ctx)
	if err != nil || len(lk) != 64 {
		t.Fatalf("start user stream: %v %q", err, lk)
	}
	if err := maker.NewKeepaliveUserStreamService().ListenKey(lk).Do(ctx); err != nil {
		t.Fatalf("keepalive: %v", err)
	}
	if err := makerUS.NewKeepaliveUserStreamService().ListenKey(lk).Do(ctx); err != nil {
		t.Fatalf("keepalive in another region: %v", err)
	}
	if err := maker.NewCloseUserStreamService().ListenKey(lk).Do(ctx); err != nil {
		t.Fatalf("close user stream: %v", err)
	}
	if err := maker.NewKeepaliveUserStreamService().ListenKey(lk).Do(ctx); apiCode(err) != -1125 {
		t.Fatalf("keepalive closed key: %v", err)
	}

	// Authentication failures.
	bad := binance.NewClient(maker.APIKey, strings.Repeat("x", 64))
	bad.BaseURL = maker.BaseURL
	if _, err := bad.NewGetAccountService().Do(ctx); apiCode(err) != -1022 {
		t.Fatalf("bad signature: %v", err)
	}
	unknown := binance.NewClient("nokey", "x")
	unknown.BaseURL = maker.BaseURL
	if _, err := unknown.NewGetAccountService().Do(ctx); apiCode(err) != -2015 {
		t.Fatalf("unknown key: %v", err)
	}
	demo := binance.NewClient(demoKey, demoSecret)
	demo.BaseURL = e.gw["ap-south"].URL()
	if a, err := demo.NewGetAccountService().Do(ctx); err != nil || a.UID != 99 {
		t.Fatalf("bootstrap key: %v %+v", err, a)
	}
	// Weight headers, 429 with Retry-After, then 418 for a client that keeps going.
	frozen := time.Now() // one weight window for the whole loop
	limited := e.startGateway(t, "eu-west", func(c *gateway.Config) {
		c.WeightLimit, c.Now = 3, func() time.Time { return frozen }
	})
	for i := 1; i <= 20; i++ {
		res, err := http.Get(limited.URL() + "/api/v3/ping")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := http.StatusOK
		switch {
		case i > 3+10:
			want = http.StatusTeapot
		case i > 3:
			want = http.StatusTooManyRequests
		}
		if res.StatusCode != want || res.Header.Get("X-MBX-USED-WEIGHT-1M") == "" ||
			(want != http.StatusOK && res.Header.Get("Retry-After") == "") {
			t.Fatalf("request %d: %d %v, want %d", i, res.StatusCode, res.Header, want)
		}
	}
	if _, err := maker.NewAveragePriceService().Symbol(sym).Do(context.Background()); apiCode(err) != -1000 {
		t.Fatalf("unserved endpoint: %v", err)
	}
}

// cmdSeqOf returns the CMD_<sym> sequence of the new order of account with client order id cid,
// read from the log itself (the request id is the dedupe id the gateway derives).
func cmdSeqOf(t *testing.T, e *env, cid string, account uint64) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := e.m.Node("us-east").JetStream().Stream(ctx, client.CmdStream(sym))
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.LastSeq; seq >= info.State.FirstSeq && seq > 0; seq-- {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		c, err := proto.DecodeCommand(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if no := c.GetNewOrder(); no != nil && no.ClientOrderId == cid && no.Account == account {
			return seq
		}
	}
	t.Fatalf("no new order %q of account %d in %s", cid, account, client.CmdStream(sym))
	return 0
}
