package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/geomesh/geomesh/proto"
)

// requestTimeout bounds one HTTP exchange with the admin API, whatever --timeout says.
const requestTimeout = 30 * time.Second

// maxAnswer bounds an answer read from the server.
const maxAnswer = 16 << 20

// api calls one node's admin API (region.AdminHandler).
type api struct {
	base  string // scheme://host:port, no trailing slash
	token string
	hc    *http.Client
}

func newAPI(server, token string) (*api, error) {
	if token == "" {
		return nil, mark(errUsage, errors.New("no admin token: pass --token or set MESHCTL_TOKEN"))
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, mark(errUsage, fmt.Errorf("--server %q: want http(s)://host:port", server))
	}
	return &api{base: strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), token: token, hc: &http.Client{}}, nil
}

// do sends method path with body (nil = none) and returns the answer of a 2xx. Other answers
// are errors: 4xx refused (exit 2), 5xx and transport errors failed (exit 1), each one line.
func (a *api) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, mark(errFailed, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/admin/v1"+path, rd)
	if err != nil {
		return nil, mark(errUsage, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, mark(errFailed, fmt.Errorf("%s %s: no answer from %s in time", method, path, a.base))
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, mark(errFailed, fmt.Errorf("%s %s at %s: %v", method, path, a.base, err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, mark(errFailed, fmt.Errorf("%s %s: read answer: %v", method, path, err))
	}
	if res.StatusCode/100 == 2 {
		return b, nil
	}
	msg := serverError(b)
	kind := errFailed
	if res.StatusCode/100 == 4 {
		kind = errRefused
	}
	return nil, mark(kind, httpError{res.StatusCode, msg})
}

// httpError is an answer other than 2xx.
type httpError struct {
	code int
	msg  string
}

func (e httpError) Error() string { return fmt.Sprintf("server refused: %s (HTTP %d)", e.msg, e.code) }

func isNotFound(err error) bool {
	var he httpError
	return errors.As(err, &he) && he.code == http.StatusNotFound
}

// getPlan reads plan id, retrying a 404 for up to grace: the API may read the plans bucket from
// a replica that has not yet applied a plan just created (a direct get).
func (a *api) getPlan(ctx context.Context, id string, grace, every time.Duration) (*proto.Plan, error) {
	deadline := time.Now().Add(grace)
	for {
		p, err := a.plan(ctx, http.MethodGet, "/plans/"+url.PathEscape(id), nil)
		if err == nil || !isNotFound(err) || time.Now().After(deadline) {
			return p, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(every):
		}
	}
}

// serverError extracts {"error": "..."}, else a short excerpt of the answer.
func serverError(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		s = "empty answer"
	}
	return s
}

func (a *api) getJSON(ctx context.Context, path string, out any) ([]byte, error) {
	b, err := a.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, mark(errFailed, fmt.Errorf("GET %s: decode answer: %v", path, err))
	}
	return b, nil
}

var (
	protoIn  = protojson.UnmarshalOptions{DiscardUnknown: true}
	protoOut = protojson.MarshalOptions{UseProtoNames: true}
)

// plan sends a request answered by a plan.
func (a *api) plan(ctx context.Context, method, path string, body any) (*proto.Plan, error) {
	b, err := a.do(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	p := &proto.Plan{}
	if err := protoIn.Unmarshal(b, p); err != nil {
		return nil, mark(errFailed, fmt.Errorf("%s %s: decode plan: %v", method, path, err))
	}
	return p, nil
}

// record sends a request answered by an ownership record.
func (a *api) record(ctx context.Context, path string, body any) (*proto.OwnershipRecord, []byte, error) {
	b, err := a.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, nil, err
	}
	rec := &proto.OwnershipRecord{}
	if err := protoIn.Unmarshal(b, rec); err != nil {
		return nil, nil, mark(errFailed, fmt.Errorf("POST %s: decode record: %v", path, err))
	}
	return rec, b, nil
}

// Wire shapes of the admin API (region/admin.go).
type (
	opRequest struct {
		DryRun        bool    `json:"dry_run,omitempty"`
		Actor         string  `json:"actor,omitempty"`
		Reason        string  `json:"reason,omitempty"`
		Concurrency   int     `json:"concurrency,omitempty"`
		RatePerSecond float64 `json:"rate_per_second,omitempty"`
		To            string  `json:"to,omitempty"`
		Phase         string  `json:"phase,omitempty"`
	}
	statusDoc struct {
		Node       string      `json:"node"`
		Region     string      `json:"region"`
		Controller string      `json:"controller"`
		Regions    []regionDoc `json:"regions"`
		Symbols    []symbolDoc `json:"symbols"`
	}
	regionDoc struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		Alive    int    `json:"alive"`
		Known    int    `json:"known"`
		Cordoned bool   `json:"cordoned"`
		Symbols  int    `json:"symbols"`
	}
	symbolDoc struct {
		Symbol          string   `json:"symbol"`
		Home            string   `json:"home"`
		Phase           string   `json:"phase"`
		Epoch           uint64   `json:"epoch"`
		Preferred       []string `json:"preferred"`
		Policy          string   `json:"policy"`
		Reason          string   `json:"reason"`
		Actor           string   `json:"actor"`
		UpdatedUnixNano int64    `json:"updated_unix_nano"`
	}
)
