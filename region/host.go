package region

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// host runs the matchers of the symbols homed in this node's region that the rendezvous hash
// assigns to this node: one runner goroutine per symbol. It reconciles on every ownership or
// membership change and on a ticker, so a runner that stopped (lost the ability to append, was
// fenced) is started again when ownership still says so.
type host struct {
	n     *Node
	log   *slog.Logger
	cache *ownerCache

	mu      sync.Mutex
	runners map[string]*runner
	wg      sync.WaitGroup

	hadQuorum bool // as of the last reconcile (loop goroutine only)
}

func newHost(n *Node, cache *ownerCache) *host {
	return &host{n: n, log: n.log, cache: cache, runners: map[string]*runner{}}
}

func (h *host) loop(ctx context.Context, membership <-chan struct{}) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	defer h.stopAll()
	for {
		h.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-h.cache.changed:
		case <-membership:
		case <-tick.C:
		}
	}
}

// reconcile starts the runners this node should run and stops the others.
func (h *host) reconcile(ctx context.Context) {
	members := h.n.mesh.Members()
	want := map[string]*proto.OwnershipRecord{}
	// On the minority side of a partition nothing can be appended and the majority will re-home
	// the symbols: stop matching at once instead of waiting for an append to fail.
	// Until the ownership watch has delivered the current records, the cache may be what a
	// restarted node remembers from before: a stale owner would start and only be fenced.
	// A node that was on the minority side missed the changes made meanwhile: when it regains
	// quorum, its cache must catch up with the bucket again before it starts anything (after a
	// healed partition the old home started a matcher at its old epoch, to be fenced later).
	hasQuorum := h.n.HasQuorum()
	if hasQuorum && !h.hadQuorum {
		h.cache.resync()
	}
	h.hadQuorum = hasQuorum
	quorum := hasQuorum && h.cache.synced.Load()
	for _, rec := range h.cache.all() {
		if !quorum {
			break
		}
		if rec.HomeRegion == h.n.cfg.Region && matcherFor(rec.Symbol, h.n.cfg.Region, members) == h.n.cfg.NodeID {
			want[rec.Symbol] = rec
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for sym, r := range h.runners {
		if _, ok := want[sym]; !ok || r.finished() {
			r.stop()
			delete(h.runners, sym)
		}
	}
	for sym := range want {
		if _, ok := h.runners[sym]; ok {
			continue
		}
		if !h.n.JetStreamReady() {
			continue // minority side or forming: nothing could be appended
		}
		r := newRunner(h.n, sym)
		// The runner's context exists before its goroutine, so stop (under h.mu, from another
		// goroutine) never races with run setting it.
		rctx, cancel := context.WithCancel(ctx)
		r.cancel = cancel
		h.runners[sym] = r
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			r.run(rctx)
		}()
	}
}

func (h *host) stopAll() {
	h.mu.Lock()
	for sym, r := range h.runners {
		r.stop()
		delete(h.runners, sym)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// running reports the symbols this node runs a matcher for right now.
func (h *host) running() map[string]uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]uint64{}
	for sym, r := range h.runners {
		if !r.finished() {
			out[sym] = r.epoch()
		}
	}
	return out
}

// matcherFor picks, by rendezvous hashing, the node of region that runs symbol's matcher among
// the alive members with the matcher role. "" when the region has none.
func matcherFor(symbol, region string, members []mesh.Node) string {
	best, bestScore := "", uint64(0)
	for _, m := range members {
		if m.Meta.Region != region || !m.Meta.HasRole(RoleMatcher) {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(symbol))
		h.Write([]byte{0})
		h.Write([]byte(m.Meta.NodeID))
		if s := h.Sum64(); best == "" || s > bestScore || (s == bestScore && m.Meta.NodeID < best) {
			best, bestScore = m.Meta.NodeID, s
		}
	}
	return best
}

// stepDownTo asks JetStream to move stream's leader into region (a preferred placement by tag).
// It is a no-op when the leader already is there.
func stepDownTo(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, stream, region string,
	regionOf func(server string) string) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return fmt.Errorf("stream %s has no leader", stream)
	}
	if regionOf(info.Cluster.Leader) == region {
		return nil
	}
	req := fmt.Sprintf(`{"placement":{"tags":["%s%s"]}}`, client.RegionTagPrefix, region)
	msg, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, []byte(req))
	if err != nil {
		return err
	}
	var resp struct {
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("step down %s: %w", stream, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("step down %s: %w", stream, resp.Error)
	}
	return nil
}

var errStale = errors.New("region: stale owner (fenced)")

// errReadBehind: a read answered by a replica behind what this node already knows.
var errReadBehind = errors.New("region: read behind the local view")
