package meshtest

import (
	"io"
	"net"
	"sync"
	"time"
)

// link is a TCP proxy on one directed route link (the dialing node -> the target node). The
// harness puts one on every link so it can cut a region off (Partition) or delay it (Slow)
// without touching the servers. The target address is looked up on every connection, so a
// restarted target is found again.
type link struct {
	ln     net.Listener
	target func() string                // current real address of the target; "" = down
	state  func() (bool, time.Duration) // blocked?, added one-way latency

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newLink(target func() string, state func() (bool, time.Duration)) (*link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &link{ln: ln, target: target, state: state, conns: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func (l *link) addr() string { return l.ln.Addr().String() }

func (l *link) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		blocked, _ := l.state()
		target := l.target()
		if blocked || target == "" {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", target, time.Second)
		if err != nil {
			c.Close()
			continue
		}
		l.track(c, up)
		l.wg.Add(2)
		go l.pipe(up, c)
		go l.pipe(c, up)
	}
}

func (l *link) track(cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		l.conns[c] = struct{}{}
	}
}

// pipe copies src to dst, delaying each chunk by the link's latency, and closes both ends when
// either side ends or the link is cut.
func (l *link) pipe(dst, src net.Conn) {
	defer l.wg.Done()
	defer func() {
		dst.Close()
		src.Close()
		l.mu.Lock()
		delete(l.conns, dst)
		delete(l.conns, src)
		l.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			blocked, delay := l.state()
			if blocked {
				return
			}
			if delay > 0 {
				time.Sleep(delay) // the injected latency itself, not synchronisation
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// cut closes every open connection through the link (new ones are refused while blocked).
func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
}

func (l *link) close() {
	l.ln.Close()
	l.cut()
	l.wg.Wait()
}
