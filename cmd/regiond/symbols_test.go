package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/test/deptest"
)

// matchingFile sets every matcher, controller and symbol key. Decimals are unquoted on purpose:
// they must reach the spec exactly as written.
var matchingFile = `
node_id: us-east-1
region: us-east
data_dir: ./d
profile: local
settle_window: 2s
lease_ttl: 900ms
snapshot_every: 500
snapshot_interval: 7s
append_timeout: 1500ms
submit_timeout: 20s
symbols:
  - symbol: BTCUSDT
    base_asset: BTC
    quote_asset: USDT
    tick_size: 0.01
    step_size: 0.00001
    min_price: 0.01
    max_price: 1000000
    min_qty: 0.00001
    max_qty: 9000
    min_notional: 5
    max_notional: 9000000
    max_num_orders: 200
    preferred_regions: [us-east, eu-west, ap-south]
  - symbol: ETHUSDT
    base_asset: ETH
    quote_asset: USDT
    tick_size: "0.01"
    step_size: "0.0001"
    min_price: "0.01"
    max_price: "1000000"
    min_qty: "0.0001"
    max_qty: "9000"
    max_num_orders: 50
    preferred_regions: [eu-west]
    failover_policy: halt
`

func TestMatchingKeysFromFile(t *testing.T) {
	path := writeFile(t, "n.yaml", matchingFile)
	s, err := parse(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.node
	checks := []struct {
		name      string
		got, want any
	}{
		{"settle window", c.SettleWindow, 2 * time.Second},
		{"lease ttl", c.LeaseTTL, 900 * time.Millisecond},
		{"snapshot every", c.SnapshotEvery, 500},
		{"snapshot interval", c.SnapshotInterval, 7 * time.Second},
		{"append timeout", c.AppendTimeout, 1500 * time.Millisecond},
		{"submit timeout", c.SubmitTimeout, 20 * time.Second},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	btc := region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east", "eu-west", "ap-south")
	eth := region.SymbolConfig{Symbol: "ETHUSDT", BaseAsset: "ETH", QuoteAsset: "USDT", TickSize: "0.01",
		StepSize: "0.0001", MinPrice: "0.01", MaxPrice: "1000000", MinQty: "0.0001", MaxQty: "9000",
		MaxNumOrders: 50, Preferred: []string{"eu-west"}, FailoverPolicy: "halt"}
	if want := []region.SymbolConfig{btc, eth}; !reflect.DeepEqual(c.Symbols, want) {
		t.Errorf("symbols\n got %+v\nwant %+v", c.Symbols, want)
	}
	if _, err := region.New(c); err != nil {
		t.Errorf("region.New: %v", err)
	}
}

// TestMatchingDefaultsAndFlags: keys left out keep the profile's defaults; flags beat the file.
func TestMatchingDefaultsAndFlags(t *testing.T) {
	def := region.LocalConfig()
	tests := []struct {
		name string
		file string
		args []string
		want func(c *region.Config)
	}{
		{"defaults", "node_id: n\nregion: us-east\ndata_dir: d\nprofile: local\n", nil, func(*region.Config) {}},
		{"flags beat file", matchingFile, []string{"--settle-window", "0s", "--lease-ttl", "2s", "--snapshot-every", "7",
			"--snapshot-interval", "1m", "--append-timeout", "4s", "--submit-timeout", "5s"},
			func(c *region.Config) {
				c.SettleWindow, c.LeaseTTL, c.SnapshotEvery = 0, 2*time.Second, 7
				c.SnapshotInterval, c.AppendTimeout, c.SubmitTimeout = time.Minute, 4*time.Second, 5*time.Second
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parse(t, append([]string{"--config", writeFile(t, "n.yaml", tt.file)}, tt.args...), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := def
			tt.want(&want)
			c := s.node
			got := [6]any{c.SettleWindow, c.LeaseTTL, c.SnapshotEvery, c.SnapshotInterval, c.AppendTimeout, c.SubmitTimeout}
			exp := [6]any{want.SettleWindow, want.LeaseTTL, want.SnapshotEvery, want.SnapshotInterval, want.AppendTimeout, want.SubmitTimeout}
			if got != exp {
				t.Errorf("settle, lease, snapshot every, interval, append, submit = %v, want %v", got, exp)
			}
		})
	}
}

// TestBadMatchingConfig: each mistake in the new keys exits 2 with one line naming it.
func TestBadMatchingConfig(t *testing.T) {
	base := "node_id: n1\nregion: us-east\ndata_dir: ./d\nprofile: local\n"
	sym := func(extra string) string {
		return base + `symbols:
  - symbol: BTCUSDT
    base_asset: BTC
    quote_asset: USDT
    tick_size: "0.01"
    step_size: "0.001"
    min_price: "0.01"
    max_price: "100000"
    min_qty: "0.001"
    max_qty: "100"
    max_num_orders: 10
    preferred_regions: [us-east]
` + extra
	}
	tests := []struct {
		name string
		body string
		args []string
		want string
	}{
		{"bad policy", sym("    failover_policy: pray\n"), nil, `failover policy "pray"`},
		{"unknown symbol key", sym("    tick: 1\n"), nil, `unknown key "tick"`},
		{"listed twice", sym("  - symbol: BTCUSDT\n    preferred_regions: [eu-west]\n"), nil, "BTCUSDT is listed twice"},
		{"no symbol name", sym("  - base_asset: X\n"), nil, "symbols[1]: symbol is required"},
		{"bad symbol name", strings.Replace(sym(""), "BTCUSDT", "btc-usdt", 1), nil, `symbol "btc-usdt"`},
		{"no preferred region", strings.Replace(sym(""), "[us-east]", "[]", 1), nil, "at least one preferred region"},
		{"bad preferred region", strings.Replace(sym(""), "[us-east]", "[US]", 1), nil, `preferred region "US"`},
		{"bad tick size", strings.Replace(sym(""), `"0.01"`, `"abc"`, 1), nil, `tick_size: "abc" is not a decimal`},
		{"inconsistent limits", strings.Replace(sym(""), `max_price: "100000"`, `max_price: "0.001"`, 1), nil,
			"max price 0.001 is not a non-negative multiple of 0.01"},
		{"negative max orders", strings.Replace(sym(""), "max_num_orders: 10", "max_num_orders: -1", 1), nil, "cannot unmarshal"},
		{"symbols not a list", base + "symbols: BTCUSDT\n", nil, "cannot unmarshal"},
		{"bad settle window", base + "settle_window: soon\n", nil, `settle_window "soon"`},
		{"negative settle flag", base, []string{"--settle-window", "-1s"}, `settle_window "-1s"`},
		{"lease too short", base + "lease_ttl: 10ms\n", nil, "lease ttl 10ms"},
		{"snapshot every zero", base + "snapshot_every: 0\n", nil, "snapshot every 0"},
		{"snapshot interval zero", base + "snapshot_interval: 0s\n", nil, `snapshot_interval "0s"`},
		{"append timeout too short", base + "append_timeout: 1ms\n", nil, "timeouts must be at least 100ms"},
		{"bad submit timeout flag", base, []string{"--submit-timeout", "x"}, `"--submit-timeout"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			args := append([]string{"--config", writeFile(t, "n.yaml", tt.body)}, tt.args...)
			code := run(t.Context(), args, envMap(nil), &stdout, &stderr)
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "regiond: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q: want one \"regiond: \" line containing %q", stderr.String(), tt.want)
			}
		})
	}
}

// TestImports enforces the dependency rule of cmd/: wiring only, through region and mesh.
func TestImports(t *testing.T) {
	deptest.Check(t, ".", "github.com/geomesh/geomesh/region", "github.com/geomesh/geomesh/mesh",
		"github.com/geomesh/geomesh/proto", "github.com/geomesh/geomesh/gateway",
		"github.com/spf13/cobra", "github.com/spf13/pflag", "go.yaml.in/yaml/v3",
		"github.com/prometheus/client_golang/prometheus/promhttp")
}
