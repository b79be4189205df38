package gateway_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/gorilla/websocket"

	"github.com/geomesh/geomesh/gateway"
)

// pointWS points go-binance's package-level WebSocket endpoints at a gateway (the client has no
// per-client setting for them), restoring them when the test ends.
func pointWS(t *testing.T, url string) {
	ws := "ws" + strings.TrimPrefix(url, "http")
	oldWS, oldComb := binance.BaseWsMainURL, binance.BaseCombinedMainURL
	binance.BaseWsMainURL, binance.BaseCombinedMainURL = ws+"/ws", ws+"/stream?streams="
	t.Cleanup(func() { binance.BaseWsMainURL, binance.BaseCombinedMainURL = oldWS, oldComb })
}

func stopAll(stops []chan struct{}) {
	for _, s := range stops {
		close(s)
	}
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
	var stops []chan struct{}
	var stopOnce sync.Once
	stopAll := func() { stopOnce.Do(func() { stopAll(stops) }) }
	t.Cleanup(stopAll) // before the gateways close: go-binance's combined depth handler panics on serverShutdown

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
	stops = append(stops, stop1, stop2, stop3, stop4, stop5)

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

	// Closing the gateway tells every stream client serverShutdown, then closes with 1001.
	// (go-binance v2.8.7's combined depth handler panics on that frame, as it would against
	// Binance itself: its streams are stopped first.)
	stopAll()
	wsBase := "ws" + strings.TrimPrefix(e.gw["ap-south"].URL(), "http")
	raw, _, err := websocket.DefaultDialer.Dial(wsBase+"/stream?streams=btcusdt@trade", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.WriteJSON(map[string]any{"method": "LIST_SUBSCRIPTIONS", "id": 1}); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Result []string `json:"result"`
		ID     int      `json:"id"`
	}
	if err := raw.ReadJSON(&list); err != nil || len(list.Result) != 1 || list.Result[0] != "btcusdt@trade" || list.ID != 1 {
		t.Fatalf("LIST_SUBSCRIPTIONS: %v %+v", err, list)
	}
	_ = e.gw["ap-south"].Close()
	var bye struct {
		Stream string         `json:"stream"`
		Data   map[string]any `json:"data"`
	}
	if err := raw.ReadJSON(&bye); err != nil || bye.Stream != "!serverShutdown" || bye.Data["e"] != "serverShutdown" || bye.Data["E"] == nil {
		t.Fatalf("shutdown frame: %v %+v", err, bye)
	}
	if _, _, err := raw.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("close: %v, want 1001", err)
	}
}

// TestGoBinanceWebSocketAPI places an order through go-binance's WS API client (order.place) in
// eu-west and follows the account with WsUserDataServeSignature in ap-south.
func TestGoBinanceWebSocketAPI(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	c := e.client(t, "eu-west", 7)
	wsURL := func(r string) string { return "ws" + strings.TrimPrefix(e.gw[r].URL(), "http") + "/ws-api/v3" }
	old := binance.BaseWsApiMainURL
	t.Cleanup(func() { binance.BaseWsApiMainURL = old })

	binance.BaseWsApiMainURL = wsURL("ap-south")
	user := make(chan *binance.WsUserDataEvent, 16)
	errs := make(chan error, 4)
	_, stop, err := binance.WsUserDataServeSignature(c.APIKey, c.SecretKey, common.KeyTypeHmac, 0,
		func(ev *binance.WsUserDataEvent) { user <- ev }, func(err error) {
			select {
			case errs <- err:
			default:
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	defer close(stop)
	// The subscribe frame races the first order: place orders until the first report arrives.
	binance.BaseWsApiMainURL = wsURL("eu-west")
	svc, err := binance.NewOrderCreateWsService(c.APIKey, c.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	var first *binance.CreateOrderWsResponse
	for i := 0; ; i++ {
		req := binance.NewOrderCreateWsRequest().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.01").Price("1000.00").NewClientOrderID(fmt.Sprintf("wsapi-%d", i)).
			NewOrderRespType(binance.NewOrderRespTypeRESULT)
		res, err := svc.SyncDo(fmt.Sprintf("req-%d", i), req)
		if err != nil || res.Error != nil || res.Status != 200 || res.Result.Status != binance.OrderStatusTypeNew {
			t.Fatalf("order.place: %v %+v", err, res)
		}
		if first == nil {
			first = res
		}
		select {
		case ev := <-user:
			if ev.Event != binance.UserDataEventTypeExecutionReport || ev.OrderUpdate.ExecutionType != "NEW" ||
				ev.OrderUpdate.Symbol != sym || !strings.HasPrefix(ev.OrderUpdate.ClientOrderId, "wsapi-") {
				t.Fatalf("user event %+v", ev)
			}
			if _, err := c.NewGetOrderService().Symbol(sym).OrigClientOrderID(first.Result.ClientOrderID).Do(ctx); err != nil {
				t.Fatalf("REST sees the WS API order: %v", err)
			}
			return
		case err := <-errs:
			t.Fatalf("user stream: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if i > 50 {
			t.Fatal("no executionReport on the WS API subscription")
		}
	}
}

// TestListenKeyExpiry: a closed listen key ends its stream with listenKeyExpired, from a gateway
// in another region than the one that closed it.
func TestListenKeyExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	fast := e.startGateway(t, "ap-south", func(c *gateway.Config) { c.WSPingInterval = 50 * time.Millisecond })
	c := e.client(t, "eu-west", 5)
	lk, err := c.NewStartUserStreamService().Do(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pointWS(t, fast.URL())
	user := make(chan *binance.WsUserDataEvent, 4)
	_, stop, err := binance.WsUserDataServe(lk, func(ev *binance.WsUserDataEvent) { user <- ev }, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	defer close(stop)
	if err := c.NewCloseUserStreamService().ListenKey(lk).Do(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, user, "listenKeyExpired"); ev.Event != "listenKeyExpired" {
		t.Fatalf("event %+v", ev)
	}
}
