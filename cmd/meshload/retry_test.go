package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGateway answers POST /api/v3/order with status/body, records the client order ids it
// was sent, and answers GET /api/v3/order from known (client id -> order status).
type fakeGateway struct {
	mu     sync.Mutex
	status int
	body   string
	sent   []string
	known  map[string]string
	hide   int // GET /api/v3/order answers -2013 this many times first (a lagging replica)
	srv    *httptest.Server
}

func newFakeGateway(t *testing.T, status int, body string) *fakeGateway {
	f := &fakeGateway{status: status, body: body, known: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		vals, _ := url.ParseQuery(string(b))
		if r.Method == http.MethodGet {
			vals, _ = url.ParseQuery(r.URL.RawQuery)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v3/order":
			f.sent = append(f.sent, vals.Get("newClientOrderId"))
			w.WriteHeader(f.status)
			_, _ = io.WriteString(w, f.body)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v3/order":
			st, ok := f.known[vals.Get("origClientOrderId")]
			if f.hide > 0 {
				f.hide--
				ok = false
			}
			if !ok {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"code":-2013,"msg":"Order does not exist."}`)
				return
			}
			_, _ = fmt.Fprintf(w, `{"orderId":42,"status":%q}`, st)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGateway) sentIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

func fakeLoader(t *testing.T, gws ...*fakeGateway) *loader {
	o := testOptions(t)
	o.requestTimeout = 5 * time.Second
	var specs []targetSpec
	for i, g := range gws {
		specs = append(specs, targetSpec{region: fmt.Sprintf("r%d", i), url: g.srv.URL})
	}
	l := newLoader(o, specs, []account{defaultKey}, slog.New(slog.DiscardHandler))
	t.Cleanup(l.close)
	return l
}

func placeRequest(l *loader, target int) *request {
	sp := &symbolSpec{Symbol: "BTCUSDT"}
	r := &request{kind: opPlace, sym: &symState{spec: sp}, resp: "ACK", target: target, cid: l.newID('p')}
	r.params = []param{{"symbol", "BTCUSDT"}, {"newClientOrderId", r.cid}}
	return r
}

// A region that answers "busy" (-1008, not executed) gets the same request, same client order
// id, resent to the next region, which acknowledges it.
func TestResendSameIDToNextRegion(t *testing.T) {
	busy := newFakeGateway(t, http.StatusServiceUnavailable, `{"code":-1008,"msg":"Server is currently overloaded"}`)
	ok := newFakeGateway(t, http.StatusOK, `{"symbol":"BTCUSDT","orderId":7,"clientOrderId":"x"}`)
	l := fakeLoader(t, busy, ok)
	r := placeRequest(l, 0)
	out := l.execute(context.Background(), r)
	if out.result != resultAck || out.region != "r1" || out.orderID != 7 {
		t.Fatalf("outcome %+v", out)
	}
	if b, o := busy.sentIDs(), ok.sentIDs(); len(b) != 1 || len(o) != 1 || b[0] != r.cid || o[0] != r.cid {
		t.Fatalf("busy got %v, ok got %v, want %s once each", b, o, r.cid)
	}
	if l.stats.resends.Load() != 1 {
		t.Fatalf("resends = %d", l.stats.resends.Load())
	}
}

// An unknown outcome (-1007) is resolved by querying the order: found means acknowledged.
func TestResolveUnknownByQuery(t *testing.T) {
	g := newFakeGateway(t, http.StatusServiceUnavailable, `{"code":-1007,"msg":"Timeout waiting for response from backend server."}`)
	l := fakeLoader(t, g)
	r := placeRequest(l, 0)
	g.known[r.cid] = "NEW"
	g.hide = 2 // the replica shows it on the third query
	out := l.execute(context.Background(), r)
	if out.result != resultAck || out.orderID != 42 {
		t.Fatalf("outcome %+v", out)
	}
	if len(g.sentIDs()) != 1 || l.stats.resolves.Load() != 1 {
		t.Fatalf("sent %v, resolves %d: the order must not be sent twice", g.sentIDs(), l.stats.resolves.Load())
	}
}

// Without an answer within --request-timeout the request is unknown (-1007 never resolved) or
// failed (nothing listening anywhere), and never retried with --retry=false.
func TestGiveUp(t *testing.T) {
	g := newFakeGateway(t, http.StatusServiceUnavailable, `{"code":-1007,"msg":"Timeout"}`)
	l := fakeLoader(t, g)
	l.opts.requestTimeout = 300 * time.Millisecond
	if out := l.execute(context.Background(), placeRequest(l, 0)); out.result != resultUnknown || out.code != -1007 {
		t.Fatalf("outcome %+v", out)
	}
	dead := newFakeGateway(t, http.StatusOK, `{}`)
	dead.srv.Close()
	l = fakeLoader(t, dead)
	l.opts.requestTimeout = 300 * time.Millisecond
	if out := l.execute(context.Background(), placeRequest(l, 0)); out.result != resultFailed {
		t.Fatalf("outcome %+v", out)
	}
	busy := newFakeGateway(t, http.StatusServiceUnavailable, `{"code":-1008,"msg":"busy"}`)
	l = fakeLoader(t, busy, busy)
	l.opts.retry = false
	if out := l.execute(context.Background(), placeRequest(l, 0)); out.result != resultUnknown || len(busy.sentIDs()) != 1 {
		t.Fatalf("outcome %+v, sent %v", out, busy.sentIDs())
	}
}

// Usage errors are reported before anything starts.
func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--rate", "0"}, {"--resp", "MAYBE"}, {"--ws-fraction", "2"}, {"-o", "yaml"},
		{"--mix", "cancel=1"}, {"--target", "nowhere"}, {"--cold-start-symbols", "-1"}, {"extra"},
	} {
		cmd := newRootCmd(io.Discard, io.Discard)
		cmd.SetArgs(args)
		err := cmd.Execute()
		if err == nil {
			t.Errorf("%v accepted", args)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error is not one line: %q", args, err)
		}
	}
}

// DELETE /api/v3/openOrders answers a list: a success, as is -2011 (nothing open) for --clean.
func TestCancelOpenAcceptsList(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		ok     bool
	}{
		{http.StatusOK, `[{"symbol":"BTCUSDT","orderId":1}]`, true},
		{http.StatusBadRequest, `{"code":-2011,"msg":"Unknown order sent."}`, true},
		{http.StatusBadRequest, `{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}`, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, tc.body)
		}))
		l := newLoader(testOptions(t), []targetSpec{{region: "r0", url: srv.URL}}, []account{defaultKey}, slog.New(slog.DiscardHandler))
		l.syms = []*symState{{spec: &symbolSpec{Symbol: "BTCUSDT"}}}
		err := l.cancelOpen(context.Background())
		l.close()
		srv.Close()
		if (err == nil) != tc.ok {
			t.Errorf("%d %s: err = %v", tc.status, tc.body, err)
		}
	}
}
