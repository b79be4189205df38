package mesh

import (
	"fmt"
	"log"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// FilterTransport wraps a memberlist transport and drops traffic to and from blocked
// addresses, to partition a mesh in tests (it is in a non-test file so other packages' tests
// and the harness can use it). Addresses are gossip addresses "ip:port" as Mesh.Addr reports
// them, or a bare "ip" to block a whole host.
//
// What is filtered: outbound packets to a blocked address are dropped silently (like a lossy
// network); outbound stream dials fail with ErrBlocked; inbound packets whose source is
// blocked are dropped (memberlist's NetTransport sends from its bind address, so the source
// is the sender's gossip address). Inbound streams come from an ephemeral port, so only a
// bare-IP block can filter them: to cut two nodes apart, block each on the other's side.
type FilterTransport struct {
	inner memberlist.NodeAwareTransport

	mu      sync.RWMutex
	blocked map[string]bool
	fn      func(addr string) bool

	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	stop     chan struct{}
	done     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	droppedIn, droppedOut atomic.Uint64
}

var _ memberlist.NodeAwareTransport = (*FilterTransport)(nil)

// NewFilterTransport wraps inner, which it now owns: Shutdown shuts inner down.
func NewFilterTransport(inner memberlist.Transport) *FilterTransport {
	na, ok := inner.(memberlist.NodeAwareTransport)
	if !ok {
		na = nodeAwareShim{inner}
	}
	t := &FilterTransport{
		inner:    na,
		blocked:  make(map[string]bool),
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	t.wg.Add(2)
	go t.forwardPackets()
	go t.forwardStreams()
	return t
}

// NewLocalFilterTransport is NewFilterTransport over NewLocalNetTransport.
func NewLocalFilterTransport(logger *slog.Logger) (*FilterTransport, error) {
	nt, err := NewLocalNetTransport(logger)
	if err != nil {
		return nil, err
	}
	return NewFilterTransport(nt), nil
}

// NewLocalNetTransport returns a memberlist.NetTransport on 127.0.0.1 and a port free for
// both TCP and UDP, retrying when the kernel's TCP port is taken for UDP. logger receives
// the transport's log at debug level; nil discards it.
func NewLocalNetTransport(logger *slog.Logger) (*memberlist.NetTransport, error) {
	return newNetTransport("127.0.0.1", 0, stdLogger(logger))
}

// NewNetTransport returns a memberlist.NetTransport listening on addr:port for TCP and UDP,
// with memberlist's log routed to logger at debug level (nil discards; note that
// memberlist.NewNetTransport panics on its first log line when given no logger). Port 0
// picks a port free for both protocols, retrying on conflicts.
func NewNetTransport(addr string, port int, logger *slog.Logger) (*memberlist.NetTransport, error) {
	return newNetTransport(addr, port, stdLogger(logger))
}

func newNetTransport(addr string, port int, logger *log.Logger) (*memberlist.NetTransport, error) {
	attempts := 1
	if port == 0 {
		attempts = 20
	}
	var err error
	for range attempts {
		var nt *memberlist.NetTransport
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{addr},
			BindPort:  port,
			Logger:    logger,
		})
		if err == nil {
			return nt, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("listen for gossip on %s port %d: %w", addr, port, err)
}

// Block drops traffic to and from addr ("ip:port" or "ip").
func (t *FilterTransport) Block(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.blocked[addr] = true
}

// Unblock lets traffic to and from addr through again.
func (t *FilterTransport) Unblock(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.blocked, addr)
}

// BlockFunc additionally blocks every address for which fn returns true; nil removes it.
// fn is called on the gossip path and must be fast and safe for concurrent use.
func (t *FilterTransport) BlockFunc(fn func(addr string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fn = fn
}

// Blocked reports whether traffic with addr is dropped.
func (t *FilterTransport) Blocked(addr string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.blocked[addr] || (t.fn != nil && t.fn(addr)) {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	return err == nil && t.blocked[host]
}

// Dropped returns how many inbound and outbound packets and dials were dropped.
func (t *FilterTransport) Dropped() (in, out uint64) {
	return t.droppedIn.Load(), t.droppedOut.Load()
}

// GetAutoBindPort returns the inner transport's bound port, or 0 if it cannot tell.
func (t *FilterTransport) GetAutoBindPort() int {
	if p, ok := t.inner.(interface{ GetAutoBindPort() int }); ok {
		return p.GetAutoBindPort()
	}
	return 0
}

// FinalAdvertiseAddr implements memberlist.Transport.
func (t *FilterTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

// WriteTo implements memberlist.Transport.
func (t *FilterTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport.
func (t *FilterTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.Blocked(a.Addr) {
		t.droppedOut.Add(1)
		return time.Now(), nil
	}
	return t.inner.WriteToAddress(b, a)
}

// PacketCh implements memberlist.Transport.
func (t *FilterTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout implements memberlist.Transport.
func (t *FilterTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *FilterTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.Blocked(a.Addr) {
		t.droppedOut.Add(1)
		return nil, fmt.Errorf("dial %s: %w", a.Addr, ErrBlocked)
	}
	return t.inner.DialAddressTimeout(a, timeout)
}

// StreamCh implements memberlist.Transport.
func (t *FilterTransport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown implements memberlist.Transport: it shuts the inner transport down and waits for
// the filter's goroutines. Safe to call more than once.
func (t *FilterTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.stop) // forwarders now drain the inner channels instead of blocking
		err = t.inner.Shutdown()
		close(t.done)
		t.wg.Wait()
	})
	return err
}

func (t *FilterTransport) forwardPackets() {
	defer t.wg.Done()
	in := t.inner.PacketCh()
	for {
		select {
		case p := <-in:
			if p.From != nil && t.Blocked(p.From.String()) {
				t.droppedIn.Add(1)
				continue
			}
			select {
			case t.packetCh <- p:
			case <-t.stop:
			}
		case <-t.stop:
			for {
				select {
				case <-in:
				case <-t.done:
					return
				}
			}
		}
	}
}

func (t *FilterTransport) forwardStreams() {
	defer t.wg.Done()
	in := t.inner.StreamCh()
	for {
		select {
		case c := <-in:
			if ra := c.RemoteAddr(); ra != nil && t.Blocked(ra.String()) {
				t.droppedIn.Add(1)
				_ = c.Close()
				continue
			}
			select {
			case t.streamCh <- c:
			case <-t.stop:
				_ = c.Close()
			}
		case <-t.stop:
			for {
				select {
				case c := <-in:
					_ = c.Close()
				case <-t.done:
					return
				}
			}
		}
	}
}

// nodeAwareShim adapts a plain Transport, as memberlist does internally.
type nodeAwareShim struct{ memberlist.Transport }

func (s nodeAwareShim) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return s.WriteTo(b, a.Addr)
}

func (s nodeAwareShim) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return s.DialTimeout(a.Addr, timeout)
}
