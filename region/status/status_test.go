package status

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/geomesh/geomesh/test/deptest"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

func TestDependencies(t *testing.T) {
	deptest.Check(t, ".", "github.com/nats-io/nats.go", "github.com/geomesh/geomesh/region/client",
		"github.com/geomesh/geomesh/proto")
}

func TestMap(t *testing.T) {
	type want struct{ rest, ws, orders, matching ComponentStatus }
	for _, tc := range []struct {
		name string
		h    Health
		want want
	}{
		{"up, all trading", Health{State: "up", Phases: map[string]int{"TRADING": 3}},
			want{Operational, Operational, Operational, Operational}},
		{"up, no symbols", Health{State: "up"}, want{Operational, Operational, Operational, Operational}},
		{"move in progress", Health{State: "up", Phases: map[string]int{"TRADING": 2, "CANCEL_ONLY": 1}},
			want{Operational, Operational, DegradedPerformance, DegradedPerformance}},
		{"post only", Health{State: "up", Phases: map[string]int{"POST_ONLY": 1}},
			want{Operational, Operational, DegradedPerformance, DegradedPerformance}},
		{"halted symbol", Health{State: "up", Phases: map[string]int{"HALT": 1, "CANCEL_ONLY": 1}},
			want{Operational, Operational, PartialOutage, PartialOutage}},
		{"suspect", Health{State: "suspect", Phases: map[string]int{"TRADING": 1}},
			want{PartialOutage, PartialOutage, PartialOutage, PartialOutage}},
		{"down", Health{State: "down"}, want{MajorOutage, MajorOutage, MajorOutage, MajorOutage}},
		{"down while cordoned", Health{State: "down", Cordoned: true}, want{MajorOutage, MajorOutage, MajorOutage, MajorOutage}},
		{"unknown", Health{State: "unknown"}, want{MajorOutage, MajorOutage, MajorOutage, MajorOutage}},
		{"cordoned", Health{State: "up", Cordoned: true, Phases: map[string]int{"HALT": 1}},
			want{UnderMaintenance, UnderMaintenance, UnderMaintenance, UnderMaintenance}},
		{"evacuating", Health{State: "up", Maintenance: true},
			want{UnderMaintenance, UnderMaintenance, UnderMaintenance, UnderMaintenance}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := Map(tc.h)
			g := want{got["rest"], got["ws"], got["orders"], got["matching"]}
			if g != tc.want {
				t.Errorf("Map(%+v) = %+v, want %+v", tc.h, g, tc.want)
			}
		})
	}
}

func region(name string, st map[string]ComponentStatus) *RegionRecord {
	r := &RegionRecord{Region: name, Services: map[string]ServiceState{}}
	for _, sv := range Services {
		s := Operational
		if v, ok := st[sv.Suffix]; ok {
			s = v
		}
		r.Services[sv.Suffix] = ServiceState{Status: s}
	}
	return r
}

func TestIndicator(t *testing.T) {
	down := map[string]ComponentStatus{"rest": MajorOutage, "ws": MajorOutage, "orders": MajorOutage, "matching": MajorOutage}
	maint := map[string]ComponentStatus{"rest": UnderMaintenance, "ws": UnderMaintenance, "orders": UnderMaintenance, "matching": UnderMaintenance}
	for _, tc := range []struct {
		name      string
		regions   []*RegionRecord
		indicator string
		desc      string
		wholeMnt  bool
	}{
		{"all operational", []*RegionRecord{region("a-b", nil), region("c-d", nil)}, "none", "All Systems Operational", false},
		{"degraded", []*RegionRecord{region("a-b", map[string]ComponentStatus{"orders": DegradedPerformance})}, "minor", "Partially Degraded Service", false},
		{"partial", []*RegionRecord{region("a-b", map[string]ComponentStatus{"orders": PartialOutage}), region("c-d", nil)}, "major", "Partial System Outage", false},
		{"one region down", []*RegionRecord{region("a-b", down), region("c-d", nil)}, "major", "Partial System Outage", false},
		{"two regions down", []*RegionRecord{region("a-b", down), region("c-d", down), region("e-f", nil)}, "critical", "Major System Outage", false},
		{"one in maintenance", []*RegionRecord{region("a-b", maint), region("c-d", nil)}, "minor", "Service Under Maintenance", false},
		{"all in maintenance", []*RegionRecord{region("a-b", maint), region("c-d", maint)}, "minor", "Service Under Maintenance", true},
		{"empty", nil, "none", "All Systems Operational", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ind, desc := Indicator(tc.regions)
			if ind != tc.indicator || desc != tc.desc {
				t.Errorf("Indicator = %q %q, want %q %q", ind, desc, tc.indicator, tc.desc)
			}
			if got := WholeMeshInMaintenance(tc.regions); got != tc.wholeMnt {
				t.Errorf("WholeMeshInMaintenance = %v, want %v", got, tc.wholeMnt)
			}
		})
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"incident":{"id":"inc-1"}}`)
	now := time.Unix(1_800_000_000, 0)
	h := Sign("s3cret", now.Unix(), body)
	// Known answer: printf '1800000000.{"incident":{"id":"inc-1"}}' | openssl dgst -sha256 -hmac s3cret
	if want := "t=1800000000,v1=938ace06a4dd84517eb3696bca115dd759873634ebea08408e9263a644fcc5cb"; h != want {
		t.Fatalf("Sign = %q, want %q", h, want)
	}
	for _, tc := range []struct {
		name   string
		header string
		secret string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"valid", h, "s3cret", body, now, true},
		{"valid, extra v1", h + ",v1=00", "s3cret", body, now, true},
		{"wrong secret", h, "other", body, now, false},
		{"changed body", h, "s3cret", append([]byte(" "), body...), now, false},
		{"too old", h, "s3cret", body, now.Add(10 * time.Minute), false},
		{"no v1", "t=1800000000", "s3cret", body, now, false},
		{"garbage", "nonsense", "s3cret", body, now, false},
		{"bad hex", "t=1800000000,v1=zz", "s3cret", body, now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.header, tc.secret, tc.body, tc.now, 5*time.Minute)
			if (err == nil) != tc.ok {
				t.Errorf("Verify = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrSignature) {
				t.Errorf("error %v is not ErrSignature", err)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Attempts: 6}
	var got []time.Duration
	for n := 1; ; n++ {
		d, ok := b.Delay(n)
		if !ok {
			break
		}
		got = append(got, d)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second}
	if len(got) != len(want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	if d, ok := (Backoff{}).Delay(1); !ok || d != 250*time.Millisecond {
		t.Errorf("default first delay %v %v", d, ok)
	}
	if _, ok := (Backoff{}).Delay(6); ok {
		t.Error("default allows a 7th attempt")
	}
}

func TestDecodeRefusesUnknownSchema(t *testing.T) {
	in := &Incident{ID: "inc-1", Kind: KindIncident, Name: "x", Status: Investigating, Impact: ImpactMinor}
	b, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	var back Incident
	if err := Decode(b, &back); err != nil || back.ID != "inc-1" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	future := strings.Replace(string(b), `"schema_version":1`, `"schema_version":2`, 1)
	if err := Decode([]byte(future), &back); !errors.Is(err, ErrSchema) {
		t.Errorf("schema 2: %v, want ErrSchema", err)
	}
	if err := Decode([]byte(`{"id":"x"}`), &back); !errors.Is(err, ErrSchema) {
		t.Errorf("no schema: %v, want ErrSchema", err)
	}
	if err := Decode([]byte(`not json`), &back); !errors.Is(err, ErrInvalid) {
		t.Errorf("garbage: %v, want ErrInvalid", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema_version":1,"id":"inc-1","updates":[{"created_at":"2026-11-02T10:00:00.000Z"}]}`))
	f.Add([]byte(`{"schema_version":1,"services":{"rest":{"status":"operational","updated_at":null}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in Incident
		if Decode(b, &in) == nil {
			if _, err := Encode(&in); err != nil {
				t.Fatalf("decoded record does not encode: %v", err)
			}
		}
		var r RegionRecord
		_ = Decode(b, &r)
	})
}

// fixture is a mesh with eu-west down, a failover incident in monitoring and an evacuation
// maintenance in progress.
func fixture() *Snapshot {
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	at := func(s int) Time { return At(t0.Add(time.Duration(s) * time.Second)) }
	up := func(name string, pos int) *RegionRecord {
		r := &RegionRecord{SchemaVersion: 1, Region: name, Health: "up", Position: pos, CreatedAt: at(0), Services: map[string]ServiceState{}}
		for _, sv := range Services {
			r.Services[sv.Suffix] = ServiceState{Status: Operational, UpdatedAt: at(0)}
		}
		return r
	}
	us, eu, ap := up("us-east", 1), up("eu-west", 2), up("ap-south", 3)
	for _, sv := range Services {
		eu.Services[sv.Suffix] = ServiceState{Status: MajorOutage, UpdatedAt: at(2)}
		ap.Services[sv.Suffix] = ServiceState{Status: UnderMaintenance, UpdatedAt: at(30)}
	}
	eu.Health = "down"
	inc := &Incident{ID: "inc-eu-west-1", Kind: KindIncident, Name: "EU West unreachable: symbols failing over",
		Impact: ImpactMajor, Source: SourceFailover, Region: "eu-west", Auto: true,
		Components: []string{"eu-west", "eu-west-orders"}, Symbols: []string{"BTCUSDT"}, CreatedAt: at(2), StartedAt: at(2)}
	inc.AddUpdate(Investigating, "Every node of eu-west has stopped answering.", "controller/us-east-1", at(2).Time,
		[]AffectedComponent{{Code: "eu-west-orders", Name: "EU West Order entry", OldStatus: Operational, NewStatus: MajorOutage}})
	inc.AddUpdate(Identified, "Symbols re-homed: BTCUSDT eu-west → us-east.", "controller/us-east-1", at(5).Time, nil)
	inc.AddUpdate(Monitoring, "Every moved symbol is trading again.", "controller/us-east-1", at(15).Time, nil)
	old := &Incident{ID: "inc-old", Kind: KindIncident, Name: "Old", Impact: ImpactMinor, Source: SourceOperator,
		CreatedAt: at(-3600), StartedAt: at(-3600)}
	old.AddUpdate(Investigating, "Looking.", "ops", at(-3600).Time, nil)
	old.AddUpdate(Resolved, "Fixed.", "ops", at(-3000).Time, nil)
	m := &Incident{ID: "evac-p1", Kind: KindMaintenance, Name: "Planned evacuation of AP South", Impact: ImpactMaintenance,
		Source: SourceEvacuate, Region: "ap-south", PlanID: "p1", Components: []string{"ap-south"}, Symbols: []string{"ETHUSDT"},
		CreatedAt: at(30), StartedAt: at(30)}
	m.ScheduledFor = &m.StartedAt
	m.AddUpdate(InProgress, "ap-south is being evacuated.", "controller/us-east-1", at(30).Time, nil)
	s := &Snapshot{Regions: []*RegionRecord{ap, us, eu}, Incidents: []*Incident{old, inc}, Maintenances: []*Incident{m}}
	s.sort()
	return s
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *rewrite {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (run with -rewrite after checking):\n%s", name, got)
	}
}

func TestStatuspageGolden(t *testing.T) {
	s := fixture()
	r := Renderer{PageID: "geomesh", Name: "geomesh", URL: "https://status.example"}
	golden(t, "summary.json", r.Summary(s))
	golden(t, "incidents.json", r.Incidents(s, false))
	golden(t, "maintenances_active.json", r.Maintenances(s, "active"))

	sum := r.Summary(s)
	if sum.Status.Indicator != "major" {
		t.Errorf("indicator %q, want major", sum.Status.Indicator)
	}
	if len(sum.Incidents) != 1 || sum.Incidents[0].ID != "inc-eu-west-1" {
		t.Errorf("summary incidents %+v, want only the open one", sum.Incidents)
	}
	if got := len(r.Incidents(s, true).Incidents); got != 1 {
		t.Errorf("unresolved: %d incidents, want 1", got)
	}
	if got := len(r.Maintenances(s, "upcoming").ScheduledMaintenances); got != 0 {
		t.Errorf("upcoming: %d, want 0", got)
	}
	// Statuspage's enums, checked on the wire.
	b, _ := json.Marshal(sum)
	var wire map[string]any
	_ = json.Unmarshal(b, &wire)
	for _, c := range wire["components"].([]any) {
		c := c.(map[string]any)
		switch c["status"] {
		case "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance":
		default:
			t.Errorf("component %v status %v", c["id"], c["status"])
		}
		for _, k := range []string{"id", "name", "status", "created_at", "updated_at", "position", "description",
			"showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded"} {
			if _, ok := c[k]; !ok {
				t.Errorf("component %v lacks %q", c["id"], k)
			}
		}
	}
	inc := wire["incidents"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "name", "status", "impact", "created_at", "updated_at", "monitoring_at", "resolved_at",
		"started_at", "shortlink", "page_id", "incident_updates", "components"} {
		if _, ok := inc[k]; !ok {
			t.Errorf("incident lacks %q", k)
		}
	}
	ups := inc["incident_updates"].([]any)
	if len(ups) != 3 || ups[0].(map[string]any)["status"] != "monitoring" {
		t.Errorf("updates newest first: %v", ups)
	}
}

func TestRegionTitle(t *testing.T) {
	for in, want := range map[string]string{"eu-west": "EU West", "us-east": "US East", "ap-south": "AP South", "local": "Local"} {
		if got := RegionTitle(in); got != want {
			t.Errorf("RegionTitle(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzVerify: a receiver's check of an outside header never panics, and accepts only what
// Sign produced for the same secret and body.
func FuzzVerify(f *testing.F) {
	body := []byte(`{"a":1}`)
	f.Add(Sign("k", 1800000000, body), []byte(`{"a":1}`))
	f.Add("t=1,v1=00,v1=zz", []byte(``))
	f.Add("t=,v1=", []byte(`x`))
	f.Fuzz(func(t *testing.T, header string, b []byte) {
		if Verify(header, "k", b, time.Unix(1800000000, 0), 0) != nil {
			return
		}
		// Accepted: some v1 must be the HMAC of the header's own timestamp and this body.
		for _, part := range strings.Split(header, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
				if ts, err := strconv.ParseInt(v, 10, 64); err == nil {
					_, want, _ := strings.Cut(Sign("k", ts, b), ",")
					if strings.Contains(strings.ToLower(strings.ReplaceAll(header, " ", "")), want) {
						return
					}
				}
			}
		}
		t.Fatalf("accepted %q for %q", header, b)
	})
}
