package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geomesh/geomesh/region"
)

// The demo's traffic (`regiond demo --traffic`): per symbol a market maker quoting a ladder
// around a drifting mid price and requoting one level at a time with cancelReplace, and a taker
// sending crossing IOC and MARKET orders now and then. Everything goes through the gateways'
// Binance REST API, signed like any client (HMAC-SHA256 of the form body), each request to the
// next region in turn, so it exercises the production path: gateway, command log, home matcher,
// event log, every region's replica.

const (
	// defaultTrafficRate is --traffic-rate's default: orders per second over the whole demo.
	defaultTrafficRate = 6
	// trafficMakerShare is the makers' share of the rate; the takers send the rest.
	trafficMakerShare = 0.8
	// trafficLevels is the number of price levels each maker quotes per side.
	trafficLevels = 3
	// trafficLevelStepBP is the distance between two levels, relative to the mid, in basis
	// points.
	trafficLevelStepBP = 10
	// trafficLevelNotional is the quote value of one maker order (in the quote asset).
	trafficLevelNotional = 250
	// trafficDrift is the standard deviation of the mid's relative move per requote.
	trafficDrift = 0.0004
	// trafficRequestTimeout bounds one REST request (the gateway answers an order within its
	// submit timeout, 10 s by default).
	trafficRequestTimeout = 15 * time.Second
	// trafficRecvWindow is the recvWindow the traffic signs its requests with (ms).
	trafficRecvWindow = 10000
)

// apiCredentials are an API key and its HMAC secret.
type apiCredentials struct {
	Key, Secret string
}

// trafficConfig configures the demo's traffic.
type trafficConfig struct {
	// Rate is the number of orders per second over the whole demo (every symbol, maker and
	// taker); it must be positive.
	Rate float64
	// Symbols to trade; each gets a maker and a taker.
	Symbols []region.SymbolConfig
	// URLs are the gateways' REST base URLs; the requests rotate over them.
	URLs []string
	// Makers holds one key per symbol (the makers' accounts), Taker the takers' key: separate
	// accounts, so takers trade against the makers and each stays within its order-rate limit.
	Makers []apiCredentials
	Taker  apiCredentials
	// Logger receives the traffic's warnings (rejected requests at debug level).
	Logger *slog.Logger
	// Seed makes the random walk reproducible; 0 picks one.
	Seed uint64
}

// runTag is a short random tag in every client order id of a traffic run, so a demo restarted
// on kept data never reuses an id within the gateway's dedupe window.
func runTag(seed uint64) string { return strconv.FormatUint(seed%(36*36*36*36), 36) }

// trafficStats count the traffic's requests by outcome.
type trafficStats struct {
	Orders   int64 // orders placed (new orders and the new half of a cancelReplace)
	Requotes int64 // successful cancelReplace requests
	Takers   int64 // taker orders accepted
	Rejected int64 // requests answered with a Binance error
	Failed   int64 // requests without an answer (transport error, timeout)
}

// traffic runs the demo's load until Close.
type traffic struct {
	cfg    trafficConfig
	hc     *http.Client
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
	next   atomic.Uint64 // request counter: picks the gateway

	orders, requotes, takers, rejected, failed atomic.Int64
	closeOnce                                  sync.Once
}

// startTraffic validates cfg and starts one maker and one taker goroutine per symbol. They
// run until ctx ends or Close.
func startTraffic(ctx context.Context, cfg trafficConfig) (*traffic, error) {
	switch {
	case cfg.Rate <= 0:
		return nil, fmt.Errorf("traffic rate %v: want a positive number of orders per second", cfg.Rate)
	case len(cfg.URLs) == 0:
		return nil, errors.New("traffic: no gateway")
	case len(cfg.Makers) != len(cfg.Symbols):
		return nil, fmt.Errorf("traffic: %d maker keys for %d symbols", len(cfg.Makers), len(cfg.Symbols))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	makers := make([]*maker, len(cfg.Symbols))
	for i, sc := range cfg.Symbols {
		m, err := newMaker(sc, cfg.Makers[i], runTag(cfg.Seed), rand.New(rand.NewPCG(cfg.Seed, uint64(2*i))))
		if err != nil {
			return nil, err
		}
		makers[i] = m
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &traffic{cfg: cfg, log: cfg.Logger, cancel: cancel,
		hc: &http.Client{Timeout: trafficRequestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	n := float64(len(cfg.Symbols))
	makerEvery := rateInterval(cfg.Rate * trafficMakerShare / n)
	takerEvery := rateInterval(cfg.Rate * (1 - trafficMakerShare) / n)
	for i, m := range makers {
		tk := &taker{t: t, sym: m.sym, tag: m.tag, minLots: m.minLots, lots: m.lots, formatQty: m.formatQty, key: cfg.Taker,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(2*i+1)))}
		t.wg.Go(func() { t.loop(ctx, makerEvery, func(ctx context.Context) { m.act(ctx, t) }) })
		t.wg.Go(func() { t.loop(ctx, takerEvery, tk.act) })
	}
	return t, nil
}

// rateInterval is the period of perSecond events per second.
func rateInterval(perSecond float64) time.Duration {
	return max(time.Millisecond, time.Duration(float64(time.Second)/perSecond))
}

// loop calls step every period until ctx ends.
func (t *traffic) loop(ctx context.Context, period time.Duration, step func(context.Context)) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			step(ctx)
		}
	}
}

// Stats returns the counts so far.
func (t *traffic) Stats() trafficStats {
	return trafficStats{Orders: t.orders.Load(), Requotes: t.requotes.Load(), Takers: t.takers.Load(),
		Rejected: t.rejected.Load(), Failed: t.failed.Load()}
}

// Close stops the traffic and waits for its requests in flight. Idempotent.
func (t *traffic) Close() {
	t.closeOnce.Do(func() {
		t.cancel()
		t.wg.Wait()
		t.hc.CloseIdleConnections()
	})
}

// restAnswer is a gateway's answer to one request.
type restAnswer struct {
	status int
	body   []byte
	code   int64 // the Binance error code of a non-200 answer
}

// ok reports a 200 answer.
func (a restAnswer) ok() bool { return a.status == http.StatusOK }

// unknown reports an answer that leaves the outcome unknown (5XX: the command may or may not
// have been appended), except 503 -1008, certainly not appended.
func (a restAnswer) unknown() bool { return a.status >= 500 && a.code != -1008 }

// gateway returns the next gateway's base URL: requests rotate over all regions.
func (t *traffic) gateway() string {
	return t.cfg.URLs[int(t.next.Add(1)%uint64(len(t.cfg.URLs)))]
}

// get sends an unsigned GET.
func (t *traffic) get(ctx context.Context, path string, params url.Values) (restAnswer, error) {
	return t.do(ctx, http.MethodGet, path+"?"+params.Encode(), "", "")
}

// signed sends a SIGNED request the way Binance clients do: the parameters plus timestamp and
// recvWindow form-encoded in the body, signature = hex HMAC-SHA256 of that body under the
// secret (gateway/sign.go's rule), the key in X-MBX-APIKEY.
func (t *traffic) signed(ctx context.Context, method, path string, k apiCredentials, params url.Values) (restAnswer, error) {
	body := signedBody(k.Secret, params, time.Now())
	return t.do(ctx, method, path, body, k.Key)
}

// signedBody is params with timestamp and recvWindow, then the signature appended last.
func signedBody(secret string, params url.Values, now time.Time) string {
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	p.Set("timestamp", strconv.FormatInt(now.UnixMilli(), 10))
	p.Set("recvWindow", strconv.Itoa(trafficRecvWindow))
	payload := p.Encode()
	return payload + "&signature=" + hmacHex(secret, payload)
}

// hmacHex is hex(HMAC-SHA256(secret, payload)), Binance's signature.
func hmacHex(secret, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

func (t *traffic) do(ctx context.Context, method, pathQuery, body, apiKey string) (restAnswer, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.gateway()+pathQuery, rd)
	if err != nil {
		return restAnswer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if apiKey != "" {
		req.Header.Set("X-MBX-APIKEY", apiKey)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			t.failed.Add(1)
			t.log.Warn("traffic_request_failed", slog.String("method", method), slog.String("path", pathOnly(pathQuery)),
				slog.Any("err", err))
		}
		return restAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() == nil {
			t.failed.Add(1)
		}
		return restAnswer{}, err
	}
	a := restAnswer{status: resp.StatusCode, body: b}
	if !a.ok() {
		var e struct {
			Code int64  `json:"code"`
			Msg  string `json:"msg"`
		}
		_ = json.Unmarshal(b, &e)
		a.code = e.Code
		t.rejected.Add(1)
		t.log.Debug("traffic_request_rejected", slog.String("method", method), slog.String("path", pathOnly(pathQuery)),
			slog.Int("status", a.status), slog.Int64("code", e.Code), slog.String("msg", e.Msg))
	}
	return a, nil
}

func pathOnly(pathQuery string) string {
	p, _, _ := strings.Cut(pathQuery, "?")
	return p
}

// maker quotes trafficLevels bids and asks around mid. Each step either (re)places one level
// or, after an answer that left an order's fate unknown, cancels all its open orders of the
// symbol and starts the ladder again, so no order is ever lost track of.
//
// Prices are in ticks and quantities in lots, as in the matcher; the symbol's spec formats them.
type maker struct {
	sym, tag string
	key      apiCredentials
	// start and mid are prices in ticks; lo and hi bound the mid's walk.
	start, mid, lo, hi     int64
	lots, minLots          int64
	formatPrice, formatQty func(int64) string
	rng                    *rand.Rand

	// ids[l] is the client order id of the last order placed at slot l (bids 0..levels-1,
	// then asks); "" when there is none.
	ids   [2 * trafficLevels]string
	slot  int
	seq   int
	dirty bool
}

func newMaker(sc region.SymbolConfig, key apiCredentials, tag string, rng *rand.Rand) (*maker, error) {
	spec, err := region.SpecOf(sc)
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	var f [6]float64
	for i, v := range []string{sc.TickSize, sc.StepSize, sc.MinQty, sc.MinNotional, sc.MinPrice, sc.MaxPrice} {
		if f[i], err = strconv.ParseFloat(v, 64); err != nil {
			return nil, fmt.Errorf("traffic: %s: %q: %w", sc.Symbol, v, err)
		}
	}
	tick, step, minQty, minNotional, minPrice, maxPrice := f[0], f[1], f[2], f[3], f[4], f[5]
	mid, ok := demoMids[sc.BaseAsset]
	if !ok {
		mid = 100
	}
	m := &maker{sym: sc.Symbol, tag: tag, key: key, rng: rng,
		formatPrice: spec.FormatPrice, formatQty: spec.FormatQty}
	m.start = int64(math.Round(mid / tick))
	m.mid = m.start
	m.lo = max(m.start/2, int64(math.Ceil(2*minPrice/tick)))
	m.hi = min(2*m.start, int64(math.Floor(maxPrice/2/tick)))
	if m.lo >= m.hi {
		return nil, fmt.Errorf("traffic: %s: price filter %s-%s leaves no room around %g", sc.Symbol, sc.MinPrice, sc.MaxPrice, mid)
	}
	m.minLots = max(1, int64(math.Ceil(minQty/step-1e-9)))
	m.lots = levelLots(mid, step, m.minLots, minNotional, trafficLevelNotional)
	return m, nil
}

// demoMids are starting mid prices by base asset; others start at 100.
var demoMids = map[string]float64{"BTC": 60000, "ETH": 3000, "SOL": 150}

// levelPrice is the price in ticks of level l (0 nearest the mid) on a side: bids below the mid
// rounded down, asks above it rounded up, trafficLevelStepBP apart.
func levelPrice(mid int64, l int, buy bool) int64 {
	off := int64(trafficLevelStepBP * (l + 1))
	if buy {
		return mid * (10000 - off) / 10000
	}
	return (mid*(10000+off) + 9999) / 10000
}

// levelLots is the number of lots worth about notional at price, at least minLots and enough
// for minNotional.
func levelLots(price, step float64, minLots int64, minNotional, notional float64) int64 {
	lots := max(minLots, int64(notional/(price*step)))
	for float64(lots)*step*price < minNotional {
		lots++
	}
	return lots
}

// drift moves the mid one random step, within [lo, hi].
func (m *maker) drift() {
	mid := int64(math.Round(float64(m.mid) * (1 + m.rng.NormFloat64()*trafficDrift)))
	m.mid = min(m.hi, max(m.lo, mid))
}

// nextID is a fresh client order id: ids are never reused, since the gateway dedupes orders by
// account and client order id.
func (m *maker) nextID() string {
	m.seq++
	return fmt.Sprintf("mm-%s-%s-%d", m.tag, strings.ToLower(m.sym), m.seq)
}

// act does one request: the reset after an unknown outcome, else (re)places the next slot.
func (m *maker) act(ctx context.Context, t *traffic) {
	if m.dirty {
		a, err := t.signed(ctx, http.MethodDelete, "/api/v3/openOrders", m.key, url.Values{"symbol": {m.sym}})
		if err != nil || a.unknown() {
			return
		}
		// Canceled, or nothing was open (-2011): either way no order of the ladder rests.
		m.ids = [2 * trafficLevels]string{}
		m.dirty = false
		return
	}
	m.drift()
	l := m.slot
	m.slot = (m.slot + 1) % len(m.ids)
	buy := l < trafficLevels
	side := "SELL"
	if buy {
		side = "BUY"
	}
	id := m.nextID()
	p := url.Values{"symbol": {m.sym}, "side": {side}, "type": {"LIMIT"}, "timeInForce": {"GTC"},
		"price": {m.formatPrice(levelPrice(m.mid, l%trafficLevels, buy))}, "quantity": {m.formatQty(m.lots)},
		"newClientOrderId": {id}, "newOrderRespType": {"ACK"}}
	if m.ids[l] == "" {
		a, err := t.signed(ctx, http.MethodPost, "/api/v3/order", m.key, p)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil || a.unknown():
			m.dirty = true
		case a.ok():
			t.orders.Add(1)
			m.ids[l] = id
		}
		return
	}
	// Requote: cancel the slot's order and place the new one in one command. ALLOW_FAILURE
	// places the new order even when the old one was filled meanwhile.
	p.Set("cancelReplaceMode", "ALLOW_FAILURE")
	p.Set("cancelOrigClientOrderId", m.ids[l])
	a, err := t.signed(ctx, http.MethodPost, "/api/v3/order/cancelReplace", m.key, p)
	switch {
	case err != nil && ctx.Err() != nil:
	case err != nil || a.unknown():
		m.dirty = true
	case a.ok():
		t.orders.Add(1)
		t.requotes.Add(1)
		m.ids[l] = id
	case a.status == http.StatusConflict && newOrderPlaced(a.body):
		// The old order had been filled or canceled: the new one rests.
		t.orders.Add(1)
		m.ids[l] = id
	default:
		// Neither half succeeded (e.g. CANCEL_ONLY during a failover, or the old order is gone
		// and the new one was refused): the slot is empty or holds the old order; reset.
		m.dirty = true
	}
}

// newOrderPlaced reports whether a cancelReplace error's data says the new order was placed.
func newOrderPlaced(body []byte) bool {
	var e struct {
		Data struct {
			NewOrderResult string `json:"newOrderResult"`
		} `json:"data"`
	}
	return json.Unmarshal(body, &e) == nil && e.Data.NewOrderResult == "SUCCESS"
}

// taker crosses the book now and then: it reads the best bid and ask from a gateway and sends
// a MARKET order or a LIMIT IOC at the opposite best price, for about one maker level.
type taker struct {
	t             *traffic
	sym, tag      string
	key           apiCredentials
	lots, minLots int64
	formatQty     func(int64) string
	rng           *rand.Rand
	seq           int
}

func (tk *taker) act(ctx context.Context) {
	a, err := tk.t.get(ctx, "/api/v3/ticker/bookTicker", url.Values{"symbol": {tk.sym}})
	if err != nil || !a.ok() {
		return
	}
	var bt struct {
		BidPrice string `json:"bidPrice"`
		AskPrice string `json:"askPrice"`
	}
	if json.Unmarshal(a.body, &bt) != nil {
		return
	}
	buy := tk.rng.IntN(2) == 0
	price, side := bt.AskPrice, "BUY"
	if !buy {
		price, side = bt.BidPrice, "SELL"
	}
	if f, err := strconv.ParseFloat(price, 64); err != nil || f <= 0 {
		return // that side of the book is empty
	}
	lots := max(tk.minLots, int64(float64(tk.lots)*(0.3+tk.rng.Float64())))
	tk.seq++
	p := url.Values{"symbol": {tk.sym}, "side": {side}, "quantity": {tk.formatQty(lots)},
		"newClientOrderId": {fmt.Sprintf("tk-%s-%s-%d", tk.tag, strings.ToLower(tk.sym), tk.seq)}, "newOrderRespType": {"ACK"}}
	if tk.rng.IntN(2) == 0 {
		p.Set("type", "MARKET")
	} else {
		p.Set("type", "LIMIT")
		p.Set("timeInForce", "IOC")
		p.Set("price", price)
	}
	if a, err := tk.t.signed(ctx, http.MethodPost, "/api/v3/order", tk.key, p); err == nil && a.ok() {
		tk.t.takers.Add(1)
		tk.t.orders.Add(1)
	}
}
