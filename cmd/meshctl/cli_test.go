package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/test/deptest"
)

func TestImports(t *testing.T) {
	deptest.Check(t, ".", "github.com/geomesh/geomesh/proto", "github.com/spf13/cobra",
		"google.golang.org/protobuf") // decoding plans and records (protojson)
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("unknown flag: --x"), 2},
		{mark(errUsage, errors.New("u")), 2},
		{mark(errRefused, errors.New("r")), 2},
		{mark(errFailed, errors.New("f")), 1},
		{mark(errPending, errors.New("p")), 3},
		{fmt.Errorf("wrapped: %w", mark(errPending, errors.New("p"))), 3},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// tty is a stdin that claims to be a terminal, answering prompts with its content.
type tty struct{ *strings.Reader }

func (tty) IsTerminal() bool { return true }

// result of one in-process run.
type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, terminal bool, args ...string) result {
	t.Helper()
	return runCtx(t, context.Background(), stdin, terminal, args...)
}

func runCtx(t *testing.T, ctx context.Context, stdin string, terminal bool, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	var in = strings.NewReader(stdin)
	var code int
	if terminal {
		code = run(ctx, args, tty{in}, &out, &errOut)
	} else {
		code = run(ctx, args, in, &out, &errOut)
	}
	t.Logf("meshctl %s -> %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return result{code, out.String(), errOut.String()}
}

// stub is a scripted admin API: each GET of the plan returns the next state in states (the
// last one forever); POSTs create the plan in states[0].
type stub struct {
	t      *testing.T
	mu     sync.Mutex
	states []proto.PlanState
	gets   int
	onGet  func()
	posts  []string // bodies
}

func (s *stub) plan(state proto.PlanState) *proto.Plan {
	p := &proto.Plan{Id: "p1", Kind: proto.PlanKind_PLAN_KIND_EVACUATE, Region: "us-east", State: state,
		Steps: []*proto.Step{{Symbol: "BTCUSDT", FromRegion: "us-east", ToRegion: "eu-west"},
			{Symbol: "ETHUSDT", FromRegion: "us-east", ToRegion: "ap-south"}}}
	for _, st := range p.Steps {
		switch state {
		case proto.PlanState_PLAN_STATE_PENDING:
			st.State = proto.StepState_STEP_STATE_PENDING
		case proto.PlanState_PLAN_STATE_RUNNING:
			st.State = proto.StepState_STEP_STATE_RUNNING
		case proto.PlanState_PLAN_STATE_FAILED:
			st.State, st.Error = proto.StepState_STEP_STATE_FAILED, "boom"
		default:
			st.State = proto.StepState_STEP_STATE_SUCCEEDED
		}
	}
	if state == proto.PlanState_PLAN_STATE_FAILED {
		p.Error = "some steps failed"
	}
	return p
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, `{"error":"missing or wrong admin token"}`, http.StatusUnauthorized)
		return
	}
	var p *proto.Plan
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/evacuate"):
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		b, _ := json.Marshal(body)
		s.posts = append(s.posts, string(b))
		p = s.plan(s.states[0])
		p.DryRun = body["dry_run"] == true
		if p.DryRun {
			p.State = proto.PlanState_PLAN_STATE_PENDING
		}
	case r.Method == http.MethodGet && r.URL.Path == "/admin/v1/plans/p1":
		s.gets++
		if s.onGet != nil {
			s.onGet()
		}
		p = s.plan(s.states[min(s.gets, len(s.states)-1)])
	case r.URL.Path == "/admin/v1/status":
		http.Error(w, `{"error":"region: jetstream not ready"}`, http.StatusServiceUnavailable)
		return
	default:
		http.Error(w, `{"error":"no such endpoint"}`, http.StatusNotFound)
		return
	}
	b, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(p)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (s *stub) getCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

func (s *stub) postBodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.posts...)
}

func newStub(t *testing.T, states ...proto.PlanState) (*stub, string) {
	s := &stub{t: t, states: states}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

const (
	pending   = proto.PlanState_PLAN_STATE_PENDING
	running   = proto.PlanState_PLAN_STATE_RUNNING
	succeeded = proto.PlanState_PLAN_STATE_SUCCEEDED
	failed    = proto.PlanState_PLAN_STATE_FAILED
)

func TestPlanCommandsAgainstStub(t *testing.T) {
	fast := "--poll-interval=1ms"
	t.Run("follows to success with progress on stderr", func(t *testing.T) {
		_, url := newStub(t, pending, running, succeeded)
		r := runCLI(t, "", false, "--server", url, "--token", "tok", fast, "evacuate", "us-east", "--yes")
		if r.code != 0 || !strings.Contains(r.stderr, "BTCUSDT  us-east→eu-west  RUNNING") ||
			!strings.Contains(r.stderr, "ETHUSDT  us-east→ap-south  SUCCEEDED") ||
			!strings.Contains(r.stdout, "plan p1 SUCCEEDED: 2 moved") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("NDJSON events then a summary", func(t *testing.T) {
		_, url := newStub(t, pending, running, succeeded)
		r := runCLI(t, "", false, "--server", url, "--token", "tok", fast, "-o", "json", "evacuate", "us-east", "--yes")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 1+3+3+3+1 { // cordon; per state: plan event + 2 steps; summary
			t.Fatalf("code %d, %d lines", r.code, len(lines))
		}
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || m["op"] != "evacuate" || m["ts"] == nil {
				t.Fatalf("bad NDJSON line %q: %v", l, err)
			}
		}
		var s summary
		_ = json.Unmarshal([]byte(lines[len(lines)-1]), &s)
		if !s.Summary || s.Result != "done" || s.Succeeded != 2 || s.Plan != "p1" {
			t.Fatalf("summary %+v", s)
		}
	})
	t.Run("failed plan exits 1", func(t *testing.T) {
		_, url := newStub(t, pending, failed)
		r := runCLI(t, "", false, "--server", url, "--token", "tok", fast, "evacuate", "us-east", "--yes")
		if r.code != 1 || !strings.Contains(r.stderr, "meshctl: plan p1 FAILED") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("deadline while running exits 3", func(t *testing.T) {
		s, url := newStub(t, pending, running)
		r := runCLI(t, "", false, "--server", url, "--token", "tok", fast, "--timeout", "20ms", "evacuate", "us-east", "--yes")
		if r.code != 3 || !strings.Contains(r.stderr, "--timeout 20ms reached: plan p1 is RUNNING") ||
			!strings.Contains(r.stderr, "meshctl plan abort p1") || s.getCount() == 0 {
			t.Fatalf("got %+v (gets %d)", r, s.getCount())
		}
	})
	t.Run("interrupt exits 3 and the plan continues", func(t *testing.T) {
		s, url := newStub(t, pending, running)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.onGet = cancel // Ctrl-C while following
		r := runCtx(t, ctx, "", false, "--server", url, "--token", "tok", fast, "evacuate", "us-east", "--yes")
		if r.code != 3 || !strings.Contains(r.stderr, "interrupted: plan p1 is") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("wait=false prints the plan id", func(t *testing.T) {
		s, url := newStub(t, pending)
		r := runCLI(t, "", false, "--server", url, "--token", "tok", "evacuate", "us-east", "--yes", "--wait=false")
		if r.code != 0 || !strings.Contains(r.stdout, "plan p1 started") || s.getCount() != 0 {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("no terminal and no --yes refuses before sending", func(t *testing.T) {
		s, url := newStub(t, pending)
		r := runCLI(t, "y\n", false, "--server", url, "--token", "tok", "evacuate", "us-east")
		if posts := s.postBodies(); r.code != 2 || !strings.Contains(r.stderr, "pass --yes") || len(posts) != 0 {
			t.Fatalf("got %+v, posts %v", r, posts)
		}
	})
	t.Run("prompt shows the dry run; no cancels", func(t *testing.T) {
		s, url := newStub(t, pending)
		r := runCLI(t, "n\n", true, "--server", url, "--token", "tok", "evacuate", "us-east")
		posts := s.postBodies()
		if r.code != 2 || !strings.Contains(r.stderr, "2 symbol(s) to move") || !strings.Contains(r.stderr, "[y/N]") ||
			len(posts) != 1 || !strings.Contains(posts[0], `"dry_run":true`) {
			t.Fatalf("got %+v, posts %v", r, posts)
		}
	})
	t.Run("prompt answered yes runs the plan", func(t *testing.T) {
		s, url := newStub(t, pending, succeeded)
		r := runCLI(t, "yes\n", true, "--server", url, "--token", "tok", fast, "--actor", "alice", "--reason", "kernel",
			"--max-parallel", "2", "evacuate", "us-east")
		posts := s.postBodies()
		if r.code != 0 || len(posts) != 2 || strings.Contains(posts[1], "dry_run") ||
			!strings.Contains(posts[1], `"actor":"alice"`) || !strings.Contains(posts[1], `"concurrency":2`) {
			t.Fatalf("got %+v, posts %v", r, posts)
		}
	})
	t.Run("server errors", func(t *testing.T) {
		_, url := newStub(t, pending)
		r := runCLI(t, "", false, "--server", url, "--token", "tok", "status")
		if r.code != 1 || !strings.Contains(r.stderr, "jetstream not ready (HTTP 503)") {
			t.Fatalf("503: %+v", r)
		}
		r = runCLI(t, "", false, "--server", url, "--token", "bad", "status")
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "missing or wrong admin token (HTTP 401)") {
			t.Fatalf("401: %+v", r)
		}
	})
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"status"}, // no token
		{"--token", "t", "nonsense"},
		{"--token", "t", "status", "extra"},
		{"--token", "t", "--bogus", "status"},
		{"--token", "t", "-o", "yaml", "status"},
		{"--token", "t", "--timeout", "-1s", "status"},
		{"--token", "t", "--timeout", "soon", "status"},
		{"--token", "t", "--server", "ftp://x", "status"},
		{"--token", "t", "move", "BTCUSDT"},
		{"--token", "t", "move", "--to", "eu-west"},
		{"--token", "t", "evacuate"},
		{"--token", "t", "evacuate", "a", "b"},
		{"--token", "t", "evacuate", "us-east", "--max-parallel", "-1", "--yes"},
		{"--token", "t", "halt"},
		{"--token", "t", "resume", "BTCUSDT", "--phase", "LUNCH"},
		{"--token", "t", "history", "BTCUSDT", "--limit", "-1"},
		{"--token", "t", "plan"},
		{"--token", "t", "plan", "show"},
	} {
		// The server is unreachable: a usage error must be found before anything is sent.
		r := runCLI(t, "", false, append([]string{"--server", "http://127.0.0.1:1"}, args...)...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "meshctl: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("meshctl %v: code %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
}

func TestEnvironment(t *testing.T) {
	_, url := newStub(t, pending)
	t.Setenv(envServer, url)
	t.Setenv(envToken, "tok")
	r := runCLI(t, "", false, "status") // reaches the stub (503), so server and token came from env
	if r.code != 1 || !strings.Contains(r.stderr, "HTTP 503") {
		t.Fatalf("got %+v", r)
	}
	r = runCLI(t, "", false, "--token", "bad", "status") // the flag wins
	if r.code != 2 {
		t.Fatalf("got %+v", r)
	}
}
