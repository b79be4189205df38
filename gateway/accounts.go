package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// KV ACCOUNTS key prefixes (region/client owns the record layout).
const (
	apiKeyPrefix    = client.APIKeyPrefix
	listenKeyPrefix = client.ListenKeyPrefix
)

// CreateAPIKey creates an API key for account with the given permissions (none: read and
// trade) in KV ACCOUNTS and returns the key and its HMAC secret. Every region's gateway
// authenticates it as soon as its KV watch delivers it.
func CreateAPIKey(ctx context.Context, js jetstream.JetStream, account uint64, perms ...proto.Permission) (key, secret string, err error) {
	rec, err := client.NewAPIKey(account, perms...)
	if err != nil {
		return "", "", err
	}
	if err := client.PutAPIKey(ctx, js, rec, true); err != nil {
		return "", "", err
	}
	return rec.ApiKey, string(rec.Secret), nil
}

// EnsureAPIKey stores k in KV ACCOUNTS unless a key of that name exists (which is kept).
func EnsureAPIKey(ctx context.Context, js jetstream.JetStream, k BootstrapKey) error {
	perms := k.Permissions
	if len(perms) == 0 {
		perms = client.DefaultPermissions()
	}
	rec := &proto.ApiKey{SchemaVersion: proto.SchemaVersion, ApiKey: k.APIKey, Secret: []byte(k.Secret),
		Account: k.Account, Permissions: perms, CreatedUnixNano: time.Now().UnixNano()}
	return client.PutAPIKey(ctx, js, rec, false)
}

// keyring caches the API keys of KV ACCOUNTS, kept current by a watch.
type keyring struct {
	mu   sync.RWMutex
	keys map[string]*proto.ApiKey
	// ready is closed once the watch delivered the initial values.
	ready     chan struct{}
	readyOnce func() // closes ready once the first values arrived (survives watch restarts)
}

func newKeyring() *keyring {
	k := &keyring{keys: map[string]*proto.ApiKey{}, ready: make(chan struct{})}
	k.readyOnce = sync.OnceFunc(func() { close(k.ready) })
	return k
}

func (k *keyring) get(key string) *proto.ApiKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[key]
}

// watch follows "apikey.*" in kv until ctx ends.
func (k *keyring) watch(ctx context.Context, kv jetstream.KeyValue) error {
	w, err := kv.Watch(ctx, apiKeyPrefix+"*")
	if err != nil {
		return fmt.Errorf("watch %s: %w", client.BucketAccounts, err)
	}
	defer func() { _ = w.Stop() }()
	readyOnce := k.readyOnce
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
			name := strings.TrimPrefix(e.Key(), apiKeyPrefix)
			if e.Operation() != jetstream.KeyValuePut {
				k.mu.Lock()
				delete(k.keys, name)
				k.mu.Unlock()
				continue
			}
			rec, err := proto.DecodeApiKey(e.Value())
			if err != nil || rec.ApiKey != name {
				continue // a malformed record authenticates nobody
			}
			k.mu.Lock()
			k.keys[name] = rec
			k.mu.Unlock()
		}
	}
}

func hasPerm(k *proto.ApiKey, p proto.Permission) bool { return slices.Contains(k.Permissions, p) }

// listenKeyOf derives the listen key of an API key: the same key comes back for every POST, as
// Binance does for an account that already has one. 64 hex characters, opaque to clients.
func listenKeyOf(k *proto.ApiKey) string {
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte("geomesh listen key"))
	return hex.EncodeToString(m.Sum(nil))
}

// putListenKey creates or extends the listen key of k until now+ttl.
func putListenKey(ctx context.Context, kv jetstream.KeyValue, lk string, account uint64, expires time.Time) error {
	rec := &proto.ListenKey{SchemaVersion: proto.SchemaVersion, ListenKey: lk, Account: account, ExpiresUnixNano: expires.UnixNano()}
	b, err := gproto.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, listenKeyPrefix+lk, b); err != nil {
		return fmt.Errorf("put listen key: %w", err)
	}
	return nil
}

// getListenKey returns the live listen key record, or nil when it does not exist or expired.
func getListenKey(ctx context.Context, kv jetstream.KeyValue, lk string, now time.Time) (*proto.ListenKey, error) {
	if len(lk) != 64 || strings.ContainsFunc(lk, func(r rune) bool { return !strings.ContainsRune("0123456789abcdef", r) }) {
		return nil, nil
	}
	e, err := kv.Get(ctx, listenKeyPrefix+lk)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get listen key: %w", err)
	}
	rec, err := proto.DecodeListenKey(e.Value())
	if err != nil || rec.ExpiresUnixNano < now.UnixNano() {
		return nil, nil
	}
	return rec, nil
}
