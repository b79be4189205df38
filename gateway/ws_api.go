package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// wsAPIMethod is one WebSocket API method: its security and the REST handler it shares.
type wsAPIMethod struct {
	sec security
	f   handlerFunc
}

func (g *Gateway) wsAPIMethods() map[string]wsAPIMethod {
	return map[string]wsAPIMethod{
		"ping":                               {secNone, func(*req) (any, *apiError) { return struct{}{}, nil }},
		"time":                               {secNone, func(q *req) (any, *apiError) { return map[string]int64{"serverTime": q.now.UnixMilli()}, nil }},
		"exchangeInfo":                       {secNone, g.exchangeInfo},
		"depth":                              {secNone, g.depth},
		"order.place":                        {secTrade, func(q *req) (any, *apiError) { return g.newOrder(q, false) }},
		"order.test":                         {secTrade, func(q *req) (any, *apiError) { return g.newOrder(q, true) }},
		"order.cancel":                       {secTrade, g.cancelOrder},
		"order.status":                       {secUserData, g.getOrder},
		"openOrders.status":                  {secUserData, g.openOrders},
		"openOrders.cancelAll":               {secTrade, g.cancelOpenOrders},
		"order.cancelReplace":                {secTrade, g.cancelReplace},
		"account.status":                     {secUserData, g.account},
		"userDataStream.subscribe.signature": {secUserData, nil}, // handled by the connection
		"userDataStream.unsubscribe":         {secNone, nil},
		"session.subscriptions":              {secNone, nil},
	}
}

// headerSink is the ResponseWriter REST handlers write headers into on the WebSocket API.
type headerSink struct{ h http.Header }

func (s headerSink) Header() http.Header       { return s.h }
func (headerSink) Write(b []byte) (int, error) { return len(b), nil }
func (headerSink) WriteHeader(int)             {}

// wsAPIParams decodes a params object: strings as sent, numbers in their original text
// (json.Number), booleans, and arrays as JSON (exchangeInfo symbols).
func wsAPIParams(raw json.RawMessage) (map[string]string, bool) {
	out := map[string]string{}
	if len(raw) == 0 || string(raw) == "null" {
		return out, true
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil {
		return nil, false
	}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case json.Number:
			out[k] = x.String()
		case bool:
			out[k] = strconv.FormatBool(x)
		case nil:
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out, true
}

// wsAPIPayloads are the two signing payloads accepted on the WebSocket API: params except
// signature sorted by key as k=v with raw UTF-8 values (Binance's documented rule) and the same
// percent-encoded (what go-binance and python-binance sign).
func wsAPIPayloads(m map[string]string) (raw, encoded string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var a, b strings.Builder
	for i, k := range keys {
		if i > 0 {
			a.WriteByte('&')
			b.WriteByte('&')
		}
		a.WriteString(k + "=" + m[k])
		b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(m[k]))
	}
	return a.String(), b.String()
}

// wsAPIAuth authenticates a WebSocket API request carrying apiKey, timestamp and signature.
func (g *Gateway) wsAPIAuth(q *req, sec security) *apiError {
	if sec == secNone {
		return nil
	}
	name := q.p.get("apiKey")
	if name == "" {
		return errMissing("apiKey")
	}
	key := g.keys.get(name)
	if key == nil {
		return errKeyRejected
	}
	q.key = key
	sig := q.p.get("signature")
	if sig == "" {
		return errMissing("signature")
	}
	raw, enc := wsAPIPayloads(q.p.values)
	if !validSignature(key.Secret, raw, sig) && !validSignature(key.Secret, enc, sig) {
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

// apiRequest executes one WebSocket API request frame and returns the reply frame.
func (wc *wsConn) apiRequest(b []byte) []byte {
	g := wc.h.g
	var rq struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	id := json.RawMessage("null")
	reply := func(status int, result any, aerr *apiError) []byte {
		m := map[string]any{"id": id, "status": status, "rateLimits": []any{}}
		if aerr != nil {
			m["status"] = aerr.status
			m["error"] = map[string]any{"code": aerr.code, "msg": aerr.msg}
			if aerr.data != nil {
				m["error"].(map[string]any)["data"] = aerr.data
			}
		} else {
			m["result"] = result
		}
		out, _ := json.Marshal(m)
		return out
	}
	if err := json.Unmarshal(b, &rq); err != nil {
		return reply(0, nil, newAPIError(http.StatusBadRequest, -1000, "Invalid JSON."))
	}
	if validWSID(rq.ID) && len(rq.ID) > 0 {
		id = rq.ID
	}
	method, ok := g.wsAPIMethods()[strings.TrimPrefix(rq.Method, "v3/")]
	if !ok {
		return reply(0, nil, newAPIError(http.StatusBadRequest, -1020, "Unsupported method '%s'.", rq.Method))
	}
	if _, status, _ := g.limits.addWeight(wc.ip, 1, g.cfg.Now()); status != 0 {
		e := *errTooManyWeight
		e.status = status
		e.msg = "Too much request weight used; current limit is " + strconv.Itoa(g.cfg.WeightLimit) + " request weight per 1 MINUTE."
		return reply(0, nil, &e)
	}
	values, ok := wsAPIParams(rq.Params)
	if !ok {
		return reply(0, nil, newAPIError(http.StatusBadRequest, -1000, "Invalid params."))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/ws-api/v3", nil)
	q := &req{r: hr, w: headerSink{http.Header{}}, p: &params{values: values}, now: g.cfg.Now()}
	if aerr := g.wsAPIAuth(q, method.sec); aerr != nil {
		return reply(0, nil, aerr)
	}
	switch name := strings.TrimPrefix(rq.Method, "v3/"); name {
	case "userDataStream.subscribe.signature":
		n, err := wc.subscribeAPIUser(q.key.Account)
		if err != nil {
			return reply(0, nil, errBusy)
		}
		return reply(http.StatusOK, map[string]int{"subscriptionId": n}, nil)
	case "userDataStream.unsubscribe":
		wc.unsubscribeAPIUser(q.p.get("subscriptionId"))
		return reply(http.StatusOK, struct{}{}, nil)
	case "session.subscriptions":
		return reply(http.StatusOK, wc.apiSubscriptions(), nil)
	}
	v, aerr := method.f(q)
	if aerr != nil {
		return reply(0, nil, aerr)
	}
	return reply(http.StatusOK, v, nil)
}

const apiSubPrefix = "sub:"

// subscribeAPIUser streams the account's user data on this connection, wrapped as
// {"subscriptionId":n,"event":{...}}, and returns n.
func (wc *wsConn) subscribeAPIUser(account uint64) (int, error) {
	g := wc.h.g
	wc.mu.Lock()
	n := wc.nextSub
	wc.nextSub++
	wc.mu.Unlock()
	prefix := []byte(`{"subscriptionId":` + strconv.Itoa(n) + `,"event":`)
	sub, err := g.cfg.NC.Subscribe(client.UserSubject(account), func(m *nats.Msg) {
		b, err := proto.DecodeEventBatch(m.Data)
		if err != nil {
			return
		}
		s := g.reg.get(b.Symbol)
		if s == nil {
			return
		}
		for _, rep := range executionReports(s, b, account) {
			out := append(append(slices.Clone(prefix), rep...), '}')
			wc.enqueue(out)
		}
	})
	if err != nil {
		return 0, err
	}
	wc.mu.Lock()
	wc.users[apiSubPrefix+strconv.Itoa(n)] = sub
	wc.mu.Unlock()
	return n, nil
}

// unsubscribeAPIUser ends one subscription, or all when id is empty.
func (wc *wsConn) unsubscribeAPIUser(id string) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	for name, s := range wc.users {
		if strings.HasPrefix(name, apiSubPrefix) && (id == "" || name == apiSubPrefix+id) {
			_ = s.Unsubscribe()
			delete(wc.users, name)
		}
	}
}

func (wc *wsConn) apiSubscriptions() []map[string]int {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	out := []map[string]int{}
	for name := range wc.users {
		if n, err := strconv.Atoi(strings.TrimPrefix(name, apiSubPrefix)); err == nil && strings.HasPrefix(name, apiSubPrefix) {
			out = append(out, map[string]int{"subscriptionId": n})
		}
	}
	slices.SortFunc(out, func(a, b map[string]int) int { return a["subscriptionId"] - b["subscriptionId"] })
	return out
}
