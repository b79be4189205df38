package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// Build compiles cmd/regiond (CGO_ENABLED=0) into dir and returns the binary's path. The
// package is named by import path, so the working directory only has to be inside the module.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "regiond")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/geomesh/geomesh/cmd/regiond")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build regiond: %w\n%s", err, out)
	}
	return bin, nil
}

// EnvKeep, when set to anything, keeps a mesh's configs, data and logs after a passing test too.
const EnvKeep = "GEOMESH_E2E_KEEP"

// Options configure a process mesh.
type Options struct {
	// Binary is the regiond executable (from Build). Required.
	Binary string
	// Regions to run, one process each, every one seeding the others. Default us-east, eu-west,
	// ap-south.
	Regions []string
	// Extra is YAML appended to every config file: top-level keys such as settle_window and
	// symbols.
	Extra string
	// RegionExtra, when set, returns more YAML appended to region r's config file only (after
	// Extra): per-region keys such as http_addr and admin_addr.
	RegionExtra func(r string) string
	// Hosts maps a region to the address its process binds and advertises for gossip, NATS
	// clients and routes (default 127.0.0.1), e.g. its address in a network namespace.
	Hosts map[string]string
	// Wrap, when set, returns the argv prefix region r's process is started under, e.g.
	// ["ip", "netns", "exec", "ns1"]; the prefix must exec the binary in place (same PID).
	Wrap func(r string) []string
}

// Proc is one regiond process (one region), possibly restarted.
type Proc struct {
	Region  string
	Config  string // config file
	DataDir string
	NATSURL string // the client URL, fixed across restarts
	Host    string // the address it binds (Options.Hosts)

	logDir  string
	starts  int
	binary  string   // the regiond executable
	wrap    []string // argv prefix (Options.Wrap)
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{} // closed when the current incarnation has exited
}

// Mesh is a set of regiond processes on loopback.
type Mesh struct {
	t     testing.TB
	dir   string
	procs []*Proc
}

// Start writes one config file per region with free ports and starts every process. It does not
// wait for the mesh to form. t.Cleanup kills every process still running (by PID) and removes
// the directory of configs, data and logs unless the test failed, in which case it is named.
func Start(t testing.TB, opts Options) *Mesh {
	t.Helper()
	if opts.Binary == "" {
		t.Fatal("e2e: Options.Binary is required (see Build)")
	}
	if len(opts.Regions) == 0 {
		opts.Regions = []string{"us-east", "eu-west", "ap-south"}
	}
	dir, err := os.MkdirTemp("", "geomesh-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	m := &Mesh{t: t, dir: dir}
	t.Cleanup(m.close)

	ports := freePorts(t, 3*len(opts.Regions))
	hosts := make([]string, len(opts.Regions))
	gossip := make([]string, len(opts.Regions))
	for i, r := range opts.Regions {
		hosts[i] = "127.0.0.1"
		if h := opts.Hosts[r]; h != "" {
			hosts[i] = h
		}
		gossip[i] = net.JoinHostPort(hosts[i], strconv.Itoa(ports[3*i]))
	}
	for i, r := range opts.Regions {
		var seeds []string
		for j, g := range gossip {
			if j != i {
				seeds = append(seeds, g)
			}
		}
		p := &Proc{Region: r, DataDir: filepath.Join(dir, r, "data"), logDir: filepath.Join(dir, r),
			NATSURL: "nats://" + net.JoinHostPort(hosts[i], strconv.Itoa(ports[3*i+1])),
			Config:  filepath.Join(dir, r, r+".yaml"), Host: hosts[i]}
		if opts.Wrap != nil {
			p.wrap = opts.Wrap(r)
		}
		if err := os.MkdirAll(p.logDir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`node_id: %s-1
region: %s
data_dir: %s
profile: local
gossip:
  addr: %s
  seeds: [%s]
nats:
  host: %s
  port: %d
cluster:
  host: %s
  port: %d
jetstream:
  replicas: %d
log:
  level: info
  format: text
%s`, r, r, p.DataDir, gossip[i], strings.Join(seeds, ", "), hosts[i], ports[3*i+1], hosts[i], ports[3*i+2],
			min(3, len(opts.Regions)), opts.Extra)
		if opts.RegionExtra != nil {
			body += "\n" + opts.RegionExtra(r)
		}
		if err := os.WriteFile(p.Config, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		m.procs = append(m.procs, p)
	}
	for _, p := range m.procs {
		if err := p.start(opts.Binary); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("e2e: free port: %v", err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

func (p *Proc) start(binary string) error {
	p.starts++
	p.binary = binary
	p.logPath = filepath.Join(p.logDir, fmt.Sprintf("%s.%d.log", p.Region, p.starts))
	f, err := os.Create(p.logPath)
	if err != nil {
		return err
	}
	argv := append(append(slices.Clip(p.wrap), binary), "--config", p.Config)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start %s: %w", p.Region, err)
	}
	p.cmd, p.logFile, p.done = cmd, f, make(chan struct{})
	done := p.done
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(done)
	}()
	return nil
}

// PID is the current incarnation's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// LogPath is the current incarnation's log file (stdout and stderr).
func (p *Proc) LogPath() string { return p.logPath }

// Exited reports whether the current incarnation has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Log returns the current incarnation's output so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// kill sends SIGKILL to the process (by PID, never its group or a name) and waits until it is
// reaped.
func (p *Proc) kill() error {
	if p.cmd == nil || p.Exited() {
		return nil
	}
	if err := syscall.Kill(p.PID(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Region, p.PID(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("kill %s (pid %d): not reaped after 10s", p.Region, p.PID())
	}
}

// Proc returns region r's process.
func (m *Mesh) Proc(r string) *Proc {
	for _, p := range m.procs {
		if p.Region == r {
			return p
		}
	}
	m.t.Fatalf("e2e: no region %q", r)
	return nil
}

// Kill SIGKILLs region r's process and waits until it is gone. It returns the time the signal
// was sent.
func (m *Mesh) Kill(r string) time.Time {
	m.t.Helper()
	p := m.Proc(r)
	if p.Exited() {
		m.t.Fatalf("e2e: kill %s: %v", r, ErrExited)
	}
	at := time.Now()
	if err := p.kill(); err != nil {
		m.t.Fatal(err)
	}
	return at
}

// Restart starts region r's process again with its config file and data directory.
func (m *Mesh) Restart(r string) {
	m.t.Helper()
	p := m.Proc(r)
	if !p.Exited() {
		m.t.Fatalf("e2e: restart %s: still running (pid %d)", r, p.PID())
	}
	if err := p.start(p.binary); err != nil {
		m.t.Fatal(err)
	}
}

// Connect opens a NATS connection to region r's client URL, retrying until the server answers
// or timeout passes. The connection is closed by t.Cleanup.
func (m *Mesh) Connect(r string, timeout time.Duration) *nats.Conn {
	m.t.Helper()
	p := m.Proc(r)
	var nc *nats.Conn
	err := Poll(timeout, 50*time.Millisecond, func() error {
		if p.Exited() {
			return fmt.Errorf("%s: %w", r, ErrExited)
		}
		var err error
		nc, err = nats.Connect(p.NATSURL, nats.Name("e2e/"+r), nats.MaxReconnects(-1),
			nats.ReconnectWait(100*time.Millisecond), nats.Timeout(time.Second))
		return err
	})
	if err != nil {
		m.t.Fatalf("e2e: connect to %s at %s: %v\n%s", r, p.NATSURL, err, tail(p.Log(), 20))
	}
	m.t.Cleanup(nc.Close)
	return nc
}

// AwaitLog polls region r's current log until it has a line containing every one of parts.
func (m *Mesh) AwaitLog(r string, timeout time.Duration, parts ...string) string {
	m.t.Helper()
	p := m.Proc(r)
	var line string
	err := Poll(timeout, 20*time.Millisecond, func() error {
		if line = FindLine(p.Log(), parts...); line != "" {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%s: %w", r, ErrExited)
		}
		return fmt.Errorf("no line with %q", parts)
	})
	if err != nil {
		m.t.Fatalf("e2e: %s log: %v\n%s", r, err, tail(p.Log(), 20))
	}
	return line
}

func (m *Mesh) close() {
	for _, p := range m.procs {
		if err := p.kill(); err != nil {
			m.t.Error(err)
		}
	}
	if m.t.Failed() || os.Getenv(EnvKeep) != "" {
		m.t.Logf("e2e: configs, data and logs kept in %s", m.dir)
		return
	}
	_ = os.RemoveAll(m.dir)
}

// Owner reads symbol's ownership record and the time it was written from the OWNERS bucket
// over js.
func Owner(ctx context.Context, js jetstream.JetStream, symbol string) (*proto.OwnershipRecord, time.Time, error) {
	kv, err := js.KeyValue(ctx, client.BucketOwners)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("open %s: %w", client.BucketOwners, err)
	}
	e, err := kv.Get(ctx, symbol)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("get owner of %s: %w", symbol, err)
	}
	rec, err := proto.DecodeOwnershipRecord(e.Value())
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("owner of %s: %w", symbol, err)
	}
	return rec, e.Created(), nil
}

// Poll calls cond every interval until it returns nil or timeout passes; the error then wraps
// ErrTimeout and cond's last error.
func Poll(timeout, every time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v: %v", ErrTimeout, timeout, err)
		}
		<-tick.C
	}
}

// FindLine returns the first line of log containing every one of parts ("" if none).
func FindLine(log string, parts ...string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
next:
	for sc.Scan() {
		for _, part := range parts {
			if !strings.Contains(sc.Text(), part) {
				continue next
			}
		}
		return sc.Text()
	}
	return ""
}

// LineTime parses the time= attribute of a log/slog text line.
func LineTime(line string) (time.Time, error) {
	v, ok := strings.CutPrefix(line, "time=")
	if !ok {
		return time.Time{}, fmt.Errorf("no time= at the start of %q", line)
	}
	v, _, _ = strings.Cut(v, " ")
	return time.Parse(time.RFC3339Nano, v)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// FreePorts returns n distinct loopback ports that were free a moment ago.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	return freePorts(t, n)
}

// Dir is the directory of the mesh's configs, data and logs.
func (m *Mesh) Dir() string { return m.dir }

// Regions are the mesh's regions in start order.
func (m *Mesh) Regions() []string {
	rs := make([]string, len(m.procs))
	for i, p := range m.procs {
		rs[i] = p.Region
	}
	return rs
}

// Signal sends sig to region r's current process (by PID), e.g. SIGSTOP and SIGCONT. Unlike the
// other Mesh methods it returns the error instead of failing the test, and it may be called
// from any goroutine while the process runs.
func (m *Mesh) Signal(r string, sig syscall.Signal) error {
	p := m.Proc(r)
	if p.Exited() {
		return fmt.Errorf("signal %v to %s: %w", sig, r, ErrExited)
	}
	if err := syscall.Kill(p.PID(), sig); err != nil {
		return fmt.Errorf("signal %v to %s (pid %d): %w", sig, r, p.PID(), err)
	}
	return nil
}

// Stop sends SIGTERM to region r's process and waits up to timeout for it to exit by itself
// (a graceful shutdown), then returns its exit status. Past timeout it SIGKILLs the process and
// returns an error wrapping ErrTimeout.
func (m *Mesh) Stop(r string, timeout time.Duration) (*os.ProcessState, error) {
	p := m.Proc(r)
	if p.Exited() {
		return nil, fmt.Errorf("stop %s: %w", r, ErrExited)
	}
	if err := syscall.Kill(p.PID(), syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return nil, fmt.Errorf("stop %s (pid %d): %w", r, p.PID(), err)
	}
	select {
	case <-p.done:
		return p.cmd.ProcessState, nil
	case <-time.After(timeout):
		if err := p.kill(); err != nil {
			return nil, err
		}
		return p.cmd.ProcessState, fmt.Errorf("stop %s: %w: no exit %v after SIGTERM, killed", r, ErrTimeout, timeout)
	}
}

// RunWithBinary is a TestMain body for real-process tests: unless -short, it builds regiond
// once into a temporary folder named after prefix and stores its path in *binary, then runs
// the tests and removes the folder. It returns the exit code.
func RunWithBinary(m *testing.M, prefix string, binary *string) int {
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if *binary, err = Build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
