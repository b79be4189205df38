package status

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/region/client"
)

// Key prefixes of the STATUS bucket.
const (
	prefixRegion      = "region."
	prefixIncident    = "incident."
	prefixMaintenance = "maintenance."
	prefixDelivery    = "delivery."
	prefixOpen        = "open."
)

// RegionKey is the key of region r's component record.
func RegionKey(r string) string { return prefixRegion + r }

// DeliveryKey is the key of a webhook delivery.
func DeliveryKey(id string) string { return prefixDelivery + id }

// OpenKey is the key of the pointer to region r's open failover incident: it is created with a
// compare-and-swap, so two controllers (one stale) can never open two incidents for one outage.
func OpenKey(r string) string { return prefixOpen + r }

// Store reads and writes the STATUS bucket.
type Store struct {
	KV jetstream.KeyValue
}

// Open opens the STATUS bucket through js.
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	kv, err := js.KeyValue(ctx, client.BucketStatus)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", client.BucketStatus, err)
	}
	return &Store{KV: kv}, nil
}

// Get reads key into v (a *RegionRecord, *Incident or *Delivery) and returns its revision.
// A missing key is ErrNotFound.
func (s *Store) Get(ctx context.Context, key string, v any) (uint64, error) {
	e, err := s.KV.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	if err := Decode(e.Value(), v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return e.Revision(), nil
}

// Create stores v under key only if key does not exist; an existing key is
// jetstream.ErrKeyExists (the caller lost a race, or repeats itself). A write the cluster could
// not take (a bucket leader election) is retried for up to writeRetry; when an earlier attempt
// may have been stored, an existing key holding exactly v counts as ours.
func (s *Store) Create(ctx context.Context, key string, v any) (uint64, error) {
	b, err := Encode(v)
	if err != nil {
		return 0, err
	}
	var rev uint64
	maybeStored := false
	err = retryTransient(ctx, func(ctx context.Context) error {
		var err error
		rev, err = s.KV.Create(ctx, key, b)
		if errors.Is(err, jetstream.ErrKeyExists) && maybeStored {
			if e, gerr := s.KV.Get(ctx, key); gerr == nil && bytes.Equal(e.Value(), b) {
				rev, err = e.Revision(), nil
			}
		}
		if transient(err) {
			maybeStored = true
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, err)
	}
	return rev, nil
}

// Put stores v under key unconditionally (retrying a write the cluster could not take).
func (s *Store) Put(ctx context.Context, key string, v any) error {
	b, err := Encode(v)
	if err != nil {
		return err
	}
	err = retryTransient(ctx, func(ctx context.Context) error {
		_, err := s.KV.Put(ctx, key, b)
		return err
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// writeRetry bounds the retries of a write that failed because the bucket had no leader.
const writeRetry = 5 * time.Second

// transient: the bucket could not answer (no leader yet, a request lost in an election).
func transient(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrTimeout)
}

// retryTransient runs f until it succeeds, fails otherwise than transiently, or writeRetry or
// ctx ends.
func retryTransient(ctx context.Context, f func(context.Context) error) error {
	deadline := time.Now().Add(writeRetry)
	for attempt := 0; ; attempt++ {
		err := f(ctx)
		if !transient(err) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		if !pause(ctx, time.Duration(min(attempt+1, 10))*50*time.Millisecond) {
			return err
		}
	}
}

// ErrNoChange, returned by a Modify mutation, leaves the record as it is.
var ErrNoChange = errors.New("status: no change")

// Modify reads key, applies mutate and writes it back by compare-and-swap, retrying on
// conflicts. It returns the record as stored (unchanged when mutate returned ErrNoChange).
//
// KV reads are direct gets that any replica answers, so a record written a moment ago may be
// missing or older on the replica asked: a missing key is read again a few times, and a lost
// compare-and-swap waits a little before reading again.
func Modify[T any](ctx context.Context, s *Store, key string, mutate func(*T) error) (*T, error) {
	v, _, err := modify(ctx, s, key, mutate)
	return v, err
}

func modify[T any](ctx context.Context, s *Store, key string, mutate func(*T) error) (*T, uint64, error) {
	missing := 0
	for attempt := 0; attempt < 10; attempt++ {
		if attempt > 0 && !pause(ctx, time.Duration(attempt)*20*time.Millisecond) {
			return nil, 0, ctx.Err()
		}
		v := new(T)
		rev, err := s.Get(ctx, key, v)
		if errors.Is(err, ErrNotFound) && missing < 3 {
			missing++
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if err := mutate(v); errors.Is(err, ErrNoChange) {
			return v, rev, nil
		} else if err != nil {
			return nil, 0, err
		}
		b, err := Encode(v)
		if err != nil {
			return nil, 0, err
		}
		var next uint64
		err = retryTransient(ctx, func(ctx context.Context) error {
			var err error
			next, err = s.KV.Update(ctx, key, b, rev)
			return err
		})
		if err == nil {
			return v, next, nil
		}
		if !isConflict(err) {
			return nil, 0, fmt.Errorf("update %s: %w", key, err)
		}
	}
	return nil, 0, fmt.Errorf("update %s: %w", key, ErrConflict)
}

// pause waits d, or until ctx ends (then false).
var pause = client.SleepCtx

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists) || strings.Contains(err.Error(), "wrong last sequence")
}

// Cache keeps the current Snapshot of the bucket from a watch and tells subscribers about
// changes. The zero value is not usable: use NewCache.
type Cache struct {
	log *slog.Logger

	mu      sync.RWMutex
	entries map[string]decoded // by key
	snap    *Snapshot
	subs    map[chan struct{}]struct{}
	ready   chan struct{}
	once    sync.Once
}

// NewCache returns an empty cache; log (nil = discard) receives undecodable records.
func NewCache(log *slog.Logger) *Cache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{log: log, entries: map[string]decoded{}, snap: &Snapshot{},
		subs: map[chan struct{}]struct{}{}, ready: make(chan struct{})}
}

// Ready is closed once the first watch delivered the bucket's current content.
func (c *Cache) Ready() <-chan struct{} { return c.ready }

// Snapshot is the current content (never nil; do not modify it).
func (c *Cache) Snapshot() *Snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.snap
}

// Subscribe returns a channel that receives a value after every change (coalesced: a slow
// reader sees one signal for several changes) and a function that ends the subscription.
func (c *Cache) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	c.subs[ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		delete(c.subs, ch)
		c.mu.Unlock()
	}
}

// stallCheck is how often Watch compares the stream's last sequence with what it received.
const stallCheck = 300 * time.Millisecond

// Watch follows the bucket through js until ctx ends or the watch fails; call it again to
// resume (the cache reloads the whole bucket from the new watch).
//
// A watch is an ordered consumer: when the bucket's stream leader is lost with a region, it
// notices only after missed heartbeats (about 10 s), and re-creating it right after a leader
// election can wait seconds more. So every 300 ms Watch reads the stream's last sequence, and
// when a sequence that existed at the previous check has still not arrived it reads the missing
// ones itself with direct gets, which any replica answers (the watch's late copies are ignored:
// an entry never goes back to an older revision). If that fails too it ends with ErrStalled.
func (c *Cache) Watch(ctx context.Context, js jetstream.JetStream) error {
	kv, err := js.KeyValue(ctx, client.BucketStatus)
	if err != nil {
		return fmt.Errorf("open bucket %s: %w", client.BucketStatus, err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", client.BucketStatus, err)
	}
	defer func() { _ = w.Stop() }()
	initial := map[string]decoded{}
	loading := true
	tick := time.NewTicker(stallCheck)
	defer tick.Stop()
	var received, existed uint64
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if !loading && existed > received {
				if err := c.catchUp(ctx, js, received, existed); err != nil {
					return fmt.Errorf("%w: received revision %d, the stream had %d at the previous check: %v", ErrStalled, received, existed, err)
				}
				received = existed
			}
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			if st, err := kv.Status(sctx); err == nil {
				if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok && bs.StreamInfo() != nil {
					existed = bs.StreamInfo().State.LastSeq
				}
			}
			cancel()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch closed")
			}
			if e == nil {
				loading = false
				c.replace(initial)
				continue
			}
			received = max(received, e.Revision())
			deleted := e.Operation() != jetstream.KeyValuePut
			if loading {
				if deleted {
					delete(initial, e.Key())
				} else {
					initial[e.Key()] = c.decode(e.Key(), e.Revision(), e.Value())
				}
				continue
			}
			c.apply(e.Key(), e.Revision(), e.Value(), deleted)
		}
	}
}

// catchUp reads stream sequences from+1..to with direct gets and applies them.
func (c *Cache) catchUp(ctx context.Context, js jetstream.JetStream, from, to uint64) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, "KV_"+client.BucketStatus)
	if err != nil {
		return err
	}
	prefix := "$KV." + client.BucketStatus + "."
	for seq := from + 1; seq <= to; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // superseded (history 1) or removed
		}
		if err != nil {
			return err
		}
		key, ok := strings.CutPrefix(m.Subject, prefix)
		if !ok {
			continue
		}
		c.apply(key, seq, m.Data, m.Header.Get("KV-Operation") != "")
	}
	return nil
}

func (c *Cache) replace(entries map[string]decoded) {
	c.mu.Lock()
	c.entries = entries
	c.rebuildLocked()
	c.mu.Unlock()
	c.once.Do(func() { close(c.ready) })
	c.notify()
}

// apply records one change of key at revision rev, unless the cache already has a newer one.
func (c *Cache) apply(key string, rev uint64, value []byte, deleted bool) {
	d := decoded{rev: rev, deleted: deleted}
	if !deleted {
		d = c.decode(key, rev, value)
	}
	c.mu.Lock()
	if cur, ok := c.entries[key]; ok && cur.rev >= rev {
		c.mu.Unlock()
		return
	}
	c.entries[key] = d
	c.rebuildLocked()
	c.mu.Unlock()
	c.notify()
}

func (c *Cache) notify() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// decoded is one entry of the bucket, decoded once when it arrives (deleted: a tombstone that
// keeps the revision of the delete).
type decoded struct {
	rev      uint64
	deleted  bool
	region   *RegionRecord
	incident *Incident
	delivery *Delivery
}

func (c *Cache) decode(key string, rev uint64, value []byte) decoded {
	d := decoded{rev: rev}
	var err error
	switch {
	case strings.HasPrefix(key, prefixRegion):
		r := &RegionRecord{}
		if err = Decode(value, r); err == nil {
			d.region = r
		}
	case strings.HasPrefix(key, prefixIncident), strings.HasPrefix(key, prefixMaintenance):
		in := &Incident{}
		if err = Decode(value, in); err == nil {
			d.incident = in
		}
	case strings.HasPrefix(key, prefixDelivery):
		dl := &Delivery{}
		if err = Decode(value, dl); err == nil {
			d.delivery = dl
		}
	}
	if err != nil {
		c.log.Warn("status_record_unreadable", slog.String("key", key), slog.Any("err", err))
	}
	return d
}

// rebuildLocked makes a new snapshot from the decoded entries.
func (c *Cache) rebuildLocked() {
	s := &Snapshot{}
	for _, d := range c.entries {
		s.Revision = max(s.Revision, d.rev)
		switch {
		case d.region != nil:
			s.Regions = append(s.Regions, d.region)
		case d.incident != nil && d.incident.Kind == KindMaintenance:
			s.Maintenances = append(s.Maintenances, d.incident)
		case d.incident != nil:
			s.Incidents = append(s.Incidents, d.incident)
		case d.delivery != nil:
			s.Deliveries = append(s.Deliveries, d.delivery)
		}
	}
	s.sort()
	c.snap = s
}
