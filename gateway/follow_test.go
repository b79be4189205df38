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
