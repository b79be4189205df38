package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/region"
)

// run is the whole program: it parses args, runs the command until ctx ends and returns the exit
// code. Errors are printed as one line on stderr, "regiond: <reason>"; logs also go to stderr,
// tables and the version to stdout. lookupEnv is os.LookupEnv in production.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	root := newRootCmd(lookupEnv, stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "regiond: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return exitCode(err)
}

// marked is an error tagged with errUsage or errRuntime; it prints as the error alone.
type marked struct{ err, kind error }

func (m marked) Error() string   { return m.err.Error() }
func (m marked) Unwrap() []error { return []error{m.err, m.kind} }

func usageErr(err error) error   { return marked{err, errUsage} }
func runtimeErr(err error) error { return marked{err, errRuntime} }

func newRootCmd(lookupEnv func(string) (string, bool), stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "regiond",
		Short: "geomesh regional daemon",
		Long: `regiond runs one geomesh regional node: an embedded NATS JetStream server clustered with
the other regions, found through gossip.

Configuration: defaults of the profile < --config file < environment < flags.
Secrets may come from the environment instead of files:
  ` + envClusterSecret + `   route credential shared by every node
  ` + envGossipKeys + `      comma-separated base64 gossip keys (16, 24 or 32 bytes), primary first
  ` + envAdminToken + `      bearer token of the admin API (required with lan and wan)

Once the node is ready it serves the gateway (Binance REST and WebSocket) on --http-addr and
the admin API (for meshctl) on --admin-addr, and logs their URLs.

Exit codes: 0 clean shutdown (SIGINT, SIGTERM), 1 runtime failure, 2 bad configuration.`,
		Args:              cobra.NoArgs,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	flags := newNodeFlags(root.Flags())
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		s, err := loadSettings(flags, lookupEnv)
		if err != nil {
			return usageErr(err)
		}
		return runNode(cmd.Context(), s, newLogger(stderr, s.logFormat, s.logLevel))
	}
	root.AddCommand(newDemoCmd(stdout, stderr), &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintf(stdout, "regiond %s\n", region.Version) },
	})
	return root
}

// loadSettings merges the config file (if any), the environment and the flags given.
func loadSettings(flags *nodeFlags, lookupEnv func(string) (string, bool)) (settings, error) {
	var fc fileConfig
	if flags.config != "" {
		var err error
		if fc, err = loadFile(flags.config); err != nil {
			return settings{}, err
		}
	}
	fc.applyEnv(lookupEnv)
	flags.override(&fc)
	return fc.resolve()
}

// newNode validates s and returns a node ready to start; its errors are configuration errors.
func newNode(s settings, log *slog.Logger) (*region.Node, error) {
	s.node.Logger = log
	return region.New(s.node)
}

// runNode runs one node until ctx ends, then closes it. If no seed answers at start, the node
// starts alone and keeps trying to join the seeds in the background, so the nodes of a mesh
// that seed each other can be started in any order.
func runNode(ctx context.Context, s settings, log *slog.Logger) error {
	n, err := newNode(s, log)
	if err != nil {
		return usageErr(err)
	}
	start := time.Now()
	err = n.Start(ctx)
	var wg sync.WaitGroup
	joinCtx, cancelJoin := context.WithCancel(ctx)
	defer cancelJoin()
	if errors.Is(err, mesh.ErrNoSeedReachable) && ctx.Err() == nil {
		_ = n.Close()
		log.Warn("no_seed_reachable_starting_alone", slog.Any("seeds", s.node.Seeds), slog.Any("err", err))
		alone := s
		alone.node.Seeds = nil
		if n, err = newNode(alone, log); err != nil {
			return usageErr(err)
		}
		if err = n.Start(ctx); err == nil {
			wg.Go(func() { retryJoin(joinCtx, n, s.node.Seeds, log) })
		}
	}
	if err != nil {
		_ = n.Close()
		if ctx.Err() != nil {
			return nil // interrupted while joining: nothing was running yet
		}
		return runtimeErr(fmt.Errorf("start: %w", err))
	}
	log.Info("regiond_started", slog.String("version", region.Version), slog.String("profile", string(s.node.Profile)),
		slog.String("nats", n.ClientURL()), slog.String("route", n.RouteURL()), slog.String("gossip", n.GossipAddr()),
		slog.String("data_dir", s.node.DataDir))
	var f *front
	if n.AwaitReady(ctx) == nil {
		log.Info("regiond_ready", slog.Duration("formed_in", time.Since(start)))
		if f, err = startFrontLogged(ctx, n, s.front, log); err != nil && ctx.Err() == nil {
			cancelJoin()
			wg.Wait()
			_ = n.Close()
			return runtimeErr(err)
		}
	}
	<-ctx.Done()
	log.Info("regiond_stopping")
	wg.Wait()
	var errs []error
	if f != nil {
		errs = append(errs, f.Close()) // no new client or admin request reaches a closing node
	}
	errs = append(errs, n.Close())
	if err := errors.Join(errs...); err != nil {
		return runtimeErr(fmt.Errorf("shutdown: %w", err))
	}
	return nil
}

// startFrontLogged starts the gateway and the admin API of the ready node n and logs their
// URLs, and the admin token once when it was generated.
func startFrontLogged(ctx context.Context, n *region.Node, c frontConfig, log *slog.Logger) (*front, error) {
	sctx, cancel := context.WithTimeout(ctx, frontStartTimeout)
	defer cancel()
	f, err := startFront(sctx, n, c, log)
	if err != nil {
		return nil, err
	}
	if f.gw != nil {
		log.Info("gateway_started", slog.String("url", f.RESTURL()), slog.String("ws", f.WSURL()),
			slog.Int("bootstrap_keys", len(c.keys)))
	}
	log.Info("admin_started", slog.String("url", f.AdminURL()))
	if c.tokenGenerated {
		log.Warn("admin_token_generated", slog.String("token", c.adminToken),
			slog.String("hint", "set $"+envAdminToken+" or admin_token to keep one across restarts"))
	}
	return f, nil
}

// retryJoin tries to join seeds with a capped exponential backoff until one answers, another
// node joins this one, or ctx ends.
func retryJoin(ctx context.Context, n *region.Node, seeds []string, log *slog.Logger) {
	backoff := 250 * time.Millisecond
	t := time.NewTimer(backoff)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if len(n.Mesh().Members()) > 1 {
			log.Info("gossip_joined_by_peer")
			return
		}
		k, err := n.Mesh().Join(seeds...)
		if k > 0 {
			log.Info("gossip_joined", slog.Any("seeds", seeds), slog.Int("contacted", k))
			return
		}
		backoff = min(2*backoff, 5*time.Second)
		log.Debug("gossip_join_retry", slog.Any("seeds", seeds), slog.Any("err", err), slog.Duration("retry_in", backoff))
		t.Reset(backoff)
	}
}
