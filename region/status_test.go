package region_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/status"
	"github.com/geomesh/geomesh/test/meshtest"
)

// statuses lists the statuses of an incident's timeline, oldest first.
func statuses(in *status.Incident) []string {
	var out []string
	for _, u := range in.Updates {
		out = append(out, u.Status)
	}
	return out
}

// awaitIncident polls node n's status view until incident id satisfies cond.
func awaitIncident(t *testing.T, m *meshtest.Mesh, n *region.Node, id string, cond func(*status.Incident) error) *status.Incident {
	t.Helper()
	var got *status.Incident
	m.Await("incident "+id, func() error {
		got = n.StatusSnapshot().Incident(id)
		if got == nil {
			return fmt.Errorf("no record %s", id)
		}
		return cond(got)
	})
	return got
}

// awaitRegionStatus polls until region r's group shows want on node n.
func awaitRegionStatus(m *meshtest.Mesh, n *region.Node, r string, want status.ComponentStatus) {
	m.Await(r+" "+string(want), func() error {
		rr := n.StatusSnapshot().Region(r)
		if rr == nil {
			return fmt.Errorf("no component record for %s", r)
		}
		if got := rr.GroupStatus(); got != want {
			return fmt.Errorf("%s is %s (%s)", r, got, rr.Note)
		}
		return nil
	})
}

// TestStatusEvacuationAndOperatorActions: an evacuation plan opens a scheduled maintenance that
// goes in_progress -> completed, the evacuated (cordoned) region shows under_maintenance until it
// is restored, and operators open, update and resolve incidents and maintenances through the
// admin API, with the API's errors.
func TestStatusEvacuationAndOperatorActions(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	syms := []region.SymbolConfig{
		region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east", "eu-west", "ap-south"),
		region.DemoSymbol("ETHUSDT", "ETH", "USDT", "us-east", "ap-south", "eu-west"),
		region.DemoSymbol("SOLUSDT", "SOL", "USDT", "eu-west", "us-east", "ap-south"),
	}
	m := meshtest.New(t, meshtest.Options{Symbols: syms})
	m.AwaitConverged()
	for _, s := range syms {
		m.AwaitOwner(s.Symbol, meshtest.HomeIs(s.Preferred[0]))
	}
	n := m.Node("ap-south")
	for _, r := range m.Regions() {
		awaitRegionStatus(m, n, r, status.Operational)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	t.Run("evacuation maintenance", func(t *testing.T) {
		plan, err := m.Node("eu-west").Evacuate(ctx, "us-east", region.OpOptions{Actor: "alice", Reason: "kernel upgrade"})
		if err != nil {
			t.Fatal(err)
		}
		id := "evac-" + plan.Id
		m.Await("plan done", func() error {
			p, err := n.Plan(ctx, plan.Id)
			if err != nil || p.State != proto.PlanState_PLAN_STATE_SUCCEEDED {
				return fmt.Errorf("plan %v %v", p.GetState(), err)
			}
			return nil
		})
		mt := awaitIncident(t, m, n, id, func(in *status.Incident) error {
			if in.Status != status.Completed {
				return fmt.Errorf("status %s", in.Status)
			}
			return nil
		})
		if got := statuses(mt); !slices.Equal(got, []string{status.InProgress, status.Completed}) {
			t.Errorf("maintenance timeline %v, want in_progress, completed", got)
		}
		if mt.Kind != status.KindMaintenance || mt.Region != "us-east" || mt.Impact != status.ImpactMaintenance ||
			mt.ScheduledFor == nil || mt.ScheduledUntil == nil || len(mt.Symbols) != 2 {
			t.Errorf("maintenance record %+v", mt)
		}
		// Cordoned after the evacuation: under maintenance until restored.
		awaitRegionStatus(m, n, "us-east", status.UnderMaintenance)
		rp, err := m.Node("eu-west").Restore(ctx, "us-east", region.OpOptions{Actor: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		awaitPlan(t, m, rp.Id, proto.PlanState_PLAN_STATE_SUCCEEDED)
		awaitRegionStatus(m, n, "us-east", status.Operational)
		// A restore is not a maintenance.
		if got := len(n.StatusSnapshot().Maintenances); got != 1 {
			t.Errorf("%d maintenances after the restore, want 1", got)
		}
	})

	srv := httptest.NewServer(n.AdminHandler(adminToken))
	defer srv.Close()
	api := adminClient{t: t, base: srv.URL, token: adminToken}
	decode := func(b []byte) *status.Incident {
		t.Helper()
		var in status.Incident
		if err := json.Unmarshal(b, &in); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		return &in
	}

	t.Run("operator incident", func(t *testing.T) {
		in := decode(api.want("POST", "/admin/v1/incidents",
			`{"name":"Slow fills on SOLUSDT","impact":"minor","body":"Looking into it","components":["eu-west-matching"],"symbols":["SOLUSDT"],"actor":"bob"}`,
			http.StatusCreated))
		if in.Status != status.Investigating || in.Source != status.SourceOperator || len(in.Updates) != 1 || in.Updates[0].Actor != "bob" {
			t.Fatalf("created %+v", in)
		}
		upd := decode(api.want("POST", "/admin/v1/incidents/"+in.ID+"/updates", `{"status":"identified","body":"A slow disk"}`, http.StatusOK))
		if upd.Status != status.Identified || len(upd.Updates) != 2 {
			t.Errorf("after update %+v", upd)
		}
		// a message without a status change keeps the status
		upd = decode(api.want("POST", "/admin/v1/incidents/"+in.ID+"/updates", `{"body":"Replacing it"}`, http.StatusOK))
		if upd.Status != status.Identified || len(upd.Updates) != 3 {
			t.Errorf("after message %+v", upd)
		}
		res := decode(api.want("POST", "/admin/v1/incidents/"+in.ID+"/resolve", ``, http.StatusOK))
		if res.Status != status.Resolved || res.ResolvedAt == nil {
			t.Errorf("after resolve %+v", res)
		}
		awaitIncident(t, m, m.Node("us-east"), in.ID, func(got *status.Incident) error {
			if got.Status != status.Resolved {
				return fmt.Errorf("status %s", got.Status)
			}
			return nil
		})
		var list struct{ Incidents []status.Incident }
		m.Await("listed", func() error {
			if err := json.Unmarshal(api.want("GET", "/admin/v1/incidents", "", http.StatusOK), &list); err != nil {
				return err
			}
			if !slices.ContainsFunc(list.Incidents, func(x status.Incident) bool { return x.ID == in.ID }) {
				return fmt.Errorf("%s not listed", in.ID)
			}
			return nil
		})
		_ = json.Unmarshal(api.want("GET", "/admin/v1/incidents?open=true", "", http.StatusOK), &list)
		if slices.ContainsFunc(list.Incidents, func(x status.Incident) bool { return x.ID == in.ID }) {
			t.Errorf("resolved incident listed as open")
		}
	})

	t.Run("operator maintenance", func(t *testing.T) {
		from := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		until := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
		mt := decode(api.want("POST", "/admin/v1/maintenances",
			fmt.Sprintf(`{"name":"Network work in AP South","components":["ap-south"],"scheduled_for":%q,"scheduled_until":%q}`, from, until),
			http.StatusCreated))
		if mt.Status != status.Scheduled || mt.Kind != status.KindMaintenance {
			t.Fatalf("created %+v", mt)
		}
		// Now: starts at once, shows the region under maintenance, completes on request.
		now := decode(api.want("POST", "/admin/v1/maintenances", `{"name":"Switch swap","components":["ap-south"]}`, http.StatusCreated))
		if now.Status != status.InProgress {
			t.Fatalf("created %+v", now)
		}
		awaitRegionStatus(m, n, "ap-south", status.UnderMaintenance)
		done := decode(api.want("POST", "/admin/v1/maintenances/"+now.ID+"/complete", `{"body":"Done"}`, http.StatusOK))
		if done.Status != status.Completed {
			t.Errorf("completed %+v", done)
		}
		awaitRegionStatus(m, n, "ap-south", status.Operational)
		var list struct{ Maintenances []status.Incident }
		_ = json.Unmarshal(api.want("GET", "/admin/v1/maintenances?open=true", "", http.StatusOK), &list)
		if !slices.ContainsFunc(list.Maintenances, func(x status.Incident) bool { return x.ID == mt.ID }) {
			t.Errorf("scheduled maintenance %s not listed as open: %+v", mt.ID, list.Maintenances)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			path, body string
			code       int
		}{
			{"/admin/v1/incidents", `{}`, http.StatusBadRequest},                                  // no name
			{"/admin/v1/incidents", `{"name":"x","status":"fixed"}`, http.StatusBadRequest},       // bad status
			{"/admin/v1/incidents", `{"name":"x","impact":"huge"}`, http.StatusBadRequest},        // bad impact
			{"/admin/v1/incidents", `{"name":"x","components":["mars"]}`, http.StatusBadRequest},  // unknown component
			{"/admin/v1/incidents", `{"name":"x","symbols":["NOPEUSDT"]}`, http.StatusBadRequest}, // unknown symbol
			{"/admin/v1/incidents", `{"name":"x","colour":"red"}`, http.StatusBadRequest},         // unknown field
			{"/admin/v1/incidents/nope/updates", `{"body":"x"}`, http.StatusNotFound},             // unknown id
			{"/admin/v1/incidents/bad%20id/updates", `{"body":"x"}`, http.StatusBadRequest},       // invalid id
			{"/admin/v1/incidents/nope/updates", `{}`, http.StatusBadRequest},                     // no message
			{"/admin/v1/maintenances", `{"name":"x","scheduled_for":"tomorrow"}`, http.StatusBadRequest},
			{"/admin/v1/maintenances/nope/complete", ``, http.StatusNotFound},
		} {
			api.want("POST", tc.path, tc.body, tc.code)
		}
		api.want("GET", "/admin/v1/webhooks/deliveries?limit=0", "", http.StatusBadRequest)
		api.want("GET", "/admin/v1/webhooks/deliveries", "", http.StatusOK)
	})
}
