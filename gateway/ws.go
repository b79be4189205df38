package gateway

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"golang.org/x/time/rate"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// hub owns the WebSocket connections: market streams are fed by the replicas' EVT followers (so
// depth update ids stay continuous across moves and failovers: they come from the log), user
// data by a NATS subscription on user.<account> per listen-key stream.
type hub struct {
	g  *Gateway
	up websocket.Upgrader

	mu     sync.RWMutex
	conns  map[*wsConn]struct{}
	closed bool
	wg     sync.WaitGroup
	// market counts the market stream subscriptions open on every connection: with none,
	// onBatch does nothing (an order gateway serving only the REST and WebSocket APIs does not
	// render depth and trade payloads for every batch).
	market atomic.Int64
}

func newHub(g *Gateway) *hub {
	return &hub{g: g, conns: map[*wsConn]struct{}{},
		up: websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }}}
}

// wsConn is one client WebSocket. Every frame goes through send to the single writer goroutine.
type wsConn struct {
	h        *hub
	c        *websocket.Conn
	combined bool
	api      bool   // a /ws-api/v3 connection: frames are API requests
	kind     string // metrics label: market, user (opened on a listen key) or api
	ip       string // client address, charged the request weight of WS API requests
	send     chan []byte
	done     chan struct{}
	closing  chan struct{} // closed by closeAll: flush, close 1001
	stopOnce sync.Once
	drainOne sync.Once

	mu      sync.Mutex
	stopped bool            // stop ran: no more market subscriptions are counted
	subs    map[string]bool // market stream names (lowercase symbols) and listen keys
	users   map[string]*nats.Subscription
	// nextSub numbers the WebSocket API user-data subscriptions.
	nextSub int
}

const wsSendBuffer = 1024

func (h *hub) serveWS(w http.ResponseWriter, r *http.Request) {
	var names []string
	combined, api := false, false
	switch {
	case r.URL.Path == "/ws-api/v3":
		api = true
	case r.URL.Path == "/stream":
		combined = true
		if s := r.URL.Query().Get("streams"); s != "" {
			names = strings.Split(s, "/")
		}
	case strings.HasPrefix(r.URL.Path, "/ws/"):
		names = strings.Split(strings.TrimPrefix(r.URL.Path, "/ws/"), "/")
	}
	if len(names) > h.g.cfg.WSMaxStreams {
		writeError(w, newAPIError(http.StatusBadRequest, -1000, "Too many streams."))
		return
	}
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		writeError(w, errShuttingDown)
		return
	}
	// Register and subscribe before the handshake completes, so a client that acts as soon as
	// it is connected misses nothing.
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	wc := &wsConn{h: h, combined: combined, api: api, ip: ip, send: make(chan []byte, wsSendBuffer), done: make(chan struct{}), closing: make(chan struct{}),
		subs: map[string]bool{}, users: map[string]*nats.Subscription{}}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		writeError(w, errShuttingDown)
		return
	}
	h.conns[wc] = struct{}{}
	h.mu.Unlock()
	wc.kind = "market"
	if api {
		wc.kind = "api"
	}
	for _, n := range names {
		if n != "" {
			_ = wc.subscribe(n) // CCXT's /ws/0: an unknown name leaves an empty connection
		}
	}
	wc.mu.Lock()
	if len(wc.users) > 0 {
		wc.kind = "user"
	}
	wc.mu.Unlock()
	c, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		wc.stop() // Upgrade answered the client
		return
	}
	wc.c = c
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		wc.stop()
		return
	}
	h.wg.Add(2)
	h.mu.Unlock()
	conns := h.g.metrics.wsConns.WithLabelValues(wc.kind, h.g.cfg.Region)
	conns.Inc()
	go func() { <-wc.done; conns.Dec() }()
	go func() {
		defer h.wg.Done()
		wc.writeLoop()
	}()
	go func() {
		defer h.wg.Done()
		wc.readLoop()
	}()
}

// goConn runs f on a goroutine Close waits for; not after Close began.
func (h *hub) goConn(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
}

func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request) { g.streams.serveWS(w, r) }

// stop closes the connection once and releases its subscriptions.
func (wc *wsConn) stop() {
	wc.stopOnce.Do(func() {
		close(wc.done)
		wc.mu.Lock()
		wc.stopped = true
		for name := range wc.subs {
			if isMarketStream(name) {
				wc.h.market.Add(-1)
			}
		}
		for _, s := range wc.users {
			_ = s.Unsubscribe()
		}
		wc.users = map[string]*nats.Subscription{}
		wc.mu.Unlock()
		wc.h.mu.Lock()
		delete(wc.h.conns, wc)
		wc.h.mu.Unlock()
		if wc.c != nil {
			_ = wc.c.Close()
		}
	})
}

// enqueue queues a frame; a client that cannot keep up is disconnected.
func (wc *wsConn) enqueue(b []byte) {
	select {
	case wc.send <- b:
	case <-wc.done:
	default:
		wc.h.g.log.Info("ws_slow_consumer", "kind", wc.kind)
		wc.h.g.metrics.wsSlow.WithLabelValues(wc.kind).Inc()
		wc.stop()
	}
}

// push queues a stream payload, wrapped as {"stream","data"} on a combined connection.
func (wc *wsConn) push(stream string, payload []byte) {
	if !wc.combined {
		wc.enqueue(payload)
		return
	}
	b, _ := json.Marshal(struct {
		Stream string          `json:"stream"`
		Data   json.RawMessage `json:"data"`
	}{stream, payload})
	wc.enqueue(b)
}

func (wc *wsConn) writeLoop() {
	cfg := &wc.h.g.cfg
	ping := time.NewTicker(cfg.WSPingInterval)
	defer ping.Stop()
	defer wc.stop()
	sent := wc.h.g.metrics.wsSent.WithLabelValues(wc.kind)
	for {
		select {
		case <-wc.done:
			return
		case b := <-wc.send:
			_ = wc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := wc.c.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
			sent.Inc()
		case <-wc.closing:
			for {
				select {
				case b := <-wc.send:
					_ = wc.c.SetWriteDeadline(time.Now().Add(time.Second))
					if wc.c.WriteMessage(websocket.TextMessage, b) != nil {
						return
					}
					continue
				default:
				}
				break
			}
			_ = wc.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutdown"), time.Now().Add(time.Second))
			return
		case <-ping.C:
			if err := wc.c.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				return
			}
		}
	}
}

// wsRequest is a live control frame.
type wsRequest struct {
	Method string          `json:"method"`
	Params []string        `json:"params"`
	ID     json.RawMessage `json:"id"`
}

func (wc *wsConn) readLoop() {
	defer wc.stop()
	cfg := &wc.h.g.cfg
	wc.c.SetReadLimit(64 << 10)
	extend := func() { _ = wc.c.SetReadDeadline(time.Now().Add(cfg.WSPongTimeout)) }
	extend()
	wc.c.SetPongHandler(func(string) error { extend(); return nil })
	lim := rate.NewLimiter(rate.Limit(cfg.WSInboundRate), cfg.WSInboundRate)
	for {
		_, b, err := wc.c.ReadMessage()
		if err != nil {
			return
		}
		extend()
		if wc.api {
			wc.enqueue(wc.apiRequest(b))
			continue
		}
		if !lim.Allow() {
			_ = wc.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "too many messages"), time.Now().Add(time.Second))
			return
		}
		wc.enqueue(wc.control(b))
	}
}

// control executes one SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS frame and returns the reply.
func (wc *wsConn) control(b []byte) []byte {
	var rq wsRequest
	reply := func(result any, code int, msg string) []byte {
		id := rq.ID
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		if code != 0 {
			out, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "msg": msg}, "id": id})
			return out
		}
		out, _ := json.Marshal(map[string]any{"result": result, "id": id})
		return out
	}
	if err := json.Unmarshal(b, &rq); err != nil {
		return reply(nil, 3, "Invalid JSON: "+err.Error())
	}
	if !validWSID(rq.ID) {
		return reply(nil, 1, "Invalid value type: expected Integer or String of at most 36 characters")
	}
	switch rq.Method {
	case "SUBSCRIBE":
		wc.mu.Lock()
		n := len(wc.subs)
		wc.mu.Unlock()
		if n+len(rq.Params) > wc.h.g.cfg.WSMaxStreams {
			return reply(nil, 2, "Invalid request: too many streams")
		}
		for _, s := range rq.Params {
			if !wc.subscribe(s) {
				return reply(nil, 2, "Invalid request: unknown stream '"+s+"'")
			}
		}
		return reply(nil, 0, "")
	case "UNSUBSCRIBE":
		for _, s := range rq.Params {
			wc.unsubscribe(s)
		}
		return reply(nil, 0, "")
	case "LIST_SUBSCRIPTIONS":
		wc.mu.Lock()
		list := make([]string, 0, len(wc.subs))
		for s := range wc.subs {
			list = append(list, s)
		}
		wc.mu.Unlock()
		return reply(list, 0, "")
	default:
		return reply(nil, 2, "Invalid request: unknown method '"+rq.Method+"'")
	}
}

// validWSID accepts an integer, a string of at most 36 characters, null or absent.
func validWSID(id json.RawMessage) bool {
	if len(id) == 0 || string(id) == "null" {
		return true
	}
	var n int64
	if json.Unmarshal(id, &n) == nil {
		return true
	}
	var s string
	return json.Unmarshal(id, &s) == nil && len(s) <= 36
}

// subscribe adds a market stream or a listen key; false when the name is neither.
func (wc *wsConn) subscribe(name string) bool {
	if _, _, ok := parseStream(name); ok {
		wc.mu.Lock()
		if !wc.subs[name] && !wc.stopped {
			wc.subs[name] = true
			wc.h.market.Add(1)
		}
		wc.mu.Unlock()
		return true
	}
	return wc.subscribeUser(name)
}

func (wc *wsConn) unsubscribe(name string) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.subs[name] && isMarketStream(name) && !wc.stopped {
		wc.h.market.Add(-1)
	}
	delete(wc.subs, name)
	if s := wc.users[name]; s != nil {
		_ = s.Unsubscribe()
		delete(wc.users, name)
	}
}

// isMarketStream: name is a market stream (not a listen key).
func isMarketStream(name string) bool {
	_, _, ok := parseStream(name)
	return ok
}

// parseStream splits "<symbol>@<kind>" (symbol lowercase) or "!bookTicker".
func parseStream(name string) (sym, kind string, ok bool) {
	if name == "!bookTicker" {
		return "", "bookTicker", true
	}
	sym, kind, found := strings.Cut(name, "@")
	if !found || sym == "" || strings.ToLower(sym) != sym || !client.ValidSymbol(strings.ToUpper(sym)) {
		return "", "", false
	}
	switch kind {
	case "depth", "depth@100ms", "depth@1000ms", "trade", "bookTicker",
		"depth5", "depth10", "depth20", "depth5@100ms", "depth10@100ms", "depth20@100ms",
		"depth5@1000ms", "depth10@1000ms", "depth20@1000ms":
		return strings.ToUpper(sym), kind, true
	}
	return "", "", false
}

// onBatch is called by a symbol's follower after its replica applied batch; it pushes the
// market-data payloads to the subscribed connections.
func (h *hub) onBatch(s *symbol, batch *proto.EventBatch) {
	if h.market.Load() == 0 {
		return
	}
	h.mu.RLock()
	if len(h.conns) == 0 {
		h.mu.RUnlock()
		return
	}
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.RUnlock()
	lower := strings.ToLower(s.name)
	ms := batch.CmdTimeUnixNano / 1e6
	var diff, ticker []byte
	var trades [][]byte
	partial := map[int][]byte{}
	hasDepth := false
	for _, e := range batch.Events {
		if e.GetDepthUpdate() != nil {
			hasDepth = true
		}
		if t := e.GetTrade(); t != nil {
			buyer, seller := t.TakerOrderId, t.MakerOrderId
			if t.TakerSide == proto.Side_SIDE_SELL {
				buyer, seller = seller, buyer
			}
			b, _ := json.Marshal(map[string]any{"e": "trade", "E": ms, "s": s.name, "t": t.TradeId, "b": buyer, "a": seller,
				"p": s.spec.FormatPrice(t.Price), "q": s.spec.FormatQty(t.Qty), "T": ms,
				"m": t.TakerSide == proto.Side_SIDE_SELL, "M": true})
			trades = append(trades, b)
		}
	}
	if hasDepth {
		diff = depthDiff(s, batch)
		bt, id := bookTickerOf(s)
		ticker, _ = json.Marshal(map[string]any{"u": id, "s": s.name, "b": bt.BidPrice, "B": bt.BidQty, "a": bt.AskPrice, "A": bt.AskQty})
	}
	for _, c := range conns {
		c.mu.Lock()
		subs := make([]string, 0, len(c.subs))
		for n := range c.subs {
			subs = append(subs, n)
		}
		c.mu.Unlock()
		for _, n := range subs {
			if n == "!bookTicker" {
				if ticker != nil {
					c.push(n, ticker)
				}
				continue
			}
			sym, kind, found := strings.Cut(n, "@")
			if !found || sym != lower {
				continue
			}
			switch {
			case kind == "trade":
				for _, b := range trades {
					c.push(n, b)
				}
			case !hasDepth:
			case kind == "bookTicker":
				c.push(n, ticker)
			case kind == "depth" || kind == "depth@100ms" || kind == "depth@1000ms":
				c.push(n, diff)
			default: // depth5/10/20
				lv := partialLevels(kind)
				if partial[lv] == nil {
					bids, asks, id := s.book.depth(lv)
					partial[lv], _ = json.Marshal(map[string]any{"lastUpdateId": id,
						"bids": levelsJSON(&s.spec, bids), "asks": levelsJSON(&s.spec, asks)})
				}
				c.push(n, partial[lv])
			}
		}
	}
}

func partialLevels(kind string) int {
	switch {
	case strings.HasPrefix(kind, "depth5"):
		return 5
	case strings.HasPrefix(kind, "depth10"):
		return 10
	default:
		return 20
	}
}

// depthDiff is the depthUpdate payload of a batch: U/u are the first and last update id.
func depthDiff(s *symbol, batch *proto.EventBatch) []byte {
	var first, last uint64
	bids, asks := [][2]string{}, [][2]string{}
	for _, e := range batch.Events {
		d := e.GetDepthUpdate()
		if d == nil {
			continue
		}
		if first == 0 {
			first = d.UpdateId
		}
		last = d.UpdateId
		lv := [2]string{s.spec.FormatPrice(d.Price), s.spec.FormatQty(d.Qty)}
		if d.Side == proto.Side_SIDE_SELL {
			asks = append(asks, lv)
		} else {
			bids = append(bids, lv)
		}
	}
	b, _ := json.Marshal(map[string]any{"e": "depthUpdate", "E": batch.CmdTimeUnixNano / 1e6, "s": s.name,
		"U": first, "u": last, "b": bids, "a": asks})
	return b
}

// closeAll sends serverShutdown to every connection and closes it with 1001 (going away).
func (h *hub) closeAll() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	now := time.Now().UnixMilli()
	for _, c := range conns {
		h.shutdownConn(c, now)
	}
}

// shutdownConn queues serverShutdown (unless Config.NoShutdownEvent) and makes the writer
// flush and close with 1001 (going away). Once per connection.
func (h *hub) shutdownConn(c *wsConn, now int64) {
	c.drainOne.Do(func() {
		ev, _ := json.Marshal(map[string]any{"e": "serverShutdown", "E": now})
		switch {
		case c.combined:
			ev, _ = json.Marshal(map[string]any{"stream": "!serverShutdown", "data": json.RawMessage(ev)})
		case c.api:
			ev, _ = json.Marshal(map[string]any{"event": json.RawMessage(ev)})
		}
		if !h.g.cfg.NoShutdownEvent {
			c.enqueue(ev)
			h.g.metrics.wsShutdown.Inc()
		}
		close(c.closing)
	})
}

// counts returns the listen-key streams and market stream subscriptions open on the hub.
func (h *hub) counts() (users, subs int) {
	h.mu.RLock()
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.RUnlock()
	for _, c := range conns {
		c.mu.Lock()
		users += len(c.users)
		subs += len(c.subs)
		c.mu.Unlock()
	}
	return users, subs
}

// drain sends serverShutdown to every connection and closes it (1001), spread evenly over
// window, and refuses new connections. closeAll does the rest at Close.
func (h *hub) drain(ctx context.Context, window time.Duration) {
	h.mu.Lock()
	h.closed = true
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var step time.Duration
	if len(conns) > 1 {
		step = window / time.Duration(len(conns)-1)
	}
	for i, c := range conns {
		if i > 0 && step > 0 {
			t := time.NewTimer(step)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		h.shutdownConn(c, time.Now().UnixMilli())
	}
}
