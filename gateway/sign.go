package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// cutSignature removes the single "signature=<hex>" pair from a raw form-encoded string and
// returns the rest as received (no re-encoding) and the signature ("" when absent).
func cutSignature(raw string) (rest, sig string, found bool) {
	start := 0
	for start <= len(raw) {
		end := strings.IndexByte(raw[start:], '&')
		if end < 0 {
			end = len(raw)
		} else {
			end += start
		}
		if strings.HasPrefix(raw[start:end], "signature=") {
			sig = raw[start+len("signature=") : end]
			switch {
			case start == 0 && end == len(raw):
				rest = ""
			case start == 0:
				rest = raw[end+1:]
			default:
				rest = raw[:start-1] + raw[end:]
			}
			return rest, sig, true
		}
		start = end + 1
	}
	return raw, "", false
}

// signedPayload is the HMAC input of a REST request: raw query + raw body with the signature pair
// removed from whichever holds it (Binance's totalParams). It returns the signature sent.
func signedPayload(rawQuery, rawBody string) (payload, sig string, ok bool) {
	q, sig, found := cutSignature(rawQuery)
	if !found {
		var b string
		b, sig, found = cutSignature(rawBody)
		if !found {
			return "", "", false
		}
		return q + b, sig, true
	}
	return q + rawBody, sig, true
}

// validSignature reports, in constant time, whether sig (hex, any case) is the HMAC-SHA256 of
// payload under secret.
func validSignature(secret []byte, payload, sig string) bool {
	got, err := hex.DecodeString(strings.ToLower(sig))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return hmac.Equal(m.Sum(nil), got)
}

// sign returns hex(HMAC-SHA256(secret, payload)).
func sign(secret []byte, payload string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

// recvWindow limits (ms).
const (
	defaultRecvWindow = 5000
	maxRecvWindow     = 60000
)

// checkTimestamp applies the ingress timing rule of rest-api.md to the timestamp and recvWindow
// parameters and returns them in ms (recvWindow may carry up to 3 decimals; it is rounded down).
func checkTimestamp(ts, rw string, now time.Time) (tsMs, rwMs int64, aerr *apiError) {
	if ts == "" {
		return 0, 0, errMissing("timestamp")
	}
	tsMs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || tsMs < 0 {
		return 0, 0, errIllegal("timestamp")
	}
	rwMs = defaultRecvWindow
	if rw != "" {
		f, err := strconv.ParseFloat(rw, 64)
		if err != nil || f < 0 || strings.ContainsAny(rw, "eEnN+-xX") {
			return 0, 0, errIllegal("recvWindow")
		}
		if i := strings.IndexByte(rw, '.'); i >= 0 && len(rw)-i-1 > 3 {
			return 0, 0, errIllegal("recvWindow")
		}
		if f > maxRecvWindow {
			return 0, 0, errBadRecvWindow
		}
		rwMs = int64(f)
	}
	server := now.UnixMilli()
	if tsMs >= server+1000 {
		return 0, 0, errAhead
	}
	if server-tsMs > rwMs {
		return 0, 0, errRecvWindow
	}
	return tsMs, rwMs, nil
}
