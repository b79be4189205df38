package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/client"
	"github.com/geomesh/geomesh/test/meshtest"
)

// TestAgainstMesh runs meshctl in-process against the admin API of one node of a 3-region
// in-process mesh, end to end.
func TestAgainstMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	m := meshtest.New(t, meshtest.Options{Symbols: []region.SymbolConfig{
		region.DemoSymbol("BTCUSDT", "BTC", "USDT", "us-east", "eu-west", "ap-south"),
		region.DemoSymbol("ETHUSDT", "ETH", "USDT", "us-east", "ap-south", "eu-west"),
		region.DemoSymbol("SOLUSDT", "SOL", "USDT", "eu-west", "us-east", "ap-south"),
	}})
	m.AwaitConverged()
	m.AwaitOwner("BTCUSDT", meshtest.HomeIs("us-east"))
	m.AwaitOwner("ETHUSDT", meshtest.HomeIs("us-east"))
	m.AwaitOwner("SOLUSDT", meshtest.HomeIs("eu-west"))
	srv := httptest.NewServer(m.Node("eu-west").AdminHandler("tok"))
	defer srv.Close()
	ctl := func(t *testing.T, args ...string) result {
		t.Helper()
		return runCLI(t, "", false, append([]string{"--server", srv.URL, "--token", "tok", "--poll-interval=20ms",
			"--actor", "tester"}, args...)...)
	}
	want := func(t *testing.T, r result, code int, substrs ...string) {
		t.Helper()
		if r.code != code {
			t.Fatalf("exit %d, want %d", r.code, code)
		}
		for _, s := range substrs {
			if !strings.Contains(r.stdout+r.stderr, s) {
				t.Fatalf("output lacks %q", s)
			}
		}
	}
	status := func(t *testing.T) statusDoc {
		t.Helper()
		r := ctl(t, "-o", "json", "status")
		var st statusDoc
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || len(st.Regions) != 3 {
			t.Fatalf("status -o json: %+v", r)
		}
		return st
	}
	cordoned := func(st statusDoc, name string) bool {
		for _, r := range st.Regions {
			if r.Name == name {
				return r.Cordoned
			}
		}
		t.Fatalf("no region %s", name)
		return false
	}

	t.Run("status and symbols", func(t *testing.T) {
		r := ctl(t, "status")
		want(t, r, 0, "in eu-west", "REGION", "us-east", "ap-south", "BTCUSDT", "SOLUSDT")
		r = ctl(t, "symbols", "--region", "us-east")
		want(t, r, 0, "BTCUSDT", "ETHUSDT")
		if strings.Contains(r.stdout, "SOLUSDT") {
			t.Fatal("symbols --region us-east lists SOLUSDT")
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		r := runCLI(t, "", false, "--server", srv.URL, "--token", "nope", "status")
		want(t, r, 2)
		if r.stdout != "" || r.stderr != "meshctl: server refused: missing or wrong admin token (HTTP 401)\n" {
			t.Fatalf("stderr %q stdout %q", r.stderr, r.stdout)
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		want(t, ctl(t, "move", "BTCUSDT"), 2, "--to REGION is required")
		want(t, ctl(t, "halt"), 2, "want 1 argument(s) (SYMBOL)")
		want(t, ctl(t, "halt", "NOPEUSDT", "--yes"), 2, "unknown symbol", "HTTP 404")
		want(t, ctl(t, "move", "BTCUSDT", "--to", "mars", "--yes"), 2, "unknown region", "HTTP 409")
		want(t, ctl(t, "plan", "show", "pnope"), 2, "HTTP 404")
	})

	t.Run("halt and resume", func(t *testing.T) {
		// No terminal, no --yes: refused, nothing changed.
		want(t, ctl(t, "halt", "btcusdt"), 2, "pass --yes")
		if m.Owner("BTCUSDT").Phase == proto.Phase_PHASE_HALT {
			t.Fatal("refused halt halted")
		}
		want(t, ctl(t, "--reason", "bad prints", "halt", "btcusdt", "--yes"), 0, "BTCUSDT halted: phase HALT")
		m.AwaitOwner("BTCUSDT", meshtest.PhaseIs(proto.Phase_PHASE_HALT))
		want(t, ctl(t, "resume", "BTCUSDT", "--phase", "cancel_only"), 0, "phase CANCEL_ONLY")
		want(t, ctl(t, "resume", "BTCUSDT"), 0, "BTCUSDT resumed: phase TRADING")
		m.AwaitOwner("BTCUSDT", meshtest.PhaseIs(proto.Phase_PHASE_TRADING))
		r := ctl(t, "history", "BTCUSDT")
		want(t, r, 0, "HALT", "RESUME", "tester", "bad prints")
	})

	t.Run("cordon", func(t *testing.T) {
		want(t, ctl(t, "cordon", "ap-south"), 0, "region ap-south cordoned")
		if !cordoned(status(t), "ap-south") {
			t.Fatal("ap-south not cordoned")
		}
		want(t, ctl(t, "move", "ETHUSDT", "--to", "ap-south", "--yes"), 2, "cordoned")
		want(t, ctl(t, "uncordon", "ap-south"), 0, "region ap-south uncordoned")
		if cordoned(status(t), "ap-south") {
			t.Fatal("ap-south still cordoned")
		}
	})

	t.Run("evacuate dry run", func(t *testing.T) {
		r := ctl(t, "-o", "json", "evacuate", "us-east", "--dry-run")
		want(t, r, 0)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		var moves []string
		var sum summary
		for _, l := range lines {
			var e map[string]any
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("not NDJSON: %q", l)
			}
			if e["summary"] == true {
				_ = json.Unmarshal([]byte(l), &sum)
			} else if e["symbol"] != nil {
				moves = append(moves, fmt.Sprintf("%s:%s→%s", e["symbol"], e["from"], e["to"]))
			}
		}
		if len(moves) != 2 || sum.Result != "dry_run" || !sum.DryRun || sum.Pending != 2 {
			t.Fatalf("moves %v, summary %+v", moves, sum)
		}
		st := status(t)
		if cordoned(st, "us-east") || m.Home("BTCUSDT") != "us-east" || m.Home("ETHUSDT") != "us-east" {
			t.Fatal("dry run changed something")
		}
	})

	var movePlan string
	t.Run("move, then repeat as a no-op", func(t *testing.T) {
		r := ctl(t, "move", "ETHUSDT", "--to", "ap-south", "--yes")
		want(t, r, 0, "ETHUSDT  us-east→ap-south  SUCCEEDED", "SUCCEEDED: 1 moved")
		m.AwaitOwner("ETHUSDT", meshtest.HomeIs("ap-south"))
		movePlan = regexp.MustCompile(`plan (p[0-9a-z]+)`).FindStringSubmatch(r.stdout)[1]
		want(t, ctl(t, "move", "ETHUSDT", "--to", "ap-south", "--yes"), 0, "already satisfied")
		want(t, ctl(t, "plan", "show", movePlan), 0, "SUCCEEDED", "ETHUSDT")
		want(t, ctl(t, "plan", "abort", movePlan), 0, "SUCCEEDED")
		want(t, ctl(t, "plans"), 0, movePlan, "MOVE")
	})

	t.Run("deadline while the move continues", func(t *testing.T) {
		// The plan is stored PENDING and the deadline has passed by the time it is: exit 3.
		r := ctl(t, "--timeout", "1ns", "move", "SOLUSDT", "--to", "us-east", "--yes")
		want(t, r, 3, "continues on the server")
		id := regexp.MustCompile(`plan (p[0-9a-z]+) is`).FindStringSubmatch(r.stderr)[1]
		want(t, ctl(t, "plan", "show", id, "--follow"), 0, "SUCCEEDED: 1 moved")
		m.AwaitOwner("SOLUSDT", meshtest.HomeIs("us-east"))
	})

	t.Run("evacuate and restore", func(t *testing.T) {
		r := ctl(t, "-o", "json", "evacuate", "us-east", "--yes")
		want(t, r, 0, `"result":"done"`, `"phase":"cordon","region":"us-east","state":"CORDONED"`, "region us-east  CORDONED")
		m.AwaitOwner("BTCUSDT", meshtest.Not("us-east"))
		m.AwaitOwner("SOLUSDT", meshtest.Not("us-east"))
		if !cordoned(status(t), "us-east") {
			t.Fatal("evacuated region not cordoned")
		}
		want(t, ctl(t, "evacuate", "us-east", "--yes"), 0, "already satisfied")
		want(t, ctl(t, "restore", "us-east", "--yes"), 0, "region us-east  UNCORDONED", "BTCUSDT", "SUCCEEDED")
		m.AwaitOwner("BTCUSDT", meshtest.HomeIs("us-east"))
		if cordoned(status(t), "us-east") {
			t.Fatal("restored region still cordoned")
		}
	})

	t.Run("keys", func(t *testing.T) {
		r := ctl(t, "keys", "create", "--account", "42", "--permissions", "read,admin")
		want(t, r, 0, "api_key: ", "secret: ", "account 42 (read,admin)")
		m1 := regexp.MustCompile(`api_key: (\S+)\nsecret:  (\S+)`).FindStringSubmatch(r.stdout)
		if m1 == nil {
			t.Fatalf("create output %q", r.stdout)
		}
		key, secret := m1[1], m1[2]
		// The key is in ACCOUNTS, so every region's gateway accepts it. Another region's replica
		// of the bucket may answer a moment behind the write: read until it has the key.
		rec, err := client.GetAPIKey(t.Context(), m.Node("ap-south").JetStream(), key)
		for deadline := time.Now().Add(10 * time.Second); errors.Is(err, client.ErrKeyNotFound) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond) // polling a replica that catches up
			rec, err = client.GetAPIKey(t.Context(), m.Node("ap-south").JetStream(), key)
		}
		if err != nil || rec.Account != 42 || string(rec.Secret) != secret {
			t.Fatalf("stored key: %v %v", rec, err)
		}
		// An admin key is a meshctl credential.
		r = runCLI(t, "", false, "--server", srv.URL, "--token", key+":"+secret, "keys", "list", "--account", "42")
		want(t, r, 0, key, "read,admin")
		if strings.Contains(r.stdout, secret) {
			t.Fatal("keys list shows a secret")
		}
		want(t, ctl(t, "keys", "create", "--account", "0"), 2, "--account")
		want(t, ctl(t, "keys", "create", "--account", "5", "--permissions", "root"), 2, "root")
		want(t, ctl(t, "keys", "delete", key), 2, "--yes")
		want(t, ctl(t, "keys", "delete", key, "--yes"), 0, "deleted")
		want(t, ctl(t, "keys", "delete", key, "--yes"), 2, "not found")
		want(t, runCLI(t, "", false, "--server", srv.URL, "--token", key+":"+secret, "status"), 2)
	})
}
