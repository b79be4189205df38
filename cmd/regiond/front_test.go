package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// httpGet GETs url with an optional bearer token and returns the status and body; a transport
// error fails the test.
func httpGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	code, body, err := tryGet(url, token, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return code, body
}

func tryGet(url, token string, header http.Header) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// awaitSignedAccount polls a signed GET /api/v3/account with key and secret until it answers
// 200 (the gateway learns a new key through its ACCOUNTS watch) or fails after timeout with the
// last answer.
func awaitSignedAccount(t *testing.T, restURL, key, secret string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		q := fmt.Sprintf("timestamp=%d&recvWindow=60000", time.Now().UnixMilli())
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(q))
		url := restURL + "/api/v3/account?" + q + "&signature=" + hex.EncodeToString(m.Sum(nil))
		code, body, err := tryGet(url, "", http.Header{"X-Mbx-Apikey": {key}})
		if err == nil && code == http.StatusOK {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("signed GET /api/v3/account with key %s: %d %s %v after %v", key, code, body, err, timeout)
		}
		<-tick.C
	}
}

// checkGateway checks a gateway's public endpoints: ping answers {} and exchangeInfo lists
// exactly wantSymbols.
func checkGateway(t *testing.T, restURL string, wantSymbols ...string) {
	t.Helper()
	if code, body := httpGet(t, restURL+"/api/v3/ping", ""); code != http.StatusOK || strings.TrimSpace(body) != "{}" {
		t.Errorf("GET %s/api/v3/ping: %d %q, want 200 {}", restURL, code, body)
	}
	code, body := httpGet(t, restURL+"/api/v3/exchangeInfo", "")
	var info struct {
		Symbols []struct {
			Symbol string `json:"symbol"`
			Status string `json:"status"`
		} `json:"symbols"`
	}
	if err := json.Unmarshal([]byte(body), &info); code != http.StatusOK || err != nil {
		t.Fatalf("GET %s/api/v3/exchangeInfo: %d %v %.200s", restURL, code, err, body)
	}
	got := map[string]bool{}
	for _, s := range info.Symbols {
		got[s.Symbol] = true
	}
	for _, s := range wantSymbols {
		if !got[s] {
			t.Errorf("%s exchangeInfo lacks %s: %+v", restURL, s, info.Symbols)
		}
	}
	if len(got) != len(wantSymbols) {
		t.Errorf("%s exchangeInfo lists %+v, want %v", restURL, info.Symbols, wantSymbols)
	}
}

// checkAdmin checks an admin API: 401 without the token or with a wrong one, 200 and a status
// naming the node's region with it.
func checkAdmin(t *testing.T, adminURL, token, wantRegion string) {
	t.Helper()
	for _, bad := range []string{"", "wrong-" + token} {
		if code, body := httpGet(t, adminURL+"/admin/v1/status", bad); code != http.StatusUnauthorized {
			t.Errorf("GET %s/admin/v1/status with token %q: %d %s, want 401", adminURL, bad, code, body)
		}
	}
	code, body := httpGet(t, adminURL+"/admin/v1/status", token)
	var st struct {
		Region string `json:"region"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil || st.Region != wantRegion {
		t.Errorf("GET %s/admin/v1/status: %d %v %.300s, want 200 from region %s", adminURL, code, err, body, wantRegion)
	}
}
