package gateway_test

import (
	"fmt"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/test/meshtest"
)

// TestGoBinanceAcrossMoveAndFailover moves BTCUSDT from us-east to eu-west under a go-binance
// client (no request may fail), then kills the new home: the acknowledged order stays findable
// by origClientOrderId from another region, trading resumes (the client may see retryable errors
// meanwhile), and the depth stream of a surviving region has no gap in its update ids.
func TestGoBinanceAcrossMoveAndFailover(t *testing.T) {
	e := newEnv(t, func(c *region.Config) { c.SettleWindow = time.Second })
	ctx := ctxT(t)
	maker := e.client(t, "us-east", 1)
	makerAP := e.client(t, "ap-south", 1)
	taker := e.client(t, "ap-south", 2)
	pointWS(t, e.gw["ap-south"].URL())
	depth := make(chan *binance.WsDepthEvent, 256)
	_, stop, err := binance.WsDepthServe(sym, func(ev *binance.WsDepthEvent) { depth <- ev }, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	defer close(stop)
	snap, err := taker.NewDepthService().Symbol(sym).Do(ctx)
	if err != nil {
		t.Fatal(err)
	}

	sell, err := maker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeSell).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("1").Price("20000.00").NewClientOrderID("fo-1").Do(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Planned move to eu-west while orders keep coming in through ap-south: none may fail.
	plan, err := e.m.Node("ap-south").Move(ctx, sym, "eu-west", region.OpOptions{Actor: "test", Reason: "gateway test"})
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	for i := 0; ; i++ {
		if _, err := taker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.001").Price("10000.00").NewClientOrderID(fmt.Sprintf("mv-%d", i)).
			Do(ctx); err != nil {
			t.Fatalf("order %d during the planned move: %v", i, err)
		}
		p, err := e.m.Node("us-east").Plan(ctx, plan.Id)
		if err == nil && p.State == proto.PlanState_PLAN_STATE_SUCCEEDED {
			t.Logf("%d orders placed during the move", i+1)
			break
		}
		if i > 2000 {
			t.Fatalf("move not done: %v %v", p, err)
		}
	}
	e.m.AwaitOwner(sym, meshtest.HomeIs("eu-west"))

	// Failover: the new home dies.
	_ = e.gw["eu-west"].Close()
	e.m.Kill("eu-west")
	e.m.AwaitOwner(sym, meshtest.Not("eu-west"))

	// The acknowledged order, from a surviving region, by client order id.
	o, err := taker.NewGetOrderService().Symbol(sym).OrigClientOrderID("fo-1").Do(ctx)
	if err == nil {
		t.Fatalf("another account sees fo-1: %+v", o)
	}
	await(t, "fo-1 in ap-south", func() error {
		o, err := makerAP.NewGetOrderService().Symbol(sym).OrigClientOrderID("fo-1").Do(ctx)
		if err != nil {
			return err
		}
		if o.OrderID != sell.OrderID || o.Status != binance.OrderStatusTypeNew {
			return fmt.Errorf("order %+v", o)
		}
		return nil
	})

	// Trade against it once the new home accepts orders. A 5XX is retried with the same client
	// order id (it may have been placed); a definite rejection (market closed during the settle
	// window) with a new one.
	attempt := 0
	var buy *binance.CreateOrderResponse
	await(t, "a trade after the failover", func() error {
		var err error
		buy, err = taker.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
			Quantity("0.3").NewClientOrderID(fmt.Sprintf("fo-t-%d", attempt)).Do(ctx)
		if code := apiCode(err); code == -2010 {
			attempt++
		}
		return err
	})
	if buy.Status != binance.OrderStatusTypeFilled || buy.ExecutedQuantity != "0.30000000" || len(buy.Fills) != 1 {
		t.Fatalf("buy after failover: %+v", buy)
	}

	// Depth continuity in ap-south across the failover: the maker's level, then its reduction.
	prev := snap.LastUpdateID
	for seen := false; !seen; {
		ev := recv(t, depth, "depth update")
		if ev.FirstUpdateID != prev+1 {
			t.Fatalf("depth gap: U=%d after u=%d", ev.FirstUpdateID, prev)
		}
		prev = ev.LastUpdateID
		for _, a := range ev.Asks {
			seen = seen || (a.Price == "20000.00000000" && a.Quantity == "0.70000000")
		}
	}
}
