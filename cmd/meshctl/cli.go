package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

const (
	envServer     = "MESHCTL_SERVER"
	envToken      = "MESHCTL_TOKEN"
	defaultServer = "http://127.0.0.1:9090" // regiond's default admin_addr
)

// run is the whole program: it parses args, runs one command and returns the exit code. Errors
// are one line on stderr, "meshctl: <reason>"; progress lines also go to stderr, results to
// stdout. stdin answers confirmation prompts.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, lookupEnv: os.LookupEnv, now: time.Now}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "meshctl: %s\n", strings.Join(strings.Fields(err.Error()), " "))
	}
	return exitCode(err)
}

// app holds the global flags and the process's streams for the commands.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	now            func() time.Time

	server, token, output string
	actor, reason         string
	timeout, poll         time.Duration

	api *api
}

func (a *app) json() bool { return a.output == "json" }

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "meshctl",
		Short: "operate a geomesh mesh through any node's admin API",
		Long: `meshctl talks to the admin API of any geomesh node (regiond) to inspect the mesh and to move
symbols between regions, evacuate a region before maintenance and bring it back.

Long operations (move, evacuate, restore, rebalance, plan abort) block and print progress on
stderr until the plan finishes; --wait=false returns at once with the plan id. Interrupting
meshctl never stops a plan: only "meshctl plan abort ID" does. Traffic-moving commands ask for
confirmation unless --yes, and refuse without a terminal.

With -o json, reads print one JSON document; long operations print NDJSON events on stdout
(one per step change) and then a summary object ("summary": true).

Environment: ` + envServer + ` (--server), ` + envToken + ` (--token).

Exit codes: 0 done (or nothing to do), 1 the operation failed or partly failed, or the server
could not be reached, 2 usage error or refused (bad token, validation, not confirmed),
3 --timeout reached while the operation continues on the server.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.setup(cmd) },
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return mark(errUsage, err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.server, "server", "", "admin API URL of any node (default $"+envServer+", else "+defaultServer+")")
	pf.StringVar(&a.token, "token", "", "admin token (default $"+envToken+")")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	pf.DurationVar(&a.timeout, "timeout", 0, "how long to wait for the command, including an operation to finish (0 = no limit)")
	pf.StringVar(&a.actor, "actor", "", "who is acting, recorded in the audit log (default $USER@host)")
	pf.StringVar(&a.reason, "reason", "", "why, recorded in the audit log")
	pf.DurationVar(&a.poll, "poll-interval", 500*time.Millisecond, "how often to poll a running plan")
	_ = pf.MarkHidden("poll-interval")

	status := a.statusCmd()
	status.AddCommand(a.incidentsCmd(), a.webhooksCmd()) // status.go
	root.AddCommand(status, a.maintenanceCmd(), a.symbolsCmd(), a.historyCmd(), a.plansCmd(), a.planCmd(),
		a.cordonCmd("cordon", true), a.cordonCmd("uncordon", false), a.haltCmd(), a.resumeCmd(),
		a.moveCmd(), a.evacuateCmd(), a.restoreCmd(), a.rebalanceCmd(), a.keysCmd())
	return root
}

// setup resolves the global flags against the environment.
func (a *app) setup(cmd *cobra.Command) error {
	if a.output != "table" && a.output != "json" {
		return mark(errUsage, fmt.Errorf("-o %q: want table or json", a.output))
	}
	if a.timeout < 0 {
		return mark(errUsage, fmt.Errorf("--timeout %v: want 0 (no limit) or more", a.timeout))
	}
	if a.poll <= 0 {
		a.poll = 500 * time.Millisecond
	}
	if !cmd.Flags().Changed("server") {
		a.server = defaultServer
		if v, ok := a.lookupEnv(envServer); ok && v != "" {
			a.server = v
		}
	}
	if !cmd.Flags().Changed("token") {
		a.token, _ = a.lookupEnv(envToken)
	}
	if a.actor == "" {
		a.actor = defaultActor(a.lookupEnv)
	}
	var err error
	a.api, err = newAPI(a.server, a.token)
	return err
}

func defaultActor(lookupEnv func(string) (string, bool)) string {
	user, _ := lookupEnv("USER")
	if user == "" {
		user = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return user
	}
	return user + "@" + host
}

// withTimeout applies --timeout to ctx.
func (a *app) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.timeout > 0 {
		return context.WithTimeout(ctx, a.timeout)
	}
	return context.WithCancel(ctx)
}

// args checks the positional arguments; a mistake is a usage error (exit 2).
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return mark(errUsage, fmt.Errorf("want %d argument(s) (%s), got %d", len(names), strings.Join(names, " "), len(args)))
		}
		for i, v := range args {
			if strings.TrimSpace(v) == "" {
				return mark(errUsage, fmt.Errorf("%s is empty", names[i]))
			}
		}
		return nil
	}
}

// isTerminal reports whether r is an interactive terminal. Tests pass a reader with an
// IsTerminal method.
func isTerminal(r io.Reader) bool {
	if t, ok := r.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// confirm asks question on stderr and reads the answer from stdin. Without a terminal it
// refuses: scripts must say --yes.
func (a *app) confirm(question string) error {
	if !isTerminal(a.stdin) {
		return mark(errRefused, errors.New("refusing to "+question+" without confirmation: stdin is not a terminal; pass --yes"))
	}
	fmt.Fprintf(a.stderr, "%s? [y/N] ", question)
	answer, err := readLine(a.stdin)
	if err != nil && answer == "" {
		return mark(errRefused, fmt.Errorf("not confirmed: %v", err))
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return mark(errRefused, errors.New("not confirmed; nothing was changed"))
}

// readLine reads one line byte by byte, so nothing after it is consumed from stdin.
func readLine(r io.Reader) (string, error) {
	var sb strings.Builder
	b := make([]byte, 1)
	for {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return sb.String(), nil
			}
			sb.WriteByte(b[0])
		}
		if err != nil {
			return sb.String(), err
		}
	}
}
