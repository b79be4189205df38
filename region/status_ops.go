package region

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/geomesh/geomesh/region/status"
)

// Operator incidents and maintenances: the Node API behind meshctl status and meshctl
// maintenance, and its admin HTTP routes. The controller's own status automation (components,
// failover incidents, evacuation maintenances) is in incidents.go.

// IncidentRequest is an operator's new incident or maintenance, or an update of one.
type IncidentRequest struct {
	Name       string   `json:"name"`
	Status     string   `json:"status"`
	Impact     string   `json:"impact"`
	Body       string   `json:"body"`
	Components []string `json:"components"`
	Symbols    []string `json:"symbols"`
	Actor      string   `json:"actor"`
	// ScheduledFor and ScheduledUntil (RFC 3339) are the window of a maintenance.
	ScheduledFor   string `json:"scheduled_for"`
	ScheduledUntil string `json:"scheduled_until"`
}

func (n *Node) statusStore() (*status.Store, error) {
	if !n.Ready() || n.status == nil {
		return nil, ErrNotReady
	}
	return n.status.store, nil
}

func newStatusID(prefix string, now time.Time) string {
	return prefix + "-" + strconv.FormatInt(now.UnixNano(), 36)
}

func (n *Node) knownComponent(id string) bool {
	for _, h := range n.mesh.Regions() {
		if slices.Contains(regionComponentIDs(h.Region), id) {
			return true
		}
	}
	return false
}

func (n *Node) checkTargets(req IncidentRequest) error {
	for _, id := range req.Components {
		if !n.knownComponent(id) {
			return fmt.Errorf("%w: unknown component %q (want a region, or <region>-rest|ws|orders|matching)", status.ErrInvalid, id)
		}
	}
	for _, s := range req.Symbols {
		if n.cache.get(s) == nil {
			return fmt.Errorf("%w: unknown symbol %q", status.ErrInvalid, s)
		}
	}
	return nil
}

// CreateIncident opens an operator incident (status default investigating, impact default minor).
func (n *Node) CreateIncident(ctx context.Context, req IncidentRequest) (*status.Incident, error) {
	st, err := n.statusStore()
	if err != nil {
		return nil, err
	}
	if err := n.checkTargets(req); err != nil {
		return nil, err
	}
	now := time.Now()
	in := &status.Incident{ID: newStatusID("inc", now), Kind: status.KindIncident, Name: strings.TrimSpace(req.Name),
		Status: cmpOr(req.Status, status.Investigating), Impact: cmpOr(req.Impact, status.ImpactMinor), Source: status.SourceOperator,
		Components: nonNil(req.Components), Symbols: nonNil(req.Symbols), CreatedAt: status.At(now), StartedAt: status.At(now)}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	in.AddUpdate(in.Status, cmpOr(req.Body, in.Name), req.Actor, now, nil)
	if _, err := st.Create(ctx, in.Key(), in); err != nil {
		return nil, err
	}
	n.status.offer(in)
	return in, nil
}

// UpdateIncident adds an operator message to an incident or maintenance; an empty status keeps
// the current one.
func (n *Node) UpdateIncident(ctx context.Context, kind, id string, req IncidentRequest) (*status.Incident, error) {
	st, err := n.statusStore()
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Body) == "" {
		return nil, fmt.Errorf("%w: a message (body) is required", status.ErrInvalid)
	}
	in, err := status.Modify(ctx, st, status.KeyOf(kind, id), func(in *status.Incident) error {
		next := cmpOr(req.Status, in.Status)
		if kind == status.KindIncident && !status.ValidIncidentStatus(next) ||
			kind == status.KindMaintenance && !status.ValidMaintenanceStatus(next) {
			return fmt.Errorf("%w: status %q", status.ErrInvalid, next)
		}
		if in.Kind != kind {
			return fmt.Errorf("%w: %s is not a %s", status.ErrNotFound, id, kind)
		}
		in.AddUpdate(next, strings.TrimSpace(req.Body), req.Actor, time.Now(), nil)
		return nil
	})
	if err == nil {
		n.status.offer(in)
	}
	return in, err
}

// CreateMaintenance schedules a maintenance: in_progress at once when the window has started
// (or none is given), else scheduled; it completes at scheduled_until, or by an operator.
func (n *Node) CreateMaintenance(ctx context.Context, req IncidentRequest) (*status.Incident, error) {
	st, err := n.statusStore()
	if err != nil {
		return nil, err
	}
	if err := n.checkTargets(req); err != nil {
		return nil, err
	}
	now := time.Now()
	from, until, err := window(req, now)
	if err != nil {
		return nil, err
	}
	m := &status.Incident{ID: newStatusID("mnt", now), Kind: status.KindMaintenance, Name: strings.TrimSpace(req.Name),
		Impact: status.ImpactMaintenance, Source: status.SourceScheduled, Auto: true, Components: nonNil(req.Components),
		Symbols: nonNil(req.Symbols), CreatedAt: status.At(now), StartedAt: from, ScheduledFor: &from}
	if !until.IsZero() {
		m.ScheduledUntil = &until
	}
	first := status.Scheduled
	if !from.After(now) {
		first = status.InProgress
	}
	m.Status = first
	if err := m.Validate(); err != nil {
		return nil, err
	}
	m.AddUpdate(first, cmpOr(req.Body, m.Name), req.Actor, now, nil)
	if _, err := st.Create(ctx, m.Key(), m); err != nil {
		return nil, err
	}
	n.status.offer(m)
	return m, nil
}

func window(req IncidentRequest, now time.Time) (from, until status.Time, err error) {
	from = status.At(now)
	if req.ScheduledFor != "" {
		t, perr := time.Parse(time.RFC3339, req.ScheduledFor)
		if perr != nil {
			return from, until, fmt.Errorf("%w: scheduled_for %q: want RFC 3339", status.ErrInvalid, req.ScheduledFor)
		}
		from = status.At(t)
	}
	if req.ScheduledUntil != "" {
		t, perr := time.Parse(time.RFC3339, req.ScheduledUntil)
		if perr != nil {
			return from, until, fmt.Errorf("%w: scheduled_until %q: want RFC 3339", status.ErrInvalid, req.ScheduledUntil)
		}
		if !t.After(from.Time) {
			return from, until, fmt.Errorf("%w: scheduled_until must be after scheduled_for", status.ErrInvalid)
		}
		until = status.At(t)
	}
	return from, until, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// --- admin API routes (registered by AdminHandler) ---
//
//	GET  /admin/v1/incidents[?open=true]             {"incidents": [...]}, newest first
//	POST /admin/v1/incidents                         {"name", "status", "impact", "body", "components", "symbols"}
//	POST /admin/v1/incidents/{id}/updates            {"status", "body"}       add a message
//	POST /admin/v1/incidents/{id}/resolve            {"body"}
//	GET  /admin/v1/maintenances[?open=true]          {"maintenances": [...]}
//	POST /admin/v1/maintenances                      {"name", "body", "components", "scheduled_for", "scheduled_until"}
//	POST /admin/v1/maintenances/{id}/updates         {"status", "body"}
//	POST /admin/v1/maintenances/{id}/complete        {"body"}
//	GET  /admin/v1/webhooks/deliveries[?limit=N]     {"deliveries": [...]}, newest first

func (a *admin) statusRoutes(mux *http.ServeMux, route func(method, path string, h func(*http.Request) (int, any, error))) {
	type handlers = map[string]func(*http.Request) (int, any, error)
	mux.Handle(adminPrefix+"/incidents", a.methods(handlers{
		http.MethodGet: a.listIncidents(status.KindIncident), http.MethodPost: a.createIncident(a.n.CreateIncident)}))
	mux.Handle(adminPrefix+"/maintenances", a.methods(handlers{
		http.MethodGet: a.listIncidents(status.KindMaintenance), http.MethodPost: a.createIncident(a.n.CreateMaintenance)}))
	route(http.MethodPost, "/incidents/{id}/updates", a.updateIncident(status.KindIncident, ""))
	route(http.MethodPost, "/incidents/{id}/resolve", a.updateIncident(status.KindIncident, status.Resolved))
	route(http.MethodPost, "/maintenances/{id}/updates", a.updateIncident(status.KindMaintenance, ""))
	route(http.MethodPost, "/maintenances/{id}/complete", a.updateIncident(status.KindMaintenance, status.Completed))
	route(http.MethodGet, "/webhooks/deliveries", a.deliveries)
}

// statusErr maps the status package's errors to admin errors.
func statusErr(err error) error {
	switch {
	case errors.Is(err, status.ErrInvalid):
		return adminError{http.StatusBadRequest, err}
	case errors.Is(err, status.ErrNotFound):
		return adminError{http.StatusNotFound, err}
	case errors.Is(err, status.ErrConflict):
		return adminError{http.StatusConflict, err}
	}
	return err
}

func decodeIncidentRequest(r *http.Request) (IncidentRequest, error) {
	var req IncidentRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			return req, adminError{http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", tooBig.Limit)}
		}
		return req, badRequestf("request body: %v", err)
	}
	if len(req.Body) > 5000 || len(req.Actor) > 200 || len(req.Components) > 100 || len(req.Symbols) > 1000 {
		return req, badRequestf("body, actor, components or symbols too long")
	}
	if req.Actor == "" {
		req.Actor = adminDefaultActor
	}
	return req, nil
}

func (a *admin) listIncidents(kind string) func(*http.Request) (int, any, error) {
	return func(r *http.Request) (int, any, error) {
		if a.n.status == nil {
			return 0, nil, ErrNotReady
		}
		onlyOpen := r.URL.Query().Get("open") == "true"
		snap := a.n.status.cache.Snapshot()
		src, field := snap.Incidents, "incidents"
		if kind == status.KindMaintenance {
			src, field = snap.Maintenances, "maintenances"
		}
		out := []*status.Incident{}
		for _, in := range src {
			if !onlyOpen || in.Open() {
				out = append(out, in)
			}
		}
		return http.StatusOK, map[string]any{field: out}, nil
	}
}

func (a *admin) createIncident(op func(context.Context, IncidentRequest) (*status.Incident, error)) func(*http.Request) (int, any, error) {
	return func(r *http.Request) (int, any, error) {
		req, err := decodeIncidentRequest(r)
		if err != nil {
			return 0, nil, err
		}
		if strings.TrimSpace(req.Name) == "" {
			return 0, nil, badRequestf("a name is required")
		}
		in, err := op(r.Context(), req)
		if err != nil {
			return 0, nil, statusErr(err)
		}
		a.n.awaitStatusCached(r.Context(), in)
		return http.StatusCreated, in, nil
	}
}

func (a *admin) updateIncident(kind, to string) func(*http.Request) (int, any, error) {
	return func(r *http.Request) (int, any, error) {
		id := r.PathValue("id")
		if !status.ValidID(id) {
			return 0, nil, badRequestf("invalid id %q", id)
		}
		req, err := decodeIncidentRequest(r)
		if err != nil {
			return 0, nil, err
		}
		if to != "" {
			if req.Status != "" && req.Status != to {
				return 0, nil, badRequestf("status %q: this endpoint sets %s", req.Status, to)
			}
			req.Status = to
			if req.Body == "" {
				req.Body = map[string]string{status.Resolved: "This incident has been resolved.",
					status.Completed: "The scheduled maintenance has been completed."}[to]
			}
		}
		in, err := a.n.UpdateIncident(r.Context(), kind, id, req)
		if err != nil {
			return 0, nil, statusErr(err)
		}
		a.n.awaitStatusCached(r.Context(), in)
		return http.StatusOK, in, nil
	}
}

// awaitStatusCached waits (at most 2 s) until this node's status cache, which the reads of the
// admin API and the status pages are served from, shows the incident as written, so an
// operator who resolves an incident and lists the open ones right after does not see it open.
func (n *Node) awaitStatusCached(ctx context.Context, in *status.Incident) {
	if n.status == nil || in == nil {
		return
	}
	cached := func() bool {
		got := n.status.cache.Snapshot().Incident(in.ID)
		return got != nil && got.Status == in.Status && len(got.Updates) >= len(in.Updates)
	}
	changed, done := n.status.cache.Subscribe()
	defer done()
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for !cached() {
		select {
		case <-changed:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (a *admin) deliveries(r *http.Request) (int, any, error) {
	if a.n.status == nil {
		return 0, nil, ErrNotReady
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return 0, nil, badRequestf("limit %q: want a positive count", s)
		}
		limit = v
	}
	ds := a.n.status.cache.Snapshot().Deliveries
	if len(ds) > limit {
		ds = ds[:limit]
	}
	if ds == nil {
		ds = []*status.Delivery{}
	}
	return http.StatusOK, map[string]any{"deliveries": ds}, nil
}
