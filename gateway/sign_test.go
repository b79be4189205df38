package gateway

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The HMAC test vector of Binance's rest-api.md.
func TestSignatureVector(t *testing.T) {
	secret := []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	payload := "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	const want = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
	const mixed = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
	if got := sign(secret, payload); got != want {
		t.Fatalf("sign = %s, want %s", got, want)
	}
	// The documented example split between query and body, signature in either part.
	tests := []struct{ name, query, body string }{
		{"all in query", payload + "&signature=" + want, ""},
		{"all in body", "", payload + "&signature=" + want},
		// rest-api.md example 3: query and body concatenated without '&'.
		{"mixed, sig in query", "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&signature=" + mixed,
			"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"},
		{"upper-case hex", payload + "&signature=C8DB56825AE71D6D79447849E617115F4A920FA2ACDCAB2B053C4B2838BD6B71", ""},
		{"signature first", "signature=" + want + "&" + payload, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, sig, ok := signedPayload(tc.query, tc.body)
			if !ok || !validSignature(secret, p, sig) {
				t.Fatalf("payload %q sig %q ok %v: not valid", p, sig, ok)
			}
		})
	}
	if p, sig, _ := signedPayload(payload+"&signature="+want, "x=1"); validSignature(secret, p, sig) {
		t.Fatal("extra body bytes must break the signature")
	}
}

func TestCutSignature(t *testing.T) {
	tests := []struct {
		raw, rest, sig string
		found          bool
	}{
		{"a=1&signature=ab", "a=1", "ab", true},
		{"signature=ab&a=1", "a=1", "ab", true},
		{"a=1&signature=ab&b=2", "a=1&b=2", "ab", true},
		{"signature=ab", "", "ab", true},
		{"a=1", "a=1", "", false},
		{"", "", "", false},
		{"xsignature=1&a=2", "xsignature=1&a=2", "", false},
	}
	for _, tc := range tests {
		rest, sig, found := cutSignature(tc.raw)
		if rest != tc.rest || sig != tc.sig || found != tc.found {
			t.Errorf("cutSignature(%q) = %q %q %v, want %q %q %v", tc.raw, rest, sig, found, tc.rest, tc.sig, tc.found)
		}
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := now.UnixMilli()
	tests := []struct {
		name, ts, rw string
		code         int32
		rwMs         int64
	}{
		{"now", itoa64(ms), "", 0, 5000},
		{"4.9 s old", itoa64(ms - 4900), "", 0, 5000},
		{"5.1 s old", itoa64(ms - 5100), "", -1021, 0},
		{"wide window", itoa64(ms - 5100), "10000", 0, 10000},
		{"window with decimals", itoa64(ms), "1000.123", 0, 1000},
		{"window 4 decimals", itoa64(ms), "1000.1234", -1100, 0},
		{"window too big", itoa64(ms), "60001", -1131, 0},
		{"ahead 999 ms", itoa64(ms + 999), "", 0, 5000},
		{"ahead 1000 ms", itoa64(ms + 1000), "", -1021, 0},
		{"missing", "", "", -1102, 0},
		{"garbage", "12a", "", -1100, 0},
		{"negative window", itoa64(ms), "-1", -1100, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, rw, aerr := checkTimestamp(tc.ts, tc.rw, now)
			var code int32
			if aerr != nil {
				code = aerr.code
			}
			if code != tc.code || (aerr == nil && rw != tc.rwMs) {
				t.Fatalf("got code %d rw %d (%v), want %d %d", code, rw, aerr, tc.code, tc.rwMs)
			}
		})
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// FuzzSignature: verification never panics, accepts exactly the payload that was signed, and
// rejects any change to it.
func FuzzSignature(f *testing.F) {
	f.Add("symbol=BTCUSDT&timestamp=1", "side=BUY", "secret", byte(3))
	f.Add("", "a=%40&signature=zz", "k", byte(0))
	f.Fuzz(func(t *testing.T, query, body, secret string, flip byte) {
		p, sig, ok := signedPayload(query, body)
		if ok {
			_ = validSignature([]byte(secret), p, sig) // arbitrary input: must not panic
		}
		good := sign([]byte(secret), query+body)
		q := query
		if q != "" {
			q += "&"
		}
		q += "signature=" + good
		p, sig, ok = signedPayload(q, body)
		if !ok {
			t.Fatalf("signature not found in %q", q)
		}
		if _, _, inQuery := cutSignature(query); !inQuery && !validSignature([]byte(secret), p, sig) {
			t.Fatalf("own signature rejected: query %q body %q", query, body)
		}
		if len(body) > 0 {
			b := []byte(body)
			b[int(flip)%len(b)] ^= 1
			p, sig, _ = signedPayload(q, string(b))
			if _, _, inQuery := cutSignature(query); !inQuery && validSignature([]byte(secret), p, sig) {
				t.Fatalf("tampered body accepted: %q", b)
			}
		}
	})
}

// The WebSocket API test vector of web-socket-api.md: params sorted by key, raw values.
func TestWSAPISignatureVector(t *testing.T) {
	secret := []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	params := `{"symbol":"BTCUSDT","side":"SELL","type":"LIMIT","timeInForce":"GTC","quantity":"0.01000000",
		"price":"52000.00","recvWindow":100,"timestamp":1645423376532,
		"apiKey":"vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
		"signature":"aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"}`
	m, ok := wsAPIParams([]byte(params))
	if !ok {
		t.Fatal("params not decoded")
	}
	raw, enc := wsAPIPayloads(m)
	if !validSignature(secret, raw, m["signature"]) {
		t.Fatalf("raw payload %q does not verify", raw)
	}
	if raw != enc {
		t.Fatalf("plain values encode differently: %q vs %q", raw, enc)
	}
	m["newClientOrderId"] = "a:b/c"
	raw, enc = wsAPIPayloads(m)
	if raw == enc || !strings.Contains(enc, "a%3Ab%2Fc") {
		t.Fatalf("escaped form %q", enc)
	}
}
