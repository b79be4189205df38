package mesh

import (
	"github.com/hashicorp/memberlist"
)

// delegate implements memberlist.Delegate: it only supplies the local node's metadata.
type delegate struct{ m *Mesh }

var _ memberlist.Delegate = delegate{}

func (d delegate) NodeMeta(limit int) []byte {
	b := d.m.metaBytes.Load()
	if b == nil || len(*b) > limit {
		return nil
	}
	return *b
}

func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}
