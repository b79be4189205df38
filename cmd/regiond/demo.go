package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
)

// demoOptions configure `regiond demo`.
type demoOptions struct {
	// Regions to start, one node each; the first is the seed of the others.
	Regions []string
	// DataDir holds one directory per region and is kept; empty means a temporary directory
	// removed by Close.
	DataDir string
	// ReadyTimeout bounds how long the mesh may take to form.
	ReadyTimeout time.Duration
	// Symbols configured on every node; nil means demoSymbols(Regions).
	Symbols []region.SymbolConfig
	// Logger receives every node's log.
	Logger *slog.Logger
	// AdminToken authenticates every region's admin API; empty means a random one.
	AdminToken string
	// TrafficRate, when positive, runs a market maker and a taker per symbol through the
	// gateways at this many orders per second in all (see traffic.go).
	TrafficRate float64
}

// demoAccount is the account of the API key the demo creates.
const demoAccount = 1

// Accounts of the demo's traffic, apart from demoAccount so its orders and its order-rate limit
// stay the user's: the taker, then one maker per symbol.
const (
	trafficTakerAccount = 2
	trafficMakerAccount = 3 // + the symbol's index
)

// demoSymbols are the demo's symbols, each preferring a different region first (the regions
// rotated), so a three-region demo homes one symbol in each region:
// BTCUSDT us-east, eu-west, ap-south; ETHUSDT eu-west, ap-south, us-east; SOLUSDT ap-south,
// us-east, eu-west.
func demoSymbols(regions []string) []region.SymbolConfig {
	syms := []struct{ symbol, base string }{{"BTCUSDT", "BTC"}, {"ETHUSDT", "ETH"}, {"SOLUSDT", "SOL"}}
	out := make([]region.SymbolConfig, len(syms))
	for i, s := range syms {
		pref := make([]string, 0, len(regions))
		for j := range regions {
			pref = append(pref, regions[(i+j)%len(regions)])
		}
		out[i] = region.DemoSymbol(s.symbol, s.base, "USDT", pref...)
	}
	return out
}

// demo is a whole mesh in one process on loopback, built from region.LocalConfig: the same code
// as production, gateways and admin APIs included. Start brings it up and waits until it is
// ready, Print describes it, Close shuts it down.
type demo struct {
	opts    demoOptions
	dir     string
	tempDir bool
	nodes   []*region.Node
	formed  time.Duration
	owners  []*proto.OwnershipRecord // one per configured symbol, once placed
	placed  time.Duration
	fronts  []*front // one per node: its gateway and admin API
	apiKey  string   // an API key of demoAccount with read and trade permissions
	secret  string
	traffic *traffic // nil without TrafficRate
}

func newDemo(opts demoOptions) (*demo, error) {
	if len(opts.Regions) == 0 {
		return nil, errors.New("demo: no regions")
	}
	for i, r := range opts.Regions {
		if slices.Contains(opts.Regions[:i], r) {
			return nil, fmt.Errorf("demo: region %q given twice", r)
		}
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Symbols == nil {
		opts.Symbols = demoSymbols(opts.Regions)
	}
	if opts.AdminToken == "" {
		opts.AdminToken = randomToken()
	}
	if opts.TrafficRate < 0 {
		return nil, fmt.Errorf("demo: traffic rate %v: want a positive number of orders per second", opts.TrafficRate)
	}
	d := &demo{opts: opts, dir: opts.DataDir}
	// Validate every region's configuration before anything starts.
	for _, r := range opts.Regions {
		if _, err := region.New(d.config(r, "")); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// config is the node configuration of region r, seeded with seed.
func (d *demo) config(r, seed string) region.Config {
	c := region.LocalConfig()
	c.NodeID = r + "-1"
	c.Region = r
	c.DataDir = filepath.Join(d.dir, r)
	if d.dir == "" {
		c.DataDir = r // validated before the temporary directory exists
	}
	// unique_tag places one replica per region: a mesh of fewer than 3 regions replicates less.
	c.Replicas = min(3, len(d.opts.Regions))
	if seed != "" {
		c.Seeds = []string{seed}
	}
	c.Symbols = d.opts.Symbols
	c.Logger = d.opts.Logger
	return c
}

// Start starts every region (the first alone, the others seeded with its gossip address), waits
// until all are ready, then until every symbol has an owner whose matcher runs in its home
// region, then starts each region's gateway and admin API and creates an API key. On error the
// caller still calls Close.
func (d *demo) Start(ctx context.Context) error {
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "geomesh-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		d.dir, d.tempDir = dir, true
	}
	began := time.Now()
	seed := ""
	for _, r := range d.opts.Regions {
		n, err := region.New(d.config(r, seed))
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if err := n.Start(ctx); err != nil {
			_ = n.Close()
			return fmt.Errorf("demo: start %s: %w", r, err)
		}
		d.nodes = append(d.nodes, n)
		if seed == "" {
			seed = n.GossipAddr()
		}
	}
	wait, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	for _, n := range d.nodes {
		if err := n.AwaitReady(wait); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("demo: mesh not ready within %v: %w", d.opts.ReadyTimeout, err)
		}
	}
	d.formed = time.Since(began)
	if err := d.awaitOwners(wait); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("demo: symbols not placed within %v: %w", d.opts.ReadyTimeout, err)
	}
	d.placed = time.Since(began)
	if err := d.startFronts(wait); err != nil {
		return err
	}
	if d.opts.TrafficRate > 0 {
		return d.startTraffic(ctx, wait)
	}
	return nil
}

// startTraffic creates the traffic's API keys (a taker's and one maker's per symbol) and starts
// it on every region's gateway; it runs until Close. Keys are created through the first node
// and reach the other regions' gateways through their ACCOUNTS watch, so a maker's first
// requests to them may be refused for a moment (-2015); the traffic just goes on.
func (d *demo) startTraffic(ctx, wait context.Context) error {
	cfg := trafficConfig{Rate: d.opts.TrafficRate, Symbols: d.opts.Symbols, Logger: d.opts.Logger}
	js := d.nodes[0].JetStream()
	for i := range len(d.opts.Symbols) + 1 {
		account := uint64(trafficTakerAccount)
		if i > 0 {
			account = uint64(trafficMakerAccount + i - 1)
		}
		key, secret, err := gateway.CreateAPIKey(wait, js, account,
			proto.Permission_PERMISSION_READ, proto.Permission_PERMISSION_TRADE)
		if err != nil {
			return fmt.Errorf("demo: traffic key: %w", err)
		}
		if i == 0 {
			cfg.Taker = apiCredentials{key, secret}
		} else {
			cfg.Makers = append(cfg.Makers, apiCredentials{key, secret})
		}
	}
	for _, f := range d.fronts {
		if u := f.RESTURL(); u != "" {
			cfg.URLs = append(cfg.URLs, u)
		}
	}
	t, err := startTraffic(ctx, cfg)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.traffic = t
	return nil
}

// startFronts starts a gateway and an admin API on free loopback ports for every node, then
// creates the demo's API key (every gateway learns it through its ACCOUNTS watch).
func (d *demo) startFronts(ctx context.Context) error {
	for _, n := range d.nodes {
		f, err := startFront(ctx, n, frontConfig{httpAddr: localHTTPAddr, adminAddr: localAdminAddr,
			adminToken: d.opts.AdminToken}, d.opts.Logger)
		if err != nil {
			return fmt.Errorf("demo: %s: %w", n.RegionName(), err)
		}
		d.fronts = append(d.fronts, f)
	}
	var err error
	d.apiKey, d.secret, err = gateway.CreateAPIKey(ctx, d.nodes[0].JetStream(), demoAccount,
		proto.Permission_PERMISSION_READ, proto.Permission_PERMISSION_TRADE)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// awaitOwners polls until every configured symbol has an ownership record and its matcher runs
// on a node of the home region, or ctx ends (the error says what was missing).
func (d *demo) awaitOwners(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		missing := ""
		owners := make([]*proto.OwnershipRecord, 0, len(d.opts.Symbols))
		for _, sc := range d.opts.Symbols {
			rec := d.nodes[0].Owner(sc.Symbol)
			if rec == nil {
				missing = sc.Symbol + " has no owner"
				break
			}
			if !d.matching(rec) {
				missing = fmt.Sprintf("%s: no matcher in %s at epoch %d", sc.Symbol, rec.HomeRegion, rec.Epoch)
				break
			}
			owners = append(owners, rec)
		}
		if missing == "" {
			d.owners = owners
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New(missing)
		case <-tick.C:
		}
	}
}

// matching reports whether a node of rec's home region runs rec's matcher at rec's epoch.
func (d *demo) matching(rec *proto.OwnershipRecord) bool {
	for _, n := range d.nodes {
		if epoch, ok := n.Matching()[rec.Symbol]; ok && n.RegionName() == rec.HomeRegion && epoch == rec.Epoch {
			return true
		}
	}
	return false
}

// Print writes what the demo started: one row per region, and how long the mesh took to form.
func (d *demo) Print(w io.Writer) {
	fmt.Fprintf(w, "geomesh %s demo: %d regions formed a mesh in %v\n\n", region.Version, len(d.nodes),
		d.formed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tNODE\tGOSSIP\tNATS CLIENT URL\tROUTE URL\tDATA DIR")
	for _, n := range d.nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.RegionName(), n.ID(), n.GossipAddr(), n.ClientURL(),
			n.RouteURL(), filepath.Join(d.dir, n.RegionName()))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%d symbols placed in %v\n\n", len(d.owners), d.placed.Round(time.Millisecond))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SYMBOL\tHOME\tPHASE\tEPOCH")
	for _, rec := range d.owners {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", rec.Symbol, rec.HomeRegion,
			strings.TrimPrefix(rec.Phase.String(), "PHASE_"), rec.Epoch)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	d.printFronts(w)
	if d.tempDir {
		fmt.Fprintln(w, "Data is in a temporary directory, removed on exit (keep it with --data-dir).")
	}
}

// printFronts writes each region's client and admin URLs, the API key, the admin token and
// commands to paste.
func (d *demo) printFronts(w io.Writer) {
	if len(d.fronts) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tREST URL\tWEBSOCKET URL\tADMIN URL")
	for i, f := range d.fronts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.nodes[i].RegionName(), f.RESTURL(), f.WSURL(), f.AdminURL())
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nAPI key (account %d, read+trade): %s\n", demoAccount, d.apiKey)
	fmt.Fprintf(w, "API secret:                       %s\n", d.secret)
	fmt.Fprintf(w, "Admin token (every region):       %s\n", d.opts.AdminToken)
	rest, admin := d.fronts[0].RESTURL(), d.fronts[0].AdminURL()
	fmt.Fprintf(w, "Status page (every region):       %s/status\n", rest)
	if d.traffic != nil {
		fmt.Fprintf(w, "Traffic: a market maker (accounts %d-%d) and a taker (account %d) per symbol, %g orders/s over all regions\n",
			trafficMakerAccount, trafficMakerAccount+len(d.opts.Symbols)-1, trafficTakerAccount, d.opts.TrafficRate)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Try:")
	fmt.Fprintf(w, "  curl -s %s/api/v3/exchangeInfo\n", rest)
	fmt.Fprintf(w, "  curl -s %s/api/v2/summary.json\n", rest)
	fmt.Fprintf(w, "  curl -s %s/metrics | grep ^geomesh_symbol_home_info\n", admin)
	fmt.Fprintf(w, "  go run ./cmd/meshctl --server %s --token %s status\n", admin, d.opts.AdminToken)
	if len(d.owners) > 0 {
		if to := d.moveTarget(d.owners[0]); to != "" {
			fmt.Fprintf(w, "  go run ./cmd/meshctl --server %s --token %s move %s --to %s --yes\n",
				admin, d.opts.AdminToken, d.owners[0].Symbol, to)
		}
	}
	fmt.Fprintln(w)
}

// moveTarget is the first region that is not rec's home ("" with a single region).
func (d *demo) moveTarget(rec *proto.OwnershipRecord) string {
	for _, r := range d.opts.Regions {
		if r != rec.HomeRegion {
			return r
		}
	}
	return ""
}

// Close stops every gateway and admin API, then shuts every node down (the last started first)
// and removes a temporary data directory. Idempotent.
func (d *demo) Close() error {
	var errs []error
	if d.traffic != nil {
		d.traffic.Close() // before the gateways, so no request of it fails for that
		d.traffic = nil
	}
	for _, f := range d.fronts {
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	d.fronts = nil
	for i := len(d.nodes) - 1; i >= 0; i-- {
		if err := d.nodes[i].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", d.nodes[i].RegionName(), err))
		}
	}
	d.nodes = nil
	if d.tempDir {
		if err := os.RemoveAll(d.dir); err != nil {
			errs = append(errs, err)
		}
		d.tempDir = false
	}
	return errors.Join(errs...)
}

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		regions   []string
		dataDir   string
		logLevel  string
		logFormat string
		exitAfter time.Duration
		timeout   time.Duration
		traffic   bool
		rate      float64
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "run a 3-region mesh in one process on loopback",
		Long: `demo starts one node per region in this process on loopback, with random ports, the
first region seeding the others, waits until the mesh is ready and the symbols BTCUSDT, ETHUSDT
and SOLUSDT are placed (each prefers a different region), then starts each region's gateway
(Binance REST and WebSocket) and admin API (for meshctl) on free loopback ports, creates an API
key for account 1, prints the URLs, the key, the admin token and commands to try, and runs
until Ctrl-C (or --exit-after). Node logs go to stderr (warnings only by default).

With --traffic it also runs, per symbol, a market maker (a ladder of limit orders around a
drifting mid, requoted with cancelReplace) and a taker (crossing MARKET and IOC orders), through
the gateways' Binance REST API and spread over all regions, so books, trades and the status
page move. --traffic-rate sets the orders per second in all (and implies --traffic).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usageErr(fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel))
			}
			if logFormat != "text" && logFormat != "json" {
				return usageErr(fmt.Errorf("--log-format %q: want json or text", logFormat))
			}
			if exitAfter < 0 {
				return usageErr(fmt.Errorf("--exit-after %v: want a positive duration", exitAfter))
			}
			if cmd.Flags().Changed("traffic-rate") {
				if rate <= 0 {
					return usageErr(fmt.Errorf("--traffic-rate %v: want a positive number of orders per second", rate))
				}
				traffic = true
			}
			opts := demoOptions{Regions: regions, DataDir: dataDir, ReadyTimeout: timeout,
				Logger: newLogger(stderr, logFormat, level)}
			if traffic {
				opts.TrafficRate = rate
			}
			d, err := newDemo(opts)
			if err != nil {
				return usageErr(err)
			}
			return runDemo(cmd.Context(), d, stdout, exitAfter)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&regions, "regions", []string{"us-east", "eu-west", "ap-south"}, "regions to start, the first seeds the others")
	f.StringVar(&dataDir, "data-dir", "", "keep data here (one directory per region); default a temporary directory removed on exit")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "json or text")
	f.DurationVar(&exitAfter, "exit-after", 0, "shut down this long after the mesh is ready (0: run until Ctrl-C)")
	f.DurationVar(&timeout, "ready-timeout", time.Minute, "how long the mesh may take to form")
	f.BoolVar(&traffic, "traffic", false, "run a market maker and a taker per symbol through the gateways")
	f.Float64Var(&rate, "traffic-rate", defaultTrafficRate, "orders per second of --traffic, over all symbols and regions")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	return cmd
}

// runDemo starts d, prints it, and runs until ctx ends or exitAfter has passed (if positive).
// An interrupt during start-up is a clean exit too.
func runDemo(ctx context.Context, d *demo, stdout io.Writer, exitAfter time.Duration) (err error) {
	defer func() {
		if cerr := d.Close(); cerr != nil && err == nil {
			err = runtimeErr(fmt.Errorf("shutdown: %w", cerr))
		}
	}()
	if err := d.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return runtimeErr(err)
	}
	d.Print(stdout)
	if exitAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, exitAfter)
		defer cancel()
		fmt.Fprintf(stdout, "Running for %v, then shutting down.\n", exitAfter)
	} else {
		fmt.Fprintln(stdout, "Running; press Ctrl-C to stop.")
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "Shutting down.")
	if d.traffic != nil {
		d.traffic.Close()
		st := d.traffic.Stats()
		fmt.Fprintf(stdout, "Traffic sent %d orders (%d requotes, %d taker orders); %d refused, %d without an answer.\n",
			st.Orders, st.Requotes, st.Takers, st.Rejected, st.Failed)
	}
	return nil
}
