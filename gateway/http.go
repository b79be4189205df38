package gateway

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/geomesh/geomesh/proto"
)

// security is the Binance security type of an endpoint.
type security int

const (
	secNone     security = iota // public
	secAPIKey                   // USER_STREAM: X-MBX-APIKEY only
	secUserData                 // SIGNED, needs PERMISSION_READ
	secTrade                    // SIGNED, needs PERMISSION_TRADE
)

// req is one authenticated, parsed REST request.
type req struct {
	r    *http.Request
	w    http.ResponseWriter
	p    *params
	key  *proto.ApiKey // set for every security but secNone
	now  time.Time
	tsMs int64 // timestamp and recvWindow of a SIGNED request (ms)
	rwMs int64
}

// handlerFunc answers a request with a JSON value (status 200) or a Binance error.
type handlerFunc func(q *req) (any, *apiError)

// Handler is the gateway's HTTP handler: REST, WebSocket streams and the catch-all 404.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, weight int, sec security, f handlerFunc) {
		mux.Handle(pattern, g.metrics.instrument(g.endpoint(weight, sec, f)))
	}
	h("GET /api/v3/ping", 1, secNone, func(*req) (any, *apiError) { return struct{}{}, nil })
	h("GET /api/v3/time", 1, secNone, func(q *req) (any, *apiError) {
		return map[string]int64{"serverTime": q.now.UnixMilli()}, nil
	})
	h("GET /api/v3/exchangeInfo", 20, secNone, g.exchangeInfo)
	h("GET /api/v3/depth", 5, secNone, g.depth)
	h("GET /api/v3/trades", 25, secNone, g.trades)
	h("GET /api/v1/trades", 25, secNone, g.trades)
	h("GET /api/v3/ticker/price", 2, secNone, g.tickerPrice)
	h("GET /api/v3/ticker/bookTicker", 2, secNone, g.bookTicker)
	h("GET /api/v3/ticker/24hr", 2, secNone, g.ticker24h)
	h("GET /sapi/v1/system/status", 1, secNone, g.systemStatus)
	mux.HandleFunc("GET /healthz", g.healthz)
	mux.HandleFunc("GET /readyz", g.readyz)
	g.statusRoutes(mux) // Statuspage v2, /status, /api/v2/stream (status.go)

	h("POST /api/v3/order", 1, secTrade, func(q *req) (any, *apiError) { return g.newOrder(q, false) })
	h("POST /api/v3/order/test", 1, secTrade, func(q *req) (any, *apiError) { return g.newOrder(q, true) })
	h("DELETE /api/v3/order", 1, secTrade, g.cancelOrder)
	h("GET /api/v3/order", 4, secUserData, g.getOrder)
	h("GET /api/v3/openOrders", 6, secUserData, g.openOrders)
	h("DELETE /api/v3/openOrders", 1, secTrade, g.cancelOpenOrders)
	h("POST /api/v3/order/cancelReplace", 1, secTrade, g.cancelReplace)
	h("GET /api/v3/account", 20, secUserData, g.account)

	h("POST /api/v3/userDataStream", 2, secAPIKey, g.startUserStream)
	h("PUT /api/v3/userDataStream", 2, secAPIKey, g.keepaliveUserStream)
	h("DELETE /api/v3/userDataStream", 2, secAPIKey, g.closeUserStream)

	mux.HandleFunc("GET /ws/{stream...}", g.serveWS)
	mux.HandleFunc("GET /ws", g.serveWS)
	mux.HandleFunc("GET /stream", g.serveWS)
	mux.HandleFunc("GET /ws-api/v3", g.serveWS)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, errUnknownEndpoint) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// A broken invariant in one request must not take the region's gateway down;
				// the outcome of an order it was placing is unknown to the client.
				g.log.Error("handler_panic", "panic", fmt.Sprint(v), "path", r.URL.Path)
				writeError(w, errUnknown)
			}
		}()
		mux.ServeHTTP(w, r)
	})
}

// endpoint wraps f with parameter parsing, weight accounting and authentication.
func (g *Gateway) endpoint(weight int, sec security, f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &req{r: r, w: w, now: g.cfg.Now()}
		p, aerr := parseParams(r, g.cfg.MaxBodyBytes)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		q.p = p
		if r.URL.Path == "/api/v3/depth" {
			weight = depthWeight(p.get("limit"))
		}
		if r.URL.Path == "/api/v3/openOrders" && r.Method == http.MethodGet && !p.has("symbol") {
			weight = 80
		}
		if !g.chargeWeight(w, r, weight, q.now) {
			return
		}
		if aerr := g.authenticate(q, sec); aerr != nil {
			reason := authReason(aerr)
			if aerr == errKeyRejected && q.key != nil {
				reason = "permission" // a known key without the permission
			}
			g.metrics.authFails.WithLabelValues(reason).Inc()
			writeError(w, aerr)
			return
		}
		v, aerr := f(q)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func depthWeight(limit string) int {
	n, err := strconv.Atoi(limit)
	switch {
	case err != nil || n <= 100:
		return 5
	case n <= 500:
		return 25
	case n <= 1000:
		return 50
	default:
		return 250
	}
}

// chargeWeight adds the request's weight to its IP, sets X-MBX-USED-WEIGHT-1M and answers 429
// (418 for an IP that ignores 429s) when over the limit.
func (g *Gateway) chargeWeight(w http.ResponseWriter, r *http.Request, weight int, now time.Time) bool {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	used, status, retry := g.limits.addWeight(ip, weight, now)
	w.Header().Set("X-MBX-USED-WEIGHT-1M", strconv.Itoa(used))
	w.Header().Set("X-MBX-USED-WEIGHT", strconv.Itoa(used))
	if status == 0 {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	g.metrics.rateLimited.WithLabelValues("REQUEST_WEIGHT", strconv.Itoa(status)).Inc()
	e := *errTooManyWeight
	e.msg = "Too much request weight used; current limit is " + strconv.Itoa(g.cfg.WeightLimit) +
		" request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
	if status == http.StatusTeapot {
		e = *errBanned
		e.msg = "Way too much request weight used; IP banned until " +
			strconv.FormatInt(now.Add(time.Duration(retry)*time.Second).UnixMilli(), 10) +
			". Please use WebSocket Streams for live updates to avoid bans."
	}
	writeError(w, &e)
	return false
}

// authenticate checks the API key, the signature and the timestamp as sec requires.
func (g *Gateway) authenticate(q *req, sec security) *apiError {
	if sec == secNone {
		return nil
	}
	name := q.r.Header.Get("X-MBX-APIKEY")
	if name == "" || len(name) > 128 {
		return errKeyFormat
	}
	key := g.keys.get(name)
	if key == nil {
		return errKeyRejected
	}
	q.key = key
	if sec == secAPIKey {
		return nil
	}
	payload, sig, ok := signedPayload(q.p.rawQuery, q.p.rawBody)
	if !ok || sig == "" {
		return errMissing("signature")
	}
	if !validSignature(key.Secret, payload, sig) {
		return errSignature
	}
	ts, rw, aerr := checkTimestamp(q.p.get("timestamp"), q.p.get("recvWindow"), q.now)
	if aerr != nil {
		return aerr
	}
	q.tsMs, q.rwMs = ts, rw
	perm := proto.Permission_PERMISSION_READ
	if sec == secTrade {
		perm = proto.Permission_PERMISSION_TRADE
	}
	if !hasPerm(key, perm) {
		return errKeyRejected
	}
	return nil
}
