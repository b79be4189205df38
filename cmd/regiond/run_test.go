package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunNodeFromFile runs one node from a config file with random ports, cancels the context
// (what SIGINT and SIGTERM do) and expects a clean exit.
func TestRunNodeFromFile(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "node.yaml", `
node_id: solo-1
region: us-east
data_dir: ./data
profile: local
gossip:
  addr: 127.0.0.1:0
nats:
  port: 0
cluster:
  port: 0
jetstream:
  replicas: 1
log:
  level: info
  format: json
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	wait := runAsync(ctx, []string{"--config", path}, nil, &stdout, &stderr)
	awaitText(t, &stderr, `"msg":"regiond_started"`, 20*time.Second)
	cancel()
	done := make(chan int, 1)
	go func() { done <- wait() }()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit code %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit within 20s of cancel; stderr:\n%s", stderr.String())
	}
	log := stderr.String()
	for _, want := range []string{`"msg":"regiond_stopping"`, `"msg":"node_stopped"`, `"nats":"nats://127.0.0.1:`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "regiond: ") {
		t.Errorf("an error line on a clean exit:\n%s", log)
	}
	// data_dir is relative to the config file.
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "data", "jetstream")); err != nil {
		t.Errorf("store not under the config file's directory: %v", err)
	}
}

// TestRunStartFailureExits1: a valid configuration that cannot start (the gossip port is taken)
// is a runtime failure: exit 1, one line on stderr.
func TestRunStartFailureExits1(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"--profile", "local", "--node-id", "n1", "--region", "us-east",
		"--data-dir", t.TempDir(), "--gossip-addr", ln.Addr().String(), "--log-level", "error"},
		envMap(nil), &stdout, &stderr)
	if code != exitRuntime {
		t.Errorf("exit code %d, want %d", code, exitRuntime)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "regiond: start: ") {
		t.Errorf("stderr is not one \"regiond: start: \" line:\n%s", stderr.String())
	}
}

// TestRunMeshServes runs three `regiond` nodes in-process (local profile, random ports, the
// first seeding the others). Once ready each serves its gateway and admin API and logs their
// URLs; the first creates its bootstrap key, which another region's gateway authenticates; a
// node given $GEOMESH_ADMIN_TOKEN uses it, the others generate and log one. Cancelling closes
// the gateways and admin servers and every node exits 0.
func TestRunMeshServes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	regions := []string{"us-east", "eu-west", "ap-south"}
	var (
		stderrs [3]syncBuffer
		waits   [3]func() int
		seed    string
	)
	for i, r := range regions {
		body := fmt.Sprintf("node_id: %s-1\nregion: %s\ndata_dir: ./%s\nprofile: local\n"+
			"gossip: {addr: 127.0.0.1:0}\nlog: {level: info, format: json}\n", r, r, r)
		env := map[string]string{}
		switch i {
		case 0:
			body += "bootstrap_keys:\n  - {account: 42, api_key: bootstrapKey42, secret: bootstrapSecret42, permissions: [read]}\n"
		case 1:
			env[envAdminToken] = "token-from-env"
		case 2:
			body += "gateway: {orders_per_10s: 7, request_weight_per_minute: -1}\n"
		}
		args := []string{"--config", writeFileAt(t, filepath.Join(dir, r+".yaml"), body)}
		if seed != "" {
			args = append(args, "--seeds", seed)
		}
		var stdout syncBuffer
		waits[i] = runAsync(ctx, args, env, &stdout, &stderrs[i])
		if i == 0 {
			awaitText(t, &stderrs[0], `"msg":"regiond_started"`, 20*time.Second)
			seed = logAttrs(t, stderrs[0].String())["regiond_started"]["gossip"]
		}
	}
	type urls struct{ rest, admin, token string }
	var got [3]urls
	for i, r := range regions {
		awaitText(t, &stderrs[i], `"msg":"admin_started"`, 60*time.Second)
		logged := logAttrs(t, stderrs[i].String())
		got[i] = urls{logged["gateway_started"]["url"], logged["admin_started"]["url"], logged["admin_token_generated"]["token"]}
		if i == 1 {
			if got[i].token != "" {
				t.Errorf("%s generated a token although $%s is set", r, envAdminToken)
			}
			got[i].token = "token-from-env"
		}
		gw := logged["gateway_started"]
		if !strings.HasPrefix(got[i].rest, "http://127.0.0.1:") || gw["ws"] != "ws://"+strings.TrimPrefix(got[i].rest, "http://")+"/ws" ||
			!strings.HasPrefix(got[i].admin, "http://127.0.0.1:") || len(got[i].token) < 10 {
			t.Fatalf("%s: gateway_started %v, admin_started %v, token %q", r, gw, logged["admin_started"], got[i].token)
		}
		checkGateway(t, got[i].rest) // no symbols configured
		checkAdmin(t, got[i].admin, got[i].token, r)
	}
	if got[0].token == got[2].token {
		t.Errorf("two nodes generated the same admin token %s", got[0].token)
	}
	// us-east created the key; eu-west's gateway learns it through the replicated ACCOUNTS bucket.
	awaitSignedAccount(t, got[1].rest, "bootstrapKey42", "bootstrapSecret42", 10*time.Second)
	for i := range regions {
		checkHealthAndMetrics(t, got[i].rest, got[i].admin, regions)
	}
	// The gateway section reaches the gateway: exchangeInfo advertises the limits it enforces.
	checkRateLimits(t, got[0].rest, map[string]int{"REQUEST_WEIGHT": 6000, "ORDERS": 100})
	checkRateLimits(t, got[2].rest, map[string]int{"ORDERS": 7})
	if _, body := httpGet(t, got[1].admin+"/metrics", ""); !strings.Contains(body,
		`geomesh_http_requests_total{code="200",method="GET",route="/api/v3/account"}`) {
		t.Errorf("eu-west's metrics do not count the signed account requests:\n%.3000s", body)
	}

	cancel()
	for i, r := range regions {
		if code := awaitExit(t, waits[i], 20*time.Second); code != exitOK {
			t.Errorf("%s: exit code %d, want 0; stderr:\n%s", r, code, stderrs[i].String())
		}
		for _, url := range []string{got[i].rest + "/api/v3/ping", got[i].admin + "/admin/v1/status"} {
			if _, _, err := tryGet(url, got[i].token, nil); err == nil {
				t.Errorf("GET %s still answers after shutdown", url)
			}
		}
		if log := stderrs[i].String(); strings.Contains(log, "regiond: ") || !strings.Contains(log, `"msg":"node_stopped"`) ||
			!strings.Contains(log, `"msg":"gateway_draining"`) {
			t.Errorf("%s: not a clean stop:\n%s", r, log)
		}
	}
}

// checkRateLimits checks the rateLimits of restURL's exchangeInfo: type -> limit.
func checkRateLimits(t *testing.T, restURL string, want map[string]int) {
	t.Helper()
	code, body := httpGet(t, restURL+"/api/v3/exchangeInfo", "")
	var info struct {
		RateLimits []struct {
			Type  string `json:"rateLimitType"`
			Limit int    `json:"limit"`
		} `json:"rateLimits"`
	}
	if err := json.Unmarshal([]byte(body), &info); code != http.StatusOK || err != nil {
		t.Fatalf("GET %s/api/v3/exchangeInfo: %d %v", restURL, code, err)
	}
	got := map[string]int{}
	for _, l := range info.RateLimits {
		got[l.Type] = l.Limit
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s rateLimits %v, want %v", restURL, got, want)
	}
}

// logAttrs indexes a JSON log by message: msg -> string attributes of its last line.
func logAttrs(t *testing.T, log string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, line := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		attrs := map[string]string{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				attrs[k] = s
			}
		}
		out[attrs["msg"]] = attrs
	}
	return out
}

// awaitExit waits for a run started by runAsync to return, or fails the test after timeout (a
// shutdown that hangs would otherwise hang the test).
func awaitExit(t *testing.T, wait func() int, timeout time.Duration) int {
	t.Helper()
	done := make(chan int, 1)
	go func() { done <- wait() }()
	select {
	case code := <-done:
		return code
	case <-time.After(timeout):
		t.Fatalf("no exit within %v", timeout)
		return 0
	}
}

// checkHealthAndMetrics checks a running node's /healthz and /readyz (gateway port) and its
// Prometheus /metrics (admin port, no token): every region up, the build info, the request
// counters of the signed /api/v3/account calls the test made, Go runtime metrics.
func checkHealthAndMetrics(t *testing.T, restURL, adminURL string, regions []string) {
	t.Helper()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := httpGet(t, restURL+path, ""); code != http.StatusOK || !strings.Contains(body, `"status"`) {
			t.Errorf("GET %s%s: %d %s, want 200", restURL, path, code, body)
		}
	}
	want := []string{"geomesh_build_info{", "go_goroutines ", "geomesh_symbols_not_trading 0", "geomesh_matcher_symbols "}
	for _, r := range regions {
		want = append(want, `geomesh_region_up{region="`+r+`"} 1`)
	}
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for {
		var code int
		code, body = httpGet(t, adminURL+"/metrics", "")
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
				break
			}
		}
		if code == http.StatusOK && missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/metrics: %d, lacks %q:\n%.3000s", adminURL, code, missing, body)
		}
		time.Sleep(100 * time.Millisecond) // polling a scrape, not synchronizing
	}
}
