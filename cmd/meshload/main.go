package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/geomesh/geomesh/gateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "meshload:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(2)
	}
}

// exitError carries the exit status of a failed run.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// errTooManyErrors: --max-errors was exceeded (exit status 1).
var errTooManyErrors = errors.New("too many errors")

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		o       options
		targets []string
	)
	cmd := &cobra.Command{
		Use:   "meshload",
		Short: "open-loop load generator for a geomesh mesh (Binance REST and WebSocket API)",
		Long: `meshload sends orders, cancels and cancel-replace moves to every region's gateway at a
fixed target rate (open loop, latency from each request's intended send time), measures the raw
JetStream R3 append next to it, and reports p50/p99/p99.9/max, throughput and errors per region
and operation, and the order/raw latency ratios.

  go run ./cmd/meshload --demo --rate 5000 --duration 20s        # in-process 3-region mesh
  go run ./cmd/meshload --rate 200 --duration 30s                # the deploy/local mesh
  go run ./cmd/meshload --cold-start-symbols 500                 # time to place 500 symbols

See the package documentation (go doc ./cmd/meshload) for the journal format.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, t := range targets {
				ts, err := parseTarget(t)
				if err != nil {
					return err
				}
				o.targets = append(o.targets, ts)
			}
			if s := cmd.Flag("mix").Value.String(); s != "" {
				m, err := parseMix(s)
				if err != nil {
					return err
				}
				o.mix = m
			}
			if err := o.validate(); err != nil {
				return err
			}
			return run(cmd.Context(), o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&targets, "target", []string{"us-east=http://127.0.0.1:8080", "eu-west=http://127.0.0.1:8081", "ap-south=http://127.0.0.1:8082"},
		"region=URL of each region's gateway (default: deploy/local's three)")
	f.BoolVar(&o.demo, "demo", false, "start an in-process 3-region mesh and load it (ignores --target, --keys, --nats)")
	f.StringSliceVar(&o.regions, "regions", []string{"us-east", "eu-west", "ap-south"}, "regions of --demo and --cold-start-symbols")
	f.IntVar(&o.demoSymbols, "demo-symbols", 3, "symbols of --demo (BTCUSDT, ETHUSDT, SOLUSDT, then generated ones), homes spread over the regions")
	f.IntVar(&o.accounts, "accounts", 0, "accounts to use: --demo creates this many (default 8); otherwise the first N of --keys (0: all)")
	f.StringVar(&o.keysFile, "keys", "", "file of account,key,secret lines (default: account 1, localDevApiKey1/localDevSecret1)")
	f.StringSliceVar(&o.symbols, "symbols", nil, "symbols to load (default: every TRADING symbol of exchangeInfo)")
	f.BoolVar(&o.symbolsAuto, "symbols-auto", false, "load every TRADING symbol of exchangeInfo")
	f.Float64Var(&o.rate, "rate", 1000, "target rate, requests per second over all regions")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration")
	f.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before the measured duration (not measured)")
	f.StringSliceVar(&o.resp, "resp", []string{"ACK", "FULL"}, "newOrderRespType of places and moves, drawn evenly: ACK, RESULT, FULL")
	f.Float64Var(&o.wsFraction, "ws-fraction", 0.1, "fraction of places and cancels sent over the WebSocket API")
	f.IntVar(&o.wsConns, "ws-conns", 64, "WebSocket API connections per region")
	f.IntVar(&o.httpConns, "http-conns", 512, "HTTP keep-alive connections per region")
	f.String("mix", "place=50,cancel=25,replace=20,cross=5", "relative weights of place, cancel, replace (move) and cross (IOC through the book)")
	f.IntVar(&o.maxOpen, "max-open", 40, "resting orders per account and symbol before places turn into cancels and moves")
	f.StringVar(&o.mid, "mid", "", "mid price of the quotes (default 1000 when the price filter allows it)")
	f.Int64Var(&o.levels, "levels", 20, "price levels quoted on each side of the mid")
	f.BoolVar(&o.clean, "clean", true, "first cancel the open orders of the loaded accounts in the loaded symbols (left by earlier runs)")
	f.StringVar(&o.journal, "journal", "", "write one NDJSON line per finished request to this file")
	f.BoolVar(&o.retry, "retry", true, "resend refused requests to another region and resolve unknown outcomes by querying")
	f.DurationVar(&o.requestTimeout, "request-timeout", 15*time.Second, "time for a request to get a definite answer, retries included")
	f.IntVar(&o.recvWindow, "recv-window", 10000, "recvWindow of signed requests (ms)")
	f.IntVar(&o.maxInFlight, "max-inflight", 20000, "requests in flight at most (late ones keep their intended time)")
	f.StringVar(&o.natsURL, "nats", "nats://127.0.0.1:4222", "NATS client URL of one region for the raw append baseline")
	f.Float64Var(&o.rawRate, "raw-rate", 200, "raw append baseline publishes per second (0: no baseline)")
	f.IntVar(&o.rawSize, "raw-size", 160, "raw append message size in bytes (about an order command's)")
	f.IntVar(&o.rawReplicas, "raw-replicas", 3, "replicas of the baseline stream")
	f.StringVarP(&o.output, "output", "o", "table", "table or json")
	f.Int64Var(&o.maxErrors, "max-errors", -1, "exit 1 when more requests than this end without an ack or a benign rejection (-1: never)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the workload's random choices")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (with --demo: the mesh too) to this file")
	f.StringVar(&o.pprofAddr, "pprof", "", "serve net/http/pprof on this address during the run (e.g. 127.0.0.1:6060): goroutine, block and mutex profiles")
	f.IntVar(&o.coldStart, "cold-start-symbols", 0, "start an in-process mesh with this many generated symbols, report the time until all are TRADING, and exit")
	f.DurationVar(&o.readyTimeout, "ready-timeout", 5*time.Minute, "how long --demo and --cold-start-symbols wait for the mesh")
	f.StringVar(&o.logLevel, "log-level", "warn", "log level of the in-process mesh: debug, info, warn, error")
	return cmd
}

// run executes one meshload invocation.
func run(ctx context.Context, o options, stdout, stderr io.Writer) (err error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.pprofAddr != "" {
		stopPprof, err := servePprof(o.pprofAddr)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		defer stopPprof()
	}
	if o.coldStart > 0 {
		return runColdStart(ctx, o, stdout, stderr, log)
	}
	specs, accounts := o.targets, []account{defaultKey}
	if o.demo {
		n := o.accounts
		if n == 0 {
			n = 8
		}
		accounts = demoAccounts(n)
		m := &localMesh{regions: o.regions, symbols: demoSymbols(o.regions, o.demoSymbols), log: log}
		for _, a := range accounts {
			m.keys = append(m.keys, gateway.BootstrapKey{APIKey: a.key, Secret: string(a.secret), Account: a.id})
		}
		defer func() {
			if cerr := m.close(); cerr != nil && err == nil {
				err = fmt.Errorf("shut the demo mesh down: %w", cerr)
			}
		}()
		sctx, cancel := context.WithTimeout(ctx, o.readyTimeout)
		err := m.start(sctx, false)
		cancel()
		if err != nil {
			return fmt.Errorf("demo mesh: %w", err)
		}
		fmt.Fprintf(stderr, "meshload: demo mesh of %d regions ready in %v (%d symbols)\n", len(m.nodes), m.placed.Round(time.Millisecond), len(m.symbols))
		specs = m.targets()
		o.natsURL = m.nodes[0].ClientURL()
		o.rawReplicas = min(o.rawReplicas, len(m.nodes))
	} else if o.keysFile != "" {
		keys, err := readKeysFile(o.keysFile)
		if err != nil {
			return err
		}
		accounts = keys
		if o.accounts > 0 && o.accounts < len(keys) {
			accounts = keys[:o.accounts]
		}
	}
	res, err := loadOnce(ctx, o, specs, accounts, log)
	if err != nil {
		return err
	}
	if o.output == "json" {
		if err := printJSON(stdout, res); err != nil {
			return err
		}
	} else {
		printTable(stdout, res)
	}
	if o.maxErrors >= 0 && res.Errors > o.maxErrors {
		return &exitError{code: 1, err: fmt.Errorf("%w: %d > --max-errors %d", errTooManyErrors, res.Errors, o.maxErrors)}
	}
	return nil
}

// demoAccounts are the --demo accounts 1..n with generated keys.
func demoAccounts(n int) []account {
	out := make([]account, n)
	for i := range out {
		out[i] = account{id: uint64(i + 1), key: fmt.Sprintf("meshloadKey%04d", i+1), secret: fmt.Appendf(nil, "meshloadSecret%04d", i+1)}
	}
	return out
}

// loadOnce prepares a loader on specs and runs it, with the raw baseline when configured.
func loadOnce(ctx context.Context, o options, specs []targetSpec, accounts []account, log *slog.Logger) (res *result, err error) {
	l := newLoader(o, specs, accounts, log)
	defer l.close()
	setup, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := l.setupSymbols(setup); err != nil {
		return nil, err
	}
	if err := l.awaitAuth(setup, 30*time.Second); err != nil {
		return nil, err
	}
	if o.clean && !o.demo {
		if err := l.cancelOpen(setup); err != nil {
			return nil, err
		}
	}
	var raw *rawBaseline
	if o.rawRate > 0 {
		raw, err = openRaw(setup, o.natsURL, o.rawReplicas, o.rawSize, o.rawRate)
		if err != nil {
			return nil, err
		}
		defer func() {
			if cerr := raw.close(); cerr != nil && err == nil {
				err = cerr
			}
		}()
	}
	return l.load(ctx, raw)
}

// runColdStart starts an in-process mesh configured with o.coldStart generated symbols and
// reports how long it took until every symbol was TRADING with its matcher in its home region.
func runColdStart(ctx context.Context, o options, stdout, stderr io.Writer, log *slog.Logger) (err error) {
	m := &localMesh{regions: o.regions, symbols: demoSymbols(o.regions, o.coldStart), log: log,
		progress: func(trading, total int, elapsed time.Duration) {
			fmt.Fprintf(stderr, "meshload: %v: %d of %d symbols TRADING\n", elapsed.Round(time.Second), trading, total)
		}}
	defer func() {
		if cerr := m.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	sctx, cancel := context.WithTimeout(ctx, o.readyTimeout)
	defer cancel()
	if err := m.start(sctx, true); err != nil {
		return fmt.Errorf("cold start of %d symbols: %w", o.coldStart, err)
	}
	c := &coldResult{Symbols: o.coldStart, Regions: o.regions, FormedSec: m.formed.Seconds(),
		TradingSec: m.placed.Seconds(), Homes: m.homes()}
	if o.output == "json" {
		return printJSON(stdout, c)
	}
	printCold(stdout, c)
	return nil
}

// servePprof serves the net/http/pprof handlers on addr with block and mutex profiling on, so a
// run's waits (not only its CPU) can be looked at while it goes.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	runtime.SetBlockProfileRate(10_000) // one sample per 10 µs blocked
	runtime.SetMutexProfileFraction(100)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		_ = srv.Close()
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
	}, nil
}
