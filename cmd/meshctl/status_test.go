package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/test/meshtest"
)

// statusStub is a scripted admin API for the status commands: it records every request and
// answers with an incident record shaped like region/status's.
type statusStub struct {
	mu   sync.Mutex
	reqs []string // "METHOD path body"
}

func (s *statusStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.RequestURI()+" "+strings.TrimSpace(string(body)))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"missing or wrong admin token"}`))
		return
	}
	inc := map[string]any{"id": "inc-1", "kind": "incident", "name": "Slow fills", "status": "investigating",
		"impact": "minor", "source": "operator", "components": []string{"eu-west-matching"}, "started_at": "2026-11-02T10:00:00.000Z"}
	path := r.URL.Path
	switch {
	case path == "/admin/v1/incidents/nope/updates":
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"status: not found: incident.nope"}`))
		return
	case r.Method == http.MethodGet && path == "/admin/v1/incidents":
		_ = json.NewEncoder(w).Encode(map[string]any{"incidents": []any{inc}})
		return
	case r.Method == http.MethodGet && path == "/admin/v1/maintenances":
		_ = json.NewEncoder(w).Encode(map[string]any{"maintenances": []any{}})
		return
	case r.Method == http.MethodGet && path == "/admin/v1/webhooks/deliveries":
		_, _ = w.Write([]byte(`{"deliveries":[{"id":"inc-1-u1-abcd","url":"http://hooks.example/x","event":"incident.update",` +
			`"incident_id":"inc-1","status":"delivered","created_at":"2026-11-02T10:00:00.000Z",` +
			`"attempts":[{"at":"2026-11-02T10:00:00.000Z","status_code":503,"error":"HTTP 503"},{"at":"2026-11-02T10:00:01.000Z","status_code":204}]}]}`))
		return
	case strings.HasSuffix(path, "/resolve"):
		inc["status"] = "resolved"
	case strings.HasSuffix(path, "/updates"):
		inc["status"] = "identified"
	case path == "/admin/v1/maintenances", strings.HasSuffix(path, "/complete"):
		inc["kind"], inc["id"], inc["status"] = "maintenance", "mnt-1", "in_progress"
		if strings.HasSuffix(path, "/complete") {
			inc["status"] = "completed"
		}
	}
	if r.Method == http.MethodPost && (path == "/admin/v1/incidents" || path == "/admin/v1/maintenances") {
		w.WriteHeader(http.StatusCreated)
	}
	_ = json.NewEncoder(w).Encode(inc)
}

func (s *statusStub) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return ""
	}
	return s.reqs[len(s.reqs)-1]
}

func TestStatusCommandsAgainstStub(t *testing.T) {
	stub := &statusStub{}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	g := []string{"--server", srv.URL, "--token", "tok", "--actor", "ops@host"}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		stdout  string // substring
		request string // substring of the last request
	}{
		{"create incident", []string{"status", "incident", "create", "Slow fills", "-m", "Looking", "--impact", "minor",
			"--component", "eu-west-matching", "--symbol", "solusdt"}, 0, "incident inc-1 opened (investigating): Slow fills",
			`POST /admin/v1/incidents {"name":"Slow fills","impact":"minor","body":"Looking","components":["eu-west-matching"],"symbols":["SOLUSDT"],"actor":"ops@host"}`},
		{"update incident", []string{"status", "incident", "update", "inc-1", "-m", "A slow disk", "--status", "identified"}, 0,
			"incident inc-1 updated (identified)", `POST /admin/v1/incidents/inc-1/updates {"status":"identified","body":"A slow disk","actor":"ops@host"}`},
		{"update needs a message", []string{"status", "incident", "update", "inc-1"}, 2, "", ""},
		{"update unknown", []string{"status", "incident", "update", "nope", "-m", "x"}, 2, "", "POST /admin/v1/incidents/nope/updates"},
		{"bad id", []string{"status", "incident", "resolve", "../x"}, 2, "", ""},
		{"resolve", []string{"status", "incident", "resolve", "inc-1"}, 0, "incident inc-1 resolved (resolved)",
			`POST /admin/v1/incidents/inc-1/resolve {"actor":"ops@host"}`},
		{"list open", []string{"status", "incident", "list"}, 0, "inc-1", "GET /admin/v1/incidents?open=true"},
		{"list all json", []string{"status", "incident", "list", "--all", "-o", "json"}, 0, `{"incidents":[{`, "GET /admin/v1/incidents "},
		{"maintenance now", []string{"maintenance", "create", "Switch swap", "--component", "ap-south", "--duration", "2h",
			"--start", "2026-11-02T10:00:00Z"}, 0, "maintenance mnt-1 opened (in_progress)",
			`"scheduled_for":"2026-11-02T10:00:00Z","scheduled_until":"2026-11-02T12:00:00Z"`},
		{"maintenance end and duration", []string{"maintenance", "create", "x", "--end", "2026-11-02T12:00:00Z", "--duration", "1h"}, 2, "", ""},
		{"maintenance bad start", []string{"maintenance", "create", "x", "--start", "tomorrow"}, 2, "", ""},
		{"maintenance list", []string{"maintenance", "list"}, 0, "no open maintenances", "GET /admin/v1/maintenances?open=true"},
		{"maintenance complete", []string{"maintenance", "complete", "mnt-1", "-m", "Done"}, 0, "maintenance mnt-1 completed (completed)",
			`POST /admin/v1/maintenances/mnt-1/complete {"body":"Done","actor":"ops@host"}`},
		{"webhooks", []string{"status", "webhooks"}, 0, "delivered  2", "GET /admin/v1/webhooks/deliveries?limit=50"},
		{"create needs a name", []string{"status", "incident", "create"}, 2, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, "", false, append(append([]string{}, g...), tc.args...)...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", res.code, tc.code, res.stderr)
			}
			if !strings.Contains(res.stdout, tc.stdout) {
				t.Errorf("stdout %q lacks %q", res.stdout, tc.stdout)
			}
			if tc.code != 0 && (res.stdout != "" || !strings.HasPrefix(res.stderr, "meshctl: ") || strings.Count(res.stderr, "\n") != 1) {
				t.Errorf("a failure prints one line on stderr and nothing on stdout: %q %q", res.stdout, res.stderr)
			}
			if tc.request != "" && !strings.Contains(stub.last(), tc.request) {
				t.Errorf("last request %q lacks %q", stub.last(), tc.request)
			}
		})
	}
}

func TestMaintenanceWindow(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var req incidentRequest
	if err := maintenanceWindow(&req, "", "", 30*time.Minute, now); err != nil || req.ScheduledFor != "" || req.ScheduledUntil != "2026-11-02T10:30:00Z" {
		t.Errorf("duration only: %+v %v", req, err)
	}
	if err := maintenanceWindow(&incidentRequest{}, "", "", -time.Minute, now); exitCode(err) != exitUsage {
		t.Errorf("negative duration: %v", err)
	}
}

// TestStatusCommandsAgainstMesh runs the status commands in-process against the admin API of a
// 3-region in-process mesh: an incident's life, a maintenance's life and the delivery log.
func TestStatusCommandsAgainstMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	m := meshtest.New(t, meshtest.Options{Symbols: []region.SymbolConfig{
		region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east", "eu-west", "ap-south")}})
	m.AwaitConverged()
	m.AwaitOwner("BTCUSDT", meshtest.HomeIs("us-east"))
	srv := httptest.NewServer(m.Node("ap-south").AdminHandler("tok"))
	defer srv.Close()
	ctl := func(args ...string) result {
		t.Helper()
		return runCLI(t, "", false, append([]string{"--server", srv.URL, "--token", "tok", "--actor", "tester"}, args...)...)
	}
	idRE := regexp.MustCompile(`(?:incident|maintenance) (\S+) `)
	r := ctl("status", "incident", "create", "Delayed fills on BTCUSDT", "--symbol", "btcusdt", "--component", "us-east-matching",
		"--impact", "minor", "-m", "We are looking into it")
	if r.code != 0 || !strings.Contains(r.stdout, "opened (investigating)") {
		t.Fatalf("create: %+v", r)
	}
	id := idRE.FindStringSubmatch(r.stdout)[1]
	if r := ctl("status", "incident", "update", id, "--status", "identified", "-m", "A slow disk"); r.code != 0 ||
		!strings.Contains(r.stdout, "updated (identified)") {
		t.Fatalf("update: %+v", r)
	}
	if r := ctl("status", "incident", "update", id, "--status", "fixed", "-m", "x"); r.code != 2 {
		t.Errorf("bad status: exit %d", r.code)
	}
	// The list reads the node's view of the bucket: poll until it shows the update.
	if err := meshtest.Poll(15*time.Second, func() error {
		r := ctl("-o", "json", "status", "incident", "list")
		var doc struct{ Incidents []incidentDoc }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
			return fmt.Errorf("list: %+v", r)
		}
		for _, in := range doc.Incidents {
			if in.ID == id && in.Status == "identified" && len(in.Updates) == 2 && in.Updates[1].Actor == "tester" {
				return nil
			}
		}
		return fmt.Errorf("incident %s not listed as identified: %s", id, r.stdout)
	}); err != nil {
		t.Fatal(err)
	}
	if r := ctl("status", "incident", "resolve", id, "-m", "Disk replaced"); r.code != 0 || !strings.Contains(r.stdout, "resolved (resolved)") {
		t.Fatalf("resolve: %+v", r)
	}

	r = ctl("maintenance", "create", "Switch swap in AP South", "--component", "ap-south", "--duration", "1h")
	if r.code != 0 || !strings.Contains(r.stdout, "opened (in_progress)") {
		t.Fatalf("maintenance create: %+v", r)
	}
	mid := idRE.FindStringSubmatch(r.stdout)[1]
	if err := meshtest.Poll(15*time.Second, func() error {
		if r := ctl("maintenance", "list"); !strings.Contains(r.stdout, mid) {
			return fmt.Errorf("not listed: %s", r.stdout)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if r := ctl("maintenance", "complete", mid); r.code != 0 || !strings.Contains(r.stdout, "completed (completed)") {
		t.Fatalf("complete: %+v", r)
	}
	if r := ctl("maintenance", "complete", "mnt-nope"); r.code != 2 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown maintenance: %+v", r)
	}
	if r := ctl("status", "webhooks"); r.code != 0 || !strings.Contains(r.stdout, "CREATED") {
		t.Errorf("webhooks: %+v", r)
	}
}
