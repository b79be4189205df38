package region

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// keyLease is the CONTROL key of the controller lease.
const keyLease = "controller"

// controller is the one active decision maker of the mesh. Every node with the controller role
// runs one; the holder of the lease in CONTROL acts, the others only try to take the lease. A
// holder that cannot renew stops acting before its lease can have expired for the others.
type controller struct {
	n   *Node
	log *slog.Logger
	kv  jetstream.KeyValue

	leaseRev   uint64
	term       uint64
	validUntil atomic.Int64 // local clock, Unix ns: act only before this (read by other goroutines)
}

func newController(ctx context.Context, n *Node) (*controller, error) {
	kv, err := n.js.KeyValue(ctx, client.BucketControl)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", client.BucketControl, err)
	}
	return &controller{n: n, log: n.log.With(slog.String("component", "controller")), kv: kv}, nil
}

// active reports whether this node holds a lease it may act on.
func (c *controller) active() bool { return time.Now().UnixNano() < c.validUntil.Load() }

func (c *controller) loop(ctx context.Context) {
	ttl := c.n.cfg.LeaseTTL
	renewEvery := ttl / 3
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastRenew time.Time
	wasActive := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(lastRenew) >= renewEvery || !c.active() {
			lastRenew = time.Now()
			c.renew(ctx)
		}
		if act := c.active(); act != wasActive {
			wasActive = act
			if act {
				c.log.Info("controller_active", slog.Uint64("term", c.term))
			} else {
				c.log.Info("controller_inactive")
			}
		}
		if !c.active() {
			continue
		}
		c.placeNewSymbols(ctx)
		c.statusTick(ctx) // before failover: an outage's incident lists the symbols it moves
		c.failover(ctx)
		c.runPlans(ctx)
	}
}

// renew takes or extends the lease by compare-and-swap. The local validity is measured from
// before the write, minus a margin, so it always ends before the lease others read.
func (c *controller) renew(ctx context.Context) {
	ttl := c.n.cfg.LeaseTTL
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, ttl/3)
	defer cancel()
	lease := &proto.Lease{SchemaVersion: proto.SchemaVersion, Holder: c.n.cfg.NodeID, Region: c.n.cfg.Region,
		ExpiresUnixNano: start.Add(ttl).UnixNano()}
	e, err := c.kv.Get(actx, keyLease)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		lease.Term = 1
		b, _ := gproto.Marshal(lease)
		rev, err := c.kv.Create(actx, keyLease, b)
		if err != nil {
			c.validUntil.Store(0)
			return
		}
		c.leaseRev, c.term = rev, lease.Term
	case err != nil:
		c.validUntil.Store(0)
		return
	default:
		cur, err := proto.DecodeLease(e.Value())
		if err != nil {
			c.log.Error("lease_unreadable", slog.Any("err", err))
			c.validUntil.Store(0)
			return
		}
		mine := cur.Holder == c.n.cfg.NodeID
		if !mine && time.Now().UnixNano() < cur.ExpiresUnixNano {
			c.validUntil.Store(0)
			return
		}
		lease.Term = cur.Term
		if !mine {
			lease.Term++
		}
		b, _ := gproto.Marshal(lease)
		rev, err := c.kv.Update(actx, keyLease, b, e.Revision())
		if err != nil {
			c.validUntil.Store(0)
			return
		}
		c.leaseRev, c.term = rev, lease.Term
	}
	c.validUntil.Store(start.Add(ttl - ttl/4).UnixNano())
}

func (c *controller) actor() string { return "controller/" + c.n.cfg.NodeID }

// placeNewSymbols creates the ownership record and streams of every configured symbol that
// has none: home = first preferred region that is up and not cordoned, else the least loaded.
func (c *controller) placeNewSymbols(ctx context.Context) {
	// Creating a symbol's two R3 streams is a few meta-layer round trips, mostly waiting:
	// several symbols at once bring 500 configured symbols to TRADING much sooner.
	sem := make(chan struct{}, placeParallel)
	var wg sync.WaitGroup
	for _, sc := range c.n.cfg.Symbols {
		if c.n.cache.get(sc.Symbol) != nil {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c.placeSymbol(ctx, sc)
		})
	}
	wg.Wait()
}

// placeParallel bounds the symbols placed at once.
const placeParallel = 16

// placeSymbol creates sc's streams and its first ownership record, homed in its first live
// preferred region.
func (c *controller) placeSymbol(ctx context.Context, sc SymbolConfig) {
	rec, err := sc.record()
	if err != nil {
		return // Validate refused it at start
	}
	home := c.n.pickHome(ctx, rec.PreferredRegions, "")
	if home == "" {
		return
	}
	if err := c.n.streams.ensureSymbol(ctx, sc.Symbol); err != nil {
		c.log.Warn("create_symbol_streams_failed", slog.String("symbol", sc.Symbol), slog.Any("err", err))
		return
	}
	rec.HomeRegion = home
	rec.Actor, rec.Reason = c.actor(), ReasonPlacement
	if err := c.n.owners.Create(ctx, rec); err != nil && !errors.Is(err, ErrSymbolExists) {
		c.log.Warn("place_symbol_failed", slog.String("symbol", sc.Symbol), slog.Any("err", err))
		return
	}
	c.log.Info("symbol_placed", slog.String("symbol", sc.Symbol), slog.String("home", home))
}

// regionDown: gossip reports every node of r dead for the grace period, and the JetStream
// meta layer agrees that r's servers are offline.
func (c *controller) regionDown(r string) bool {
	if c.n.mesh.Region(r).State != mesh.RegionDown {
		return false
	}
	for name, offline := range c.n.MetaPeers() {
		if c.n.regionOfServer(name) == r && !offline {
			return false
		}
	}
	return true
}

// failover re-homes every symbol whose home region is down.
func (c *controller) failover(ctx context.Context) {
	var down []string
	for _, h := range c.n.mesh.Regions() {
		if h.Region != c.n.cfg.Region && c.regionDown(h.Region) {
			down = append(down, h.Region)
		}
	}
	if len(down) == 0 {
		return
	}
	for _, rec := range c.n.cache.all() {
		if !slices.Contains(down, rec.HomeRegion) {
			continue
		}
		from := rec.HomeRegion
		to := c.n.pickHome(ctx, rec.PreferredRegions, from)
		if to == "" {
			c.log.Error("failover_no_target", slog.String("symbol", rec.Symbol), slog.String("from", from))
			continue
		}
		settle := c.n.cfg.SettleWindow
		// The new owner appends the failover phase to the log once it has caught up (runner.
		// control); appending it here first would wait for the CMD_<S> leader election (4-9 s
		// after an abrupt loss) before the re-homing could even be recorded.
		next, err := c.n.owners.Update(ctx, rec.Symbol, Change{
			Action: proto.AuditAction_AUDIT_ACTION_FAILOVER, Actor: c.actor(), Reason: ReasonFailover,
			Mutate: func(r *proto.OwnershipRecord) error {
				if r.HomeRegion != from {
					return ErrNoChange // someone (a previous controller) moved it already
				}
				r.HomeRegion = to
				switch {
				case r.Phase == proto.Phase_PHASE_HALT:
					// an operator halted it: stays halted
				case r.FailoverPolicy == proto.FailoverPolicy_FAILOVER_POLICY_HALT:
					r.Phase, r.SettleUntilUnixNano = proto.Phase_PHASE_HALT, 0
				default:
					r.Phase = proto.Phase_PHASE_CANCEL_ONLY
					r.SettleUntilUnixNano = time.Now().Add(settle).UnixNano()
				}
				return nil
			},
		})
		if err != nil {
			if ctx.Err() != nil {
				return // the node is stopping
			}
			c.log.Error("failover_failed", slog.String("symbol", rec.Symbol), slog.Any("err", err))
			continue
		}
		c.n.cache.put(next)
		c.log.Warn("symbol_failed_over", slog.String("symbol", rec.Symbol), slog.String("from", from),
			slog.String("to", next.HomeRegion), slog.Uint64("epoch", next.Epoch), slog.String("phase", next.Phase.String()))
	}
}
