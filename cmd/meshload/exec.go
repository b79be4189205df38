package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/geomesh/geomesh/region/client"
)

// account is an API key of one account (--keys lines: account,key,secret).
type account struct {
	id     uint64
	key    string
	secret []byte
}

// request is one scheduled place, cancel or replace, kept whole so a retry resends exactly the
// same parameters (a fresh timestamp and signature only).
type request struct {
	kind     opKind
	sym      *symState
	acct     int // index into loader.accounts
	ws       bool
	resp     string // newOrderRespType of places and replaces
	params   []param
	cid      string // the request's newClientOrderId (journal clientOrderId)
	origCID  string // cancel and replace: the order canceled
	order    resting
	attempts int
	due      time.Time
	target   int // first target tried
	measured bool
}

// statOp is the request's operation in the report.
func (r *request) statOp() string {
	if r.kind == opPlace || r.kind == opCross {
		return "place/" + r.resp
	}
	return r.kind.opName()
}

func (r *request) transport() string {
	if r.ws {
		return "ws"
	}
	return "rest"
}

// outcome is a request's final state.
type outcome struct {
	result   string
	code     int
	orderID  int64
	region   string
	attempts int // sends of the request (queries not counted)
}

// classification of one attempt's answer.
type verdict int

const (
	vAck      verdict = iota // executed
	vRejected                // a definite Binance error
	vResend                  // certainly not executed here: try another region
	vUnknown                 // maybe executed: find out by querying
)

// classify reads one answer. 503 with -1008 (busy, not forwarded) or -1016 (shutting down),
// or without a Binance body (a draining front), means not executed; -1007 and other 5XX mean
// the outcome is unknown (Binance: "5XX = execution status UNKNOWN").
func classify(a answer) verdict {
	switch {
	case a.err != nil:
		return vResend
	case a.status == http.StatusOK:
		return vAck
	case a.status == http.StatusServiceUnavailable && (a.code == -1008 || a.code == -1016 || a.code == 0):
		return vResend
	case a.status >= 500 || a.code == -1007:
		return vUnknown
	default:
		return vRejected
	}
}

// attempt sends r once to t.
func (l *loader) attempt(ctx context.Context, t *target, r *request) answer {
	a := &l.accounts[r.acct]
	ts := time.Now().UnixMilli()
	if r.ws {
		method := "order.place"
		if r.kind == opCancel {
			method = "order.cancel"
		}
		return t.call(ctx, method, wsParams(a.key, a.secret, r.params, ts, l.opts.recvWindow))
	}
	body := restBody(a.secret, r.params, ts, l.opts.recvWindow)
	switch r.kind {
	case opCancel:
		return t.rest(ctx, http.MethodDelete, "/api/v3/order", body, a.key)
	case opReplace:
		return t.rest(ctx, http.MethodPost, "/api/v3/order/cancelReplace", body, a.key)
	default:
		return t.rest(ctx, http.MethodPost, "/api/v3/order", body, a.key)
	}
}

// next is the index of the next target after i that is not marked down (i+1 when all are).
func (l *loader) next(i int, now time.Time) int {
	for k := 1; k <= len(l.targets); k++ {
		j := (i + k) % len(l.targets)
		if !l.targets[j].down(now) {
			return j
		}
	}
	return (i + 1) % len(l.targets)
}

// targetDownFor is how long new requests avoid a target after a connection error.
const targetDownFor = 500 * time.Millisecond

// execute runs r to a final outcome: resending to the next region when an attempt certainly
// did not execute, resolving an unknown outcome by querying, until --request-timeout.
func (l *loader) execute(ctx context.Context, r *request) outcome {
	out := l.run(ctx, r)
	out.attempts = r.attempts
	return out
}

// run is execute without the attempt count.
func (l *loader) run(ctx context.Context, r *request) outcome {
	deadline := time.Now().Add(l.opts.requestTimeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ti := r.target
	answered := false
	lastCode := 0
	for tries := 0; ; tries++ {
		t := l.targets[ti]
		r.attempts++
		a := l.attempt(ctx, t, r)
		switch classify(a) {
		case vAck:
			return outcome{result: resultAck, orderID: a.orderID, region: t.region}
		case vRejected:
			return outcome{result: resultRejected, code: a.code, orderID: a.orderID, region: t.region}
		case vUnknown:
			if !l.opts.retry {
				return outcome{result: resultUnknown, code: a.code, region: t.region}
			}
			l.stats.resolves.Add(1)
			return l.resolve(ctx, r, ti, a.code)
		}
		// vResend
		if a.err != nil {
			t.markDown(time.Now(), targetDownFor)
		} else {
			answered, lastCode = true, a.code
		}
		if !l.opts.retry || ctx.Err() != nil {
			l.log.Debug("request_gave_up", "op", r.kind.opName(), "client_order_id", r.cid, "err", a.err, "code", a.code, "tries", tries+1)
			if answered {
				return outcome{result: resultUnknown, code: lastCode, region: t.region}
			}
			return outcome{result: resultFailed, region: l.targets[r.target].region}
		}
		l.stats.resends.Add(1)
		ti = l.next(ti, time.Now())
		if (tries+1)%len(l.targets) == 0 { // every region refused: back off a little
			if !sleepCtx(ctx, backoff(tries/len(l.targets))) {
				l.log.Debug("request_gave_up", "op", r.kind.opName(), "client_order_id", r.cid, "err", a.err, "code", a.code, "tries", tries+1)
				if answered {
					return outcome{result: resultUnknown, code: lastCode, region: t.region}
				}
				return outcome{result: resultFailed, region: l.targets[r.target].region}
			}
		}
	}
}

// backoff is the pause after the n-th round of refusals: 20 ms doubling up to 500 ms.
func backoff(n int) time.Duration { return min(500*time.Millisecond, 20*time.Millisecond<<min(n, 5)) }

// sleepCtx waits d or until ctx ends (false).
var sleepCtx = client.SleepCtx

// resolve learns the outcome of a request whose answer was "unknown" by querying the order it
// names (GET /api/v3/order?origClientOrderId=) on any region until the answer is definite or
// ctx ends: a place or replace whose new order exists was executed; a cancel was executed
// when its order is CANCELED, and rejected when the order ended otherwise.
func (l *loader) resolve(ctx context.Context, r *request, ti int, code int) outcome {
	a := &l.accounts[r.acct]
	for n := 0; ; n++ {
		t := l.targets[ti]
		cid := r.cid
		if r.kind == opCancel {
			cid = r.origCID // the order the cancel targets
		}
		q := []param{{"symbol", r.sym.spec.Symbol}, {"origClientOrderId", cid}}
		ans := t.rest(ctx, http.MethodGet, "/api/v3/order", restBody(a.secret, q, time.Now().UnixMilli(), l.opts.recvWindow), a.key)
		if ans.err == nil && ans.status == http.StatusOK {
			switch {
			case r.kind != opCancel:
				return outcome{result: resultAck, orderID: ans.orderID, region: t.region}
			case ans.state == "CANCELED":
				return outcome{result: resultAck, orderID: ans.orderID, region: t.region}
			case ans.state == "FILLED" || ans.state == "EXPIRED" || ans.state == "REJECTED" || ans.state == "EXPIRED_IN_MATCH":
				return outcome{result: resultRejected, code: -2011, orderID: ans.orderID, region: t.region}
			}
		}
		if ans.err != nil || ans.status >= 500 {
			ti = l.next(ti, time.Now())
		}
		if !sleepCtx(ctx, backoff(n)) {
			return outcome{result: resultUnknown, code: code, region: t.region}
		}
	}
}

// build draws request i: its operation, symbol, account, transport and parameters.
func (l *loader) build(i int64, due time.Time) *request {
	rng := rand.New(rand.NewPCG(l.opts.seed, uint64(i)))
	r := &request{due: due, target: int(i % int64(len(l.targets)))}
	if l.targets[r.target].down(time.Now()) {
		r.target = l.next(r.target, time.Now())
	}
	r.sym = l.syms[rng.IntN(len(l.syms))]
	r.acct = rng.IntN(len(l.accounts))
	bk := r.sym.books[r.acct]
	r.kind = choose(l.opts.mix.pick(rng.Float64()), bk.size(), r.sym.maxOpen, rng)
	r.resp = l.opts.resp[rng.IntN(len(l.opts.resp))]
	if r.kind == opCancel || r.kind == opReplace {
		o, ok := bk.take()
		if !ok {
			r.kind = opPlace
		} else {
			r.order = o
		}
	}
	r.ws = r.kind != opReplace && rng.Float64() < l.opts.wsFraction
	sp, ld := r.sym.spec, r.sym.ladder
	side := func(buy bool) string {
		if buy {
			return "BUY"
		}
		return "SELL"
	}
	switch r.kind {
	case opPlace:
		buy, price := ld.quote(rng)
		qty := ld.baseQty * (2 + rng.Int64N(3))
		r.cid = l.newID('p')
		r.order = resting{cid: r.cid, buy: buy, price: price}
		r.params = []param{{"symbol", sp.Symbol}, {"side", side(buy)}, {"type", "LIMIT"}, {"timeInForce", "GTC"},
			{"quantity", sp.qty(qty)}, {"price", sp.price(price)}, {"newClientOrderId", r.cid}, {"newOrderRespType", r.resp}}
	case opCross:
		buy, price := ld.crossing(rng)
		r.cid = l.newID('x')
		r.params = []param{{"symbol", sp.Symbol}, {"side", side(buy)}, {"type", "LIMIT"}, {"timeInForce", "IOC"},
			{"quantity", sp.qty(ld.baseQty)}, {"price", sp.price(price)}, {"newClientOrderId", r.cid}, {"newOrderRespType", r.resp}}
	case opCancel:
		r.cid, r.origCID = l.newID('c'), r.order.cid
		r.params = []param{{"symbol", sp.Symbol}, {"origClientOrderId", r.order.cid}, {"newClientOrderId", r.cid}}
	case opReplace:
		price := ld.quoteSide(rng, r.order.buy)
		r.origCID = r.order.cid
		r.cid = l.newID('m')
		qty := ld.baseQty * (2 + rng.Int64N(3))
		r.params = []param{{"symbol", sp.Symbol}, {"cancelReplaceMode", "STOP_ON_FAILURE"},
			{"cancelOrigClientOrderId", r.order.cid}, {"cancelNewClientOrderId", l.newID('c')},
			{"side", side(r.order.buy)}, {"type", "LIMIT"}, {"timeInForce", "GTC"},
			{"quantity", sp.qty(qty)}, {"price", sp.price(price)}, {"newClientOrderId", r.cid}, {"newOrderRespType", r.resp}}
		r.order = resting{cid: r.cid, buy: r.order.buy, price: price}
	}
	return r
}

// newID is a fresh client order id: "ml", the run id, a kind letter and a sequence number
// (at most 36 characters, Binance's charset).
func (l *loader) newID(kind byte) string {
	return "ml" + l.runID + string(kind) + strconv.FormatInt(l.seq.Add(1), 36)
}

// fire builds, executes, records and journals scheduled request i.
func (l *loader) fire(ctx context.Context, i int64, due time.Time) {
	r := l.build(i, due)
	r.measured = !due.Before(l.measureFrom)
	out := l.execute(ctx, r)
	done := time.Now()
	latency := done.Sub(r.due)
	bk := r.sym.books[r.acct]
	if out.result == resultAck {
		switch r.kind {
		case opPlace, opReplace:
			r.order.orderID = out.orderID
			bk.add(r.order)
		}
	}
	if r.measured {
		l.stats.record(statKey{region: out.region, op: r.statOp(), transport: r.transport()}, latency, out.result, out.code, done)
	}
	orderID := out.orderID
	if r.kind == opCancel && orderID == 0 {
		orderID = r.order.orderID
	}
	l.journal.write(&journalLine{TS: done.UTC().Format(time.RFC3339Nano), Region: out.region, Op: r.kind.opName(),
		Symbol: r.sym.spec.Symbol, ClientOrderID: r.cid, OrigClientOrderID: r.origCID, OrderID: orderID,
		Result: out.result, Code: out.code, LatencyUS: latency.Microseconds(), Account: l.accounts[r.acct].id,
		Attempts: out.attempts})
}
