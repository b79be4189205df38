package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// targetSpec names one region's gateway: --target us-east=http://127.0.0.1:8080.
type targetSpec struct{ region, url string }

func parseTarget(s string) (targetSpec, error) {
	r, u, ok := strings.Cut(s, "=")
	if !ok || r == "" || !(strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) {
		return targetSpec{}, fmt.Errorf("--target %q: want region=http://host:port", s)
	}
	return targetSpec{region: r, url: strings.TrimRight(u, "/")}, nil
}

// target is one region's gateway: REST over shared keep-alive connections and a pool of
// WebSocket API connections.
type target struct {
	region string
	base   string
	wsURL  string
	httpc  *http.Client
	ws     *wsPool
	// downUntil (Unix ns): after a connection error new requests avoid this target for a while.
	downUntil atomic.Int64
}

func newTarget(ts targetSpec, httpConns, wsConns int) *target {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        httpConns,
		MaxIdleConnsPerHost: httpConns,
		MaxConnsPerHost:     httpConns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	ws := "ws" + strings.TrimPrefix(ts.url, "http") + "/ws-api/v3"
	return &target{region: ts.region, base: ts.url, wsURL: ws, httpc: &http.Client{Transport: tr},
		ws: newWSPool(ws, wsConns)}
}

func (t *target) down(now time.Time) bool { return now.UnixNano() < t.downUntil.Load() }

func (t *target) markDown(now time.Time, d time.Duration) { t.downUntil.Store(now.Add(d).UnixNano()) }

func (t *target) close() {
	t.ws.close()
	t.httpc.CloseIdleConnections()
}

// answer is what one attempt got back.
type answer struct {
	err     error  // no HTTP/WebSocket answer at all (connection refused, reset, timeout)
	status  int    // HTTP status, or the WebSocket API frame's status
	code    int    // Binance error code (0 on success)
	orderID int64  // orderId of the order the request names (replace: the new order)
	state   string // order status (GET /api/v3/order)
}

// orderJSON is the part of order, cancel, cancel-replace and query answers meshload reads,
// and of Binance error bodies.
type orderJSON struct {
	Code             int    `json:"code"`
	OrderID          int64  `json:"orderId"`
	Status           string `json:"status"`
	NewOrderResponse *struct {
		OrderID int64 `json:"orderId"`
	} `json:"newOrderResponse"`
}

func (o *orderJSON) answer(status int) answer {
	a := answer{status: status, code: o.Code, orderID: o.OrderID, state: o.Status}
	if o.NewOrderResponse != nil {
		a.orderID = o.NewOrderResponse.OrderID
	}
	return a
}

// rest sends one REST request (body is form-encoded; for GET it is the query).
func (t *target) rest(ctx context.Context, method, path, body, apiKey string) answer {
	var rq *http.Request
	var err error
	if method == http.MethodGet {
		rq, err = http.NewRequestWithContext(ctx, method, t.base+path+"?"+body, nil)
	} else {
		rq, err = http.NewRequestWithContext(ctx, method, t.base+path, strings.NewReader(body))
		if err == nil {
			rq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return answer{err: err}
	}
	rq.Header.Set("X-MBX-APIKEY", apiKey)
	resp, err := t.httpc.Do(rq)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{err: err}
	}
	if resp.StatusCode == http.StatusOK && len(b) > 0 && b[0] == '[' {
		return answer{status: resp.StatusCode} // a list (DELETE /api/v3/openOrders)
	}
	var o orderJSON
	if json.Unmarshal(b, &o) != nil && resp.StatusCode == http.StatusOK {
		return answer{err: fmt.Errorf("%s %s: undecodable answer", method, path)}
	}
	return o.answer(resp.StatusCode)
}

// wsFrame is a WebSocket API request.
type wsFrame struct {
	ID     int64             `json:"id"`
	Method string            `json:"method"`
	Params map[string]string `json:"params"`
}

// wsReply is a WebSocket API answer.
type wsReply struct {
	ID     json.RawMessage `json:"id"`
	Status int             `json:"status"`
	Result *orderJSON      `json:"result"`
	Error  *orderJSON      `json:"error"`
}

// wsPool holds up to max WebSocket API connections to one gateway. A connection carries one
// request at a time (the gateway answers a connection's frames one after the other, so
// pipelining would only queue them there).
type wsPool struct {
	url    string
	idle   chan *wsConn  // connections not in use
	slots  chan struct{} // one token per open (or opening) connection
	mu     sync.Mutex
	all    map[*wsConn]bool
	closed bool
	nextID atomic.Int64
}

func newWSPool(url string, max int) *wsPool {
	return &wsPool{url: url, idle: make(chan *wsConn, max), slots: make(chan struct{}, max), all: map[*wsConn]bool{}}
}

type wsConn struct{ c *websocket.Conn }

var errPoolClosed = errors.New("websocket pool closed")

// get returns an idle connection, or dials a new one while fewer than max are open, or waits
// for either.
func (p *wsPool) get(ctx context.Context) (*wsConn, error) {
	select {
	case c := <-p.idle:
		return c, nil
	default:
	}
	select {
	case c := <-p.idle:
		return c, nil
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	d := websocket.Dialer{HandshakeTimeout: 2 * time.Second}
	c, _, err := d.DialContext(ctx, p.url, nil)
	if err != nil {
		<-p.slots
		return nil, err
	}
	wc := &wsConn{c: c}
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.all[wc] = true
	}
	p.mu.Unlock()
	if closed {
		_ = c.Close()
		<-p.slots
		return nil, errPoolClosed
	}
	return wc, nil
}

// put returns a healthy connection to the pool.
func (p *wsPool) put(c *wsConn) {
	p.mu.Lock()
	ok := !p.closed && p.all[c]
	p.mu.Unlock()
	if !ok {
		p.drop(c)
		return
	}
	p.idle <- c // never blocks: at most max connections exist
}

// drop closes a connection and frees its slot.
func (p *wsPool) drop(c *wsConn) {
	_ = c.c.Close()
	p.mu.Lock()
	known := p.all[c]
	delete(p.all, c)
	p.mu.Unlock()
	if known {
		<-p.slots
	}
}

func (p *wsPool) close() {
	p.mu.Lock()
	p.closed = true
	conns := make([]*wsConn, 0, len(p.all))
	for c := range p.all {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		p.drop(c)
	}
}

// call sends one WebSocket API request and waits for its answer.
func (t *target) call(ctx context.Context, method string, params map[string]string) answer {
	c, err := t.ws.get(ctx)
	if err != nil {
		return answer{err: err}
	}
	id := t.ws.nextID.Add(1)
	b, err := json.Marshal(wsFrame{ID: id, Method: method, Params: params})
	if err != nil {
		t.ws.put(c)
		return answer{err: err}
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	_ = c.c.SetWriteDeadline(deadline)
	_ = c.c.SetReadDeadline(deadline)
	if err := c.c.WriteMessage(websocket.TextMessage, b); err != nil {
		t.ws.drop(c)
		return answer{err: err}
	}
	want := strconv.FormatInt(id, 10)
	for {
		_, msg, err := c.c.ReadMessage()
		if err != nil {
			t.ws.drop(c) // a late answer would confuse the next request on this connection
			return answer{err: err}
		}
		var r wsReply
		if json.Unmarshal(msg, &r) != nil || string(r.ID) != want {
			continue // not ours (an event, or a stale answer)
		}
		t.ws.put(c)
		switch {
		case r.Error != nil:
			return r.Error.answer(r.Status)
		case r.Result != nil:
			return r.Result.answer(r.Status)
		}
		return answer{status: r.Status}
	}
}
