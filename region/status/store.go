package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

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
// jetstream.ErrKeyExists (the caller lost a race, or repeats itself).
func (s *Store) Create(ctx context.Context, key string, v any) (uint64, error) {
	b, err := Encode(v)
	if err != nil {
		return 0, err
	}
	rev, err := s.KV.Create(ctx, key, b)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", key, err)
	}
	return rev, nil
}

// Put stores v under key unconditionally.
func (s *Store) Put(ctx context.Context, key string, v any) error {
	b, err := Encode(v)
	if err != nil {
		return err
	}
	if _, err := s.KV.Put(ctx, key, b); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// ErrNoChange, returned by a Modify mutation, leaves the record as it is.
var ErrNoChange = errors.New("status: no change")

// Modify reads key, applies mutate and writes it back by compare-and-swap, retrying on
// conflicts. It returns the record as stored (unchanged when mutate returned ErrNoChange).
func Modify[T any](ctx context.Context, s *Store, key string, mutate func(*T) error) (*T, error) {
	for attempt := 0; attempt < 10; attempt++ {
		v := new(T)
		rev, err := s.Get(ctx, key, v)
		if err != nil {
			return nil, err
		}
		if err := mutate(v); errors.Is(err, ErrNoChange) {
			return v, nil
		} else if err != nil {
			return nil, err
		}
		b, err := Encode(v)
		if err != nil {
			return nil, err
		}
		_, err = s.KV.Update(ctx, key, b, rev)
		if err == nil {
			return v, nil
		}
		if !isConflict(err) {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
	}
	return nil, fmt.Errorf("update %s: %w", key, ErrConflict)
}

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

// Watch follows kv until ctx ends or the watch fails; call it again to resume (the cache
// reloads the whole bucket from the new watch).
func (c *Cache) Watch(ctx context.Context, kv jetstream.KeyValue) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", client.BucketStatus, err)
	}
	defer func() { _ = w.Stop() }()
	initial := map[string]decoded{}
	loading := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch closed")
			}
			if e == nil {
				loading = false
				c.replace(initial)
				continue
			}
			if loading {
				if e.Operation() == jetstream.KeyValuePut {
					initial[e.Key()] = c.decode(e)
				} else {
					delete(initial, e.Key())
				}
				continue
			}
			c.apply(e)
		}
	}
}

func (c *Cache) replace(entries map[string]decoded) {
	c.mu.Lock()
	c.entries = entries
	c.rebuildLocked()
	c.mu.Unlock()
	c.once.Do(func() { close(c.ready) })
	c.notify()
}

func (c *Cache) apply(e jetstream.KeyValueEntry) {
	var d decoded
	if e.Operation() == jetstream.KeyValuePut {
		d = c.decode(e)
	}
	c.mu.Lock()
	if e.Operation() == jetstream.KeyValuePut {
		c.entries[e.Key()] = d
	} else {
		delete(c.entries, e.Key())
	}
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

// decoded is one entry of the bucket, decoded once when it arrives.
type decoded struct {
	rev      uint64
	region   *RegionRecord
	incident *Incident
	delivery *Delivery
}

func (c *Cache) decode(e jetstream.KeyValueEntry) decoded {
	d := decoded{rev: e.Revision()}
	key := e.Key()
	var err error
	switch {
	case strings.HasPrefix(key, prefixRegion):
		r := &RegionRecord{}
		if err = Decode(e.Value(), r); err == nil {
			d.region = r
		}
	case strings.HasPrefix(key, prefixIncident), strings.HasPrefix(key, prefixMaintenance):
		in := &Incident{}
		if err = Decode(e.Value(), in); err == nil {
			d.incident = in
		}
	case strings.HasPrefix(key, prefixDelivery):
		dl := &Delivery{}
		if err = Decode(e.Value(), dl); err == nil {
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
