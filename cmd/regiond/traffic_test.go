package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geomesh/geomesh/region"
)

func TestLevelPrice(t *testing.T) {
	tests := []struct {
		mid   int64 // ticks
		level int
		buy   bool
		want  int64
	}{
		{6000000, 0, true, 5994000},
		{6000000, 0, false, 6006000},
		{6000000, 2, true, 5982000},
		{6000000, 2, false, 6018000},
		{15001, 0, true, 14985},  // 14985.999 rounded down
		{15001, 0, false, 15017}, // 15016.001 rounded up
		{15000, 1, true, 14970},
		{15000, 1, false, 15030},
		{1, 0, true, 0},
		{1, 0, false, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d/%v", tt.mid, tt.level, tt.buy), func(t *testing.T) {
			if got := levelPrice(tt.mid, tt.level, tt.buy); got != tt.want {
				t.Errorf("levelPrice = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLevelLots(t *testing.T) {
	tests := []struct {
		price, step float64
		minLots     int64
		minNotional float64
		notional    float64
		want        int64
	}{
		{60000, 0.00001, 1, 5, 250, 416},
		{3000, 0.0001, 1, 5, 250, 833},
		{150, 0.00001, 1, 5, 250, 166666},
		{100, 1, 1, 5, 50, 1}, // 0.5 lots: at least one
		{3, 1, 1, 5, 2, 2},    // one lot is 3 < minNotional 5: two lots
		{60000, 0.1, 2, 5, 250, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%g/%g", tt.price, tt.step), func(t *testing.T) {
			if got := levelLots(tt.price, tt.step, tt.minLots, tt.minNotional, tt.notional); got != tt.want {
				t.Errorf("levelLots = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestNewMaker checks the maker's quotes for a demo symbol: prices and quantities in the
// symbol's format, the mid's walk bounded.
func TestNewMaker(t *testing.T) {
	m, err := newMaker(region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east"), apiCredentials{}, "t", rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if p, q := m.formatPrice(levelPrice(m.mid, 0, true)), m.formatQty(m.lots); p != "59940.00000000" || q != "0.00416000" {
		t.Errorf("first bid %s x %s, want 59940.00000000 x 0.00416000", p, q)
	}
	for range 10000 {
		m.drift()
		if m.mid < m.lo || m.mid > m.hi || m.lo != 3000000 || m.hi != 12000000 {
			t.Fatalf("mid %d outside [%d, %d]", m.mid, m.lo, m.hi)
		}
	}
}

// TestHMACVector checks the signature against the example of Binance's REST documentation.
func TestHMACVector(t *testing.T) {
	const (
		secret  = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
		payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
		want    = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
	)
	if got := hmacHex(secret, payload); got != want {
		t.Errorf("hmacHex = %s, want %s", got, want)
	}
	body := signedBody(secret, url.Values{"symbol": {"BTCUSDT"}}, time.UnixMilli(1499827319559))
	rest, sig, ok := strings.Cut(body, "&signature=")
	if !ok || sig != hmacHex(secret, rest) || rest != "recvWindow=10000&symbol=BTCUSDT&timestamp=1499827319559" {
		t.Errorf("signedBody = %q", body)
	}
}

// fakeGateway answers the traffic's requests from a script and records them.
type fakeGateway struct {
	mu      sync.Mutex
	reqs    []string                          // "METHOD path" in order
	answers map[string][]func() (int, string) // per "METHOD path", used in order, the last repeated
	forms   []url.Values                      // the parameters of each request
	bad     []string                          // requests whose signature was wrong
}

func (f *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.Method + " " + r.URL.Path
	f.reqs = append(f.reqs, name)
	if r.Method != http.MethodGet {
		rest, sig, _ := strings.Cut(string(b), "&signature=")
		if r.Header.Get("X-MBX-APIKEY") != "mk" || sig != hmacHex("ms", rest) {
			f.bad = append(f.bad, name)
		}
	}
	form, _ := url.ParseQuery(string(b))
	f.forms = append(f.forms, form)
	code, body := http.StatusOK, "{}"
	if as := f.answers[name]; len(as) > 0 {
		code, body = as[0]()
		if len(as) > 1 {
			f.answers[name] = as[1:]
		}
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func answer(code int, body string) func() (int, string) {
	return func() (int, string) { return code, body }
}

// TestMakerRecovers drives one maker against a scripted gateway: it places its ladder with new
// orders, then requotes with cancelReplace (ALLOW_FAILURE, the slot's last order); a requote
// whose new order was placed although the cancel failed keeps going; after an answer with an
// unknown outcome it cancels all its open orders and places the ladder again.
func TestMakerRecovers(t *testing.T) {
	f := &fakeGateway{answers: map[string][]func() (int, string){
		"POST /api/v3/order/cancelReplace": {
			answer(200, `{"cancelResult":"SUCCESS","newOrderResult":"SUCCESS"}`),
			answer(409, `{"code":-2021,"msg":"Order cancel-replace partially failed.","data":{"cancelResult":"FAILURE","newOrderResult":"SUCCESS"}}`),
			answer(500, `{"code":-1007,"msg":"Timeout waiting for response from backend server. Send status unknown; execution status unknown."}`),
			answer(200, `{"cancelResult":"SUCCESS","newOrderResult":"SUCCESS"}`),
		},
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	sc := region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east")
	m, err := newMaker(sc, apiCredentials{"mk", "ms"}, "t1", rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	tr := &traffic{cfg: trafficConfig{URLs: []string{srv.URL}}, hc: srv.Client(), log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	levels := 2 * trafficLevels
	for range levels + 4 {
		m.act(ctx, tr)
	}
	// The ladder again after the reset: every slot is placed anew.
	for range levels {
		m.act(ctx, tr)
	}
	want := []string{}
	for range levels {
		want = append(want, "POST /api/v3/order")
	}
	want = append(want, "POST /api/v3/order/cancelReplace", "POST /api/v3/order/cancelReplace",
		"POST /api/v3/order/cancelReplace", "DELETE /api/v3/openOrders")
	for range levels {
		want = append(want, "POST /api/v3/order")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Join(f.reqs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(f.reqs, "\n"), strings.Join(want, "\n"))
	}
	if len(f.bad) > 0 {
		t.Errorf("badly signed requests: %v", f.bad)
	}
	seen := map[string]bool{}
	for i, form := range f.forms {
		id := form.Get("newClientOrderId")
		if id != "" && seen[id] {
			t.Errorf("request %d reuses client order id %s", i, id)
		}
		seen[id] = true
		if f.reqs[i] == "POST /api/v3/order/cancelReplace" {
			// Each requote targets the order placed last in its slot.
			slot := i - levels
			if form.Get("cancelReplaceMode") != "ALLOW_FAILURE" || form.Get("cancelOrigClientOrderId") != f.forms[slot].Get("newClientOrderId") {
				t.Errorf("requote %d: %v, want ALLOW_FAILURE of %s", i, form, f.forms[slot].Get("newClientOrderId"))
			}
		}
		if i < levels {
			buy := i < trafficLevels
			if (form.Get("side") == "BUY") != buy || form.Get("type") != "LIMIT" || form.Get("timeInForce") != "GTC" {
				t.Errorf("order %d: %v", i, form)
			}
		}
	}
	if st := tr.Stats(); st.Orders != int64(levels+2+levels) || st.Requotes != 1 || st.Rejected != 2 {
		t.Errorf("stats %+v, want %d orders, 1 requote, 2 refused", st, 2*levels+2)
	}
}

func TestStartTrafficRefuses(t *testing.T) {
	sym := region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east")
	bad := sym
	bad.TickSize = "x"
	narrow := sym
	narrow.MinPrice, narrow.MaxPrice = "50000", "70000"
	tests := []struct {
		name string
		cfg  trafficConfig
		want string
	}{
		{"no rate", trafficConfig{URLs: []string{"http://x"}}, "want a positive number"},
		{"no gateway", trafficConfig{Rate: 1}, "no gateway"},
		{"keys", trafficConfig{Rate: 1, URLs: []string{"http://x"}, Symbols: []region.SymbolConfig{sym}}, "0 maker keys for 1 symbols"},
		{"spec", trafficConfig{Rate: 1, URLs: []string{"http://x"}, Symbols: []region.SymbolConfig{bad},
			Makers: []apiCredentials{{}}}, "tick"},
		{"price filter", trafficConfig{Rate: 1, URLs: []string{"http://x"}, Symbols: []region.SymbolConfig{narrow},
			Makers: []apiCredentials{{}}}, "leaves no room"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := startTraffic(context.Background(), tt.cfg)
			if err == nil {
				tr.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}
