package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// symbol is what the gateway knows of one symbol: its ownership record (home, phase, spec) and
// its local replica.
type symbol struct {
	name string
	spec matcher.Spec
	book *book

	mu  sync.RWMutex
	rec *proto.OwnershipRecord

	// restart asks the follower to re-create its consumer (see stalled); lastKick (unix ns)
	// spaces those requests.
	restart  chan struct{}
	lastKick atomic.Int64
}

// stalled tells the follower that a reader has waited for the replica without it applying
// anything, so its consumer is re-created from the last applied sequence. A new consumer can
// stay silent without an error: its first pull request may reach the server before the
// consumer runs there, and is lost (seen for new symbols: replicas at 0 for 10-15 s while
// orders flowed). Missed heartbeats catch that in 4 s; a waiting reader catches it sooner.
// At most one request per second; a follower whose consumer delivered ignores it.
func (s *symbol) stalled() {
	now := time.Now().UnixNano()
	last := s.lastKick.Load()
	if now-last < int64(time.Second) || !s.lastKick.CompareAndSwap(last, now) {
		return
	}
	select {
	case s.restart <- struct{}{}:
	default:
	}
}

// followHeartbeat is the idle heartbeat of a replica's EVT_<S> consumer. Shorter ones make a
// loaded machine miss them and re-create consumers for nothing.
const followHeartbeat = 2 * time.Second

func (s *symbol) record() *proto.OwnershipRecord {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rec
}

// registry holds the symbols found in KV OWNERS and follows each one's EVT_<S>.
type registry struct {
	js        jetstream.JetStream
	log       *slog.Logger
	maxTrades int
	maxClosed int
	onBatch   func(*symbol, *proto.EventBatch) // called by the follower after the replica applied a batch

	mu      sync.RWMutex
	symbols map[string]*symbol
	ready   chan struct{}
	// readyOnce closes ready once the first values arrived (survives watch restarts).
	readyOnce func()

	wg sync.WaitGroup
}

func (r *registry) get(name string) *symbol {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.symbols[name]
}

// all returns the symbols sorted by name.
func (r *registry) all() []*symbol {
	r.mu.RLock()
	out := make([]*symbol, 0, len(r.symbols))
	for _, s := range r.symbols {
		out = append(out, s)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b *symbol) int {
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	return out
}

// watch follows KV OWNERS until ctx ends, starting a follower for each new symbol.
func (r *registry) watch(ctx context.Context, kv jetstream.KeyValue) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", client.BucketOwners, err)
	}
	defer func() { _ = w.Stop() }()
	readyOnce := r.readyOnce
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				readyOnce()
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				continue // a symbol is never forgotten: its orders stay queryable
			}
			rec, err := proto.DecodeOwnershipRecord(e.Value())
			if err != nil {
				r.log.Warn("bad_ownership_record", "key", e.Key(), "err", err)
				continue
			}
			r.update(ctx, rec)
		}
	}
}

func (r *registry) update(ctx context.Context, rec *proto.OwnershipRecord) {
	r.mu.Lock()
	s := r.symbols[rec.Symbol]
	if s != nil {
		r.mu.Unlock()
		s.mu.Lock()
		// Never back to an older epoch: a re-created watch whose consumer runs on a replica
		// that is behind (after a partition heals) first delivers what that replica has.
		if s.rec == nil || rec.GetEpoch() >= s.rec.GetEpoch() {
			s.rec = rec
		}
		s.mu.Unlock()
		return
	}
	spec, err := specFromProto(rec.Spec)
	if err != nil {
		r.mu.Unlock()
		r.log.Warn("bad_symbol_spec", "symbol", rec.Symbol, "err", err)
		return
	}
	s = &symbol{name: rec.Symbol, spec: spec, rec: rec, book: newBook(rec.Symbol, spec, r.maxTrades, r.maxClosed),
		restart: make(chan struct{}, 1)}
	r.symbols[rec.Symbol] = s
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.follow(ctx, s)
	}()
}

// follow applies EVT_<S> to the symbol's replica from the start (an ordered consumer: every
// region reads its own replica, reads never cross regions), re-creating the consumer on error.
func (r *registry) follow(ctx context.Context, s *symbol) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		before, _ := s.book.appliedSeq()
		err := r.followOnce(ctx, s)
		if ctx.Err() != nil {
			return
		}
		if after, _ := s.book.appliedSeq(); after > before {
			backoff = 50 * time.Millisecond // it made progress: not a persistent failure
		}
		r.log.Debug("follow_restart", "symbol", s.name, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (r *registry) followOnce(ctx context.Context, s *symbol) error {
	seq, _ := s.book.appliedSeq()
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if seq > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq+1
	}
	cons, err := r.js.OrderedConsumer(ctx, client.EvtStream(s.name), cfg)
	if err != nil {
		return err
	}
	// Missing heartbeats (2 s apart) make the ordered consumer re-create itself within 4 s.
	it, err := cons.Messages(jetstream.PullHeartbeat(followHeartbeat))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	// A reader's restart request (stalled) is for a consumer that never delivered anything: one
	// that did works, and the replica is behind because EVT_<S> is (an election after a failover;
	// re-creating consumers then only adds requests that wait for a leader).
	var restarted, delivered atomic.Bool
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-s.restart:
				if delivered.Load() {
					continue
				}
				restarted.Store(true)
				it.Stop()
				return
			case <-fctx.Done():
				return
			}
		}
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if restarted.Load() {
				return fmt.Errorf("no progress while a reader waited (applied %d): %w", seq, err)
			}
			return err
		}
		delivered.Store(true)
		b, err := proto.DecodeEventBatch(m.Data())
		if err != nil {
			r.log.Warn("bad_event_batch", "symbol", s.name, "err", err)
			continue
		}
		s.book.applyBatch(b)
		if r.onBatch != nil {
			r.onBatch(s, b)
		}
	}
}

// specFromProto converts a symbol spec (decimal strings) to a validated matcher.Spec. It mirrors
// region's conversion: empty optional limits mean none.
func specFromProto(ps *proto.SymbolSpec) (matcher.Spec, error) {
	if err := ps.Validate(); err != nil {
		return matcher.Spec{}, fmt.Errorf("convert symbol spec %q: %w", ps.GetSymbol(), err)
	}
	s := matcher.Spec{Symbol: ps.GetSymbol(), BaseAsset: ps.GetBaseAsset(), QuoteAsset: ps.GetQuoteAsset(),
		MaxNumOrders: int(ps.GetMaxNumOrders())}
	for _, f := range []struct {
		dst *decimal.Decimal
		src string
	}{
		{&s.TickSize, ps.GetTickSize()}, {&s.StepSize, ps.GetStepSize()},
		{&s.MinPrice, ps.GetMinPrice()}, {&s.MaxPrice, ps.GetMaxPrice()},
		{&s.MinQty, ps.GetMinQty()}, {&s.MaxQty, ps.GetMaxQty()},
		{&s.MinNotional, ps.GetMinNotional()}, {&s.MaxNotional, ps.GetMaxNotional()},
	} {
		if f.src == "" {
			continue
		}
		d, err := decimal.NewFromString(f.src)
		if err != nil {
			return matcher.Spec{}, fmt.Errorf("convert symbol spec %q: %q: %w", ps.GetSymbol(), f.src, proto.ErrInvalid)
		}
		*f.dst = d
	}
	if err := s.Validate(); err != nil {
		return matcher.Spec{}, fmt.Errorf("convert symbol spec: %w", err)
	}
	return s, nil
}

// symbolStatus maps a trading phase to the Binance symbol status of exchangeInfo.
func symbolStatus(p proto.Phase) string {
	switch p {
	case proto.Phase_PHASE_TRADING, proto.Phase_PHASE_POST_ONLY:
		return "TRADING" // POST_ONLY has no Binance status; makers can still trade
	case proto.Phase_PHASE_CANCEL_ONLY:
		return "CANCEL_ONLY"
	case proto.Phase_PHASE_HALT:
		return "HALT"
	default:
		return "BREAK"
	}
}
