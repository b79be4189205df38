package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/geomesh/geomesh/proto"
)

// Plans: creating one, following it to the end with progress, and reporting the result.

func terminal(s proto.PlanState) bool {
	switch s {
	case proto.PlanState_PLAN_STATE_SUCCEEDED, proto.PlanState_PLAN_STATE_FAILED, proto.PlanState_PLAN_STATE_ABORTED:
		return true
	}
	return false
}

func stateName(s proto.PlanState) string { return short(s.String(), "PLAN_STATE_") }
func stepName(s proto.StepState) string  { return short(s.String(), "STEP_STATE_") }
func kindName(p *proto.Plan) string      { return short(p.Kind.String(), "PLAN_KIND_") }

type stepCounts struct{ succeeded, failed, skipped, pending int }

func (c stepCounts) done() int { return c.succeeded + c.failed + c.skipped }

func countSteps(p *proto.Plan) stepCounts {
	var c stepCounts
	for _, s := range p.Steps {
		switch s.State {
		case proto.StepState_STEP_STATE_SUCCEEDED:
			c.succeeded++
		case proto.StepState_STEP_STATE_FAILED:
			c.failed++
		case proto.StepState_STEP_STATE_SKIPPED:
			c.skipped++
		default:
			c.pending++
		}
	}
	return c
}

// event is one NDJSON line of a long operation (-o json).
type event struct {
	TS     string `json:"ts"`
	Op     string `json:"op"`
	Plan   string `json:"plan,omitempty"`
	Phase  string `json:"phase"` // "cordon", "plan" for the plan's own state, "move" for a step
	Region string `json:"region,omitempty"`
	Symbol string `json:"symbol,omitempty"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	State  string `json:"state"`
	Error  string `json:"error,omitempty"`
}

// summary is the last NDJSON line of a long operation.
type summary struct {
	TS        string `json:"ts"`
	Op        string `json:"op"`
	Plan      string `json:"plan,omitempty"`
	Summary   bool   `json:"summary"`
	Result    string `json:"result"` // done, noop, dry_run, started, running, failed, aborted, timeout, interrupted
	State     string `json:"state"`
	DryRun    bool   `json:"dry_run"`
	Steps     int    `json:"steps"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	Skipped   int    `json:"skipped"`
	Pending   int    `json:"pending"`
	Error     string `json:"error,omitempty"`
}

// tracker reports a plan's changes as progress lines on stderr and, with -o json, NDJSON events
// on stdout.
type tracker struct {
	a     *app
	op    string
	id    string
	state proto.PlanState
	steps map[string]proto.StepState // by symbol
	quiet bool                       // no stderr progress (dry runs, plan show without --follow)
}

func (a *app) track(op string) *tracker {
	return &tracker{a: a, op: op, steps: map[string]proto.StepState{}}
}

func (t *tracker) ts() string { return t.a.now().UTC().Format(time.RFC3339) }

func (t *tracker) emit(v any) {
	b, err := json.Marshal(v)
	if err == nil {
		fmt.Fprintln(t.a.stdout, string(b))
	}
}

// region reports the cordon phase of an evacuation (cordoned) or restore (uncordoned), which
// the server did before storing the plan.
func (t *tracker) region(p *proto.Plan, cordoned bool) {
	state := "UNCORDONED"
	if cordoned {
		state = "CORDONED"
	}
	fmt.Fprintf(t.a.stderr, "%s  region %s  %s\n", t.ts(), p.Region, state)
	if t.a.json() {
		t.emit(event{TS: t.ts(), Op: t.op, Plan: p.Id, Phase: "cordon", Region: p.Region, State: state})
	}
}

// update reports what changed since the last call.
func (t *tracker) update(p *proto.Plan, phase string) {
	t.id = p.Id
	if p.State != t.state {
		t.state = p.State
		if !t.quiet {
			what := kindName(p)
			if p.Region != "" {
				what += " " + p.Region
			}
			fmt.Fprintf(t.a.stderr, "%s  plan %s  %s  %s\n", t.ts(), dash(p.Id), what, stateName(p.State))
		}
		if t.a.json() {
			t.emit(event{TS: t.ts(), Op: t.op, Plan: p.Id, Phase: "plan", State: stateName(p.State), Error: p.Error})
		}
	}
	for _, s := range p.Steps {
		if prev, ok := t.steps[s.Symbol]; ok && prev == s.State {
			continue
		}
		t.steps[s.Symbol] = s.State
		if !t.quiet {
			line := fmt.Sprintf("%s  %s  %s→%s  %s", t.ts(), s.Symbol, s.FromRegion, s.ToRegion, stepName(s.State))
			if s.Error != "" {
				line += "  " + s.Error
			}
			fmt.Fprintln(t.a.stderr, line)
		}
		if t.a.json() {
			t.emit(event{TS: t.ts(), Op: t.op, Plan: p.Id, Phase: phase, Symbol: s.Symbol, From: s.FromRegion,
				To: s.ToRegion, State: stepName(s.State), Error: s.Error})
		}
	}
}

// finish prints the outcome of p and returns the command's error: nil when it succeeded (or
// was a dry run, or was started without waiting), errFailed when it failed or was aborted
// (unless aborting was the point), errPending with pendingWhy when it still runs.
func (t *tracker) finish(p *proto.Plan, started bool, pendingWhy string, abortOK bool) error {
	c := countSteps(p)
	s := summary{TS: t.ts(), Op: t.op, Plan: p.Id, Summary: true, State: stateName(p.State), DryRun: p.DryRun,
		Steps: len(p.Steps), Succeeded: c.succeeded, Failed: c.failed, Skipped: c.skipped, Pending: c.pending, Error: p.Error}
	var err error
	var line string
	follow := fmt.Sprintf("follow: meshctl plan show %s --follow; stop: meshctl plan abort %s", p.Id, p.Id)
	switch {
	case p.DryRun:
		s.Result = "dry_run"
		line = fmt.Sprintf("dry run: %s would move %d symbol(s) (%d already in place); nothing changed", t.op, c.pending, c.skipped)
	case pendingWhy != "":
		s.Result = "timeout"
		if pendingWhy == "interrupted" {
			s.Result = "interrupted"
		}
		err = mark(errPending, fmt.Errorf("%s: plan %s is %s with %d of %d step(s) done and continues on the server (%s)",
			pendingWhy, p.Id, stateName(p.State), c.done(), len(p.Steps), follow))
	case started:
		s.Result = "started"
		line = fmt.Sprintf("plan %s started: %s of %d symbol(s), %s (%s)", p.Id, t.op, c.pending, stateName(p.State), follow)
	case !terminal(p.State):
		s.Result = "running"
		line = fmt.Sprintf("plan %s is %s: %d of %d step(s) done (%s)", p.Id, stateName(p.State), c.done(), len(p.Steps), follow)
	case p.State == proto.PlanState_PLAN_STATE_SUCCEEDED && c.succeeded == 0 && c.failed == 0:
		s.Result = "noop"
		line = fmt.Sprintf("already satisfied: nothing to move (plan %s)", p.Id)
	case p.State == proto.PlanState_PLAN_STATE_SUCCEEDED:
		s.Result = "done"
		line = fmt.Sprintf("plan %s SUCCEEDED: %d moved, %d already in place", p.Id, c.succeeded, c.skipped)
	case p.State == proto.PlanState_PLAN_STATE_ABORTED:
		s.Result = "aborted"
		line = fmt.Sprintf("plan %s ABORTED: %d moved, %d skipped", p.Id, c.succeeded, c.skipped)
		if !abortOK {
			err = mark(errFailed, fmt.Errorf("plan %s was aborted: %s", p.Id, dash(p.Error)))
		}
	default:
		s.Result = "failed"
		line = fmt.Sprintf("plan %s %s: %d moved, %d failed, %d skipped", p.Id, stateName(p.State), c.succeeded, c.failed, c.skipped)
		err = mark(errFailed, fmt.Errorf("plan %s %s: %s; %d of %d step(s) failed", p.Id, stateName(p.State), dash(p.Error), c.failed, len(p.Steps)))
	}
	if t.a.json() {
		t.emit(s)
		return err
	}
	if line != "" {
		fmt.Fprintln(t.a.stdout, line)
	}
	if len(p.Steps) > 0 && !started {
		tw := t.a.table()
		fmt.Fprintln(tw, "SYMBOL\tFROM\tTO\tSTATE\tERROR")
		for _, st := range p.Steps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Symbol, st.FromRegion, st.ToRegion, stepName(st.State), dash(st.Error))
		}
		_ = tw.Flush()
	}
	return err
}

// planReadGrace is how long a plan that was seen may read as not found before meshctl gives up.
const planReadGrace = 2 * time.Second

// follow polls plan p until it ends, --timeout passes or ctx ends (Ctrl-C), reporting progress.
// A server that does not answer for a while is reported and retried: the plan runs on anyway.
func (a *app) follow(ctx context.Context, t *tracker, p *proto.Plan, start time.Time, abortOK bool) error {
	waitCtx, cancel := context.WithCancel(ctx)
	if a.timeout > 0 {
		waitCtx, cancel = context.WithDeadline(ctx, start.Add(a.timeout))
	}
	defer cancel()
	tick := time.NewTicker(a.poll)
	defer tick.Stop()
	t.update(p, "move")
	lastErr := ""
	for !terminal(p.State) {
		if err := waitCtx.Err(); err != nil {
			return t.finish(p, false, a.pendingWhy(ctx), abortOK)
		}
		select {
		case <-waitCtx.Done():
			continue
		case <-tick.C:
		}
		np, err := a.api.getPlan(waitCtx, p.Id, planReadGrace, a.poll)
		switch {
		case err == nil:
			p, lastErr = np, ""
			t.update(p, "move")
		case waitCtx.Err() != nil:
		case errors.Is(err, errRefused):
			return err // the plan is gone for good, or the token was revoked
		default:
			if err.Error() != lastErr {
				lastErr = err.Error()
				fmt.Fprintf(a.stderr, "%s  warning: %v (retrying)\n", t.ts(), err)
			}
		}
	}
	return t.finish(p, false, "", abortOK)
}

func (a *app) pendingWhy(ctx context.Context) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	return fmt.Sprintf("--timeout %v reached", a.timeout)
}
