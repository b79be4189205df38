package region

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/region/client"
)

// apiTimeout bounds one JetStream API lookup. withRetry starts creates with firstAttempt and
// doubles up to apiTimeout: a request sent right after a meta election is sometimes never
// answered (engine-facts, gotcha 1), so the first attempts must be short, while a create of an
// R3 stream on a busy 2-core machine can legitimately take seconds.
const (
	apiTimeout   = 10 * time.Second
	firstAttempt = time.Second
)

// retryable reports whether err is one of the transient errors of a forming or re-electing
// cluster: no responders, timeouts, "no suitable peers for placement" (10005) and friends.
func retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10005, // no suitable peers for placement / no replacement peer
			10008, // jetstream cluster not available / not current
			10023: // insufficient resources (can be transient while peers join)
			return true
		}
		if apiErr.Code == 503 {
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "no suitable peers") || strings.Contains(msg, "not current") ||
		strings.Contains(msg, "no responders")
}

// withRetry runs op with a short per-attempt timeout until it succeeds, fails permanently, or
// ctx ends.
func withRetry(ctx context.Context, what string, op func(ctx context.Context) error) error {
	backoff := 25 * time.Millisecond
	attempt := firstAttempt
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		attempt = min(2*attempt, apiTimeout)
		err := op(actx)
		cancel()
		if err == nil {
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(backoff):
		}
		if backoff < 500*time.Millisecond {
			backoff *= 2
		}
	}
}

// streamSet creates the mesh-wide streams and buckets and the per-symbol streams, idempotently.
type streamSet struct {
	js              jetstream.JetStream
	replicas        int
	duplicateWindow time.Duration
}

// missingShared lists the shared streams (buckets are streams KV_<B> and OBJ_<B>) that do not
// exist yet.
func (s *streamSet) missingShared(ctx context.Context) ([]string, error) {
	actx, cancel := context.WithTimeout(ctx, firstAttempt)
	defer cancel()
	have := map[string]bool{}
	names := s.js.StreamNames(actx)
	for name := range names.Name() {
		have[name] = true
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	var missing []string
	for _, name := range sharedStreams() {
		if !have[name] {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

func sharedStreams() []string {
	return []string{"KV_" + client.BucketOwners, "KV_" + client.BucketControl, "KV_" + client.BucketPlans,
		"KV_" + client.BucketAccounts, "KV_" + client.BucketStatus, "OBJ_" + client.ObjectSnapshots, client.StreamAudit}
}

// ensureShared creates KV buckets OWNERS, CONTROL, PLANS, ACCOUNTS, object store SNAPSHOTS and
// stream AUDIT when they do not exist yet. Safe to call from every node at once.
func (s *streamSet) ensureShared(ctx context.Context) error {
	for _, kv := range []jetstream.KeyValueConfig{
		{Bucket: client.BucketOwners, Description: "symbol -> ownership record", History: 16},
		{Bucket: client.BucketControl, Description: "controller lease and region cordons", History: 4},
		{Bucket: client.BucketPlans, Description: "move, rebalance, evacuation and restore plans", History: 8},
		{Bucket: client.BucketAccounts, Description: "API keys and listen keys", History: 1},
		{Bucket: client.BucketStatus, Description: "status page: components, incidents, maintenances, webhook deliveries", History: 1},
	} {
		kv.Replicas = s.replicas
		kv.Storage = jetstream.FileStorage
		err := withRetry(ctx, "create bucket "+kv.Bucket, func(ctx context.Context) error {
			_, err := s.js.CreateOrUpdateKeyValue(ctx, kv)
			return err
		})
		if err != nil {
			return err
		}
	}
	err := withRetry(ctx, "create object store "+client.ObjectSnapshots, func(ctx context.Context) error {
		_, err := s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      client.ObjectSnapshots,
			Description: "matcher snapshots",
			Replicas:    s.replicas,
			Storage:     jetstream.FileStorage,
		})
		return err
	})
	if err != nil {
		return err
	}
	return withRetry(ctx, "create stream "+client.StreamAudit, func(ctx context.Context) error {
		_, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:        client.StreamAudit,
			Description: "every ownership change: actor, reason, old and new epoch",
			Subjects:    []string{client.SubjectAudit},
			Replicas:    s.replicas,
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      90 * 24 * time.Hour,
		})
		return err
	})
}

// ensureSymbol creates CMD_<S> and EVT_<S> (R3, one replica per region through unique_tag).
// CMD_<S> dedupes on Nats-Msg-Id over the duplicate window. Neither stream discards old messages
// here: trimming below the newest snapshot is the matcher host's job.
func (s *streamSet) ensureSymbol(ctx context.Context, symbol string) error {
	if !client.ValidSymbol(symbol) {
		return fmt.Errorf("%w: %q", ErrInvalidSymbol, symbol)
	}
	for _, cfg := range []jetstream.StreamConfig{
		{Name: client.CmdStream(symbol), Subjects: []string{client.CmdSubject(symbol)}, Description: "commands of " + symbol},
		{Name: client.EvtStream(symbol), Subjects: []string{client.EvtSubject(symbol)}, Description: "events of " + symbol},
	} {
		cfg.Replicas = s.replicas
		cfg.Storage = jetstream.FileStorage
		cfg.Retention = jetstream.LimitsPolicy
		cfg.Duplicates = s.duplicateWindow
		cfg.AllowDirect = true
		err := withRetry(ctx, "create stream "+cfg.Name, func(ctx context.Context) error {
			if _, err := s.js.Stream(ctx, cfg.Name); err == nil {
				return nil // exists: never update concurrently with its creator
			}
			_, err := s.js.CreateStream(ctx, cfg)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				return nil
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
