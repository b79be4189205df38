package region

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	gproto "google.golang.org/protobuf/proto"

	"github.com/geomesh/geomesh/proto"
	"github.com/geomesh/geomesh/region/client"
)

// The admin API: JSON over HTTP under /admin/v1, for meshctl and scripts. Every request carries
// "Authorization: Bearer <token>". Reads are GET, changes are POST with an optional JSON body
// (dry_run, actor, reason, concurrency, rate_per_second, to, phase). Proto messages (plans,
// ownership records, audit entries) are protojson with proto field names. Errors are one line,
// {"error": "..."}: 400 bad input, 401 no or wrong token, 404 unknown symbol or plan, 405 wrong
// method, 409 refused by validation (unknown or unusable region, conflicting plan), 413 body too
// large, 503 not ready (retryable), 504 deadline, 500 anything else.
//
//	GET  /admin/v1/status                      node, controller, regions and symbols
//	GET  /admin/v1/symbols[?region=R]          symbols, optionally only those homed in R
//	POST /admin/v1/symbols/{sym}/move          {"to": R, ...}          -> plan
//	POST /admin/v1/symbols/{sym}/halt                                  -> ownership record
//	POST /admin/v1/symbols/{sym}/resume        {"phase": "TRADING"}    -> ownership record
//	GET  /admin/v1/symbols/{sym}/history[?limit=N]                     -> {"entries": [...]}
//	POST /admin/v1/regions/{r}/cordon|uncordon                         -> {"region", "cordoned"}
//	POST /admin/v1/regions/{r}/evacuate|restore                        -> plan
//	POST /admin/v1/rebalance                                           -> plan
//	GET  /admin/v1/plans                                               -> {"plans": [...]}, newest first
//	GET  /admin/v1/plans/{id}                                          -> plan
//	POST /admin/v1/plans/{id}/abort                                    -> plan
//	POST /admin/v1/keys        {"account": N, "permissions": ["read","trade"]} -> key with secret (201)
//	GET  /admin/v1/keys[?account=N]                                    -> {"keys": [...]}, no secrets
//	DELETE /admin/v1/keys/{key}                                        -> {"api_key", "deleted"}
//
// Besides the admin token, "Bearer <api key>:<secret>" of a key with the admin permission
// authenticates (meshctl --token accepts either).
//
// A request that creates a plan answers 202 while the plan still has to run, 200 when it is
// already finished (a dry run, or nothing to do); clients poll GET /admin/v1/plans/{id}.

const (
	adminPrefix = "/admin/v1"
	// adminMaxBody bounds a request body.
	adminMaxBody = 64 << 10
	// adminTimeout bounds the work of one request (plans run on afterwards in the controller).
	adminTimeout = 30 * time.Second
	// adminDefaultActor names the actor of a change whose request names none.
	adminDefaultActor = "admin-api"
)

var (
	adminJSON    = protojson.MarshalOptions{UseProtoNames: true}
	regionNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
)

// adminRequest is the body of every POST; each operation reads the fields it needs.
type adminRequest struct {
	DryRun        bool    `json:"dry_run"`
	Actor         string  `json:"actor"`
	Reason        string  `json:"reason"`
	Concurrency   int     `json:"concurrency"`
	RatePerSecond float64 `json:"rate_per_second"`
	To            string  `json:"to"`    // move
	Phase         string  `json:"phase"` // resume
}

func (r adminRequest) opts() OpOptions {
	return OpOptions{Actor: r.Actor, Reason: r.Reason, DryRun: r.DryRun, Concurrency: r.Concurrency,
		RatePerSecond: r.RatePerSecond}
}

// Wire shapes of Status (snake_case for jq; the Go structs carry no tags).
type (
	adminStatus struct {
		Node       string        `json:"node"`
		Region     string        `json:"region"`
		Controller string        `json:"controller"`
		Regions    []adminRegion `json:"regions"`
		Symbols    []adminSymbol `json:"symbols"`
	}
	adminRegion struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		Alive    int    `json:"alive"`
		Known    int    `json:"known"`
		Cordoned bool   `json:"cordoned"`
		Symbols  int    `json:"symbols"`
	}
	adminSymbol struct {
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

func toAdminSymbol(s SymbolStatus) adminSymbol {
	pref := s.Preferred
	if pref == nil {
		pref = []string{}
	}
	return adminSymbol{Symbol: s.Symbol, Home: s.Home, Phase: s.Phase, Epoch: s.Epoch, Preferred: pref,
		Policy: s.Policy, Reason: s.Reason, Actor: s.Actor, UpdatedUnixNano: s.UpdatedUnixNano}
}

// adminError is an error of the admin API's own checks that carries its HTTP status.
type adminError struct {
	code int
	err  error
}

func (e adminError) Error() string { return e.err.Error() }
func (e adminError) Unwrap() error { return e.err }

// badRequestf is an input error (400).
func badRequestf(format string, args ...any) error {
	return adminError{http.StatusBadRequest, fmt.Errorf(format, args...)}
}

// AdminHandler returns the admin API (see above), authenticated by token, which is compared in
// constant time. An empty token refuses every request: the API is never open by accident. The
// handler is safe for concurrent use; mount it at the root of its own listener.
func (n *Node) AdminHandler(token string) http.Handler {
	a := &admin{n: n, token: sha256.Sum256([]byte(token)), open: token != ""}
	mux := http.NewServeMux()
	route := func(method, path string, h func(*http.Request) (int, any, error)) {
		mux.Handle(adminPrefix+path, a.endpoint(method, h))
	}
	route(http.MethodGet, "/status", a.status)
	route(http.MethodGet, "/symbols", a.symbols)
	route(http.MethodPost, "/symbols/{sym}/move", a.move)
	route(http.MethodPost, "/symbols/{sym}/halt", a.halt)
	route(http.MethodPost, "/symbols/{sym}/resume", a.resume)
	route(http.MethodGet, "/symbols/{sym}/history", a.history)
	route(http.MethodPost, "/regions/{r}/cordon", a.cordon(true))
	route(http.MethodPost, "/regions/{r}/uncordon", a.cordon(false))
	route(http.MethodPost, "/regions/{r}/evacuate", a.regionPlan(n.Evacuate))
	route(http.MethodPost, "/regions/{r}/restore", a.regionPlan(n.Restore))
	route(http.MethodPost, "/rebalance", a.rebalance)
	route(http.MethodGet, "/plans", a.plans)
	route(http.MethodGet, "/plans/{id}", a.plan)
	route(http.MethodPost, "/plans/{id}/abort", a.abort)
	a.statusRoutes(mux, route) // incidents, maintenances, webhook deliveries (incidents.go)
	mux.Handle(adminPrefix+"/keys", a.methods(map[string]func(*http.Request) (int, any, error){
		http.MethodGet: a.listKeys, http.MethodPost: a.createKey}))
	route(http.MethodDelete, "/keys/{key}", a.deleteKey)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAdminError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return a.authenticate(mux)
}

type admin struct {
	n     *Node
	token [sha256.Size]byte
	open  bool
}

// authenticate checks the bearer token before anything else. Hashing both sides first makes the
// comparison independent of the presented token's length.
func (a *admin) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(given))
		if !ok || !a.open || (subtle.ConstantTimeCompare(sum[:], a.token[:]) != 1 && !a.adminKey(r.Context(), given)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="geomesh-admin"`)
			writeAdminError(w, http.StatusUnauthorized, "missing or wrong admin token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// endpoint adapts h: method check, deadline, and the JSON answer or error.
func (a *admin) endpoint(method string, h func(*http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeAdminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed; use %s", r.Method, method))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, adminMaxBody)
		ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
		defer cancel()
		code, body, err := h(r.WithContext(ctx))
		if err != nil {
			writeAdminError(w, adminStatusOf(err), err.Error())
			return
		}
		writeAdminJSON(w, code, body)
	})
}

// methods serves one path with a handler per method.
func (a *admin) methods(hs map[string]func(*http.Request) (int, any, error)) http.Handler {
	eps := map[string]http.Handler{}
	var allow []string
	for m, h := range hs {
		eps[m] = a.endpoint(m, h)
		allow = append(allow, m)
	}
	slices.Sort(allow)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ep := eps[r.Method]; ep != nil {
			ep.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeAdminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed; use %s", r.Method, strings.Join(allow, " or ")))
	})
}

// adminStatusOf maps an operation's error to an HTTP status.
func adminStatusOf(err error) int {
	var own adminError
	switch {
	case errors.As(err, &own):
		return own.code
	case errors.Is(err, ErrInvalidSymbol):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownSymbol):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalidPlan), errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrNotReady), errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

func writeAdminError(w http.ResponseWriter, code int, msg string) {
	writeAdminJSON(w, code, map[string]string{"error": strings.Join(strings.Fields(msg), " ")})
}

// writeAdminJSON writes body: a proto message as protojson, anything else with encoding/json.
func writeAdminJSON(w http.ResponseWriter, code int, body any) {
	var b []byte
	var err error
	if m, ok := body.(gproto.Message); ok {
		b, err = adminJSON.Marshal(m)
	} else {
		b, err = json.Marshal(body)
	}
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// protoList encodes msgs as a JSON array of protojson documents.
func protoList[M gproto.Message](msgs []M) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(msgs))
	for _, m := range msgs {
		b, err := adminJSON.Marshal(m)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// decodeBody reads the optional JSON body of a POST; unknown fields are errors, so a typo such as
// "dryrun" is refused rather than ignored.
func decodeBody(r *http.Request) (adminRequest, error) {
	req, err := decodeJSON[adminRequest](r)
	if err != nil {
		return req, err
	}
	switch {
	case req.Concurrency < 0:
		return req, badRequestf("concurrency %d: want 0 (default) or more", req.Concurrency)
	case req.RatePerSecond < 0:
		return req, badRequestf("rate_per_second %g: want 0 (default) or more", req.RatePerSecond)
	case len(req.Actor) > 200 || len(req.Reason) > 1000:
		return req, badRequestf("actor or reason too long")
	}
	if req.Actor == "" {
		req.Actor = adminDefaultActor
	}
	return req, nil
}

// decodeJSON reads an optional JSON body into a T (zero when the body is empty), refusing
// unknown fields, a second value and a body over adminMaxBody.
func decodeJSON[T any](r *http.Request) (T, error) {
	var v T
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil && !errors.Is(err, io.EOF) {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			return v, adminError{http.StatusRequestEntityTooLarge,
				fmt.Errorf("request body larger than %d bytes", tooBig.Limit)}
		}
		return v, badRequestf("request body: %v", err)
	}
	if dec.More() {
		return v, badRequestf("request body: more than one JSON value")
	}
	return v, nil
}

func symbolOf(r *http.Request) (string, error) {
	s := r.PathValue("sym")
	if !client.ValidSymbol(s) {
		return "", badRequestf("invalid symbol %q", s)
	}
	return s, nil
}

func regionOf(name string) (string, error) {
	if !regionNameRE.MatchString(name) {
		return "", badRequestf("invalid region name %q", name)
	}
	return name, nil
}

// planAnswer is 202 for a plan the controller still has to run, 200 for a finished one.
func planAnswer(p *proto.Plan, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	switch p.GetState() {
	case proto.PlanState_PLAN_STATE_PENDING, proto.PlanState_PLAN_STATE_RUNNING, proto.PlanState_PLAN_STATE_ABORTING:
		if !p.GetDryRun() {
			return http.StatusAccepted, p, nil
		}
	}
	return http.StatusOK, p, nil
}

// parsePhase accepts TRADING, trading, PHASE_TRADING...; "" is unspecified.
func parsePhase(s string) (proto.Phase, error) {
	if s == "" {
		return proto.Phase_PHASE_UNSPECIFIED, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "PHASE_") {
		name = "PHASE_" + name
	}
	v, ok := proto.Phase_value[name]
	if !ok || v == int32(proto.Phase_PHASE_UNSPECIFIED) {
		return 0, badRequestf("unknown phase %q: want TRADING, CANCEL_ONLY or POST_ONLY", s)
	}
	return proto.Phase(v), nil
}

func (a *admin) status(r *http.Request) (int, any, error) {
	st, err := a.n.Status(r.Context())
	if err != nil {
		return 0, nil, fmt.Errorf("status: %w", err)
	}
	out := adminStatus{Node: st.Node, Region: st.Region, Controller: st.Controller,
		Regions: []adminRegion{}, Symbols: []adminSymbol{}}
	for _, rs := range st.Regions {
		out.Regions = append(out.Regions, adminRegion(rs))
	}
	for _, s := range st.Symbols {
		out.Symbols = append(out.Symbols, toAdminSymbol(s))
	}
	return http.StatusOK, out, nil
}

func (a *admin) symbols(r *http.Request) (int, any, error) {
	only := r.URL.Query().Get("region")
	if only != "" {
		if _, err := regionOf(only); err != nil {
			return 0, nil, err
		}
	}
	st, err := a.n.Status(r.Context())
	if err != nil {
		return 0, nil, fmt.Errorf("symbols: %w", err)
	}
	out := []adminSymbol{}
	for _, s := range st.Symbols {
		if only == "" || s.Home == only {
			out = append(out, toAdminSymbol(s))
		}
	}
	return http.StatusOK, map[string]any{"symbols": out}, nil
}

func (a *admin) move(r *http.Request) (int, any, error) {
	sym, err := symbolOf(r)
	if err != nil {
		return 0, nil, err
	}
	req, err := decodeBody(r)
	if err != nil {
		return 0, nil, err
	}
	if req.To == "" {
		return 0, nil, badRequestf("move %s: the target region \"to\" is required", sym)
	}
	if _, err := regionOf(req.To); err != nil {
		return 0, nil, err
	}
	return planAnswer(a.n.Move(r.Context(), sym, req.To, req.opts()))
}

func (a *admin) halt(r *http.Request) (int, any, error) {
	sym, err := symbolOf(r)
	if err != nil {
		return 0, nil, err
	}
	req, err := decodeBody(r)
	if err != nil {
		return 0, nil, err
	}
	rec, err := a.n.Halt(r.Context(), sym, req.Actor, req.Reason)
	if err != nil {
		return 0, nil, fmt.Errorf("halt %s: %w", sym, err)
	}
	return http.StatusOK, rec, nil
}

func (a *admin) resume(r *http.Request) (int, any, error) {
	sym, err := symbolOf(r)
	if err != nil {
		return 0, nil, err
	}
	req, err := decodeBody(r)
	if err != nil {
		return 0, nil, err
	}
	phase, err := parsePhase(req.Phase)
	if err != nil {
		return 0, nil, err
	}
	if phase == proto.Phase_PHASE_HALT {
		return 0, nil, badRequestf("resume %s to HALT: use halt", sym)
	}
	rec, err := a.n.Resume(r.Context(), sym, phase, req.Actor, req.Reason)
	if err != nil {
		return 0, nil, fmt.Errorf("resume %s: %w", sym, err)
	}
	return http.StatusOK, rec, nil
}

func (a *admin) history(r *http.Request) (int, any, error) {
	sym, err := symbolOf(r)
	if err != nil {
		return 0, nil, err
	}
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 {
			return 0, nil, badRequestf("limit %q: want a count, 0 for all", s)
		}
	}
	entries, err := a.n.History(r.Context(), sym, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("history of %s: %w", sym, err)
	}
	list, err := protoList(entries)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"entries": list}, nil
}

func (a *admin) cordon(cordoned bool) func(*http.Request) (int, any, error) {
	return func(r *http.Request) (int, any, error) {
		reg, err := regionOf(r.PathValue("r"))
		if err != nil {
			return 0, nil, err
		}
		req, err := decodeBody(r)
		if err != nil {
			return 0, nil, err
		}
		op := a.n.Uncordon
		if cordoned {
			op = a.n.Cordon
		}
		if err := op(r.Context(), reg, req.Actor, req.Reason); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"region": reg, "cordoned": cordoned}, nil
	}
}

func (a *admin) regionPlan(op func(context.Context, string, OpOptions) (*proto.Plan, error)) func(*http.Request) (int, any, error) {
	return func(r *http.Request) (int, any, error) {
		reg, err := regionOf(r.PathValue("r"))
		if err != nil {
			return 0, nil, err
		}
		req, err := decodeBody(r)
		if err != nil {
			return 0, nil, err
		}
		return planAnswer(op(r.Context(), reg, req.opts()))
	}
}

func (a *admin) rebalance(r *http.Request) (int, any, error) {
	req, err := decodeBody(r)
	if err != nil {
		return 0, nil, err
	}
	return planAnswer(a.n.Rebalance(r.Context(), req.opts()))
}

func (a *admin) plans(r *http.Request) (int, any, error) {
	ps, err := a.n.Plans(r.Context())
	if err != nil {
		return 0, nil, fmt.Errorf("plans: %w", err)
	}
	list, err := protoList(ps)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"plans": list}, nil
}

// planNotFound turns Plan's "no plan" validation error into a 404: it is the only
// ErrInvalidPlan that Plan and AbortPlan return.
func planNotFound(p *proto.Plan, err error) (*proto.Plan, error) {
	if errors.Is(err, ErrInvalidPlan) {
		return nil, adminError{http.StatusNotFound, err}
	}
	return p, err
}

func planID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !regionNameRE.MatchString(id) {
		return "", badRequestf("invalid plan id %q", id)
	}
	return id, nil
}

func (a *admin) plan(r *http.Request) (int, any, error) {
	id, err := planID(r)
	if err != nil {
		return 0, nil, err
	}
	p, err := planNotFound(a.n.Plan(r.Context(), id))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *admin) abort(r *http.Request) (int, any, error) {
	id, err := planID(r)
	if err != nil {
		return 0, nil, err
	}
	req, err := decodeBody(r)
	if err != nil {
		return 0, nil, err
	}
	return planAnswer(planNotFound(a.n.AbortPlan(r.Context(), id, req.Actor)))
}
