package region_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/test/meshtest"
)

const adminToken = "s3cret-admin-token"

// adminClient calls an admin API over real HTTP.
type adminClient struct {
	t     *testing.T
	base  string
	token string
}

// call sends method path with body (nil = none) and returns the status and the raw answer. It
// checks the answer is JSON, and that every error is one line {"error": "..."}.
func (c adminClient) call(method, path, body string) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		c.t.Errorf("%s %s: content type %q", method, path, ct)
	}
	if res.StatusCode >= 400 {
		var e map[string]string
		if err := json.Unmarshal(b, &e); err != nil || e["error"] == "" || len(e) != 1 ||
			strings.Count(strings.TrimSpace(string(b)), "\n") != 0 {
			c.t.Errorf("%s %s: error answer %q is not one line {\"error\": ...}", method, path, b)
		}
	}
	return res.StatusCode, b
}

func (c adminClient) want(method, path, body string, code int) []byte {
	c.t.Helper()
	got, b := c.call(method, path, body)
	if got != code {
		c.t.Fatalf("%s %s %s: status %d, want %d: %s", method, path, body, got, code, b)
	}
	return b
}

func (c adminClient) plan(method, path, body string, code int) *proto.Plan {
	c.t.Helper()
	p := &proto.Plan{}
	if err := protojson.Unmarshal(c.want(method, path, body, code), p); err != nil {
		c.t.Fatalf("%s %s: decode plan: %v", method, path, err)
	}
	return p
}

func (c adminClient) record(method, path, body string) *proto.OwnershipRecord {
	c.t.Helper()
	rec := &proto.OwnershipRecord{}
	if err := protojson.Unmarshal(c.want(method, path, body, http.StatusOK), rec); err != nil {
		c.t.Fatalf("%s %s: decode record: %v", method, path, err)
	}
	return rec
}

type statusDoc struct {
	Node, Region string
	Regions      []struct {
		Name     string
		State    string
		Cordoned bool
		Symbols  int
	}
	Symbols []struct {
		Symbol, Home, Phase string
		Epoch               uint64
	}
}

func (c adminClient) status() statusDoc {
	c.t.Helper()
	var st statusDoc
	if err := json.Unmarshal(c.want("GET", "/admin/v1/status", "", http.StatusOK), &st); err != nil {
		c.t.Fatal(err)
	}
	return st
}

func (st statusDoc) cordoned(r string) bool {
	for _, rs := range st.Regions {
		if rs.Name == r {
			return rs.Cordoned
		}
	}
	return false
}

func (st statusDoc) homes() map[string]string {
	out := map[string]string{}
	for _, s := range st.Symbols {
		out[s.Symbol] = s.Home
	}
	return out
}

// TestAdminAPI drives the admin API of one node of a 3-region mesh over HTTP: authentication,
// reads, halt/resume, cordon, a dry-run evacuation, a move repeated as a no-op and the mapping
// of errors to statuses.
func TestAdminAPI(t *testing.T) {
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

	// The API of a node in a region that homes nothing: operations act mesh-wide.
	srv := httptest.NewServer(m.Node("ap-south").AdminHandler(adminToken))
	defer srv.Close()
	api := adminClient{t: t, base: srv.URL, token: adminToken}

	t.Run("auth", func(t *testing.T) {
		for _, tc := range []struct {
			name, header string
		}{
			{"no header", ""},
			{"wrong token", "Bearer not-the-token"},
			{"token prefix", "Bearer " + adminToken[:4]},
			{"token plus", "Bearer " + adminToken + "x"},
			{"not bearer", "Basic " + adminToken},
			{"bare token", adminToken},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{"/admin/v1/status", "/admin/v1/symbols/BTCUSDT/halt", "/nowhere"} {
					req, _ := http.NewRequest("POST", srv.URL+path, nil)
					if tc.header != "" {
						req.Header.Set("Authorization", tc.header)
					}
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"error"`) {
						t.Errorf("%s: %d %s, want 401 with a JSON error", path, res.StatusCode, b)
					}
				}
			})
		}
		// Nothing was halted by the refused requests.
		if p := m.Owner("BTCUSDT").GetPhase(); p == proto.Phase_PHASE_HALT {
			t.Fatalf("refused request halted BTCUSDT")
		}
		// An empty configured token refuses everything, even an empty bearer.
		closed := httptest.NewServer(m.Node("ap-south").AdminHandler(""))
		defer closed.Close()
		adminClient{t: t, base: closed.URL, token: " "}.want("GET", "/admin/v1/status", "", http.StatusUnauthorized)
	})

	t.Run("status", func(t *testing.T) {
		st := api.status()
		if st.Node == "" || st.Region != "ap-south" || len(st.Regions) != 3 || len(st.Symbols) != 3 {
			t.Fatalf("status: %+v", st)
		}
		var syms struct {
			Symbols []struct{ Symbol, Home string }
		}
		if err := json.Unmarshal(api.want("GET", "/admin/v1/symbols?region=us-east", "", 200), &syms); err != nil {
			t.Fatal(err)
		}
		if len(syms.Symbols) != 2 || syms.Symbols[0].Home != "us-east" || syms.Symbols[1].Home != "us-east" {
			t.Fatalf("symbols in us-east: %+v", syms)
		}
	})

	t.Run("halt and resume", func(t *testing.T) {
		before := m.Owner("BTCUSDT")
		rec := api.record("POST", "/admin/v1/symbols/BTCUSDT/halt", `{"actor":"alice","reason":"bad prints"}`)
		if rec.Phase != proto.Phase_PHASE_HALT || rec.Epoch <= before.Epoch || rec.Actor != "alice" {
			t.Fatalf("halt answered %v", rec)
		}
		m.AwaitOwner("BTCUSDT", meshtest.PhaseIs(proto.Phase_PHASE_HALT))
		// Halting again changes nothing.
		if again := api.record("POST", "/admin/v1/symbols/BTCUSDT/halt", ""); again.Epoch != rec.Epoch {
			t.Fatalf("second halt bumped the epoch %d -> %d", rec.Epoch, again.Epoch)
		}
		rec = api.record("POST", "/admin/v1/symbols/BTCUSDT/resume", `{"phase":"cancel_only","actor":"alice"}`)
		if rec.Phase != proto.Phase_PHASE_CANCEL_ONLY {
			t.Fatalf("resume to CANCEL_ONLY answered %v", rec)
		}
		rec = api.record("POST", "/admin/v1/symbols/BTCUSDT/resume", "")
		if rec.Phase != proto.Phase_PHASE_TRADING || rec.Actor != "admin-api" {
			t.Fatalf("resume answered %v", rec)
		}
		m.AwaitOwner("BTCUSDT", meshtest.PhaseIs(proto.Phase_PHASE_TRADING))

		var hist struct{ Entries []json.RawMessage }
		if err := json.Unmarshal(api.want("GET", "/admin/v1/symbols/BTCUSDT/history", "", 200), &hist); err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, raw := range hist.Entries {
			e := &proto.AuditEntry{}
			if err := protojson.Unmarshal(raw, e); err != nil {
				t.Fatal(err)
			}
			actions = append(actions, strings.TrimPrefix(e.Action.String(), "AUDIT_ACTION_"))
		}
		got := strings.Join(actions, " ")
		if !strings.HasSuffix(got, "HALT RESUME RESUME") {
			t.Fatalf("history actions %q, want ... HALT RESUME RESUME", got)
		}
		var last struct{ Entries []json.RawMessage }
		_ = json.Unmarshal(api.want("GET", "/admin/v1/symbols/BTCUSDT/history?limit=1", "", 200), &last)
		if len(last.Entries) != 1 {
			t.Fatalf("history?limit=1 gave %d entries", len(last.Entries))
		}
	})

	t.Run("cordon", func(t *testing.T) {
		api.want("POST", "/admin/v1/regions/eu-west/cordon", `{"reason":"maintenance"}`, 200)
		if !api.status().cordoned("eu-west") {
			t.Fatal("eu-west not cordoned in status")
		}
		// A cordoned region takes no new homes: a move there is refused.
		api.want("POST", "/admin/v1/symbols/BTCUSDT/move", `{"to":"eu-west"}`, http.StatusConflict)
		api.want("POST", "/admin/v1/regions/eu-west/uncordon", "", 200)
		if api.status().cordoned("eu-west") {
			t.Fatal("eu-west still cordoned")
		}
	})

	t.Run("dry-run evacuate changes nothing", func(t *testing.T) {
		before := api.status()
		plansBefore := api.want("GET", "/admin/v1/plans", "", 200)
		p := api.plan("POST", "/admin/v1/regions/us-east/evacuate", `{"dry_run":true,"actor":"bob"}`, 200)
		if !p.DryRun || len(p.Steps) != 2 || p.Kind != proto.PlanKind_PLAN_KIND_EVACUATE {
			t.Fatalf("dry run plan %v", p)
		}
		for _, s := range p.Steps {
			if s.FromRegion != "us-east" || s.ToRegion == "us-east" || s.State != proto.StepState_STEP_STATE_PENDING {
				t.Errorf("dry run step %v", s)
			}
		}
		after := api.status()
		if after.cordoned("us-east") {
			t.Error("dry run cordoned us-east")
		}
		if fmt.Sprint(after.homes()) != fmt.Sprint(before.homes()) {
			t.Errorf("dry run moved symbols: %v -> %v", before.homes(), after.homes())
		}
		if got := api.want("GET", "/admin/v1/plans", "", 200); string(got) != string(plansBefore) {
			t.Errorf("dry run stored a plan: %s", got)
		}
	})

	t.Run("move then repeat is a no-op", func(t *testing.T) {
		p := api.plan("POST", "/admin/v1/symbols/ETHUSDT/move", `{"to":"ap-south","actor":"carol"}`, http.StatusAccepted)
		if p.Id == "" || len(p.Steps) != 1 || p.RequestedBy != "carol" {
			t.Fatalf("move plan %v", p)
		}
		if err := meshtest.Poll(20*time.Second, func() error {
			// A plan just stored may briefly read as not found from a lagging replica.
			code, b := api.call("GET", "/admin/v1/plans/"+p.Id, "")
			got := &proto.Plan{}
			if code != http.StatusOK || protojson.Unmarshal(b, got) != nil {
				return fmt.Errorf("GET plan: %d %s", code, b)
			}
			if got.State != proto.PlanState_PLAN_STATE_SUCCEEDED {
				return fmt.Errorf("plan %s", got.State)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		m.AwaitOwner("ETHUSDT", meshtest.HomeIs("ap-south"))
		again := api.plan("POST", "/admin/v1/symbols/ETHUSDT/move", `{"to":"ap-south"}`, http.StatusOK)
		if again.State != proto.PlanState_PLAN_STATE_SUCCEEDED || again.Steps[0].State != proto.StepState_STEP_STATE_SKIPPED {
			t.Fatalf("repeated move %v, want an already satisfied plan", again)
		}
		var list struct{ Plans []json.RawMessage }
		if err := json.Unmarshal(api.want("GET", "/admin/v1/plans", "", 200), &list); err != nil || len(list.Plans) < 1 {
			t.Fatalf("plans: %v %d", err, len(list.Plans))
		}
		// Aborting a finished plan answers it unchanged.
		if ab := api.plan("POST", "/admin/v1/plans/"+p.Id+"/abort", "", 200); ab.State != proto.PlanState_PLAN_STATE_SUCCEEDED {
			t.Fatalf("abort of a finished plan: %v", ab)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			method, path, body string
			code               int
		}{
			{"POST", "/admin/v1/symbols/NOPEUSDT/halt", "", 404},
			{"POST", "/admin/v1/symbols/NOPEUSDT/move", `{"to":"eu-west"}`, 404},
			{"GET", "/admin/v1/symbols/NOPEUSDT/history", "", 404},
			{"GET", "/admin/v1/plans/pnope", "", 404},
			{"POST", "/admin/v1/plans/pnope/abort", "", 404},
			{"GET", "/admin/v1/nowhere", "", 404},
			{"GET", "/admin/v1/symbols/BTCUSDT/halt", "", 405},
			{"POST", "/admin/v1/status", "", 405},
			{"POST", "/admin/v1/symbols/btc-usdt/halt", "", 400},
			{"POST", "/admin/v1/symbols/BTCUSDT/halt", `{"dryrun":true}`, 400},
			{"POST", "/admin/v1/symbols/BTCUSDT/halt", `{"actor":`, 400},
			{"POST", "/admin/v1/symbols/BTCUSDT/halt", `{} {}`, 400},
			{"POST", "/admin/v1/symbols/BTCUSDT/halt", `{"reason":"` + strings.Repeat("x", 70<<10) + `"}`, 413},
			{"POST", "/admin/v1/symbols/BTCUSDT/move", `{}`, 400},
			{"POST", "/admin/v1/symbols/BTCUSDT/move", `{"to":"eu-west","concurrency":-1}`, 400},
			{"POST", "/admin/v1/symbols/BTCUSDT/resume", `{"phase":"LUNCH"}`, 400},
			{"POST", "/admin/v1/symbols/BTCUSDT/resume", `{"phase":"HALT"}`, 400},
			{"GET", "/admin/v1/symbols/BTCUSDT/history?limit=-2", "", 400},
			{"GET", "/admin/v1/symbols?region=a%20b", "", 400},
			{"POST", "/admin/v1/symbols/BTCUSDT/move", `{"to":"mars"}`, 409},
			{"POST", "/admin/v1/regions/mars/evacuate", `{"dry_run":true}`, 409},
			{"POST", "/admin/v1/regions/mars/cordon", "", 409},
		} {
			api.want(tc.method, tc.path, tc.body, tc.code)
		}
		if p := m.Owner("BTCUSDT"); p.Phase != proto.Phase_PHASE_TRADING || p.HomeRegion != "us-east" {
			t.Fatalf("refused requests changed BTCUSDT: %v", p)
		}
	})

	t.Run("keys", func(t *testing.T) {
		type key struct {
			APIKey      string   `json:"api_key"`
			Secret      string   `json:"secret"`
			Account     uint64   `json:"account"`
			Permissions []string `json:"permissions"`
		}
		var trader, operator key
		if err := json.Unmarshal(api.want("POST", "/admin/v1/keys", `{"account":7}`, http.StatusCreated), &trader); err != nil {
			t.Fatal(err)
		}
		if len(trader.APIKey) != 64 || len(trader.Secret) != 64 || trader.Account != 7 ||
			strings.Join(trader.Permissions, ",") != "read,trade" {
			t.Fatalf("created key %+v: want 64-character key and secret, account 7, read,trade", trader)
		}
		if err := json.Unmarshal(api.want("POST", "/admin/v1/keys",
			`{"account":8,"permissions":["admin","READ","admin"]}`, http.StatusCreated), &operator); err != nil {
			t.Fatal(err)
		}
		if strings.Join(operator.Permissions, ",") != "admin,read" {
			t.Fatalf("operator permissions %v, want admin,read (deduplicated)", operator.Permissions)
		}
		// The list never shows secrets; the account filter works.
		var list struct{ Keys []key }
		if err := json.Unmarshal(api.want("GET", "/admin/v1/keys?account=7", "", http.StatusOK), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Keys) != 1 || list.Keys[0].APIKey != trader.APIKey || list.Keys[0].Secret != "" {
			t.Fatalf("keys of account 7: %+v", list.Keys)
		}
		// An admin key authenticates the admin API as "<key>:<secret>"; a trading key, a wrong
		// secret or a bare key do not.
		adminClient{t: t, base: srv.URL, token: operator.APIKey + ":" + operator.Secret}.status()
		for _, cred := range []string{trader.APIKey + ":" + trader.Secret, operator.APIKey + ":" + trader.Secret,
			operator.APIKey, ":" + operator.Secret} {
			adminClient{t: t, base: srv.URL, token: cred}.want("GET", "/admin/v1/status", "", http.StatusUnauthorized)
		}
		for _, tc := range []struct{ body string }{
			{`{}`}, {`{"account":0}`}, {`{"account":-1}`}, {`{"account":9007199254740992}`},
			{`{"account":7,"permissions":["root"]}`}, {`{"account":7,"perms":["read"]}`},
		} {
			api.want("POST", "/admin/v1/keys", tc.body, http.StatusBadRequest)
		}
		api.want("GET", "/admin/v1/keys?account=x", "", http.StatusBadRequest)
		// Revoked: the operator key stops authenticating; a second delete is 404.
		api.want("DELETE", "/admin/v1/keys/"+operator.APIKey, "", http.StatusOK)
		api.want("DELETE", "/admin/v1/keys/"+operator.APIKey, "", http.StatusNotFound)
		adminClient{t: t, base: srv.URL, token: operator.APIKey + ":" + operator.Secret}.want("GET", "/admin/v1/status", "", http.StatusUnauthorized)
	})
}
