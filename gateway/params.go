package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// params are a request's parameters: the query string and the form body (also for DELETE,
// which net/http's ParseForm skips). A parameter in both takes the query's value (Binance rule).
type params struct {
	rawQuery string
	rawBody  string
	values   map[string]string
}

// parseParams reads the body (bounded by limit) and both parameter sources. Malformed
// encodings and a parameter repeated within one source are -1100 / -1101.
func parseParams(r *http.Request, limit int64) (*params, *apiError) {
	p := &params{rawQuery: r.URL.RawQuery, values: map[string]string{}}
	if r.Body != nil && r.Method != http.MethodGet {
		b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errTooLarge
			}
			return nil, newAPIError(http.StatusBadRequest, -1000, "Could not read the request body.")
		}
		p.rawBody = string(b)
	}
	if ct := r.Header.Get("Content-Type"); p.rawBody != "" && ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, newAPIError(http.StatusBadRequest, -1000, "Unsupported Content-Type; send application/x-www-form-urlencoded.")
	}
	if err := p.add(p.rawBody); err != nil {
		return nil, err
	}
	query := map[string]string{}
	if err := addTo(query, p.rawQuery); err != nil {
		return nil, err
	}
	for k, v := range query {
		p.values[k] = v // the query wins
	}
	return p, nil
}

func (p *params) add(raw string) *apiError { return addTo(p.values, raw) }

// addTo decodes one application/x-www-form-urlencoded source into m.
func addTo(m map[string]string, raw string) *apiError {
	seen := map[string]bool{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || key == "" {
			return newAPIError(http.StatusBadRequest, -1100, "Illegal characters found in a parameter.")
		}
		if seen[key] {
			return newAPIError(http.StatusBadRequest, -1101, "Duplicate values for parameter '%s'.", key)
		}
		seen[key] = true
		m[key] = val
	}
	return nil
}

// get returns the parameter's value ("" when absent).
func (p *params) get(name string) string { return p.values[name] }

// has reports whether the parameter was sent with a non-empty value.
func (p *params) has(name string) bool { return p.values[name] != "" }

// require returns the non-empty value or -1102.
func (p *params) require(name string) (string, *apiError) {
	v := p.values[name]
	if v == "" {
		return "", errMissing(name)
	}
	return v, nil
}

// uint returns an optional unsigned integer parameter (0 when absent); malformed is -1100.
func (p *params) uint(name string) (uint64, *apiError) {
	v := p.values[name]
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, errIllegal(name)
	}
	return n, nil
}

// limit returns the "limit" parameter clamped to [1, max], def when absent.
func (p *params) limit(def, max int) (int, *apiError) {
	v := p.values["limit"]
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errIllegal("limit")
	}
	return min(n, max), nil
}

// symbols returns the symbol or symbols parameter: nil when neither is sent. "symbols" is a JSON
// array of strings (["BTCUSDT","ETHUSDT"]), as go-binance and CCXT send it.
func (p *params) symbols() ([]string, *apiError) {
	if s := p.values["symbol"]; s != "" {
		if p.has("symbols") {
			return nil, newAPIError(http.StatusBadRequest, -1128, "Combination of optional parameters invalid.")
		}
		return []string{s}, nil
	}
	s := p.values["symbols"]
	if s == "" {
		return nil, nil
	}
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, errIllegal("symbols")
	}
	var out []string
	for _, part := range strings.Split(s[1:len(s)-1], ",") {
		part = strings.TrimSpace(part)
		if len(part) < 2 || part[0] != '"' || part[len(part)-1] != '"' {
			return nil, errIllegal("symbols")
		}
		out = append(out, part[1:len(part)-1])
	}
	return out, nil
}
