package chaos

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Record is one finished client request, the journal line of the load driver. The shape is
// cmd/meshload's ({"ts","region","op","symbol","clientOrderId","orderId","result","code",
// "latency_us"}), plus the account, so a journal identifies each request's dedupe id by itself.
type Record struct {
	TS            time.Time `json:"ts"`
	Region        string    `json:"region"` // the region that gave the final answer ("" if none)
	Op            string    `json:"op"`     // place, cancel, replace
	Symbol        string    `json:"symbol"`
	ClientOrderID string    `json:"clientOrderId"` // newClientOrderId of the request
	OrderID       int64     `json:"orderId,omitempty"`
	Result        string    `json:"result"` // ack, rejected, unknown, failed
	Code          int       `json:"code,omitempty"`
	LatencyUS     int64     `json:"latency_us"` // first send to final answer, retries included
	Account       uint64    `json:"account"`
	Attempts      int       `json:"attempts"`
}

// Results of a request.
const (
	ResultAck      = "ack"      // a definite success answer
	ResultRejected = "rejected" // a definite error answer (4xx with a Binance code)
	ResultUnknown  = "unknown"  // sent, maybe executed, no definite answer before the deadline
	ResultFailed   = "failed"   // never got through to any region before the deadline
)

// Ops.
const (
	OpPlace   = "place"
	OpCancel  = "cancel"
	OpReplace = "replace"
)

// DedupeID is the mesh's request id of a journal record (gateway: account + newClientOrderId in
// a namespace per operation).
func (r Record) DedupeID() string {
	prefix := map[string]string{OpPlace: "o", OpCancel: "c", OpReplace: "r"}[r.Op]
	return prefix + ":" + strconv.FormatUint(r.Account, 10) + ":" + r.ClientOrderID
}

// Key is an API key of one account (a bootstrap key of the generated configs).
type Key struct {
	Account        uint64
	APIKey, Secret string
}

// Gateway is one region's client API.
type Gateway struct {
	Region string
	URL    string // http://host:port
}

// LoadConfig configures a Driver.
type LoadConfig struct {
	Gateways []Gateway
	Keys     []Key    // one worker per key
	Symbols  []string // traded at prices around 100.00 with quantity 0.1
	Rate     float64  // requests per second over all workers
	// SourceIPs, when set, are local addresses the workers bind, round robin (per-IP limits).
	SourceIPs []string
	// Deadline bounds one request with its retries (default 60 s): past it the request is
	// unknown or failed.
	Deadline time.Duration
	// Seed seeds the workers' choices.
	Seed uint64
	// Journal, when set, receives every record as a JSON line.
	Journal io.Writer
}

// Driver sends signed Binance REST orders (place, cancel, cancel-replace) to every region at a
// steady rate, with the retry policy of a careful client: a connection error, a timeout or a 503
// that says "not executed" resends the same request (same newClientOrderId, so the mesh dedupes)
// to another region; -1007 (outcome unknown) is resolved with GET /api/v3/order?origClientOrderId
// and, when the order is not found, by resending the same request.
type Driver struct {
	cfg    LoadConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// pmu guards paused and inflight; idle is signalled when inflight drops.
	pmu      sync.Mutex
	idle     *sync.Cond
	paused   bool
	inflight int

	health []regionHealth

	mu      sync.Mutex
	records []Record
	accepts map[string][]time.Time // symbol -> times new orders were accepted
	journal *json.Encoder
}

// regionHealth lets workers avoid a region that just failed or has a request hanging.
type regionHealth struct {
	badUntil atomic.Int64 // unix nanos
	oldest   sync.Map     // request key -> start unix nanos of requests in flight
}

// NewDriver starts the workers. cfg needs gateways, keys, symbols and a positive rate.
func NewDriver(cfg LoadConfig) *Driver {
	if len(cfg.Gateways) == 0 || len(cfg.Keys) == 0 || len(cfg.Symbols) == 0 || cfg.Rate <= 0 {
		panic(fmt.Sprintf("chaos: NewDriver needs gateways (%d), keys (%d), symbols (%d) and a rate (%v)",
			len(cfg.Gateways), len(cfg.Keys), len(cfg.Symbols), cfg.Rate))
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = 60 * time.Second
	}
	d := &Driver{cfg: cfg, health: make([]regionHealth, len(cfg.Gateways)), accepts: map[string][]time.Time{}}
	if cfg.Journal != nil {
		d.journal = json.NewEncoder(cfg.Journal)
	}
	d.idle = sync.NewCond(&d.pmu)
	d.ctx, d.cancel = context.WithCancel(context.Background())
	per := cfg.Rate / float64(len(cfg.Keys))
	for i, k := range cfg.Keys {
		w := &worker{d: d, key: k, id: i, every: time.Duration(float64(time.Second) / per),
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), open: map[string][]string{}}
		var local net.Addr
		if len(cfg.SourceIPs) > 0 {
			local = &net.TCPAddr{IP: net.ParseIP(cfg.SourceIPs[i%len(cfg.SourceIPs)])}
		}
		tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second, LocalAddr: local}).DialContext,
			MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}
		w.hc = &http.Client{Transport: tr, Timeout: 14 * time.Second}
		d.wg.Go(w.run)
	}
	return d
}

// Pause stops new requests and waits until every request in flight (with its retries) is done.
func (d *Driver) Pause() {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	d.paused = true
	for d.inflight > 0 {
		d.idle.Wait()
	}
}

// Resume lets the workers send again.
func (d *Driver) Resume() {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	d.paused = false
}

// begin registers a request about to be sent, unless the driver is paused.
func (d *Driver) begin() bool {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	if d.paused {
		return false
	}
	d.inflight++
	return true
}

func (d *Driver) end() {
	d.pmu.Lock()
	defer d.pmu.Unlock()
	d.inflight--
	d.idle.Broadcast()
}

// Stop ends the workers, waiting for requests in flight.
func (d *Driver) Stop() {
	d.cancel()
	d.wg.Wait()
}

// Records returns a copy of the journal so far.
func (d *Driver) Records() []Record {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.records)
}

// Accepts returns, per symbol, the sorted times new orders were accepted (places and the new
// orders of cancel-replaces), the client's view of "the symbol trades".
func (d *Driver) Accepts() map[string][]time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string][]time.Time{}
	for s, ts := range d.accepts {
		c := slices.Clone(ts)
		slices.SortFunc(c, time.Time.Compare)
		out[s] = c
	}
	return out
}

func (d *Driver) record(r Record, accepted bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.records = append(d.records, r)
	if accepted {
		d.accepts[r.Symbol] = append(d.accepts[r.Symbol], r.TS)
	}
	if d.journal != nil {
		_ = d.journal.Encode(r)
	}
}

type worker struct {
	d     *Driver
	key   Key
	id    int
	every time.Duration
	rng   *rand.Rand
	hc    *http.Client
	n     int
	next  int                 // round-robin region cursor
	open  map[string][]string // symbol -> client ids of orders this worker placed, oldest first
}

func (w *worker) run() {
	// Spread the workers' first ticks over one period.
	t := time.NewTimer(time.Duration(w.rng.Int64N(int64(w.every) + 1)))
	defer t.Stop()
	for {
		select {
		case <-w.d.ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(w.every)
		if !w.d.begin() {
			continue
		}
		w.one()
		w.d.end()
	}
}

// one sends one request: a place while the worker has few open orders on the symbol, else a
// place, a cancel of its oldest order or a cancel-replace of it.
func (w *worker) one() {
	sym := w.d.cfg.Symbols[w.rng.IntN(len(w.d.cfg.Symbols))]
	w.n++
	cid := fmt.Sprintf("k%d.%d-%d", w.key.Account, w.id, w.n) // unique when workers share a key
	open := w.open[sym]
	op := OpPlace
	if len(open) >= 4 {
		switch x := w.rng.IntN(4); {
		case x == 0 || len(open) > 12:
			op = OpCancel
		case x == 1:
			op = OpReplace
		}
	}
	side := "BUY"
	if w.rng.IntN(2) == 1 {
		side = "SELL"
	}
	price := fmt.Sprintf("%d.%02d", 100, 50+w.rng.IntN(11)-5) // 100.45 .. 100.55: most cross
	v := url.Values{}
	v.Set("symbol", sym)
	path, method := "/api/v3/order", http.MethodPost
	switch op {
	case OpPlace, OpReplace:
		v.Set("side", side)
		v.Set("type", "LIMIT")
		v.Set("timeInForce", "GTC")
		v.Set("quantity", "0.1")
		v.Set("price", price)
		v.Set("newClientOrderId", cid)
		v.Set("newOrderRespType", "RESULT")
		if op == OpReplace {
			path = "/api/v3/order/cancelReplace"
			v.Set("cancelReplaceMode", "ALLOW_FAILURE")
			v.Set("cancelOrigClientOrderId", open[0])
			v.Set("cancelNewClientOrderId", cid+"c")
		}
	case OpCancel:
		method = http.MethodDelete
		v.Set("origClientOrderId", open[0])
		v.Set("newClientOrderId", cid)
	}
	rec, accepted := w.send(op, sym, cid, method, path, v)
	w.d.record(rec, accepted)
	switch {
	case op == OpCancel && rec.Result != ResultUnknown && rec.Result != ResultFailed:
		w.open[sym] = open[1:]
	case op == OpReplace && rec.Result != ResultUnknown && rec.Result != ResultFailed:
		w.open[sym] = open[1:]
		if accepted {
			w.open[sym] = append(w.open[sym], cid)
		}
	case op == OpPlace && accepted:
		w.open[sym] = append(open, cid)
	}
}

// answer is one HTTP exchange's outcome.
type answer struct {
	status int
	code   int
	body   []byte
	err    error // transport error or timeout
}

// send runs the retry policy until a definite answer or the deadline.
func (w *worker) send(op, sym, cid, method, path string, v url.Values) (Record, bool) {
	start := time.Now()
	rec := Record{Op: op, Symbol: sym, ClientOrderID: cid, Account: w.key.Account}
	deadline := start.Add(w.d.cfg.Deadline)
	maybeSent := false // a request may have reached a matcher: failure would be "unknown"
	last := -1
	finish := func(result string, region string, a answer) (Record, bool) {
		rec.TS, rec.Result, rec.Region, rec.Code = time.Now(), result, region, a.code
		rec.LatencyUS = time.Since(start).Microseconds()
		accepted := false
		if result == ResultAck {
			rec.OrderID, accepted = acceptedOrder(op, a.body)
		}
		return rec, accepted
	}
	resolved := func(region string, body []byte) (Record, bool) {
		// The new order exists: the place or cancel-replace was executed and accepted.
		rec, _ := finish(ResultAck, region, answer{})
		rec.OrderID, _ = acceptedOrder(OpPlace, body)
		return rec, true
	}
	var a answer
	for time.Now().Before(deadline) {
		i := w.pick(last)
		last = i
		rec.Attempts++
		g := w.d.cfg.Gateways[i]
		a = w.do(i, method, path, v)
		switch {
		case a.err != nil:
			// Connection refused before anything was sent is certainly not executed; any other
			// transport error may have been.
			if !isRefused(a.err) {
				maybeSent = true
			}
			w.d.health[i].badUntil.Store(time.Now().Add(2 * time.Second).UnixNano())
		case a.status == http.StatusOK || a.status == http.StatusConflict:
			return finish(ResultAck, g.Region, a)
		case a.status == http.StatusServiceUnavailable && a.code == -1008:
			// Busy / no quorum: certainly not appended; another region.
			w.d.health[i].badUntil.Store(time.Now().Add(time.Second).UnixNano())
		case a.status == http.StatusTooManyRequests || a.status == http.StatusTeapot:
			w.sleep(time.Second)
		case a.status >= 500:
			// -1007 timeout, -1016 shutting down, -1000: outcome unknown. Resolve.
			maybeSent = true
			if op != OpCancel {
				if r, ok := w.resolve(i, sym, cid); ok {
					return resolved(g.Region, r)
				}
			}
		case a.status >= 400 && a.code != 0:
			return finish(ResultRejected, g.Region, a)
		default:
			maybeSent = true
		}
		w.sleep(50 * time.Millisecond)
	}
	if maybeSent {
		return finish(ResultUnknown, "", a)
	}
	return finish(ResultFailed, "", a)
}

// resolve asks region i (then the others) for the order with client id cid: found means the
// request was executed.
func (w *worker) resolve(i int, sym, cid string) ([]byte, bool) {
	q := url.Values{}
	q.Set("symbol", sym)
	q.Set("origClientOrderId", cid)
	for k := range w.d.cfg.Gateways {
		j := (i + k) % len(w.d.cfg.Gateways)
		a := w.do(j, http.MethodGet, "/api/v3/order", q)
		if a.err == nil && a.status == http.StatusOK {
			return a.body, true
		}
		if a.err == nil && a.code == -2013 {
			return nil, false // not there (yet): resend the same request
		}
	}
	return nil, false
}

// pick chooses the next region round robin, skipping the one just tried and regions that failed
// lately or have a request hanging for over a second, unless none is left.
func (w *worker) pick(last int) int {
	n := len(w.d.cfg.Gateways)
	now := time.Now().UnixNano()
	for k := range n {
		i := (w.next + k) % n
		if i == last && n > 1 || !w.d.healthy(i, now) {
			continue
		}
		w.next = i + 1
		return i
	}
	w.next++
	i := w.next % n
	if i == last && n > 1 {
		i = (i + 1) % n
	}
	return i
}

func (d *Driver) healthy(i int, now int64) bool {
	h := &d.health[i]
	if h.badUntil.Load() > now {
		return false
	}
	ok := true
	h.oldest.Range(func(_, v any) bool {
		if now-v.(int64) > int64(time.Second) {
			ok = false
		}
		return ok
	})
	return ok
}

func (w *worker) sleep(d time.Duration) {
	select {
	case <-w.d.ctx.Done():
	case <-time.After(d):
	}
}

// do sends one signed request to region i: parameters in the query (GET) or the form body,
// timestamp and signature last in the query, HMAC over raw query + raw body.
func (w *worker) do(i int, method, path string, v url.Values) answer {
	g := w.d.cfg.Gateways[i]
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	var query, body string
	if method == http.MethodGet {
		query = v.Encode() + "&recvWindow=60000&timestamp=" + ts
	} else {
		body = v.Encode()
		query = "recvWindow=60000&timestamp=" + ts
	}
	query += "&signature=" + Sign(w.key.Secret, query+body)
	req, err := http.NewRequestWithContext(w.d.ctx, method, g.URL+path+"?"+query, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("X-MBX-APIKEY", w.key.APIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	k := new(byte)
	w.d.health[i].oldest.Store(k, time.Now().UnixNano())
	defer w.d.health[i].oldest.Delete(k)
	resp, err := w.hc.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{err: err}
	}
	a := answer{status: resp.StatusCode, body: b}
	if resp.StatusCode >= 400 {
		var e struct {
			Code int `json:"code"`
		}
		_ = json.Unmarshal(b, &e)
		a.code = e.Code
	}
	return a
}

// Lookup asks gateway i for the order with client id cid of rec's account (GET /api/v3/order
// ?origClientOrderId) and returns the HTTP status and Binance code (-2013: no such order).
func (d *Driver) Lookup(i int, account uint64, symbol, cid string) (status, code int, err error) {
	for k := range d.cfg.Keys {
		if d.cfg.Keys[k].Account != account {
			continue
		}
		w := &worker{d: d, key: d.cfg.Keys[k], hc: &http.Client{Timeout: 10 * time.Second}}
		q := url.Values{}
		q.Set("symbol", symbol)
		q.Set("origClientOrderId", cid)
		a := w.do(i, http.MethodGet, "/api/v3/order", q)
		return a.status, a.code, a.err
	}
	return 0, 0, fmt.Errorf("no key of account %d", account)
}

// Sign is hex(HMAC-SHA256(secret, payload)), Binance's SIGNED-endpoint signature.
func Sign(secret, payload string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

// acceptedOrder reads the order id of an acknowledged answer and whether a new order was
// accepted (a place, or the new order of a cancel-replace that succeeded).
func acceptedOrder(op string, body []byte) (int64, bool) {
	var r struct {
		OrderID          int64  `json:"orderId"`
		Status           string `json:"status"`
		NewOrderResult   string `json:"newOrderResult"`
		NewOrderResponse *struct {
			OrderID int64 `json:"orderId"`
		} `json:"newOrderResponse"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, false
	}
	switch op {
	case OpPlace:
		return r.OrderID, r.OrderID != 0
	case OpReplace:
		if r.NewOrderResult == "SUCCESS" && r.NewOrderResponse != nil {
			return r.NewOrderResponse.OrderID, true
		}
		return 0, false
	default:
		return r.OrderID, false
	}
}

// isRefused reports a connection refused (nothing was sent).
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
