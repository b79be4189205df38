package mesh

import (
	"errors"
	"net"
	"strconv"
	"testing"
	"time"
)

func localAddr(t *testing.T, ft *FilterTransport) string {
	t.Helper()
	ip, port, err := ft.FinalAdvertiseAddr("", 0)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

func TestFilterTransport(t *testing.T) {
	a, err := NewLocalFilterTransport(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown()
	b, err := NewLocalFilterTransport(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	aAddr, bAddr := localAddr(t, a), localAddr(t, b)

	recv := func(want bool) {
		t.Helper()
		// An unblocked packet on loopback arrives well within this; a blocked one never does.
		timer := time.NewTimer(200 * time.Millisecond)
		defer timer.Stop()
		select {
		case p := <-b.PacketCh():
			if !want {
				t.Fatalf("got packet %q from %v, want none", p.Buf, p.From)
			}
			if p.From.String() != aAddr {
				t.Fatalf("packet from %v, want %s", p.From, aAddr)
			}
		case <-timer.C:
			if want {
				t.Fatal("packet not delivered")
			}
		}
	}
	send := func() {
		t.Helper()
		if _, err := a.WriteTo([]byte("ping"), bAddr); err != nil {
			t.Fatal(err)
		}
	}

	send()
	recv(true)

	b.Block(aAddr) // inbound filter on the receiver
	send()
	recv(false)
	if in, _ := b.Dropped(); in != 1 {
		t.Fatalf("b dropped %d inbound, want 1", in)
	}
	b.Unblock(aAddr)

	a.BlockFunc(func(addr string) bool { return addr == bAddr }) // outbound filter on the sender
	send()
	recv(false)
	if _, err := a.DialTimeout(bAddr, time.Second); !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial blocked address = %v, want ErrBlocked", err)
	}
	a.BlockFunc(nil)

	a.Block("127.0.0.1") // a bare IP blocks every port on it
	if !a.Blocked(bAddr) {
		t.Fatal("bare-IP block does not cover ip:port")
	}
	a.Unblock("127.0.0.1")
	send()
	recv(true)
	conn, err := a.DialTimeout(bAddr, time.Second)
	if err != nil {
		t.Fatalf("dial after unblock: %v", err)
	}
	conn.Close()
	select {
	case c := <-b.StreamCh():
		c.Close()
	case <-time.After(time.Second):
		t.Fatal("stream not delivered")
	}

	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}
