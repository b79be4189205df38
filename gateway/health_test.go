package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/geomesh/geomesh/gateway"
)

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestHealthAndDrain: /healthz and /readyz as load balancers use them, and a drain as regiond
// runs it on SIGTERM: readiness flips to 503 at once while requests are still served, then
// WebSocket clients get serverShutdown and a 1001 close; the metrics count what happened.
func TestHealthAndDrain(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	var ready atomic.Bool
	ready.Store(true)
	gw := e.startGateway(t, "eu-west", func(c *gateway.Config) {
		c.Registerer = reg
		c.Ready = ready.Load
		c.WSDrainWindow = 50 * time.Millisecond
	})
	base := gw.URL()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := getStatus(t, base+path); code != http.StatusOK || !strings.Contains(body, `"region":"eu-west"`) {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	ready.Store(false)
	if code, body := getStatus(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not_ready") {
		t.Fatalf("readyz of a node that is not ready: %d %s", code, body)
	}

	// Two WebSocket clients, a raw stream and a combined one.
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	var conns []*websocket.Conn
	for _, path := range []string{"/ws/btcusdt@trade", "/stream?streams=btcusdt@depth"} {
		c, _, err := websocket.DefaultDialer.Dial(wsBase+path, nil)
		if err != nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	if got := metricValue(t, reg, "geomesh_ws_connections", "market"); got != 2 {
		t.Fatalf("geomesh_ws_connections{kind=market} = %v, want 2", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	drained := make(chan struct{})
	go func() { gw.Drain(ctx, 300*time.Millisecond); close(drained) }()
	await(t, "readyz 503 while draining", func() error {
		if code, body := getStatus(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
	// Still serving during the wait.
	if code, _ := getStatus(t, base+"/api/v3/ping"); code != http.StatusOK {
		t.Fatalf("ping while draining: %d", code)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		sawShutdown := false
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
					t.Fatalf("conn %d: closed with %v, want 1001", i, err)
				}
				break
			}
			var ev struct {
				E      string `json:"e"`
				Stream string `json:"stream"`
				Data   struct {
					E string `json:"e"`
				} `json:"data"`
			}
			_ = json.Unmarshal(msg, &ev)
			if ev.E == "serverShutdown" || ev.Data.E == "serverShutdown" {
				sawShutdown = true
			}
		}
		if !sawShutdown {
			t.Errorf("conn %d: closed without serverShutdown", i)
		}
	}
	<-drained
	if got := metricValue(t, reg, "geomesh_ws_server_shutdown_sent_total", ""); got != 2 {
		t.Errorf("geomesh_ws_server_shutdown_sent_total = %v, want 2", got)
	}
	// New WebSocket connections are refused once drained.
	if _, res, err := websocket.DefaultDialer.Dial(wsBase+"/ws/btcusdt@trade", nil); err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after drain: %v %v, want 503", err, res)
	}
}

// metricValue reads the value of the series of name whose first label is label ("": any) from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s{%s} in the registry", name, label)
	return 0
}
