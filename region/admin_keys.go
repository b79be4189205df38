package region

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// API keys through the admin API: create (the only answer that ever shows the secret), list
// (secrets redacted) and delete. Keys live in KV ACCOUNTS, so every region's gateway accepts a
// new key as soon as its watch delivers it, and stops accepting a deleted one likewise.

type (
	adminKeyRequest struct {
		Account     uint64   `json:"account"`
		Permissions []string `json:"permissions"`
	}
	adminKey struct {
		APIKey      string   `json:"api_key"`
		Secret      string   `json:"secret,omitempty"`
		Account     uint64   `json:"account"`
		Permissions []string `json:"permissions"`
		CreatedAt   string   `json:"created_at"`
	}
)

func toAdminKey(k *proto.ApiKey, withSecret bool) adminKey {
	out := adminKey{APIKey: k.ApiKey, Account: k.Account, Permissions: []string{},
		CreatedAt: time.Unix(0, k.CreatedUnixNano).UTC().Format(time.RFC3339)}
	if withSecret {
		out.Secret = string(k.Secret)
	}
	for _, p := range k.Permissions {
		out.Permissions = append(out.Permissions, client.PermissionName(p))
	}
	return out
}

// adminKey reports whether cred ("<api key>:<secret>") is a key with the admin permission.
func (a *admin) adminKey(ctx context.Context, cred string) bool {
	if a.n.js == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return client.CheckAdminCredential(ctx, a.n.js, cred)
}

func (a *admin) createKey(r *http.Request) (int, any, error) {
	req, err := decodeJSON[adminKeyRequest](r)
	if err != nil {
		return 0, nil, err
	}
	if req.Account == 0 || req.Account > 1<<53-1 {
		return 0, nil, badRequestf("account: want a number from 1 to 2^53-1")
	}
	var perms []proto.Permission
	seen := map[proto.Permission]bool{}
	for _, s := range req.Permissions {
		p, err := client.ParsePermission(s)
		if err != nil {
			return 0, nil, badRequestf("%v", err)
		}
		if !seen[p] {
			seen[p] = true
			perms = append(perms, p)
		}
	}
	if a.n.js == nil {
		return 0, nil, ErrNotReady
	}
	rec, err := client.NewAPIKey(req.Account, perms...)
	if err != nil {
		return 0, nil, badRequestf("%v", err)
	}
	if err := client.PutAPIKey(r.Context(), a.n.js, rec, true); err != nil {
		return 0, nil, err
	}
	a.n.log.Info("api_key_created", "account", rec.Account, "api_key_prefix", rec.ApiKey[:8],
		"permissions", toAdminKey(rec, false).Permissions)
	return http.StatusCreated, toAdminKey(rec, true), nil
}

func (a *admin) listKeys(r *http.Request) (int, any, error) {
	var account uint64
	if s := r.URL.Query().Get("account"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v == 0 {
			return 0, nil, badRequestf("account %q: want a positive number", s)
		}
		account = v
	}
	if a.n.js == nil {
		return 0, nil, ErrNotReady
	}
	keys, err := client.ListAPIKeys(r.Context(), a.n.js)
	if err != nil {
		return 0, nil, err
	}
	out := []adminKey{}
	for _, k := range keys {
		if account == 0 || k.Account == account {
			out = append(out, toAdminKey(k, false))
		}
	}
	return http.StatusOK, map[string]any{"keys": out}, nil
}

func (a *admin) deleteKey(r *http.Request) (int, any, error) {
	key := r.PathValue("key")
	if key == "" || len(key) > 256 {
		return 0, nil, badRequestf("invalid api key")
	}
	if a.n.js == nil {
		return 0, nil, ErrNotReady
	}
	if err := client.DeleteAPIKey(r.Context(), a.n.js, key); err != nil {
		if errors.Is(err, client.ErrKeyNotFound) {
			return 0, nil, adminError{http.StatusNotFound, err}
		}
		return 0, nil, err
	}
	a.n.log.Info("api_key_deleted", "api_key_prefix", key[:min(8, len(key))])
	return http.StatusOK, map[string]any{"api_key": key, "deleted": true}, nil
}
