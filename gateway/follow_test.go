package gateway

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/matcher"
	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// TestFollowerRestartsWhenStalled: a reader that waits for a replica whose consumer never
// delivered anything restarts the symbol's follower; once the consumer delivers, such requests
// are ignored (the log itself is behind). Either way the replica goes on from the last applied
// batch: nothing skipped, nothing applied twice.
func TestFollowerRestartsWhenStalled(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const sym = "BTCUSDT"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: client.EvtStream(sym),
		Subjects: []string{client.EvtSubject(sym)}}); err != nil {
		t.Fatal(err)
	}
	publish := func(seq uint64) {
		t.Helper()
		b, err := gproto.Marshal(&proto.EventBatch{SchemaVersion: proto.SchemaVersion, Symbol: sym, CmdSeq: seq,
			Events: []*proto.Event{depthUpd(seq, proto.Side_SIDE_BUY, 100+int64(seq), 1)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, client.EvtSubject(sym), b); err != nil {
			t.Fatal(err)
		}
	}
	logs := &restartLog{}
	var seen []uint64
	applied := make(chan uint64, 100)
	r := &registry{js: js, log: slog.New(logs), maxTrades: 10, maxClosed: 10,
		symbols: map[string]*symbol{}, onBatch: func(_ *symbol, b *proto.EventBatch) { applied <- b.CmdSeq }}
	spec := matcher.DefaultSpec()
	s := &symbol{name: sym, spec: spec, book: newBook(sym, spec, 10, 10), restart: make(chan struct{}, 1)}
	go r.follow(ctx, s)
	await := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("%s: not within the test's deadline (saw %v, %d restarts)", what, seen, logs.count())
			}
			time.Sleep(5 * time.Millisecond) // polling what the follower's goroutine changes
		}
	}
	take := func(want uint64) func() bool {
		return func() bool {
			for {
				select {
				case seq := <-applied:
					seen = append(seen, seq)
				default:
					return len(seen) > 0 && seen[len(seen)-1] >= want
				}
			}
		}
	}

	// Nothing delivered yet: a waiting reader's request restarts the follower.
	s.stalled()
	await("a restart of the silent follower", func() bool { return logs.count() == 1 })
	s.stalled() // within a second of the first: ignored
	for seq := uint64(1); seq <= 3; seq++ {
		publish(seq)
	}
	await("batches 1-3", take(3))
	// It delivers now: a request is taken and ignored.
	s.lastKick.Store(0)
	s.stalled()
	await("the request taken", func() bool { return len(s.restart) == 0 })
	for seq := uint64(4); seq <= 6; seq++ {
		publish(seq)
	}
	await("batches 4-6", take(6))
	if n := logs.count(); n != 1 {
		t.Errorf("%d restarts, want 1 (only while nothing was delivered)", n)
	}
	for i, seq := range seen {
		if seq != uint64(i+1) {
			t.Fatalf("onBatch saw %v, want 1..6 once each in order", seen)
		}
	}
	if got, _ := s.book.appliedSeq(); got != 6 {
		t.Fatalf("replica at %d, want 6", got)
	}
}

// restartLog is a slog handler counting the follower's restarts asked by a reader.
type restartLog struct {
	mu sync.Mutex
	n  int
}

func (l *restartLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *restartLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *restartLog) WithGroup(string) slog.Handler            { return l }
func (l *restartLog) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "follow_restart" {
		return nil
	}
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" && strings.Contains(a.Value.String(), "no progress while a reader waited") {
			l.mu.Lock()
			l.n++
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

func (l *restartLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// TestRegistryKeepsNewestEpoch: a record older than the one the registry has (a watch
// re-created on a replica that is behind) does not replace it.
func TestRegistryKeepsNewestEpoch(t *testing.T) {
	r := &registry{log: slog.New(slog.DiscardHandler), maxTrades: 10, maxClosed: 10, symbols: map[string]*symbol{}}
	spec := &proto.SymbolSpec{Symbol: "BTCUSDT", BaseAsset: "BTC", QuoteAsset: "USDT", TickSize: "0.01",
		StepSize: "0.00001", MinPrice: "0.01", MaxPrice: "1000000", MinQty: "0.00001", MaxQty: "9000", MaxNumOrders: 200}
	rec := func(epoch uint64, phase proto.Phase) *proto.OwnershipRecord {
		return &proto.OwnershipRecord{SchemaVersion: proto.SchemaVersion, Symbol: "BTCUSDT", HomeRegion: "eu-west",
			Epoch: epoch, Phase: phase, Spec: spec}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no follower is needed: only the record is under test
	steps := []struct {
		in   *proto.OwnershipRecord
		want uint64
	}{
		{rec(4, proto.Phase_PHASE_CANCEL_ONLY), 4},
		{rec(5, proto.Phase_PHASE_TRADING), 5},
		{rec(4, proto.Phase_PHASE_CANCEL_ONLY), 5},
		{rec(5, proto.Phase_PHASE_TRADING), 5},
		{rec(6, proto.Phase_PHASE_HALT), 6},
	}
	for i, st := range steps {
		r.update(ctx, st.in)
		s := r.get("BTCUSDT")
		if s == nil {
			t.Fatalf("step %d: symbol not registered", i)
		}
		if got := s.record().GetEpoch(); got != st.want {
			t.Fatalf("step %d: record at epoch %d, want %d", i, got, st.want)
		}
	}
	r.wg.Wait()
}
