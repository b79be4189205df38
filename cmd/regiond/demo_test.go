package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// demoExitAfter is how long TestDemo's demo runs after printing: long enough for the HTTP
// checks on a loaded machine, short enough to keep the test quick. The demo must exit by itself.
const demoExitAfter = 8 * time.Second

// TestDemo runs `regiond demo --exit-after 8s` in-process: three regions form a mesh, the table
// names each with its URLs, each symbol is homed in its first preferred region, every region's
// printed REST URL answers ping and lists the three symbols, the printed API key signs requests,
// the printed admin URL answers status with the printed token (401 without), and the demo exits
// 0 by itself, stops serving and removes its temporary data directory.
func TestDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	start := time.Now()
	wait := runAsync(ctx, []string{"demo", "--exit-after", demoExitAfter.String()}, nil, &stdout, &stderr)
	awaitText(t, &stdout, "Running for ", 80*time.Second)
	out := stdout.String()
	t.Logf("demo up in %v:\n%s", time.Since(start), out)
	if !strings.Contains(out, "3 regions formed a mesh in ") {
		t.Errorf("no formation time in:\n%s", out)
	}
	rows := map[string][]string{}
	symRows := map[string][]string{}
	urlRows := map[string][]string{}
	values := map[string]string{} // "API key", "API secret", "Admin token" -> value
	for _, line := range strings.Split(out, "\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
			name, _, _ = strings.Cut(name, " (")
			values[name] = strings.TrimSpace(v)
		}
		switch f := strings.Fields(line); {
		case len(f) == 6:
			rows[f[0]] = f
		case len(f) == 4 && strings.HasPrefix(f[1], "http"):
			urlRows[f[0]] = f
		case len(f) == 4:
			symRows[f[0]] = f
		}
	}
	if !strings.Contains(out, "\nREGION    NODE        GOSSIP") {
		t.Fatalf("no table header in:\n%s", out)
	}
	if !strings.Contains(out, "\nREGION    REST URL                WEBSOCKET URL            ADMIN URL\n") {
		t.Fatalf("no URL table header in:\n%s", out)
	}
	key, secret, token := values["API key"], values["API secret"], values["Admin token"]
	if len(key) != 64 || len(secret) != 64 || len(token) != 32 {
		t.Fatalf("API key %q, secret %q, admin token %q: want 64, 64 and 32 characters", key, secret, token)
	}
	symbols := []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}
	for _, r := range []string{"us-east", "eu-west", "ap-south"} {
		row, u := rows[r], urlRows[r]
		switch {
		case row == nil:
			t.Errorf("no row for %s in:\n%s", r, out)
			continue
		case row[1] != r+"-1",
			!strings.HasPrefix(row[2], "127.0.0.1:"),
			!strings.HasPrefix(row[3], "nats://127.0.0.1:"),
			!strings.HasPrefix(row[4], "nats-route://127.0.0.1:"),
			filepath.Base(row[5]) != r:
			t.Errorf("row for %s: %q", r, row)
		case u == nil:
			t.Errorf("no URL row for %s in:\n%s", r, out)
			continue
		case !strings.HasPrefix(u[1], "http://127.0.0.1:"),
			u[2] != "ws://"+strings.TrimPrefix(u[1], "http://")+"/ws",
			!strings.HasPrefix(u[3], "http://127.0.0.1:"):
			t.Errorf("URL row for %s: %q", r, u)
		}
		checkGateway(t, u[1], symbols...)
		checkAdmin(t, u[3], token, r)
	}
	if u := urlRows["eu-west"]; u != nil {
		// The key was created through us-east; another region's gateway authenticates it too.
		awaitSignedAccount(t, u[1], key, secret, 10*time.Second)
	}
	if !strings.Contains(out, "\nSYMBOL   HOME      PHASE    EPOCH\n") {
		t.Fatalf("no symbol table header in:\n%s", out)
	}
	for sym, home := range map[string]string{"BTCUSDT": "us-east", "ETHUSDT": "eu-west", "SOLUSDT": "ap-south"} {
		row := symRows[sym]
		if row == nil || row[1] != home || row[2] != "TRADING" || row[3] == "0" {
			t.Errorf("row for %s: %q, want home %s, TRADING, an epoch", sym, row, home)
		}
	}
	if u := urlRows["us-east"]; u != nil {
		admin := "go run ./cmd/meshctl --server " + u[3] + " --token " + token
		for _, want := range []string{"\n  curl -s " + u[1] + "/api/v3/exchangeInfo\n", "\n  " + admin + " status\n",
			"\n  " + admin + " move BTCUSDT --to eu-west --yes\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("no example %q in:\n%s", want, out)
			}
		}
	}

	code := awaitExit(t, wait, demoExitAfter+30*time.Second)
	out = stdout.String()
	if code != exitOK || ctx.Err() != nil {
		t.Fatalf("exit code %d (context %v), want 0 after --exit-after\nstdout:\n%s\nstderr:\n%s", code, ctx.Err(), out, stderr.String())
	}
	if !strings.HasSuffix(out, "Shutting down.\n") {
		t.Errorf("no shutdown line at the end of:\n%s", out)
	}
	for r, row := range rows {
		if _, err := os.Stat(row[5]); !os.IsNotExist(err) {
			t.Errorf("temporary data dir %s not removed: %v", row[5], err)
		}
		if u := urlRows[r]; u != nil {
			for _, url := range []string{u[1] + "/api/v3/ping", u[3] + "/admin/v1/status"} {
				if _, _, err := tryGet(url, token, nil); err == nil {
					t.Errorf("GET %s still answers after the demo exited", url)
				}
			}
		}
	}
}

// TestDemoConfig checks the per-region node configuration of the demo without starting it.
func TestDemoConfig(t *testing.T) {
	tests := []struct {
		name         string
		regions      []string
		dataDir      string
		wantReplicas int
	}{
		{"three regions", []string{"us-east", "eu-west", "ap-south"}, "/data", 3},
		{"one region", []string{"us-east"}, "/data", 1},
		{"five regions", []string{"r-a", "r-b", "r-c", "r-d", "r-e"}, "/x", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := newDemo(demoOptions{Regions: tt.regions, DataDir: tt.dataDir})
			if err != nil {
				t.Fatal(err)
			}
			c := d.config(tt.regions[1%len(tt.regions)], "127.0.0.1:1")
			r := tt.regions[1%len(tt.regions)]
			if c.NodeID != r+"-1" || c.Region != r || c.DataDir != filepath.Join(tt.dataDir, r) ||
				c.Replicas != tt.wantReplicas || len(c.Seeds) != 1 || c.NATSPort != 0 || c.Profile != "local" {
				t.Errorf("config %+v", c)
			}
			if len(c.Symbols) != 3 {
				t.Fatalf("%d symbols, want 3", len(c.Symbols))
			}
			for i, sc := range c.Symbols {
				// Symbol i prefers the regions rotated by i: each region is first for one symbol.
				want := append(slices.Clone(tt.regions[i%len(tt.regions):]), tt.regions[:i%len(tt.regions)]...)
				if !slices.Equal(sc.Preferred, want) {
					t.Errorf("%s prefers %v, want %v", sc.Symbol, sc.Preferred, want)
				}
			}
		})
	}
}

// TestDemoTraffic runs the demo with --traffic the way `regiond demo --traffic` does (runDemo,
// stopped by its context as by Ctrl-C): every symbol trades (GET /api/v3/trades is non-empty in
// every region, the book has bids and asks), the traffic placed, requoted and crossed orders,
// and when the context ends runDemo returns nil, prints the traffic's totals, every gateway and
// admin API stops answering and every goroutine the demo started has ended. Not parallel, so
// the goroutine count is the demo's alone.
func TestDemoTraffic(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := newDemo(demoOptions{Regions: []string{"us-east", "eu-west", "ap-south"}, TrafficRate: 20})
	if err != nil {
		t.Fatal(err)
	}
	var stdout syncBuffer
	done := make(chan error, 1)
	go func() { done <- runDemo(ctx, d, &stdout, 0) }()
	awaitText(t, &stdout, "Running; press Ctrl-C to stop.", 90*time.Second)
	out := stdout.String()
	if !strings.Contains(out, "Traffic: a market maker (accounts 3-5) and a taker (account 2) per symbol, 20 orders/s over all regions\n") {
		t.Errorf("no traffic line in:\n%s", out)
	}
	// The fronts are set before the text above was written (the buffer's lock orders them).
	var rest, admin []string
	for _, f := range d.fronts {
		rest, admin = append(rest, f.RESTURL()), append(admin, f.AdminURL())
	}
	if !strings.Contains(out, "Status page (every region):       "+rest[0]+"/status\n") {
		t.Errorf("no status page line in:\n%s", out)
	}
	for _, u := range rest {
		if code, body, err := tryGet(u+"/status", "", nil); err != nil || code != http.StatusOK || !strings.Contains(body, "us-east") {
			t.Errorf("GET %s/status: %d %v %.300s, want the status page naming the regions", u, code, err, body)
		}
	}
	for i, sym := range []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"} {
		for j := range rest {
			// Each region's replica shows the trades and the ladder, whichever region took them.
			u := rest[(i+j)%len(rest)]
			awaitJSON(t, u+"/api/v3/trades?symbol="+sym, 60*time.Second, func(trades []map[string]any) bool { return len(trades) > 0 })
		}
		awaitJSON(t, rest[i]+"/api/v3/depth?symbol="+sym, 30*time.Second, func(b struct{ Bids, Asks [][]string }) bool {
			return len(b.Bids) > 0 && len(b.Asks) > 0
		})
	}
	// Requotes start once a market maker's levels are all quoted: on a loaded machine that can
	// come after the first trades, so wait for them (the stats only grow).
	st := d.traffic.Stats()
	for deadline := time.Now().Add(60 * time.Second); st.Orders == 0 || st.Requotes == 0 || st.Takers == 0; st = d.traffic.Stats() {
		if time.Now().After(deadline) {
			t.Errorf("traffic stats %+v: want orders, requotes and taker orders", st)
			break
		}
		time.Sleep(50 * time.Millisecond) // polling counters the traffic goroutines increment
	}
	t.Logf("traffic so far: %+v", st)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runDemo: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("runDemo did not return within 60s of the interrupt")
	}
	out = stdout.String()
	if !regexp.MustCompile(`Shutting down.\nTraffic sent \d+ orders \(\d+ requotes, \d+ taker orders\); \d+ refused, \d+ without an answer.\n$`).MatchString(out) {
		t.Errorf("no traffic totals at the end of:\n%s", out)
	}
	for i := range rest {
		for _, url := range []string{rest[i] + "/api/v3/ping", admin[i] + "/admin/v1/status"} {
			if _, _, err := tryGet(url, "", nil); err == nil {
				t.Errorf("GET %s still answers after the demo returned", url)
			}
		}
	}
	http.DefaultClient.CloseIdleConnections()
	awaitGoroutines(t, before, 30*time.Second)
}

// awaitJSON polls GET url until its JSON body decodes into a T for which ok is true, or fails
// after timeout with the last answer.
func awaitJSON[T any](t *testing.T, url string, timeout time.Duration, ok func(T) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		code, body, err := tryGet(url, "", nil)
		var v T
		if err == nil && code == http.StatusOK && json.Unmarshal([]byte(body), &v) == nil && ok(v) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %.300s %v after %v", url, code, body, err, timeout)
		}
		<-tick.C
	}
}

// awaitGoroutines polls until no more goroutines run than before, or fails after timeout
// listing those still running.
func awaitGoroutines(t *testing.T, before int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines still run, %d before the demo:\n%s", runtime.NumGoroutine(), before, buf)
		}
		<-tick.C
	}
}

// TestDemoTrafficFlags checks that a bad --traffic-rate is refused before anything starts:
// exit 2 and one line saying why.
func TestDemoTrafficFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--traffic-rate", "0"}, "regiond: --traffic-rate 0: want a positive number of orders per second\n"},
		{[]string{"demo", "--traffic", "--traffic-rate", "-3"}, "regiond: --traffic-rate -3: want a positive number of orders per second\n"},
		{[]string{"demo", "--traffic-rate", "fast"}, "regiond: invalid argument \"fast\" for \"--traffic-rate\" flag: strconv.ParseFloat: parsing \"fast\": invalid syntax\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := run(context.Background(), tt.args, envMap(nil), &stdout, &stderr)
			if code != exitUsage || stderr.String() != tt.want || stdout.String() != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 2, stderr %q", code, stderr.String(), stdout.String(), tt.want)
			}
		})
	}
}
