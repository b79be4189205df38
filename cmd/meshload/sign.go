package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// param is one request parameter; requests keep them in order so the signed bytes are exactly
// the bytes sent.
type param struct{ k, v string }

// sign returns hex(HMAC-SHA256(secret, payload)).
func sign(secret []byte, payload string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

// restBody is the form body of a signed REST request: ps, then timestamp (ms) and recvWindow,
// then the signature of everything before it (Binance's totalParams with an empty query).
func restBody(secret []byte, ps []param, tsMs int64, recvWindow int) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(url.QueryEscape(p.k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.v))
		b.WriteByte('&')
	}
	b.WriteString("timestamp=")
	b.WriteString(strconv.FormatInt(tsMs, 10))
	if recvWindow > 0 {
		b.WriteString("&recvWindow=")
		b.WriteString(strconv.Itoa(recvWindow))
	}
	payload := b.String()
	return payload + "&signature=" + sign(secret, payload)
}

// wsParams are the params object of a signed WebSocket API request: ps plus apiKey, timestamp,
// recvWindow and the signature over all of them sorted by key as k=v (Binance's rule for the
// WebSocket API; values are plain UTF-8, not percent-encoded).
func wsParams(apiKey string, secret []byte, ps []param, tsMs int64, recvWindow int) map[string]string {
	m := make(map[string]string, len(ps)+4)
	for _, p := range ps {
		m[p.k] = p.v
	}
	m["apiKey"] = apiKey
	m["timestamp"] = strconv.FormatInt(tsMs, 10)
	if recvWindow > 0 {
		m["recvWindow"] = strconv.Itoa(recvWindow)
	}
	m["signature"] = sign(secret, wsPayload(m))
	return m
}

// wsPayload is the WebSocket API signing payload of m: every pair but signature, sorted by key.
func wsPayload(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	return b.String()
}
