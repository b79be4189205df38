package compose

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Deadlines: generous, for a loaded 2-core machine. Failover after a partition waits for
// gossip (LAN timings, ~10 s) and for the JetStream meta layer to see the region's server
// offline: nats-server pings a route at most every 30 s and drops it after 2 unanswered pings,
// so a region whose packets are dropped (not refused) is re-homed only after 60-100 s.
const (
	readyTimeout    = 90 * time.Second
	orderTimeout    = 30 * time.Second
	failoverTimeout = 180 * time.Second
	healTimeout     = 60 * time.Second
)

// order is the part of a Binance order answer the test reads.
type order struct {
	Symbol        string `json:"symbol"`
	OrderID       int64  `json:"orderId"`
	ClientOrderID string `json:"clientOrderId"`
	Status        string `json:"status"`
	Price         string `json:"price"`
	OrigQty       string `json:"origQty"`
}

// TestComposeMesh runs deploy/compose.yaml as a user would: build the image, `compose up`,
// wait until the three gateways serve, place an order through one region's REST API for a
// symbol homed in a second region and read it back from the third; then cut the home region
// off the shared network, wait until its symbol is re-homed (admin API and exchangeInfo of the
// surviving regions), check the order survived and the symbol trades again, heal, and check the
// healed region agrees. It logs the image build time, the cold start and the failover time.
func TestComposeMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three containers and partitions one (about 2-3 minutes)")
	}
	total := time.Now()
	d := Up(t, Options{})
	t.Logf("project %s, image %s (build %v)", d.Project(), d.Image(), d.Built.Round(time.Millisecond))

	// Cold start: every gateway serves and every symbol is placed, as each region sees it.
	var homes map[string]Symbol
	for _, r := range Regions {
		Await(t, readyTimeout, r+" ready", func() error { return d.Ready(r) })
	}
	for _, r := range Regions {
		Await(t, readyTimeout, r+" sees every symbol placed", func() error {
			syms, err := d.Symbols(r)
			if err != nil {
				return err
			}
			if len(syms) != 3 {
				return fmt.Errorf("%d symbols: %v", len(syms), syms)
			}
			for _, s := range syms {
				if s.Home == "" || s.Phase != "PHASE_TRADING" {
					return fmt.Errorf("%s: home %q phase %s", s.Symbol, s.Home, s.Phase)
				}
			}
			homes = syms
			return nil
		})
	}
	coldStart := time.Since(d.StartedAt)
	t.Logf("cold start: compose up to three gateways ready and all symbols trading: %v", coldStart.Round(time.Millisecond))

	// The configs make each region the first choice of one symbol; take SOLUSDT (settle then
	// trade: open orders survive a failover) and place it through another region.
	const symbol = "SOLUSDT"
	home := homes[symbol].Home
	if home == "" {
		t.Fatalf("no home for %s: %v", symbol, homes)
	}
	var via, third string
	for _, r := range Regions {
		switch {
		case r == home:
		case via == "":
			via = r
		default:
			third = r
		}
	}
	cid := fmt.Sprintf("compose-%d", time.Now().UnixNano())
	placed := place(t, d, via, url.Values{"symbol": {symbol}, "side": {"BUY"}, "type": {"LIMIT"},
		"timeInForce": {"GTC"}, "quantity": {"1.000"}, "price": {"20.00"}, "newClientOrderId": {cid}})
	readBack := func(r string) order {
		t.Helper()
		var got order
		Await(t, orderTimeout, "read the order back from "+r, func() error {
			return d.Signed(r, "GET", "/api/v3/order", url.Values{"symbol": {symbol}, "origClientOrderId": {cid}}, &got)
		})
		return got
	}
	if got := readBack(third); got.OrderID != placed.OrderID || got.Status != "NEW" {
		t.Fatalf("%s reads %+v, want the order %+v placed through %s (homed in %s)", third, got, placed, via, home)
	}
	t.Logf("order %d for %s (home %s) placed through %s, read back from %s", placed.OrderID, symbol, home, via, third)

	// Partition the home region away. Its symbol moves to its next live preference.
	start := time.Now()
	d.Partition(home)
	var newHome string
	failover := Await(t, failoverTimeout, symbol+" re-homed away from "+home, func() error {
		for _, r := range []string{via, third} {
			syms, err := d.Symbols(r)
			if err != nil {
				return err
			}
			if s := syms[symbol]; s.Home == home || s.Home == "" {
				return fmt.Errorf("%s sees %s at %q (%s)", r, symbol, s.Home, s.Phase)
			} else if newHome == "" || newHome == s.Home {
				newHome = s.Home
			} else {
				return fmt.Errorf("%s sees %s at %s, another region at %s", r, symbol, s.Home, newHome)
			}
		}
		return nil
	})
	t.Logf("failover: %s partitioned away, %s homed in %s after %v", home, symbol, newHome, failover.Round(time.Millisecond))
	if !slices.Contains(Regions, newHome) || newHome == home {
		t.Fatalf("new home %q", newHome)
	}
	// The partitioned region still serves its clients (its own network is up) but, in the
	// minority, cannot append: an order through it is refused, never acknowledged.
	var minority order
	err := d.Signed(home, "POST", "/api/v3/order", url.Values{
		"symbol": {symbol}, "side": {"BUY"}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"quantity": {"1.000"}, "price": {"21.00"}, "newClientOrderId": {cid + "-minority"}}, &minority)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code >= 0 {
		t.Fatalf("order through the partitioned %s: %+v, %v; want a Binance error", home, minority, err)
	}
	t.Logf("order through the partitioned %s refused: %v", home, apiErr)

	// exchangeInfo of the survivors: CANCEL_ONLY during the settle window (5 s), then TRADING.
	Await(t, healTimeout, symbol+" TRADING again in exchangeInfo", func() error {
		for _, r := range []string{via, third} {
			st, err := d.ExchangeStatus(r, symbol)
			if err != nil {
				return err
			}
			if st != "TRADING" {
				return fmt.Errorf("%s: exchangeInfo status %s", r, st)
			}
		}
		return nil
	})
	t.Logf("%s TRADING on the survivors %v after the partition", symbol, (time.Since(start)).Round(time.Millisecond))

	// No acknowledged order is lost: the resting order is still there, on both survivors, and
	// the symbol takes new orders at its new home.
	for _, r := range []string{via, third} {
		if got := readBack(r); got.OrderID != placed.OrderID || got.Status != "NEW" {
			t.Fatalf("after failover %s reads %+v, want order %d NEW", r, got, placed.OrderID)
		}
	}
	second := place(t, d, third, url.Values{"symbol": {symbol}, "side": {"SELL"}, "type": {"LIMIT"},
		"timeInForce": {"GTC"}, "quantity": {"0.500"}, "price": {"30.00"}, "newClientOrderId": {cid + "-2"}})
	if second.OrderID <= placed.OrderID {
		t.Fatalf("second order %+v: want an id after %d (ids never go backwards)", second, placed.OrderID)
	}

	// Heal: the region rejoins, and sees the mesh as the others do.
	d.Heal(home)
	healed := Await(t, healTimeout, home+" back in the mesh", func() error {
		for _, r := range Regions {
			states, err := d.RegionStates(r)
			if err != nil {
				return err
			}
			for _, x := range Regions {
				if states[x] != "up" {
					return fmt.Errorf("%s sees %s %q", r, x, states[x])
				}
			}
		}
		syms, err := d.Symbols(home)
		if err != nil {
			return err
		}
		if s := syms[symbol]; s.Home != newHome {
			return fmt.Errorf("%s sees %s at %s, the others at %s", home, symbol, s.Home, newHome)
		}
		return nil
	})
	t.Logf("heal: %s rejoined and agrees after %v", home, healed.Round(time.Millisecond))
	var back order
	Await(t, orderTimeout, "read the orders from the healed "+home, func() error {
		if err := d.Signed(home, "GET", "/api/v3/order", url.Values{"symbol": {symbol},
			"orderId": {strconv.FormatInt(second.OrderID, 10)}}, &back); err != nil {
			return err
		}
		if back.Status != "NEW" {
			return errors.New("status " + back.Status)
		}
		return nil
	})
	t.Logf("total (build, start, order, failover, heal): %v", time.Since(total).Round(time.Second))
}

// place places an order through region r as a careful Binance client does: when the answer is
// an error, it asks for the order by its client order id (the request may have been appended
// before the error) and sends it again only if the order does not exist.
func place(t *testing.T, d *Deployment, r string, params url.Values) order {
	t.Helper()
	params.Set("newOrderRespType", "RESULT")
	var o order
	Await(t, orderTimeout, "place "+params.Get("symbol")+" through "+r, func() error {
		err := d.Signed(r, "POST", "/api/v3/order", params, &o)
		if err == nil {
			return nil
		}
		if d.Signed(r, "GET", "/api/v3/order", url.Values{"symbol": {params.Get("symbol")},
			"origClientOrderId": {params.Get("newClientOrderId")}}, &o) == nil {
			return nil
		}
		return err
	})
	if o.Status != "NEW" || o.ClientOrderID != params.Get("newClientOrderId") || o.OrderID == 0 {
		t.Fatalf("placed through %s: %+v, want a NEW order %s", r, o, params.Get("newClientOrderId"))
	}
	return o
}
