// Package compose runs the docker compose deployment of deploy/compose.yaml (three regiond
// containers, one network per region and a shared one between them) for tests: Up builds or
// reuses the image, starts the mesh under a project name of its own and tears everything down
// (containers, networks, volumes, and the image if it built one) in t.Cleanup. Partition and
// Heal cut a region off the shared network and put it back, as `docker network disconnect` and
// `connect` do.
//
// Everything it creates carries the project name geomesh-test-<pid> (and the image the tag
// geomesh/regiond:test-<pid>), so its cleanup never touches another deployment. A Deployment is
// used by one test goroutine.
package compose

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Regions of deploy/compose.yaml.
var Regions = []string{"us-east", "eu-west", "ap-south"}

// The development API key of deploy/compose/*.yaml (bootstrap_keys): account 1, read and trade.
const (
	APIKey    = "composeDevApiKey1"
	APISecret = "composeDevSecret1"
)

// Options configure Up.
type Options struct {
	// Image to run; empty builds one from the working tree with deploy/docker/build.sh (tagged
	// geomesh/regiond:test-<pid>, removed at cleanup). $GEOMESH_TEST_IMAGE, when set, is used
	// instead of building.
	Image string
	// Project is the compose project name; default geomesh-test-<pid>.
	Project string
	// Timeout bounds every docker command; default 3 minutes.
	Timeout time.Duration
}

// Deployment is a running compose mesh.
type Deployment struct {
	t         testing.TB
	compose   []string // "docker compose" or "docker-compose"
	root      string   // repository root
	project   string
	image     string
	env       []string // the compose process's environment
	subnet    string   // a.b.c of the shared network
	timeout   time.Duration
	http      map[string]string // region -> gateway base URL
	admin     map[string]string // region -> admin API base URL
	token     string
	client    *http.Client
	Built     time.Duration // how long building the image took (0 when reused)
	StartedAt time.Time     // when `compose up` was run
}

// Available tells whether docker and compose work here; when not, the reason.
func Available() (compose []string, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("docker info: %v: %s", err, firstLine(out))
	}
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}, ""
	}
	if exec.CommandContext(ctx, "docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}, ""
	}
	return nil, "neither `docker compose` nor `docker-compose` is installed"
}

// Up builds (or reuses) the image and starts the deployment; it does not wait for readiness
// (AwaitReady). It skips t when docker or compose is missing.
func Up(t testing.TB, opts Options) *Deployment {
	t.Helper()
	cmd, reason := Available()
	if reason != "" {
		t.Skipf("compose deployment not available: %s", reason)
	}
	d := &Deployment{t: t, compose: cmd, project: opts.Project, image: opts.Image, timeout: opts.Timeout,
		http: map[string]string{}, admin: map[string]string{}, token: randomHex(16),
		client: &http.Client{Timeout: 15 * time.Second}}
	if d.project == "" {
		d.project = fmt.Sprintf("geomesh-test-%d", os.Getpid())
	}
	if d.timeout == 0 {
		d.timeout = 3 * time.Minute
	}
	_, file, _, _ := runtime.Caller(0)
	d.root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if d.image == "" {
		d.image = os.Getenv("GEOMESH_TEST_IMAGE")
	}
	if d.image == "" {
		d.image = fmt.Sprintf("geomesh/regiond:test-%d", os.Getpid())
		start := time.Now()
		if _, err := d.run(d.root, nil, filepath.Join(d.root, "deploy", "docker", "build.sh"), d.image); err != nil {
			t.Fatalf("build image: %v", err)
		}
		d.Built = time.Since(start)
		t.Cleanup(func() { _, _ = d.run(d.root, nil, "docker", "image", "rm", "-f", d.image) })
	}
	t.Cleanup(d.down)

	// The shared network's subnet is fixed in compose.yaml (static gossip addresses); pick one
	// per process and move on if it overlaps a network that exists.
	var err error
	for attempt := range 8 {
		d.subnet = fmt.Sprintf("172.30.%d", 100+(os.Getpid()+attempt*13)%150)
		d.env = d.environment(t)
		d.StartedAt = time.Now()
		var out string
		out, err = d.composeRun("up", "-d")
		if err == nil {
			return d
		}
		if !strings.Contains(out, "overlap") {
			break
		}
		d.down()
	}
	t.Fatalf("compose up: %v", err)
	return nil
}

// environment is the compose process's environment: this deployment's image, subnet, free
// host ports and fresh secrets.
func (d *Deployment) environment(t testing.TB) []string {
	t.Helper()
	env := os.Environ()
	set := func(k, v string) { env = append(env, k+"="+v) }
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	set("GEOMESH_IMAGE", d.image)
	set("GEOMESH_SUBNET", d.subnet)
	set("GEOMESH_GOSSIP_KEYS", base64.StdEncoding.EncodeToString(key))
	set("GEOMESH_CLUSTER_SECRET", randomHex(16))
	set("GEOMESH_ADMIN_TOKEN", d.token)
	for _, r := range Regions {
		up := strings.ToUpper(strings.ReplaceAll(r, "-", "_"))
		hp, ap := freePort(t), freePort(t)
		set("GEOMESH_"+up+"_HTTP_PORT", strconv.Itoa(hp))
		set("GEOMESH_"+up+"_ADMIN_PORT", strconv.Itoa(ap))
		d.http[r] = fmt.Sprintf("http://127.0.0.1:%d", hp)
		d.admin[r] = fmt.Sprintf("http://127.0.0.1:%d", ap)
	}
	return env
}

// down removes the deployment's containers, networks and volumes; on a failed test it first
// prints the end of each region's log.
func (d *Deployment) down() {
	if d.t.Failed() {
		if out, err := d.composeRun("logs", "--no-color", "--tail", "40"); err == nil {
			d.t.Logf("compose logs (tail):\n%s", out)
		}
	}
	if out, err := d.composeRun("down", "-v", "--remove-orphans", "--timeout", "10"); err != nil {
		d.t.Logf("compose down: %v: %s", err, out)
	}
}

// composeRun runs a compose subcommand of this project.
func (d *Deployment) composeRun(args ...string) (string, error) {
	full := append([]string{}, d.compose[1:]...)
	full = append(full, "-f", filepath.Join(d.root, "deploy", "compose.yaml"), "-p", d.project)
	full = append(full, args...)
	return d.run(d.root, d.env, d.compose[0], full...)
}

// run runs a command bounded by the deployment's timeout and returns its combined output.
func (d *Deployment) run(dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Dir, c.Env = dir, env
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(out, 5))
	}
	return string(out), nil
}

// Project is the compose project name.
func (d *Deployment) Project() string { return d.project }

// Image is the image the deployment runs.
func (d *Deployment) Image() string { return d.image }

// REST is the gateway base URL of region r, on the host.
func (d *Deployment) REST(r string) string { return d.http[r] }

// AdminURL is the admin API base URL of region r, on the host.
func (d *Deployment) AdminURL(r string) string { return d.admin[r] }

// container is the id of region r's container.
func (d *Deployment) container(r string) string {
	d.t.Helper()
	out, err := d.composeRun("ps", "-q", r)
	if id := strings.TrimSpace(out); err == nil && id != "" {
		return id
	}
	d.t.Fatalf("container of %s: %v %q", r, err, out)
	return ""
}

// sharedNetwork is the name of this project's shared network.
func (d *Deployment) sharedNetwork() string {
	d.t.Helper()
	out, err := d.run(d.root, nil, "docker", "network", "ls", "--format", "{{.Name}}",
		"--filter", "label=com.docker.compose.project="+d.project, "--filter", "label=com.docker.compose.network=shared")
	if n := strings.TrimSpace(out); err == nil && n != "" && !strings.Contains(n, "\n") {
		return n
	}
	d.t.Fatalf("shared network of %s: %v %q", d.project, err, out)
	return ""
}

// sharedIP is region r's static address on the shared network (compose.yaml: .11, .12, .13).
func (d *Deployment) sharedIP(r string) string {
	for i, x := range Regions {
		if x == r {
			return fmt.Sprintf("%s.%d", d.subnet, 11+i)
		}
	}
	d.t.Fatalf("unknown region %q", r)
	return ""
}

// Partition disconnects region r from the shared network: it keeps its own network (and its
// published ports) but reaches no other region.
func (d *Deployment) Partition(r string) {
	d.t.Helper()
	if _, err := d.run(d.root, nil, "docker", "network", "disconnect", d.sharedNetwork(), d.container(r)); err != nil {
		d.t.Fatalf("partition %s: %v", r, err)
	}
}

// Heal reconnects region r to the shared network at its static address (its gossip address).
func (d *Deployment) Heal(r string) {
	d.t.Helper()
	if _, err := d.run(d.root, nil, "docker", "network", "connect", "--ip", d.sharedIP(r), d.sharedNetwork(), d.container(r)); err != nil {
		d.t.Fatalf("heal %s: %v", r, err)
	}
}

// Kill stops region r's container abruptly (SIGKILL): a crashed region.
func (d *Deployment) Kill(r string) {
	d.t.Helper()
	if _, err := d.run(d.root, nil, "docker", "kill", d.container(r)); err != nil {
		d.t.Fatalf("kill %s: %v", r, err)
	}
}

// Start starts region r's container again (after Kill), with its data volume as it was.
func (d *Deployment) Start(r string) {
	d.t.Helper()
	if _, err := d.composeRun("start", r); err != nil {
		d.t.Fatalf("start %s: %v", r, err)
	}
}

// Ready tells whether region r's gateway serves: /readyz answers 200, or, on a gateway without
// /readyz (404), /api/v3/ping does (the gateway starts once its node is ready).
func (d *Deployment) Ready(r string) error {
	code, body, err := d.get(d.http[r] + "/readyz")
	if err == nil && code == http.StatusNotFound {
		code, body, err = d.get(d.http[r] + "/api/v3/ping")
	}
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d %s", r, code, firstLine(body))
	}
	return nil
}

// Symbol is one entry of the admin API's /admin/v1/symbols.
type Symbol struct {
	Symbol string `json:"symbol"`
	Home   string `json:"home"`
	Phase  string `json:"phase"`
	Epoch  uint64 `json:"epoch"`
}

// Symbols lists the ownership records as region r's admin API sees them.
func (d *Deployment) Symbols(r string) (map[string]Symbol, error) {
	var out struct {
		Symbols []Symbol `json:"symbols"`
	}
	if err := d.adminGet(r, "/admin/v1/symbols", &out); err != nil {
		return nil, err
	}
	m := map[string]Symbol{}
	for _, s := range out.Symbols {
		m[s.Symbol] = s
	}
	return m, nil
}

// RegionStates is the state ("up", "suspect", "down") of every region as r sees it.
func (d *Deployment) RegionStates(r string) (map[string]string, error) {
	var out struct {
		Regions []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"regions"`
	}
	if err := d.adminGet(r, "/admin/v1/status", &out); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, x := range out.Regions {
		m[x.Name] = x.State
	}
	return m, nil
}

func (d *Deployment) adminGet(r, path string, v any) error {
	req, err := http.NewRequest(http.MethodGet, d.admin[r]+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d %s", r, path, resp.StatusCode, firstLine(b))
	}
	return json.Unmarshal(b, v)
}

func (d *Deployment) get(u string) (int, []byte, error) {
	resp, err := d.client.Get(u)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// APIError is a Binance {code,msg} answer.
type APIError struct {
	Status int
	Code   int    `json:"code"`
	Msg    string `json:"msg"`
}

func (e *APIError) Error() string { return fmt.Sprintf("HTTP %d: %d %s", e.Status, e.Code, e.Msg) }

// Signed sends a SIGNED Binance request to region r's gateway with the compose API key: params
// plus timestamp in the query string, HMAC-SHA256 of the query as signature (client-compat
// §A.2). A 2xx answer is decoded into v; anything else is an *APIError.
func (d *Deployment) Signed(r, method, path string, params url.Values, v any) error {
	q := url.Values{}
	for k, vs := range params {
		q[k] = vs
	}
	q.Set("timestamp", strconv.FormatInt(time.Now().UnixMilli(), 10))
	q.Set("recvWindow", "10000")
	raw := q.Encode()
	mac := hmac.New(sha256.New, []byte(APISecret))
	mac.Write([]byte(raw))
	raw += "&signature=" + hex.EncodeToString(mac.Sum(nil))
	req, err := http.NewRequest(method, d.http[r]+path+"?"+raw, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-MBX-APIKEY", APIKey)
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil {
			e.Msg = firstLine(b)
		}
		return e
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// ExchangeStatus is exchangeInfo's status of symbol (TRADING, CANCEL_ONLY, ...) at region r.
func (d *Deployment) ExchangeStatus(r, symbol string) (string, error) {
	code, b, err := d.get(d.http[r] + "/api/v3/exchangeInfo?symbol=" + url.QueryEscape(symbol))
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("%s exchangeInfo: HTTP %d %s", r, code, firstLine(b))
	}
	var out struct {
		Symbols []struct {
			Symbol string `json:"symbol"`
			Status string `json:"status"`
		} `json:"symbols"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	for _, s := range out.Symbols {
		if s.Symbol == symbol {
			return s.Status, nil
		}
	}
	return "", fmt.Errorf("%s exchangeInfo: no %s", r, symbol)
}

// Await polls cond every 250 ms until it returns nil or timeout passes, then fails t with the
// last error. It returns how long it took.
func Await(t testing.TB, timeout time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		err := cond()
		if err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond) // polling interval, not synchronization
	}
}

// freePort is a TCP port free on 127.0.0.1 right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
