package gateway

import (
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go"
)

func testConn() *wsConn {
	g := &Gateway{cfg: LocalConfig().withDefaults()}
	g.streams = newHub(g)
	return &wsConn{h: g.streams, send: make(chan []byte, 8), done: make(chan struct{}), closing: make(chan struct{}),
		subs: map[string]bool{}, users: map[string]*nats.Subscription{}}
}

func TestWSControl(t *testing.T) {
	wc := testConn()
	tests := []struct{ in, want string }{
		{`{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@trade"],"id":1}`, `{"id":1,"result":null}`},
		{`{"method":"LIST_SUBSCRIPTIONS","id":"x"}`, `{"id":"x","result":["btcusdt@depth@100ms","btcusdt@trade"]}`},
		{`{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":null}`, `{"id":null,"result":null}`},
		{`{"method":"LIST_SUBSCRIPTIONS","id":3}`, `{"id":3,"result":["btcusdt@depth@100ms"]}`},
		{`{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":4}`, `{"error":{"code":2,"msg":"Invalid request: unknown stream 'BTCUSDT@trade'"},"id":4}`},
		{`{"method":"NOPE","id":5}`, `{"error":{"code":2,"msg":"Invalid request: unknown method 'NOPE'"},"id":5}`},
		{`{"method":"SUBSCRIBE","id":{"a":1}}`, `{"error":{"code":1,"msg":"Invalid value type: expected Integer or String of at most 36 characters"},"id":{"a":1}}`},
	}
	for _, tc := range tests {
		got := wc.control([]byte(tc.in))
		var g, w any
		_ = json.Unmarshal(got, &g)
		_ = json.Unmarshal([]byte(tc.want), &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if tc.in == tests[1].in { // LIST order is map order: compare as sets
			var r struct{ Result []string }
			_ = json.Unmarshal(got, &r)
			if len(r.Result) != 2 {
				t.Errorf("LIST_SUBSCRIPTIONS = %s", got)
			}
			continue
		}
		if string(gb) != string(wb) {
			t.Errorf("control(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseStream(t *testing.T) {
	tests := []struct {
		in, sym, kind string
		ok            bool
	}{
		{"btcusdt@depth", "BTCUSDT", "depth", true},
		{"btcusdt@depth@100ms", "BTCUSDT", "depth@100ms", true},
		{"btcusdt@depth20@100ms", "BTCUSDT", "depth20", true},
		{"btcusdt@bookTicker", "BTCUSDT", "bookTicker", true},
		{"!bookTicker", "", "bookTicker", true},
		{"btcusdt@kline_1m", "", "", false},
		{"BTCUSDT@trade", "", "", false},
		{"0", "", "", false},
		{"@trade", "", "", false},
	}
	for _, tc := range tests {
		sym, kind, ok := parseStream(tc.in)
		if ok != tc.ok || (ok && (sym != tc.sym || kind[:len(tc.kind)] != tc.kind)) {
			t.Errorf("parseStream(%q) = %q %q %v", tc.in, sym, kind, ok)
		}
	}
}

// FuzzWSFrame: any inbound frame gets exactly one JSON reply echoing a valid id; never a panic.
func FuzzWSFrame(f *testing.F) {
	f.Add([]byte(`{"method":"SUBSCRIBE","params":["btcusdt@depth"],"id":1}`))
	f.Add([]byte(`{"method":"LIST_SUBSCRIPTIONS","id":"abc"}`))
	f.Add([]byte(`{"method":"UNSUBSCRIBE","params":[1],"id":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		wc := testConn()
		out := wc.control(frame)
		var reply map[string]json.RawMessage
		if err := json.Unmarshal(out, &reply); err != nil {
			t.Fatalf("reply %q is not a JSON object: %v", out, err)
		}
		if _, ok := reply["id"]; !ok {
			t.Fatalf("reply without id: %s", out)
		}
		if len(wc.subs) > wc.h.g.cfg.WSMaxStreams {
			t.Fatalf("%d streams", len(wc.subs))
		}
	})
}

// TestMarketSubscriptionCount: the hub's count of market subscriptions, which lets onBatch skip
// rendering payloads nobody reads, follows SUBSCRIBE, UNSUBSCRIBE (also of a name never
// subscribed, or twice) and the connection's end, and never counts after the end.
func TestMarketSubscriptionCount(t *testing.T) {
	wc := testConn()
	h := wc.h
	steps := []struct {
		in   string
		want int64
	}{
		{`{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@trade"],"id":1}`, 2},
		{`{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":2}`, 2},
		{`{"method":"UNSUBSCRIBE","params":["btcusdt@trade","ethusdt@trade"],"id":3}`, 1},
		{`{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":4}`, 1},
		{`{"method":"SUBSCRIBE","params":["!bookTicker"],"id":5}`, 2},
	}
	for _, st := range steps {
		wc.control([]byte(st.in))
		if got := h.market.Load(); got != st.want {
			t.Fatalf("after %s: %d market subscriptions, want %d", st.in, got, st.want)
		}
	}
	other := testConn()
	other.h = h
	other.control([]byte(`{"method":"SUBSCRIBE","params":["ethusdt@depth"],"id":1}`))
	wc.stop()
	if got := h.market.Load(); got != 1 {
		t.Fatalf("after the first connection ended: %d, want 1", got)
	}
	wc.control([]byte(`{"method":"SUBSCRIBE","params":["solusdt@trade"],"id":6}`))
	other.stop()
	if got := h.market.Load(); got != 0 {
		t.Fatalf("after both ended: %d, want 0", got)
	}
}
