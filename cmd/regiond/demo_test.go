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

// TestDemo runs `regiond demo --exit-after 1s` in-process: three regions form a mesh, the table
// names each with its URLs, each symbol is homed in its first preferred region, and the demo
// exits 0 and removes its temporary data directory.
func TestDemo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	start := time.Now()
	code := run(ctx, []string{"demo", "--exit-after", "1s"}, envMap(nil), &stdout, &stderr)
	out := stdout.String()
	if code != exitOK {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	t.Logf("demo ran in %v:\n%s", time.Since(start), out)
	if !strings.Contains(out, "3 regions formed a mesh in ") {
		t.Errorf("no formation time in:\n%s", out)
	}
	rows := map[string][]string{}
	symRows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		switch f := strings.Fields(line); len(f) {
		case 6:
			rows[f[0]] = f
		case 4:
			symRows[f[0]] = f
		}
	}
	if !strings.Contains(out, "\nREGION    NODE        GOSSIP") {
		t.Fatalf("no table header in:\n%s", out)
	}
	for _, r := range []string{"us-east", "eu-west", "ap-south"} {
		row := rows[r]
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
		}
		if _, err := os.Stat(row[5]); !os.IsNotExist(err) {
			t.Errorf("temporary data dir %s not removed: %v", row[5], err)
		}
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
	if !strings.HasSuffix(out, "Shutting down.\n") {
		t.Errorf("no shutdown line at the end of:\n%s", out)
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
