package gateway_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkHTTPFloor measures what a REST order costs before the mesh does anything: a Go
// net/http server that reads an order's signed form, checks its HMAC-SHA256 signature and
// answers a small JSON body, loaded over keep-alive connections by a Go client in the same
// process, as meshload --demo does. Its requests/s is the ceiling of REST orders/s on this
// machine whatever the mesh behind the gateway does (BENCHMARKS.md note B).
//
//	go test -run '^$' -bench HTTPFloor -count 5 ./gateway
func BenchmarkHTTPFloor(b *testing.B) {
	secret := []byte("localDevSecret1")
	query := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01000000&price=1000.00" +
		"&newClientOrderId=ml-1-000000001&newOrderRespType=ACK&recvWindow=10000&timestamp=1763800000000"
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(query))
	body := query + "&signature=" + hex.EncodeToString(mac.Sum(nil))
	answer := []byte(`{"symbol":"BTCUSDT","orderId":123456,"orderListId":-1,"clientOrderId":"ml-1-000000001","transactTime":1763800000000}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		q, sig, _ := strings.Cut(string(raw), "&signature=")
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(q))
		want := hex.EncodeToString(m.Sum(nil))
		if !hmac.Equal([]byte(sig), []byte(want)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	b.SetParallelism(64)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v3/order", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-MBX-APIKEY", "localDevApiKey1")
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
