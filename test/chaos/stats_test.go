package chaos

import (
	"testing"
	"time"
)

func TestMaxGap(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name     string
		ts       []time.Time
		from, to time.Time
		want     time.Duration
	}{
		{"no events: the whole window", nil, at(0), at(10), 10 * time.Second},
		{"empty window", []time.Time{at(1)}, at(5), at(5), 0},
		{"gap before the first event", []time.Time{at(4), at(5), at(6)}, at(0), at(6), 4 * time.Second},
		{"gap between events", []time.Time{at(1), at(2), at(9), at(10)}, at(0), at(10), 7 * time.Second},
		{"gap after the last event", []time.Time{at(1), at(2)}, at(0), at(10), 8 * time.Second},
		{"events outside the window ignored", []time.Time{at(-5), at(3), at(20)}, at(0), at(10), 7 * time.Second},
	}
	for _, tt := range tests {
		if got := MaxGap(tt.ts, tt.from, tt.to); got != tt.want {
			t.Errorf("%s: MaxGap = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 3}, {100, 5}, {1, 1}, {80, 4}, {99, 5}}
	for _, tt := range tests {
		if got := Percentile(ds, tt.p); got != tt.want {
			t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
}

// TestSign uses the test vector of Binance's REST documentation (client-compat §A.2).
func TestSign(t *testing.T) {
	got := Sign("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
		"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")
	if want := "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestDedupeID(t *testing.T) {
	tests := []struct {
		rec  Record
		want string
	}{
		{Record{Op: OpPlace, Account: 7, ClientOrderID: "k7-1"}, "o:7:k7-1"},
		{Record{Op: OpCancel, Account: 7, ClientOrderID: "k7-2"}, "c:7:k7-2"},
		{Record{Op: OpReplace, Account: 12, ClientOrderID: "k12-3"}, "r:12:k12-3"},
	}
	for _, tt := range tests {
		if got := tt.rec.DedupeID(); got != tt.want {
			t.Errorf("%+v: DedupeID = %s, want %s", tt.rec, got, tt.want)
		}
	}
}

func TestAcceptedOrder(t *testing.T) {
	tests := []struct {
		op, body string
		id       int64
		accepted bool
	}{
		{OpPlace, `{"symbol":"BTCUSDT","orderId":42,"status":"NEW"}`, 42, true},
		{OpPlace, `{"code":-1013}`, 0, false},
		{OpReplace, `{"cancelResult":"SUCCESS","newOrderResult":"SUCCESS","newOrderResponse":{"orderId":9}}`, 9, true},
		{OpReplace, `{"cancelResult":"FAILURE","newOrderResult":"NOT_ATTEMPTED","newOrderResponse":null}`, 0, false},
		{OpCancel, `{"orderId":5,"status":"CANCELED"}`, 5, false},
		{OpPlace, `not json`, 0, false},
	}
	for _, tt := range tests {
		id, ok := acceptedOrder(tt.op, []byte(tt.body))
		if id != tt.id || ok != tt.accepted {
			t.Errorf("acceptedOrder(%s, %s) = %d, %v; want %d, %v", tt.op, tt.body, id, ok, tt.id, tt.accepted)
		}
	}
}
