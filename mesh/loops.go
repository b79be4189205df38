package mesh

import (
	"log/slog"
	"time"
)

// regionLoop moves Suspect regions to Down when their grace runs out. It sleeps until the
// earliest deadline and is woken by every view change.
func (m *Mesh) regionLoop() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.mu.Lock()
		evs := m.view.tick(time.Now())
		next, pending := m.view.nextDeadline()
		m.hub.publish(evs)
		m.mu.Unlock()
		m.logRegionChanges(evs)
		timer.Stop()
		if pending {
			timer.Reset(max(time.Until(next), time.Millisecond))
		}
		select {
		case <-m.stop:
			return
		case <-m.wake:
		case <-timer.C:
		}
	}
}

// rejoinLoop periodically pushes state to the addresses of known nodes that are dead.
// memberlist never probes a dead node again, so without this a healed partition or a node
// restarted on the same address would stay apart until someone joins explicitly.
func (m *Mesh) rejoinLoop() {
	defer m.wg.Done()
	tick := time.NewTicker(m.cfg.RejoinInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		if m.left.Load() {
			continue
		}
		ml, err := m.memberlist()
		if err != nil {
			continue
		}
		m.mu.Lock()
		addrs := m.view.deadAddrs()
		m.mu.Unlock()
		for _, addr := range addrs {
			select {
			case <-m.stop:
				return
			default:
			}
			if n, err := ml.Join([]string{addr}); n > 0 {
				m.log.Info("rejoined dead node", slog.String("addr", addr))
			} else {
				m.log.Debug("rejoin failed", slog.String("addr", addr), slog.Any("error", err))
			}
		}
	}
}
