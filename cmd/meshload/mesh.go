package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
)

// localMesh is a whole mesh in this process on loopback (--demo, --cold-start-symbols): one
// node per region built from region.LocalConfig and a gateway per node with the rate limits
// off. The node start-up follows cmd/regiond's demo (package main there, so its ~50 lines of
// setup are repeated here rather than imported).
type localMesh struct {
	regions []string
	symbols []region.SymbolConfig
	keys    []gateway.BootstrapKey
	log     *slog.Logger
	// progress, when set, is called about every 5 s while symbols are being placed with how
	// many are TRADING in their home region so far.
	progress func(trading, total int, elapsed time.Duration)

	dir    string
	nodes  []*region.Node
	gws    []*gateway.Gateway
	formed time.Duration // start to every node ready
	placed time.Duration // start to every symbol TRADING in its home region
}

// demoSymbols are n symbols: BTCUSDT, ETHUSDT and SOLUSDT first (as `regiond demo`), then
// generated ones; symbol i prefers the regions rotated by i, so homes spread evenly.
func demoSymbols(regions []string, n int) []region.SymbolConfig {
	named := []string{"BTC", "ETH", "SOL"}
	out := make([]region.SymbolConfig, n)
	for i := range n {
		base := fmt.Sprintf("S%04d", i)
		if i < len(named) {
			base = named[i]
		}
		pref := make([]string, 0, len(regions))
		for j := range regions {
			pref = append(pref, regions[(i+j)%len(regions)])
		}
		out[i] = region.DemoSymbol(base+"USDT", base, "USDT", pref...)
	}
	return out
}

// config is the node configuration of region r, seeded with seed.
func (m *localMesh) config(r, seed string) region.Config {
	c := region.LocalConfig()
	c.NodeID = r + "-1"
	c.Region = r
	c.DataDir = filepath.Join(m.dir, r)
	c.Replicas = min(3, len(m.regions))
	if seed != "" {
		c.Seeds = []string{seed}
	}
	c.Symbols = m.symbols
	c.Logger = m.log
	return c
}

// start brings the nodes up (the first seeds the others), waits until every node is ready and
// every symbol is TRADING with its matcher running in its home region, then starts a gateway
// per node unless noGateways. On error the caller still calls close.
func (m *localMesh) start(ctx context.Context, noGateways bool) error {
	dir, err := os.MkdirTemp("", "meshload-")
	if err != nil {
		return err
	}
	m.dir = dir
	began := time.Now()
	seed := ""
	for _, r := range m.regions {
		n, err := region.New(m.config(r, seed))
		if err != nil {
			return err
		}
		if err := n.Start(ctx); err != nil {
			_ = n.Close()
			return fmt.Errorf("start %s: %w", r, err)
		}
		m.nodes = append(m.nodes, n)
		if seed == "" {
			seed = n.GossipAddr()
		}
	}
	for _, n := range m.nodes {
		if err := n.AwaitReady(ctx); err != nil {
			return fmt.Errorf("mesh not ready: %w", err)
		}
	}
	m.formed = time.Since(began)
	if err := m.awaitTrading(ctx, began); err != nil {
		return fmt.Errorf("symbols not placed: %w", err)
	}
	m.placed = time.Since(began)
	if noGateways {
		return nil
	}
	for _, n := range m.nodes {
		gc := gateway.LocalConfig()
		gc.Region, gc.NC, gc.Submitter, gc.Logger = n.RegionName(), n.Conn(), n.Submitter(), m.log
		gc.BootstrapKeys = m.keys
		gc.WeightLimit, gc.OrderLimit10s = -1, -1 // a load test measures the mesh, not the limiter
		gw, err := gateway.New(gc)
		if err != nil {
			return err
		}
		if err := gw.Start(ctx); err != nil {
			_ = gw.Close()
			return fmt.Errorf("gateway %s: %w", n.RegionName(), err)
		}
		m.gws = append(m.gws, gw)
	}
	return nil
}

// awaitTrading polls until every symbol's ownership record is TRADING and a node of its home
// region runs its matcher at the record's epoch.
func (m *localMesh) awaitTrading(ctx context.Context, began time.Time) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		missing, trading := "", 0
		running := m.running()
		for _, sc := range m.symbols {
			rec := m.nodes[0].Owner(sc.Symbol)
			why := ""
			switch {
			case rec == nil:
				why = sc.Symbol + " has no owner"
			case rec.Phase != proto.Phase_PHASE_TRADING:
				why = sc.Symbol + " is " + rec.Phase.String()
			case running[rec.HomeRegion][rec.Symbol] != rec.Epoch:
				why = fmt.Sprintf("%s: no matcher in %s at epoch %d", sc.Symbol, rec.HomeRegion, rec.Epoch)
			default:
				trading++
			}
			if missing == "" {
				missing = why
			}
		}
		if missing == "" {
			return nil
		}
		if m.progress != nil && time.Since(lastReport) >= 5*time.Second {
			m.progress(trading, len(m.symbols), time.Since(began))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d TRADING; first missing: %s", trading, len(m.symbols), missing)
		case <-tick.C:
		}
	}
}

// running is, per region, the epoch of every matcher its nodes run (one Matching call per node:
// it builds a map, and a poll of hundreds of symbols must not cost the mesh it measures).
func (m *localMesh) running() map[string]map[string]uint64 {
	out := map[string]map[string]uint64{}
	for _, n := range m.nodes {
		if out[n.RegionName()] == nil {
			out[n.RegionName()] = map[string]uint64{}
		}
		for sym, epoch := range n.Matching() {
			out[n.RegionName()][sym] = epoch
		}
	}
	return out
}

// homes counts the symbols homed in each region.
func (m *localMesh) homes() map[string]int {
	out := map[string]int{}
	for _, sc := range m.symbols {
		if rec := m.nodes[0].Owner(sc.Symbol); rec != nil {
			out[rec.HomeRegion]++
		}
	}
	return out
}

// targets are the gateways as load targets.
func (m *localMesh) targets() []targetSpec {
	out := make([]targetSpec, len(m.gws))
	for i, gw := range m.gws {
		out[i] = targetSpec{region: m.nodes[i].RegionName(), url: gw.URL()}
	}
	return out
}

// close stops the gateways and the nodes (the last started first) and removes the data.
// Idempotent.
func (m *localMesh) close() error {
	var errs []error
	for _, gw := range m.gws {
		if err := gw.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	m.gws = nil
	for i := len(m.nodes) - 1; i >= 0; i-- {
		if err := m.nodes[i].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", m.nodes[i].RegionName(), err))
		}
	}
	m.nodes = nil
	if m.dir != "" {
		errs = append(errs, os.RemoveAll(m.dir))
		m.dir = ""
	}
	return errors.Join(errs...)
}
