package region

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// Snapshots live in object store SNAPSHOTS under the symbol's name; a put replaces the previous
// one, so the store holds the newest snapshot of every symbol. CMD_<S> from LastCmdSeq+1 on is
// what a new owner replays on top of it.

// snapshotFormat reads the matcher's format version from its encoding ("GMBK" + version byte).
func snapshotFormat(state []byte) uint32 {
	if len(state) < 5 {
		return 0
	}
	return uint32(state[4])
}

func saveSnapshot(ctx context.Context, js jetstream.JetStream, env *proto.SnapshotEnvelope) error {
	obs, err := js.ObjectStore(ctx, client.ObjectSnapshots)
	if err != nil {
		return fmt.Errorf("open %s: %w", client.ObjectSnapshots, err)
	}
	b, err := gproto.Marshal(env)
	if err != nil {
		return err
	}
	_, err = obs.Put(ctx, jetstream.ObjectMeta{Name: env.Symbol}, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("put snapshot of %s at %d: %w", env.Symbol, env.LastCmdSeq, err)
	}
	return nil
}

// loadSnapshot returns the newest snapshot of symbol, nil when it has none. A snapshot that does
// not decode or whose checksum fails is an error, never a silent empty book.
func loadSnapshot(ctx context.Context, js jetstream.JetStream, symbol string) (*proto.SnapshotEnvelope, error) {
	var env *proto.SnapshotEnvelope
	err := withRetry(ctx, "get snapshot of "+symbol, func(ctx context.Context) error {
		var err error
		env, err = loadSnapshotOnce(ctx, js, symbol)
		return err
	})
	return env, err
}

// loadSnapshotOnce is one attempt of loadSnapshot.
func loadSnapshotOnce(ctx context.Context, js jetstream.JetStream, symbol string) (*proto.SnapshotEnvelope, error) {
	obs, err := js.ObjectStore(ctx, client.ObjectSnapshots)
	if err != nil {
		return nil, err
	}
	b, err := obs.GetBytes(ctx, symbol)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	env, err := proto.DecodeSnapshotEnvelope(b)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", symbol, err)
	}
	if env.Symbol != symbol {
		return nil, fmt.Errorf("snapshot of %s holds %s", symbol, env.Symbol)
	}
	return env, nil
}
