package chaos

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Net is a private network of Linux network namespaces, one per region, so that faults hit
// real processes the way they hit real machines: a partition drops every packet (gossip UDP
// and TCP, NATS routes) between a region and the others, a slow link shapes a region's traffic.
//
// Topology: a hub namespace holds a bridge (bridging happens there, so the host's firewall,
// which may drop forwarded traffic, never sees it); every region namespace and the host (where
// the test and its load driver run) have a veth pair into it. Addresses: region i is
// <subnet>.(i+1), the host is <subnet>.254 plus SourceIPs (<subnet>.200-...) that clients bind
// so per-IP rate limits see several clients.
//
// Partition uses blackhole routes (iproute2 only), slow uses a tc qdisc (netem delay when the
// kernel has it, else a tbf rate limit, whose queue adds delay). Every change is undone by Close.
type Net struct {
	tag     string
	subnet  string // e.g. "10.213.77"
	regions []string
	hostIf  string
	// SourceIPs are host addresses on the network for clients to bind.
	SourceIPs []string

	mu      sync.Mutex
	blocked map[[2]int]bool // directed blackholes (from namespace i to address of j)
	shaped  map[int]bool
}

// SlowMethod names how SlowLink shapes traffic on this kernel.
type SlowMethod string

// Slow methods.
const (
	SlowNetem SlowMethod = "netem delay"
	SlowTBF   SlowMethod = "tbf rate limit"
)

// ipCmd runs ip (or another iproute2 tool) with args and returns its combined output on error.
func ipCmd(tool string, args ...string) error {
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// NewNet creates the namespaces and links for regions. nSources host source addresses are added.
// On error everything created so far is removed.
func NewNet(regions []string, nSources int) (_ *Net, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("iproute2: %w", err)
	}
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	n := &Net{tag: "gmc" + hex.EncodeToString(b), subnet: fmt.Sprintf("10.213.%d", 1+int(b[0])%250),
		regions: regions, blocked: map[[2]int]bool{}, shaped: map[int]bool{}}
	n.hostIf = n.tag + "r"
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	hub := n.ns(-1)
	steps := [][]string{
		{"netns", "add", hub},
		{"-n", hub, "link", "set", "lo", "up"},
		{"-n", hub, "link", "add", "br0", "type", "bridge"},
		{"-n", hub, "link", "set", "br0", "up"},
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", n.tag + "rp"},
		{"link", "set", n.tag + "rp", "netns", hub},
		{"-n", hub, "link", "set", n.tag + "rp", "master", "br0", "up"},
		{"addr", "add", n.subnet + ".254/24", "dev", n.hostIf},
	}
	for i := range nSources {
		ip := fmt.Sprintf("%s.%d", n.subnet, 200+i)
		n.SourceIPs = append(n.SourceIPs, ip)
		steps = append(steps, []string{"addr", "add", ip + "/24", "dev", n.hostIf})
	}
	steps = append(steps, []string{"link", "set", n.hostIf, "up"})
	for i := range regions {
		ns, h, in := n.ns(i), fmt.Sprintf("%sh%d", n.tag, i), n.regionIf(i)
		steps = append(steps,
			[]string{"netns", "add", ns},
			[]string{"-n", ns, "link", "set", "lo", "up"},
			[]string{"link", "add", h, "type", "veth", "peer", "name", in},
			[]string{"link", "set", h, "netns", hub},
			[]string{"-n", hub, "link", "set", h, "master", "br0", "up"},
			[]string{"link", "set", in, "netns", ns},
			[]string{"-n", ns, "addr", "add", n.IP(i) + "/24", "dev", in},
			[]string{"-n", ns, "link", "set", in, "up"},
		)
	}
	for _, s := range steps {
		if err := ipCmd("ip", s...); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (n *Net) ns(i int) string {
	if i < 0 {
		return n.tag + "-hub"
	}
	return fmt.Sprintf("%s-%d", n.tag, i)
}

func (n *Net) regionIf(i int) string { return fmt.Sprintf("%sn%d", n.tag, i) }

// IP is region i's address.
func (n *Net) IP(i int) string { return fmt.Sprintf("%s.%d", n.subnet, i+1) }

// Hosts maps each region to its address (e2e.Options.Hosts).
func (n *Net) Hosts() map[string]string {
	m := map[string]string{}
	for i, r := range n.regions {
		m[r] = n.IP(i)
	}
	return m
}

// Wrap is the argv prefix that runs a command in region r's namespace (e2e.Options.Wrap).
func (n *Net) Wrap(r string) []string {
	return []string{"ip", "netns", "exec", n.ns(n.index(r))}
}

func (n *Net) index(r string) int {
	for i, x := range n.regions {
		if x == r {
			return i
		}
	}
	panic("chaos: unknown region " + r)
}

// Partition cuts region r off from every other region in both directions; the host (clients)
// still reaches it, as clients near a region on the minority side of a WAN split would.
func (n *Net) Partition(r string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := n.index(r)
	for j := range n.regions {
		if j == i {
			continue
		}
		for _, d := range [][2]int{{i, j}, {j, i}} {
			if n.blocked[d] {
				continue
			}
			if err := ipCmd("ip", "-n", n.ns(d[0]), "route", "add", "blackhole", n.IP(d[1])+"/32"); err != nil {
				return err
			}
			n.blocked[d] = true
		}
	}
	return nil
}

// Heal removes every partition.
func (n *Net) Heal() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for d := range n.blocked {
		if err := ipCmd("ip", "-n", n.ns(d[0]), "route", "del", "blackhole", n.IP(d[1])+"/32"); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(n.blocked, d)
	}
	return errors.Join(errs...)
}

// ProbeSlow reports which SlowMethod this kernel supports, trying it on the hub's loopback.
func (n *Net) ProbeSlow() (SlowMethod, error) {
	hub := n.ns(-1)
	var errs []error
	for _, m := range []SlowMethod{SlowNetem, SlowTBF} {
		args := append([]string{"-n", hub, "qdisc", "add", "dev", "lo", "root"}, slowArgs(m)...)
		err := ipCmd("tc", args...)
		if err == nil {
			_ = ipCmd("tc", "-n", hub, "qdisc", "del", "dev", "lo", "root")
			return m, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

// slowArgs is the qdisc of a slow link: 80 ms one way (netem), or 2 Mbit/s with up to 300 ms of
// queue (tbf), either of which a WAN link on a bad day has.
func slowArgs(m SlowMethod) []string {
	if m == SlowNetem {
		return []string{"netem", "delay", "80ms", "20ms"}
	}
	return []string{"tbf", "rate", "2mbit", "burst", "16kb", "latency", "300ms"}
}

// Slow shapes every packet region r sends (to other regions and to clients) with method m.
func (n *Net) Slow(r string, m SlowMethod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := n.index(r)
	args := append([]string{"-n", n.ns(i), "qdisc", "add", "dev", n.regionIf(i), "root"}, slowArgs(m)...)
	if err := ipCmd("tc", args...); err != nil {
		return err
	}
	n.shaped[i] = true
	return nil
}

// Unslow removes every shaping.
func (n *Net) Unslow() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for i := range n.shaped {
		if err := ipCmd("tc", "-n", n.ns(i), "qdisc", "del", "dev", n.regionIf(i), "root"); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(n.shaped, i)
	}
	return errors.Join(errs...)
}

// Close removes the namespaces (and with them every link and route) and the host's veth. It
// must run after the processes in the namespaces have exited.
func (n *Net) Close() {
	_ = exec.Command("ip", "link", "del", n.hostIf).Run()
	for i := range n.regions {
		_ = exec.Command("ip", "netns", "del", n.ns(i)).Run()
	}
	_ = exec.Command("ip", "netns", "del", n.ns(-1)).Run()
}

// Probe checks the network carries TCP: host to every region, region to region, and that a
// partition really cuts a region off from the others but not from the host. It listens and
// dials from inside the namespaces (setns on a locked thread), so it needs no tool.
func (n *Net) Probe() error {
	lns := make([]net.Listener, len(n.regions))
	defer func() {
		for _, ln := range lns {
			if ln != nil {
				_ = ln.Close()
			}
		}
	}()
	for i := range n.regions {
		err := n.inNS(i, func() error {
			ln, err := net.Listen("tcp", n.IP(i)+":0")
			lns[i] = ln
			return err
		})
		if err != nil {
			return fmt.Errorf("listen in %s: %w", n.regions[i], err)
		}
		go func(ln net.Listener) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}(lns[i])
	}
	dial := func(from, to int) error {
		d := net.Dialer{Timeout: time.Second}
		do := func() error {
			c, err := d.Dial("tcp", lns[to].Addr().String())
			if err == nil {
				_ = c.Close()
			}
			return err
		}
		if from < 0 {
			return do()
		}
		return n.inNS(from, do)
	}
	// A link that was just created may take a moment to forward (and a loaded machine longer):
	// the positive checks retry for a while, the partition check below does not.
	reach := func(from, to int) error {
		var err error
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
			if err = dial(from, to); err == nil {
				return nil
			}
		}
		return err
	}
	for i := range n.regions {
		if err := reach(-1, i); err != nil {
			return fmt.Errorf("host to %s: %w", n.regions[i], err)
		}
		if j := (i + 1) % len(n.regions); j != i {
			if err := reach(i, j); err != nil {
				return fmt.Errorf("%s to %s: %w", n.regions[i], n.regions[j], err)
			}
		}
	}
	if len(n.regions) < 2 {
		return nil
	}
	if err := n.Partition(n.regions[0]); err != nil {
		return err
	}
	cut, hostOK := dial(0, 1), reach(-1, 0)
	if err := n.Heal(); err != nil {
		return err
	}
	switch {
	case cut == nil:
		return errors.New("a partitioned region still reaches another region")
	case hostOK != nil:
		return fmt.Errorf("the host no longer reaches a partitioned region: %w", hostOK)
	}
	return reach(0, 1)
}

// inNS runs f on a thread switched into region i's network namespace; sockets f creates stay in
// it. The thread is switched back before it is released.
func (n *Net) inNS(i int, f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer self.Close()
	target, err := os.Open("/var/run/netns/" + n.ns(i))
	if err != nil {
		return err
	}
	defer target.Close()
	if err := setns(target.Fd()); err != nil {
		return fmt.Errorf("setns %s: %w", n.ns(i), err)
	}
	ferr := f()
	if err := setns(self.Fd()); err != nil {
		// The thread is in the wrong namespace: keep it locked so it dies with the goroutine.
		runtime.LockOSThread()
		return fmt.Errorf("setns back: %w", err)
	}
	return ferr
}

func setns(fd uintptr) error { return unix.Setns(int(fd), unix.CLONE_NEWNET) }
