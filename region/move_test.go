package region_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/test/meshtest"
)

// TestPlannedMoveUnderFlow moves a symbol while two regions keep placing orders: no request may
// fail, the log must verify, and the pause clients see is measured.
func TestPlannedMoveUnderFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	m := meshtest.New(t, meshtest.Options{
		Symbols: []region.SymbolConfig{region.DemoSymbol(sym, "BTC", "USDT", "us-east", "eu-west", "ap-south")},
	})
	m.AwaitConverged()
	before := m.AwaitOwner(sym, meshtest.HomeIs("us-east"))

	f := startFlow(t, m, "eu-west", "ap-south")
	m.Await("fills before the move", func() error {
		if f.fills.Load() < 20 {
			return fmt.Errorf("%d fills", f.fills.Load())
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plan, err := m.Node("ap-south").Move(ctx, sym, "eu-west", region.OpOptions{Actor: "test", Reason: "maintenance"})
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	m.Await("move plan done", func() error {
		p, err := m.Node("us-east").Plan(ctx, plan.Id)
		if err != nil {
			return err
		}
		if p.State != proto.PlanState_PLAN_STATE_SUCCEEDED {
			return fmt.Errorf("plan %v", p.State)
		}
		return nil
	})
	after := m.AwaitOwner(sym, meshtest.HomeIs("eu-west"))
	if after.Epoch <= before.Epoch || after.Phase != proto.Phase_PHASE_TRADING {
		t.Errorf("after the move: %v", after)
	}
	fillsAfterMove := f.fills.Load()
	m.Await("fills after the move", func() error {
		if f.fills.Load() < fillsAfterMove+20 {
			return fmt.Errorf("%d fills", f.fills.Load()-fillsAfterMove)
		}
		return nil
	})
	acked, failures, pause := f.endWithStats()
	if failures != 0 {
		t.Errorf("%d requests failed during a planned move, want 0", failures)
	}
	t.Logf("planned move: longest gap between answers seen by a client %v, %d requests", pause, len(acked))
	checkLog(t, m, acked)

	// Repeating a finished move is a no-op that succeeds at once.
	again, err := m.Node("us-east").Move(ctx, sym, "eu-west", region.OpOptions{Actor: "test"})
	if err != nil || again.State != proto.PlanState_PLAN_STATE_SUCCEEDED {
		t.Fatalf("repeated move: %v %v", again, err)
	}
	hist, err := m.Node("us-east").History(ctx, sym, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(hist, func(e *proto.AuditEntry) bool {
		return e.Action == proto.AuditAction_AUDIT_ACTION_MOVE && e.OldHome == "us-east" && e.NewHome == "eu-west"
	}) {
		t.Errorf("history has no move: %v", hist)
	}
}

func TestEvacuateAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	var syms []region.SymbolConfig
	for i := 0; i < 12; i++ {
		syms = append(syms, region.DemoSymbol(fmt.Sprintf("S%02dUSDT", i), fmt.Sprintf("S%02d", i), "USDT",
			meshtest.DefaultRegions[i%3], meshtest.DefaultRegions[(i+1)%3], meshtest.DefaultRegions[(i+2)%3]))
	}
	m := meshtest.New(t, meshtest.Options{Symbols: syms})
	m.AwaitConverged()
	for _, s := range syms {
		m.AwaitOwner(s.Symbol, meshtest.HomeIs(s.Preferred[0]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n := m.Node("eu-west")

	dry, err := n.Evacuate(ctx, "us-east", region.OpOptions{Actor: "test", DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if len(dry.Steps) != 4 {
		t.Errorf("dry run plans %d steps, want 4", len(dry.Steps))
	}
	st, _ := n.Status(ctx)
	for _, r := range st.Regions {
		if r.Cordoned {
			t.Errorf("dry run cordoned %s", r.Name)
		}
	}
	if plans, _ := n.Plans(ctx); len(plans) != 0 {
		t.Errorf("dry run stored plans %v", plans)
	}

	start := time.Now()
	plan, err := n.Evacuate(ctx, "us-east", region.OpOptions{Actor: "test", Reason: "upgrade"})
	if err != nil {
		t.Fatalf("evacuate: %v", err)
	}
	awaitPlan(t, m, plan.Id, proto.PlanState_PLAN_STATE_SUCCEEDED)
	for _, s := range syms {
		m.AwaitOwner(s.Symbol, meshtest.Not("us-east"))
	}
	t.Logf("evacuated %d symbols in %v", len(dry.Steps), time.Since(start))
	// Cordoned: a new move there is refused.
	if _, err := n.Move(ctx, syms[1].Symbol, "us-east", region.OpOptions{Actor: "test"}); err == nil {
		t.Error("move to a cordoned region was accepted")
	}
	again, err := n.Evacuate(ctx, "us-east", region.OpOptions{Actor: "test"})
	if err != nil || again.State != proto.PlanState_PLAN_STATE_SUCCEEDED {
		t.Errorf("repeated evacuation: %v %v", again, err)
	}

	plan, err = n.Restore(ctx, "us-east", region.OpOptions{Actor: "test"})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	awaitPlan(t, m, plan.Id, proto.PlanState_PLAN_STATE_SUCCEEDED)
	for _, s := range syms {
		m.AwaitOwner(s.Symbol, meshtest.HomeIs(s.Preferred[0]))
	}
}

func awaitPlan(t *testing.T, m *meshtest.Mesh, id string, want proto.PlanState) *proto.Plan {
	t.Helper()
	var p *proto.Plan
	m.Await("plan "+id, func() error {
		var err error
		p, err = m.Node(m.Live()[0]).Plan(context.Background(), id)
		if err != nil {
			return err
		}
		if p.State != want {
			return fmt.Errorf("state %v", p.State)
		}
		return nil
	})
	return p
}
