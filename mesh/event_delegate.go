package mesh

import (
	"log/slog"
	"time"

	"github.com/hashicorp/memberlist"
)

// eventDelegate implements memberlist.EventDelegate. memberlist calls it synchronously with
// its node lock held, so it must never call back into memberlist; it only updates the view
// under Mesh.mu and publishes without blocking.
type eventDelegate struct{ m *Mesh }

var _ memberlist.EventDelegate = eventDelegate{}

func (d eventDelegate) NotifyJoin(n *memberlist.Node) {
	node := d.m.toNode(n)
	d.m.apply(func(v *view, now time.Time) []Event { return v.join(node, now) })
}

func (d eventDelegate) NotifyLeave(n *memberlist.Node) {
	name := n.Name
	d.m.apply(func(v *view, now time.Time) []Event { return v.leave(name, now) })
}

func (d eventDelegate) NotifyUpdate(n *memberlist.Node) {
	node := d.m.toNode(n)
	d.m.apply(func(v *view, now time.Time) []Event { return v.update(node, now) })
}

// conflictDelegate implements memberlist.ConflictDelegate: another node claims a known name
// from a new address, usually because that node restarted on another port. memberlist
// refuses it until the old incarnation is dead; remembering the address lets the rejoin
// loop contact the newcomer right after, instead of waiting for a push-pull.
type conflictDelegate struct{ m *Mesh }

var _ memberlist.ConflictDelegate = conflictDelegate{}

func (d conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	name, addr := existing.Name, other.Address()
	d.m.apply(func(v *view, _ time.Time) []Event {
		v.conflict(name, addr)
		return nil
	})
}

// toNode converts a memberlist node. A node whose metadata does not decode is kept as a
// member with empty Meta (it counts towards no region) and a warning is logged.
func (m *Mesh) toNode(n *memberlist.Node) Node {
	meta, err := DecodeMeta(n.Meta)
	if err != nil {
		m.log.Warn("undecodable node meta", slog.String("node", n.Name), slog.String("addr", n.Address()), slog.Any("error", err))
	}
	return Node{Name: n.Name, Addr: n.Address(), Meta: meta}
}
