package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseParams(t *testing.T) {
	tests := []struct {
		name, method, query, body, ctype string
		want                             map[string]string
		code                             int32
	}{
		{"query", "GET", "symbol=BTCUSDT&limit=5", "", "", map[string]string{"symbol": "BTCUSDT", "limit": "5"}, 0},
		{"delete body", "DELETE", "timestamp=1", "orderId=1&symbol=BTCUSDT", "application/x-www-form-urlencoded",
			map[string]string{"orderId": "1", "symbol": "BTCUSDT", "timestamp": "1"}, 0},
		{"query wins", "POST", "price=2", "price=1&qty=3", "", map[string]string{"price": "2", "qty": "3"}, 0},
		{"escapes", "POST", "", "newClientOrderId=my%3Aorder%2F1", "", map[string]string{"newClientOrderId": "my:order/1"}, 0},
		{"get ignores body", "GET", "a=1", "b=2", "", map[string]string{"a": "1"}, 0},
		{"duplicate", "GET", "a=1&a=2", "", "", nil, -1101},
		{"bad escape", "GET", "a=%zz", "", "", nil, -1100},
		{"json body", "POST", "", `{"a":1}`, "application/json", nil, -1000},
		{"empty pairs", "GET", "&&a=1&", "", "", map[string]string{"a": "1"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/x?"+tc.query, strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			p, aerr := parseParams(r, 1024)
			if tc.code != 0 {
				if aerr == nil || aerr.code != tc.code {
					t.Fatalf("got %v, want code %d", aerr, tc.code)
				}
				return
			}
			if aerr != nil {
				t.Fatal(aerr)
			}
			if len(p.values) != len(tc.want) {
				t.Fatalf("values %v, want %v", p.values, tc.want)
			}
			for k, v := range tc.want {
				if p.get(k) != v {
					t.Fatalf("%s = %q, want %q", k, p.get(k), v)
				}
			}
		})
	}
	r := httptest.NewRequest("POST", "/x", strings.NewReader(strings.Repeat("a", 2000)))
	if _, aerr := parseParams(r, 1024); aerr != errTooLarge {
		t.Fatalf("large body: %v", aerr)
	}
}

func TestSymbolsParam(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{`["BTCUSDT","ETHUSDT"]`, []string{"BTCUSDT", "ETHUSDT"}, false},
		{`[ "BTCUSDT" ]`, []string{"BTCUSDT"}, false},
		{`BTCUSDT`, nil, true},
		{`[BTCUSDT]`, nil, true},
		{`[]`, nil, true},
	}
	for _, tc := range tests {
		p := &params{values: map[string]string{"symbols": tc.in}}
		got, aerr := p.symbols()
		if (aerr != nil) != tc.bad || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("symbols(%s) = %v %v, want %v bad=%v", tc.in, got, aerr, tc.want, tc.bad)
		}
	}
}

// FuzzParseParams: any query and body either parse or give a Binance error; never a panic, and
// a parsed query value always wins over the body.
func FuzzParseParams(f *testing.F) {
	f.Add("symbol=BTCUSDT&timestamp=1&signature=ab", "side=BUY&quantity=1.0")
	f.Add("a=%zz", "")
	f.Add("a=1&a=1", "b=%41")
	f.Fuzz(func(t *testing.T, query, body string) {
		if strings.ContainsAny(query, " #\x00\r\n") {
			return // not a request line httptest can build
		}
		r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
		r.URL.RawQuery = query
		p, aerr := parseParams(r, 1<<16)
		if aerr != nil {
			if aerr.code >= 0 || aerr.msg == "" {
				t.Fatalf("error without a Binance code: %+v", aerr)
			}
			return
		}
		q := map[string]string{}
		if addTo(q, query) == nil {
			for k, v := range q {
				if p.get(k) != v {
					t.Fatalf("query %s=%q lost to %q", k, v, p.get(k))
				}
			}
		}
		_, _ = p.symbols()
		_, _ = p.limit(100, 5000)
		_, _ = p.uint("orderId")
	})
}
