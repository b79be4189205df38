package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
)

// pointWS points go-binance's package-level WebSocket endpoints at a gateway (the client has no
// per-client setting for them), restoring them when the test ends.
func pointWS(t *testing.T, url string) {
	ws := "ws" + strings.TrimPrefix(url, "http")
	oldWS, oldComb := binance.BaseWsMainURL, binance.BaseCombinedMainURL
	binance.BaseWsMainURL, binance.BaseCombinedMainURL = ws+"/ws", ws+"/stream?streams="
	t.Cleanup(func() { binance.BaseWsMainURL, binance.BaseCombinedMainURL = oldWS, oldComb })
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("no %s within 15 s", what)
		panic("unreachable")
	}
}

// TestGoBinanceWebSocket runs go-binance's market and user-data stream services against the
// ap-south gateway while orders for BTCUSDT (homed in us-east) go in through eu-west.
func TestGoBinanceWebSocket(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	maker := e.client(t, "eu-west", 1)
	taker := e.client(t, "eu-west", 2)
	watcher := e.client(t, "ap-south", 1)
	pointWS(t, e.gw["ap-south"].URL())
	errs := make(chan error, 16)
	onErr := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	stopAll := func(stops ...chan struct{}) {
		for _, s := range stops {
			close(s)
		}
	}

	depth := make(chan *binance.WsDepthEvent, 64)
	_, stop1, err := binance.WsDepthServe(sym, func(ev *binance.WsDepthEvent) { depth <- ev }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	combined := make(chan *binance.WsDepthEvent, 64)
	_, stop2, err := binance.WsCombinedDepthServe([]string{sym}, func(ev *binance.WsDepthEvent) { combined <- ev }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	trades := make(chan *binance.WsTradeEvent, 64)
	_, stop3, err := binance.WsTradeServe(sym, func(ev *binance.WsTradeEvent) { trades <- ev }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	tickers := make(chan *binance.WsBookTickerEvent, 64)
	_, stop4, err := binance.WsBookTickerServe(sym, func(ev *binance.WsBookTickerEvent) { tickers <- ev }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	lk, err := watcher.NewStartUserStreamService().Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	user := make(chan *binance.WsUserDataEvent, 64)
	_, stop5, err := binance.WsUserDataServe(lk, func(ev *binance.WsUserDataEvent) { user <- ev }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	defer stopAll(stop1, stop2, stop3, stop4, stop5)

	snap, err := watcher.NewDepthService().Symbol(sym).Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two makers and a taker that trades with the first.
	for i, p := range []string{"30000.00", "30001.00"} {
		if _, err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeSell).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.2").Price(p).NewClientOrderID(fmt.Sprintf("ws-mk-%d", i)).Do(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := taker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeIOC).Quantity("0.1").Price("30000.00").Do(ctx); err != nil {
		t.Fatal(err)
	}

	// Diff depth: three updates, continuous from the REST snapshot (U == previous u + 1).
	prev := snap.LastUpdateID
	for i := 0; i < 3; i++ {
		ev := recv(t, depth, "depth update")
		if ev.Symbol != sym || ev.FirstUpdateID != prev+1 || ev.LastUpdateID < ev.FirstUpdateID {
			t.Fatalf("depth update %d: U=%d u=%d after %d", i, ev.FirstUpdateID, ev.LastUpdateID, prev)
		}
		prev = ev.LastUpdateID
		if c := recv(t, combined, "combined depth update"); c.FirstUpdateID != ev.FirstUpdateID || c.Symbol != sym {
			t.Fatalf("combined %+v vs raw %+v", c, ev)
		}
	}
	tr := recv(t, trades, "trade")
	if tr.Price != "30000.00000000" || tr.Quantity != "0.10000000" || tr.IsBuyerMaker || tr.Symbol != sym {
		t.Fatalf("trade %+v", tr)
	}
	var bt *binance.WsBookTickerEvent
	for i := 0; i < 3; i++ {
		bt = recv(t, tickers, "book ticker")
	}
	if bt.BestAskPrice != "30000.00000000" || bt.BestAskQty != "0.10000000" || bt.UpdateID != prev {
		t.Fatalf("book ticker %+v (last u %d)", bt, prev)
	}
	// User data of account 1 (the maker) in another region: NEW, NEW, then the maker's TRADE.
	var reports []binance.WsOrderUpdate
	for len(reports) < 3 {
		ev := recv(t, user, "executionReport")
		if ev.Event == binance.UserDataEventTypeExecutionReport {
			reports = append(reports, ev.OrderUpdate)
		}
	}
	if reports[0].ExecutionType != "NEW" || reports[0].ClientOrderId != "ws-mk-0" || reports[1].ExecutionType != "NEW" ||
		reports[2].ExecutionType != "TRADE" || reports[2].Status != "PARTIALLY_FILLED" || reports[2].LatestVolume != "0.10000000" ||
		reports[2].FilledVolume != "0.10000000" || !reports[2].IsMaker || reports[2].Id != reports[0].Id {
		t.Fatalf("execution reports %+v", reports)
	}
	select {
	case err := <-errs:
		t.Fatalf("stream error: %v", err)
	default:
	}
}
