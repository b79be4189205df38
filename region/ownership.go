package region

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// Ownership is the OWNERS bucket: one record per symbol (home region, epoch, phase, preferences,
// failover policy). Records change only by compare-and-swap on the KV revision; every change
// increments the epoch and appends an AuditEntry to AUDIT (subject audit.<symbol>).
type Ownership struct {
	metrics *nodeMetrics // nil: not counted
	log     *slog.Logger
	js      jetstream.JetStream
	kv      jetstream.KeyValue
	now     func() time.Time
}

func newOwnership(ctx context.Context, js jetstream.JetStream, now func() time.Time) (*Ownership, error) {
	kv, err := js.KeyValue(ctx, client.BucketOwners)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", client.BucketOwners, err)
	}
	return &Ownership{js: js, kv: kv, now: now}, nil
}

// Get returns the record of symbol and its KV revision. ErrUnknownSymbol when there is none;
// a record of an unknown schema version is refused (proto.ErrUnknownSchemaVersion).
func (o *Ownership) Get(ctx context.Context, symbol string) (*proto.OwnershipRecord, uint64, error) {
	e, err := o.kv.Get(ctx, symbol)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("%w: %s", ErrUnknownSymbol, symbol)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get ownership of %s: %w", symbol, err)
	}
	rec, err := proto.DecodeOwnershipRecord(e.Value())
	if err != nil {
		return nil, 0, fmt.Errorf("ownership of %s: %w", symbol, err)
	}
	return rec, e.Revision(), nil
}

// List returns every record, sorted by symbol. Undecodable records are reported, not skipped.
func (o *Ownership) List(ctx context.Context) ([]*proto.OwnershipRecord, error) {
	keys, err := o.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list symbols: %w", err)
	}
	var out []*proto.OwnershipRecord
	for k := range keys.Keys() {
		rec, _, err := o.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, bySymbol)
	return out, nil
}

// Create stores the first record of a symbol (epoch 1). ErrSymbolExists when it has one.
func (o *Ownership) Create(ctx context.Context, rec *proto.OwnershipRecord) error {
	rec = gproto.Clone(rec).(*proto.OwnershipRecord)
	rec.SchemaVersion = proto.SchemaVersion
	rec.Epoch = 1
	rec.UpdatedUnixNano = o.now().UnixNano()
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("create %s: %w", rec.Symbol, err)
	}
	b, err := gproto.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := o.kv.Create(ctx, rec.Symbol, b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("%w: %s", ErrSymbolExists, rec.Symbol)
		}
		return fmt.Errorf("create %s: %w", rec.Symbol, err)
	}
	o.audit(ctx, &proto.AuditEntry{
		Action: proto.AuditAction_AUDIT_ACTION_CREATE, Symbol: rec.Symbol, Actor: rec.Actor,
		Reason: rec.Reason, NewHome: rec.HomeRegion, NewEpoch: 1, NewPhase: rec.Phase,
	})
	return nil
}

// Change describes one ownership change for Update.
type Change struct {
	Action proto.AuditAction
	Actor  string
	Reason string
	PlanID string
	// Mutate edits the record; returning ErrNoChange leaves it as it is (no epoch bump, no audit).
	Mutate func(rec *proto.OwnershipRecord) error
}

// ErrNoChange, returned by a Change's Mutate, means the record already is as wanted.
var ErrNoChange = errors.New("region: no change")

// Update applies ch to symbol's record by compare-and-swap, re-reading and retrying on a
// conflicting write. The epoch increments on every change. It returns the stored record.
func (o *Ownership) Update(ctx context.Context, symbol string, ch Change) (*proto.OwnershipRecord, error) {
	for attempt := 0; ; attempt++ {
		cur, rev, err := o.Get(ctx, symbol)
		if err != nil {
			return nil, err
		}
		next := gproto.Clone(cur).(*proto.OwnershipRecord)
		if err := ch.Mutate(next); err != nil {
			if errors.Is(err, ErrNoChange) {
				return cur, nil
			}
			return nil, fmt.Errorf("update %s: %w", symbol, err)
		}
		next.SchemaVersion = proto.SchemaVersion
		next.Epoch = cur.Epoch + 1
		next.Actor, next.Reason = ch.Actor, ch.Reason
		next.UpdatedUnixNano = o.now().UnixNano()
		if err := next.Validate(); err != nil {
			return nil, fmt.Errorf("update %s: %w", symbol, err)
		}
		b, err := gproto.Marshal(next)
		if err != nil {
			return nil, err
		}
		_, err = o.kv.Update(ctx, symbol, b, rev)
		if err == nil {
			o.metrics.observeChange(cur, next, ch)
			o.audit(ctx, &proto.AuditEntry{
				Action: ch.Action, Symbol: symbol, Actor: ch.Actor, Reason: ch.Reason, PlanId: ch.PlanID,
				OldHome: cur.HomeRegion, NewHome: next.HomeRegion, OldEpoch: cur.Epoch, NewEpoch: next.Epoch,
				OldPhase: cur.Phase, NewPhase: next.Phase,
			})
			return next, nil
		}
		// A stale revision (10071) or a write racing ours (10164, sometimes spurious right after
		// our own write: engine-facts gotcha 2): re-read and try again.
		if !errors.Is(err, jetstream.ErrKeyExists) && !isCASConflict(err) {
			if cur.HomeRegion != next.HomeRegion {
				o.metrics.observeFailedMove(ch)
			}
			return nil, fmt.Errorf("update %s: %w", symbol, err)
		}
		if attempt >= 20 {
			if cur.HomeRegion != next.HomeRegion {
				o.metrics.observeFailedMove(ch)
			}
			return nil, fmt.Errorf("update %s: %w", symbol, ErrConflict)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
}

func isCASConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == 10071 || apiErr.ErrorCode == 10164
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// audit appends e to AUDIT (the message id makes a retried append idempotent) and publishes it
// on status.audit.<key> for the status and notification features. The ownership change has
// already happened when this runs, so a failure is logged, not returned.
func (o *Ownership) audit(ctx context.Context, e *proto.AuditEntry) {
	e.SchemaVersion = proto.SchemaVersion
	e.TimeUnixNano = o.now().UnixNano()
	b, err := gproto.Marshal(e)
	if err != nil {
		return
	}
	id := "audit-" + e.Symbol + "-" + strconv.FormatUint(e.NewEpoch, 10) + "-" + e.Region + "-" + e.Action.String()
	err = withRetry(ctx, "append audit", func(ctx context.Context) error {
		_, err := o.js.Publish(ctx, "audit."+auditKey(e), b, jetstream.WithMsgID(id))
		return err
	})
	if err != nil && o.log != nil {
		o.log.Error("audit_append_failed", slog.String("symbol", e.Symbol), slog.Any("err", err))
	}
	_ = o.js.Conn().Publish("status.audit."+auditKey(e), b)
}

func auditKey(e *proto.AuditEntry) string {
	if e.Symbol != "" {
		return e.Symbol
	}
	return "region." + e.Region
}

// History returns the audit entries of symbol, oldest first (at most limit, the newest ones).
func (o *Ownership) History(ctx context.Context, symbol string, limit int) ([]*proto.AuditEntry, error) {
	subject := "audit." + symbol
	// How many entries there are, from the stream's leader (which answers stream info): an
	// empty first fetch does not prove there are none. A fresh consumer's first pull request
	// can be lost before the consumer runs on its server, and right after the region that led
	// AUDIT was lost the fetch came back empty (meshctl history showed nothing).
	st, err := o.js.Stream(ctx, client.StreamAudit)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	want := int(info.State.Subjects[subject])
	cons, err := o.js.OrderedConsumer(ctx, client.StreamAudit, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
	})
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	var out []*proto.AuditEntry
	for empty := 0; len(out) < want; {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("read audit: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			e, err := proto.DecodeAuditEntry(msg.Data())
			if err != nil {
				return nil, fmt.Errorf("audit entry: %w", err)
			}
			out = append(out, e)
		}
		if n > 0 {
			empty = 0
			continue
		}
		if empty++; empty == 10 || ctx.Err() != nil {
			return nil, fmt.Errorf("read audit: %d of the %d entries of %s arrived", len(out), want, symbol)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func bySymbol(a, b *proto.OwnershipRecord) int { return strings.Compare(a.Symbol, b.Symbol) }

// ownerCache is a node's view of OWNERS, kept by a KV watch. Reads are local and may lag the
// bucket by a moment; fencing never relies on them (engine-facts gotcha 3).
type ownerCache struct {
	mu      sync.RWMutex
	records map[string]*proto.OwnershipRecord
	changed chan struct{} // signalled (non-blocking) on every change
	synced  atomic.Bool   // the cache has the bucket's revision its leader reported (see watch)
	resyncs atomic.Uint64 // bumped by resync: the watch checks the leader's revision again
}

// resync marks the cache as not synced until the watch has delivered the revision the bucket's
// leader reports now (after this node regained quorum).
func (c *ownerCache) resync() {
	c.mu.Lock()
	c.resyncs.Add(1)
	c.synced.Store(false)
	c.mu.Unlock()
}

// markSynced sets synced unless a resync came after generation gen.
func (c *ownerCache) markSynced(gen uint64) {
	c.mu.Lock()
	if c.resyncs.Load() == gen {
		c.synced.Store(true)
	}
	c.mu.Unlock()
	c.signal()
}

func newOwnerCache() *ownerCache {
	return &ownerCache{records: map[string]*proto.OwnershipRecord{}, changed: make(chan struct{}, 1)}
}

func (c *ownerCache) put(rec *proto.OwnershipRecord) {
	c.mu.Lock()
	old := c.records[rec.Symbol]
	if old == nil || rec.Epoch >= old.Epoch {
		c.records[rec.Symbol] = rec
	}
	c.mu.Unlock()
	c.signal()
}

func (c *ownerCache) remove(symbol string) {
	c.mu.Lock()
	delete(c.records, symbol)
	c.mu.Unlock()
	c.signal()
}

func (c *ownerCache) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *ownerCache) get(symbol string) *proto.OwnershipRecord {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.records[symbol]
}

// all returns the records sorted by symbol.
func (c *ownerCache) all() []*proto.OwnershipRecord {
	c.mu.RLock()
	out := make([]*proto.OwnershipRecord, 0, len(c.records))
	for _, r := range c.records {
		out = append(out, r)
	}
	c.mu.RUnlock()
	slices.SortFunc(out, bySymbol)
	return out
}

// watch keeps the cache in step with OWNERS until ctx ends, re-establishing the watch when it
// breaks (a partition, a leader change).
//
// The cache counts as synced once the watch delivered the bucket's revision that its stream
// leader reports as the last: the watch's consumer may run on this node's own replica, which
// after a restart is behind for a moment and first delivers, and marks as current, what the
// node remembers (a restarted old owner then saw itself as the home and started a matcher at
// its old epoch, to be fenced only later).
func (c *ownerCache) watch(ctx context.Context, kv jetstream.KeyValue, onErr func(error)) {
	for ctx.Err() == nil {
		w, err := kv.WatchAll(ctx)
		if err != nil {
			onErr(err)
			if !sleepCtx(ctx, 250*time.Millisecond) {
				return
			}
			continue
		}
		c.follow(ctx, kv, w, onErr)
		_ = w.Stop()
	}
}

// follow applies w's updates until it ends; see watch for when the cache becomes synced.
func (c *ownerCache) follow(ctx context.Context, kv jetstream.KeyValue, w jetstream.KeyWatcher, onErr func(error)) {
	var seen, want uint64 // newest revision delivered; the leader's last
	initial, known := false, false
	gen := c.resyncs.Load()
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case upd, ok := <-w.Updates():
			if !ok {
				return
			}
			if upd == nil {
				initial = true // the values this consumer had when it started
				break
			}
			seen = max(seen, upd.Revision())
			switch upd.Operation() {
			case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
				c.remove(upd.Key())
			default:
				rec, err := proto.DecodeOwnershipRecord(upd.Value())
				if err != nil {
					onErr(fmt.Errorf("ownership of %s: %w", upd.Key(), err))
					continue
				}
				c.put(rec)
			}
		case <-check.C:
		}
		if g := c.resyncs.Load(); g != gen {
			gen, known = g, false // ask the leader again
		}
		if !initial || c.synced.Load() {
			continue
		}
		if !known {
			last, err := leaderLastRevision(ctx, kv)
			if err != nil {
				onErr(fmt.Errorf("last revision of OWNERS: %w", err))
				continue // the ticker asks again
			}
			want, known = last, true
		}
		if seen >= want {
			c.markSynced(gen)
		}
	}
}

// leaderLastRevision is the bucket's last revision as its stream leader (which answers stream
// info requests) reports it.
func leaderLastRevision(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, err
	}
	js, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return 0, fmt.Errorf("bucket status %T has no stream info", st)
	}
	return js.StreamInfo().State.LastSeq, nil
}

// sleepCtx waits d, or until ctx ends (then false).
var sleepCtx = client.SleepCtx
