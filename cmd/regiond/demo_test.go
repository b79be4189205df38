package main

import (
	"context"
	"os"
	"path/filepath"
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
