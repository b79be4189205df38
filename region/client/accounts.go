package client

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/proto"
)

// KV ACCOUNTS key prefixes: "apikey.<api key>" -> proto.ApiKey, "listenkey.<key>" -> proto.ListenKey.
const (
	APIKeyPrefix    = "apikey."
	ListenKeyPrefix = "listenkey."
)

// ErrKeyNotFound: no API key of that name exists.
var ErrKeyNotFound = errors.New("client: api key not found")

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomToken returns n characters of [A-Za-z0-9] from crypto/rand, without modulo bias.
func RandomToken(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand panics on failure)
		for _, c := range buf {
			// 248 = 4*62: values at or above it would favour the first letters.
			if c < 248 && len(out) < n {
				out = append(out, keyAlphabet[int(c)%len(keyAlphabet)])
			}
		}
	}
	return string(out)
}

// DefaultPermissions are what a key gets when none are asked for: read and trade.
func DefaultPermissions() []proto.Permission {
	return []proto.Permission{proto.Permission_PERMISSION_READ, proto.Permission_PERMISSION_TRADE}
}

// ParsePermission reads "read", "trade" or "admin" (any case).
func ParsePermission(s string) (proto.Permission, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read":
		return proto.Permission_PERMISSION_READ, nil
	case "trade":
		return proto.Permission_PERMISSION_TRADE, nil
	case "admin":
		return proto.Permission_PERMISSION_ADMIN, nil
	}
	return 0, fmt.Errorf("%w: permission %q (want read, trade or admin)", proto.ErrInvalid, s)
}

// PermissionName is the inverse of ParsePermission.
func PermissionName(p proto.Permission) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PERMISSION_"))
}

// NewAPIKey is the record of a new key for account with a fresh random key and secret (64
// characters each). No permissions means DefaultPermissions.
func NewAPIKey(account uint64, perms ...proto.Permission) (*proto.ApiKey, error) {
	if len(perms) == 0 {
		perms = DefaultPermissions()
	}
	rec := &proto.ApiKey{SchemaVersion: proto.SchemaVersion, ApiKey: RandomToken(64), Secret: []byte(RandomToken(64)),
		Account: account, Permissions: slices.Clone(perms), CreatedUnixNano: time.Now().UnixNano()}
	if err := rec.Validate(); err != nil {
		return nil, fmt.Errorf("new api key: %w", err)
	}
	return rec, nil
}

// PutAPIKey stores rec in KV ACCOUNTS. With mustCreate an existing key of that name is an
// error (jetstream.ErrKeyExists); without it an existing key is kept and nil returned.
func PutAPIKey(ctx context.Context, js jetstream.JetStream, rec *proto.ApiKey, mustCreate bool) error {
	if err := rec.Validate(); err != nil {
		return fmt.Errorf("put api key: %w", err)
	}
	kv, err := js.KeyValue(ctx, BucketAccounts)
	if err != nil {
		return fmt.Errorf("put api key: open bucket %s: %w", BucketAccounts, err)
	}
	b, err := gproto.Marshal(rec)
	if err != nil {
		return fmt.Errorf("put api key: %w", err)
	}
	if _, err := kv.Create(ctx, APIKeyPrefix+rec.ApiKey, b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) && !mustCreate {
			return nil
		}
		return fmt.Errorf("put api key: %w", err)
	}
	return nil
}

// GetAPIKey reads one key; ErrKeyNotFound when it does not exist.
func GetAPIKey(ctx context.Context, js jetstream.JetStream, key string) (*proto.ApiKey, error) {
	kv, err := js.KeyValue(ctx, BucketAccounts)
	if err != nil {
		return nil, fmt.Errorf("get api key: open bucket %s: %w", BucketAccounts, err)
	}
	e, err := kv.Get(ctx, APIKeyPrefix+key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	return proto.DecodeApiKey(e.Value())
}

// ListAPIKeys returns every key of KV ACCOUNTS (secrets included: callers redact), sorted by
// account, then key. Malformed records are skipped.
func ListAPIKeys(ctx context.Context, js jetstream.JetStream) ([]*proto.ApiKey, error) {
	kv, err := js.KeyValue(ctx, BucketAccounts)
	if err != nil {
		return nil, fmt.Errorf("list api keys: open bucket %s: %w", BucketAccounts, err)
	}
	lister, err := kv.ListKeysFiltered(ctx, APIKeyPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	var out []*proto.ApiKey
	for k := range lister.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		if rec, err := proto.DecodeApiKey(e.Value()); err == nil {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *proto.ApiKey) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), strings.Compare(a.ApiKey, b.ApiKey))
	})
	return out, nil
}

// DeleteAPIKey revokes a key: every gateway stops accepting it when its watch delivers the
// delete. ErrKeyNotFound when it does not exist.
func DeleteAPIKey(ctx context.Context, js jetstream.JetStream, key string) error {
	if _, err := GetAPIKey(ctx, js, key); err != nil {
		return err
	}
	kv, err := js.KeyValue(ctx, BucketAccounts)
	if err != nil {
		return fmt.Errorf("delete api key: open bucket %s: %w", BucketAccounts, err)
	}
	if err := kv.Delete(ctx, APIKeyPrefix+key); err != nil {
		return fmt.Errorf("delete api key: %w", err)
	}
	return nil
}

// CheckAdminCredential tells whether "<api key>:<secret>" names a key with the admin permission
// whose secret matches (compared in constant time).
func CheckAdminCredential(ctx context.Context, js jetstream.JetStream, cred string) bool {
	key, secret, ok := strings.Cut(cred, ":")
	if !ok || key == "" || secret == "" || len(key) > 256 {
		return false
	}
	rec, err := GetAPIKey(ctx, js, key)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(rec.Secret, []byte(secret)) == 1 &&
		slices.Contains(rec.Permissions, proto.Permission_PERMISSION_ADMIN)
}
