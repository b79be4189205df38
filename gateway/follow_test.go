package gateway

import (
	"context"
	"log/slog"
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

// TestFollowerRestartsWhenStalled: a reader that waits for a replica which applies nothing
// restarts the symbol's follower, which goes on from the last applied batch: nothing is
// skipped, nothing applied twice (the replica ignores repeats, and its sequence only grows).
// Asking twice within a second restarts it once.
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
	var seen []uint64
	applied := make(chan uint64, 100)
	r := &registry{js: js, log: slog.New(slog.DiscardHandler), maxTrades: 10, maxClosed: 10,
		symbols: map[string]*symbol{}, onBatch: func(_ *symbol, b *proto.EventBatch) { applied <- b.CmdSeq }}
	spec := matcher.DefaultSpec()
	s := &symbol{name: sym, spec: spec, book: newBook(sym, spec, 10, 10), restart: make(chan struct{}, 1)}
	go r.follow(ctx, s)
	await := func(want uint64) {
		t.Helper()
		for {
			select {
			case seq := <-applied:
				seen = append(seen, seq)
				if seq == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("replica did not reach %d (saw %v)", want, seen)
			}
		}
	}
	for seq := uint64(1); seq <= 3; seq++ {
		publish(seq)
	}
	await(3)
	s.stalled()
	s.stalled() // within a second of the first: no second restart queued
	if n := len(s.restart); n > 1 {
		t.Fatalf("%d restarts queued", n)
	}
	// The restart happens (the follower takes the request), then it goes on from 4.
	for deadline := time.Now().Add(10 * time.Second); len(s.restart) > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the follower never took the restart request")
		}
		time.Sleep(5 * time.Millisecond) // polling a channel the follower drains
	}
	for seq := uint64(4); seq <= 6; seq++ {
		publish(seq)
	}
	await(6)
	for i, seq := range seen {
		if seq != uint64(i+1) {
			t.Fatalf("onBatch saw %v, want 1..6 once each in order", seen)
		}
	}
	if got, _ := s.book.appliedSeq(); got != 6 {
		t.Fatalf("replica at %d, want 6", got)
	}
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
