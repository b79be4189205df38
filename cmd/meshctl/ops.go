package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/geomesh/geomesh/proto"
)

// Commands that change the mesh.

// planFlags are the flags of the commands that create plans.
type planFlags struct {
	dryRun, wait, yes bool
	maxParallel       int
	rate              float64
}

func (f *planFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and change nothing")
	fl.BoolVar(&f.wait, "wait", true, "block until the plan finishes, with progress on stderr")
	fl.BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	fl.IntVar(&f.maxParallel, "max-parallel", 0, "moves in flight at once (0 = server default)")
	fl.Float64Var(&f.rate, "rate", 0, "moves started per second (0 = server default)")
}

func (f *planFlags) check() error {
	if f.maxParallel < 0 || f.rate < 0 {
		return mark(errUsage, errors.New("--max-parallel and --rate want 0 (server default) or more"))
	}
	return nil
}

// runPlan creates a plan with POST path and follows it. Unless --yes or --dry-run it first
// shows the dry run and asks; without a terminal it refuses before sending anything.
func (a *app) runPlan(ctx context.Context, op, what, path string, req opRequest, f *planFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	start := a.now()
	req.Actor, req.Reason, req.Concurrency, req.RatePerSecond = a.actor, a.reason, f.maxParallel, f.rate
	if !f.dryRun && !f.yes {
		if !isTerminal(a.stdin) {
			return a.confirm(what) // refuses
		}
		dry := req
		dry.DryRun = true
		p, err := a.api.plan(ctx, http.MethodPost, path, dry)
		if err != nil {
			return err
		}
		c := countSteps(p)
		fmt.Fprintf(a.stderr, "%s: %d symbol(s) to move, %d already in place\n", what, c.pending, c.skipped)
		for _, s := range p.Steps {
			if s.State == proto.StepState_STEP_STATE_PENDING {
				fmt.Fprintf(a.stderr, "  %s  %s→%s\n", s.Symbol, s.FromRegion, s.ToRegion)
			}
		}
		if err := a.confirm(what); err != nil {
			return err
		}
	}
	req.DryRun = f.dryRun
	p, err := a.api.plan(ctx, http.MethodPost, path, req)
	if err != nil {
		return err
	}
	t := a.track(op)
	if !p.DryRun && (op == "evacuate" || op == "restore") {
		t.region(p, op == "evacuate")
	}
	if p.DryRun {
		t.quiet = true
		t.update(p, "plan")
		return t.finish(p, false, "", false)
	}
	if terminal(p.State) {
		t.update(p, "move")
		return t.finish(p, false, "", false)
	}
	if !f.wait {
		t.quiet = true
		t.update(p, "move")
		return t.finish(p, true, "", false)
	}
	return a.follow(ctx, t, p, start, false)
}

func (a *app) moveCmd() *cobra.Command {
	var f planFlags
	var to string
	cmd := &cobra.Command{
		Use:   "move SYMBOL --to REGION",
		Short: "move a symbol's home (its matcher and stream leaders) to another region",
		Long: `move plans and runs the move of one symbol to another region. Commands keep landing in the
symbol's log during the move: nothing is rejected, clients see a short pause. Moving a symbol
to its current home is a no-op that exits 0.`,
		Args: exactArgs("SYMBOL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(to) == "" {
				return mark(errUsage, errors.New("--to REGION is required"))
			}
			sym := symbolArg(args[0])
			return a.runPlan(cmd.Context(), "move", "move "+sym+" to "+to,
				"/symbols/"+url.PathEscape(sym)+"/move", opRequest{To: to}, &f)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "target region")
	f.add(cmd)
	return cmd
}

func (a *app) evacuateCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "evacuate REGION",
		Short: "cordon a region and move every symbol homed there to its next preferred region",
		Long: `evacuate cordons REGION (no new homes there) and moves every symbol homed in it to its next
preferred live, uncordoned region (else the least loaded), rate-limited. Bring the symbols back
with "meshctl restore REGION". Evacuating an empty region is a no-op that exits 0.`,
		Args: exactArgs("REGION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPlan(cmd.Context(), "evacuate", "evacuate region "+args[0],
				"/regions/"+url.PathEscape(args[0])+"/evacuate", opRequest{}, &f)
		},
	}
	f.add(cmd)
	return cmd
}

func (a *app) restoreCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "restore REGION",
		Short: "uncordon a region and move back the symbols whose first preference it is",
		Args:  exactArgs("REGION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPlan(cmd.Context(), "restore", "restore region "+args[0],
				"/regions/"+url.PathEscape(args[0])+"/restore", opRequest{}, &f)
		},
	}
	f.add(cmd)
	return cmd
}

func (a *app) rebalanceCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "rebalance",
		Short: "even out the number of symbols homed in each live, uncordoned region",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPlan(cmd.Context(), "rebalance", "rebalance the mesh", "/rebalance", opRequest{}, &f)
		},
	}
	f.add(cmd)
	return cmd
}

func (a *app) cordonCmd(name string, cordon bool) *cobra.Command {
	short := "mark a region as taking no new symbol homes (failover, moves and placement skip it)"
	if !cordon {
		short = "let a region take symbol homes again (does not move anything back: see restore)"
	}
	return &cobra.Command{
		Use:   name + " REGION",
		Short: short,
		Args:  exactArgs("REGION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			b, err := a.api.do(ctx, http.MethodPost, "/regions/"+url.PathEscape(args[0])+"/"+name,
				opRequest{Actor: a.actor, Reason: a.reason})
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(b)
			}
			fmt.Fprintf(a.stdout, "region %s %sed\n", args[0], name)
			return nil
		},
	}
}

func (a *app) haltCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "halt SYMBOL",
		Short: "stop all trading and cancelling of a symbol until it is resumed",
		Args:  exactArgs("SYMBOL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sym := symbolArg(args[0])
			if !yes {
				if err := a.confirm("halt " + sym); err != nil {
					return err
				}
			}
			return a.setPhase(cmd.Context(), sym, "halt", opRequest{})
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func (a *app) resumeCmd() *cobra.Command {
	var phase string
	cmd := &cobra.Command{
		Use:   "resume SYMBOL",
		Short: "end a halt: set the symbol's phase (default TRADING)",
		Args:  exactArgs("SYMBOL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(phase), "PHASE_"))
			switch p {
			case "TRADING", "CANCEL_ONLY", "POST_ONLY":
			default:
				return mark(errUsage, fmt.Errorf("--phase %q: want TRADING, CANCEL_ONLY or POST_ONLY", phase))
			}
			return a.setPhase(cmd.Context(), symbolArg(args[0]), "resume", opRequest{Phase: p})
		},
	}
	cmd.Flags().StringVar(&phase, "phase", "TRADING", "phase to resume in: TRADING, CANCEL_ONLY or POST_ONLY")
	return cmd
}

func (a *app) setPhase(ctx context.Context, sym, verb string, req opRequest) error {
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	req.Actor, req.Reason = a.actor, a.reason
	rec, raw, err := a.api.record(ctx, "/symbols/"+url.PathEscape(sym)+"/"+verb, req)
	if err != nil {
		return err
	}
	if a.json() {
		return a.printRaw(raw)
	}
	done := map[string]string{"halt": "halted", "resume": "resumed"}[verb]
	fmt.Fprintf(a.stdout, "%s %s: phase %s, home %s, epoch %d\n", sym, done, short(rec.Phase.String(), "PHASE_"),
		rec.HomeRegion, rec.Epoch)
	return nil
}

func (a *app) planCmd() *cobra.Command {
	plan := &cobra.Command{
		Use:   "plan",
		Short: "show or abort one plan",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return mark(errUsage, errors.New("want a subcommand: plan show ID or plan abort ID"))
		},
	}
	var follow bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "show a plan and its steps; --follow waits for it to finish, with progress",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := a.now()
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			p, err := a.api.getPlan(ctx, args[0], time.Second, a.poll)
			if err != nil {
				return err
			}
			t := a.track("plan")
			if follow && !terminal(p.State) {
				return a.follow(cmd.Context(), t, p, start, false)
			}
			if a.json() {
				b, err := protoOut.Marshal(p)
				if err != nil {
					return mark(errFailed, err)
				}
				return a.printRaw(b)
			}
			a.planHeader(p)
			t.quiet = true
			return t.finish(p, false, "", true)
		},
	}
	show.Flags().BoolVarP(&follow, "follow", "f", false, "wait for the plan to finish, with progress on stderr")
	var wait bool
	abort := &cobra.Command{
		Use:   "abort ID",
		Short: "abort a plan: steps in flight finish, the others are skipped; nothing is left without an owner",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := a.now()
			p, err := a.api.plan(cmd.Context(), http.MethodPost, "/plans/"+url.PathEscape(args[0])+"/abort",
				opRequest{Actor: a.actor, Reason: a.reason})
			if err != nil {
				return err
			}
			t := a.track("abort")
			if terminal(p.State) || !wait {
				t.quiet = true
				t.update(p, "move")
				return t.finish(p, false, "", true)
			}
			return a.follow(cmd.Context(), t, p, start, true)
		},
	}
	abort.Flags().BoolVar(&wait, "wait", true, "block until the plan has stopped")
	plan.AddCommand(show, abort)
	return plan
}

// planHeader prints a plan's details before its steps (table output).
func (a *app) planHeader(p *proto.Plan) {
	if a.json() {
		return
	}
	tw := a.table()
	fmt.Fprintf(tw, "plan\t%s\n", p.Id)
	fmt.Fprintf(tw, "kind\t%s %s\n", kindName(p), p.Region)
	fmt.Fprintf(tw, "state\t%s\n", stateName(p.State))
	fmt.Fprintf(tw, "by\t%s\n", dash(p.RequestedBy))
	fmt.Fprintf(tw, "reason\t%s\n", dash(p.Reason))
	fmt.Fprintf(tw, "created\t%s\n", stamp(p.CreatedUnixNano))
	fmt.Fprintf(tw, "updated\t%s\n", stamp(p.UpdatedUnixNano))
	if p.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", p.Error)
	}
	_ = tw.Flush()
}
