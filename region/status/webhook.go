package status

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook is one configured notification target.
type Webhook struct {
	// URL receives a POST of every incident and maintenance update (http or https).
	URL string
	// Secret keys the HMAC-SHA256 signature of X-Geomesh-Signature (may be empty: unsigned
	// receivers still get the header, computed with the empty key).
	Secret string
}

// Validate checks the URL.
func (w Webhook) Validate() error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook url %q: want http(s)://host[:port]/path", w.URL)
	}
	return nil
}

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
const SignatureHeader = "X-Geomesh-Signature"

// Sign computes the signature header value of body sent at unix time t.
func Sign(secret string, t int64, body []byte) string {
	return "t=" + strconv.FormatInt(t, 10) + ",v1=" + hex.EncodeToString(mac(secret, t, body))
}

func mac(secret string, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature: a webhook signature header that is malformed, wrong or too old.
var ErrSignature = errors.New("status: bad webhook signature")

// Verify checks a signature header against body (what a receiver does): the HMAC must match
// and t must be within tolerance of now (replay protection; 0 = no check).
func Verify(header, secret string, body []byte, now time.Time, tolerance time.Duration) error {
	var t int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed %q", ErrSignature, part)
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: timestamp %q", ErrSignature, v)
			}
			t = n
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return fmt.Errorf("%w: v1 is not hex", ErrSignature)
			}
			sigs = append(sigs, b)
		}
	}
	if t < 0 || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix>,v1=<hex>", ErrSignature)
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
			return fmt.Errorf("%w: timestamp %d outside %v", ErrSignature, t, tolerance)
		}
	}
	want := mac(secret, t, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 matches", ErrSignature)
}

// Backoff is a bounded exponential retry schedule.
type Backoff struct {
	// Initial delay after the first failed attempt (default 250 ms), doubled after each
	// further failure up to Max (default 30 s).
	Initial, Max time.Duration
	// Attempts in all, including the first (default 6).
	Attempts int
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 250 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Attempts <= 0 {
		b.Attempts = 6
	}
	return b
}

// Delay is the wait after failed attempt n (1-based); ok is false when no attempt is left.
func (b Backoff) Delay(n int) (d time.Duration, ok bool) {
	b = b.withDefaults()
	if n >= b.Attempts {
		return 0, false
	}
	d = b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max), true
}

// Notification is the JSON body of a webhook POST (Statuspage's webhook shape: meta, page and
// the incident with its updates, newest first).
type Notification struct {
	Meta     NotificationMeta `json:"meta"`
	Page     NotificationPage `json:"page"`
	Incident IncidentDoc      `json:"incident"`
	// Update is the update this notification is about (also first in incident_updates).
	Update UpdateDoc `json:"incident_update"`
}

// NotificationMeta identifies the delivery.
type NotificationMeta struct {
	Event      string `json:"event"` // incident.update or maintenance.update
	DeliveryID string `json:"delivery_id"`
	CreatedAt  Time   `json:"generated_at"`
}

// NotificationPage is the page and its current indicator.
type NotificationPage struct {
	ID                string `json:"id"`
	StatusIndicator   string `json:"status_indicator"`
	StatusDescription string `json:"status_description"`
}

// Dispatcher sends every incident and maintenance update of the STATUS bucket to every webhook,
// once: a delivery record "delivery.<update id>-<url hash>" is created (compare-and-swap) before
// sending, so a controller failover neither loses nor repeats a finished notification (one in
// flight when its sender died is retried by the next sender after StaleAfter). Updates older than
// MaxAge are not sent (configuring a new URL does not replay history).
type Dispatcher struct {
	Store    *Store
	Cache    *Cache
	Hooks    []Webhook
	Renderer Renderer
	// Node names this sender in delivery records.
	Node string
	// Active gates sending: only the active controller sends (nil = always).
	Active  func() bool
	Backoff Backoff
	// Client posts the notifications (default: 10 s timeout).
	Client *http.Client
	// MaxAge of an update still worth notifying (default 1 h); StaleAfter: a pending delivery
	// not touched for this long is taken over (default 2 min); Keep: delivery records kept
	// (default 500, oldest finished ones are deleted).
	MaxAge, StaleAfter time.Duration
	Keep               int
	// OnDelivered, when set, is called after each successful POST (tests and metrics).
	OnDelivered func(d *Delivery)
	Log         *slog.Logger

	mu       sync.Mutex
	inflight map[string]bool
	queues   []chan job
	offered  map[string]*Incident // written by this node, maybe not in the cache yet
	done     map[string]bool      // deliveries this sender finished, until the cache shows them
	wake     chan struct{}
}

// Offer hands the dispatcher an incident its node has just written, so that its updates are
// sent without waiting for the node's watch of the bucket. Safe for concurrent use.
func (d *Dispatcher) Offer(in *Incident) {
	if d == nil || in == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.offered == nil {
		d.offered = map[string]*Incident{}
	}
	if cur := d.offered[in.ID]; cur == nil || len(in.Updates) >= len(cur.Updates) {
		d.offered[in.ID] = in
	}
	if d.wake != nil {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// incident is the freshest copy of id: the cache's or an offered one with more updates.
func (d *Dispatcher) incident(snap *Snapshot, id string) *Incident {
	in := snap.Incident(id)
	d.mu.Lock()
	defer d.mu.Unlock()
	if o := d.offered[id]; o != nil && (in == nil || len(o.Updates) > len(in.Updates)) {
		return o
	}
	return in
}

// incidents merges the cache's incidents and maintenances with the offered ones, and forgets
// offered ones the cache has caught up with.
func (d *Dispatcher) incidents(snap *Snapshot) []*Incident {
	all := append(append([]*Incident{}, snap.Incidents...), snap.Maintenances...)
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, o := range d.offered {
		i := slices.IndexFunc(all, func(in *Incident) bool { return in.ID == id })
		switch {
		case i < 0:
			all = append(all, o)
		case len(all[i].Updates) < len(o.Updates):
			all[i] = o
		default:
			delete(d.offered, id)
		}
	}
	return all
}

type job struct {
	id     string
	hook   int
	update string
	inc    string
	// rec and rev: the delivery record as this sender stored it (it is the only writer while
	// it owns the delivery, so it updates by revision without reading the record back).
	rec *Delivery
	rev uint64
}

// HookTag is the short stable tag of a webhook URL in delivery ids.
func HookTag(u string) string {
	s := sha256.Sum256([]byte(u))
	return hex.EncodeToString(s[:4])
}

// Run dispatches until ctx ends, and waits for its workers.
func (d *Dispatcher) Run(ctx context.Context) {
	if len(d.Hooks) == 0 {
		return
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if d.MaxAge <= 0 {
		d.MaxAge = time.Hour
	}
	if d.StaleAfter <= 0 {
		d.StaleAfter = 2 * time.Minute
	}
	if d.Keep <= 0 {
		d.Keep = 500
	}
	d.mu.Lock()
	d.inflight, d.done = map[string]bool{}, map[string]bool{}
	d.wake = make(chan struct{}, 1)
	wake := d.wake
	d.mu.Unlock()
	var wg sync.WaitGroup
	for range d.Hooks {
		q := make(chan job, 1024)
		d.queues = append(d.queues, q)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-q:
					d.deliver(ctx, j)
				}
			}
		}()
	}
	defer wg.Wait()
	changed, unsubscribe := d.Cache.Subscribe()
	defer unsubscribe()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if d.Active == nil || d.Active() {
			d.scan(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-wake:
		case <-tick.C:
		}
	}
}

// scan creates the delivery records of updates not notified yet and queues them.
func (d *Dispatcher) scan(ctx context.Context) {
	snap := d.Cache.Snapshot()
	have := map[string]*Delivery{}
	d.mu.Lock()
	for _, dl := range snap.Deliveries {
		have[dl.ID] = dl
		if dl.Status != DeliveryPending {
			delete(d.done, dl.ID)
		}
	}
	d.mu.Unlock()
	now := time.Now()
	type pending struct {
		at  time.Time
		job job
	}
	var todo []pending
	for _, in := range d.incidents(snap) {
		for _, u := range in.Updates {
			if now.Sub(u.CreatedAt.Time) > d.MaxAge {
				continue
			}
			for i, h := range d.Hooks {
				id := u.ID + "-" + HookTag(h.URL)
				dl := have[id]
				if dl != nil && (dl.Status != DeliveryPending || now.Sub(dl.UpdatedAt.Time) < d.StaleAfter) {
					continue
				}
				todo = append(todo, pending{u.CreatedAt.Time, job{id: id, hook: i, update: u.ID, inc: in.ID}})
			}
		}
	}
	slices.SortFunc(todo, func(a, b pending) int { return a.at.Compare(b.at) })
	for _, p := range todo {
		j := p.job
		d.mu.Lock()
		busy := d.inflight[j.id] || d.done[j.id]
		d.mu.Unlock()
		if busy {
			continue
		}
		var ok bool
		if j.rec, j.rev, ok = d.claim(ctx, j, have[j.id]); !ok {
			continue
		}
		d.mu.Lock()
		d.inflight[j.id] = true
		d.mu.Unlock()
		select {
		case d.queues[j.hook] <- j:
		default:
			d.mu.Lock()
			delete(d.inflight, j.id)
			d.mu.Unlock()
			d.Log.Warn("webhook_queue_full", slog.String("url", d.Hooks[j.hook].URL))
		}
	}
	d.prune(ctx, snap)
}

// claim creates the delivery record (or takes over a stale pending one) and returns it with
// its revision; false: someone else has it.
func (d *Dispatcher) claim(ctx context.Context, j job, stale *Delivery) (*Delivery, uint64, bool) {
	now := At(time.Now())
	if stale == nil {
		kind := "incident.update"
		if in := d.incident(d.Cache.Snapshot(), j.inc); in != nil && in.Kind == KindMaintenance {
			kind = "maintenance.update"
		}
		dl := &Delivery{ID: j.id, URL: d.Hooks[j.hook].URL, Event: kind, IncidentID: j.inc, UpdateID: j.update,
			Status: DeliveryPending, Attempts: []Attempt{}, CreatedAt: now, UpdatedAt: now, Sender: d.Node}
		rev, err := d.Store.Create(ctx, DeliveryKey(j.id), dl)
		return dl, rev, err == nil
	}
	dl, rev, err := modify(ctx, d.Store, DeliveryKey(j.id), func(dl *Delivery) error {
		if dl.Status != DeliveryPending || time.Since(dl.UpdatedAt.Time) < d.StaleAfter {
			return errors.New("taken")
		}
		dl.Sender, dl.UpdatedAt = d.Node, now
		return nil
	})
	return dl, rev, err == nil
}

// record appends an attempt to the delivery record: by revision, else (someone else wrote it
// meanwhile) by a fresh compare-and-swap.
func (d *Dispatcher) record(ctx context.Context, j *job, att Attempt, state string) (*Delivery, error) {
	j.rec.Attempts = append(j.rec.Attempts, att)
	j.rec.Status, j.rec.UpdatedAt, j.rec.Sender = state, At(time.Now()), d.Node
	if b, err := Encode(j.rec); err == nil {
		if rev, err := d.Store.KV.Update(ctx, DeliveryKey(j.id), b, j.rev); err == nil {
			j.rev = rev
			return j.rec, nil
		}
	}
	rec, rev, err := modify(ctx, d.Store, DeliveryKey(j.id), func(dl *Delivery) error {
		dl.Attempts = append(dl.Attempts, att)
		dl.Status, dl.UpdatedAt, dl.Sender = state, At(time.Now()), d.Node
		return nil
	})
	if err != nil {
		return nil, err
	}
	j.rec, j.rev = rec, rev
	return rec, nil
}

// deliver posts one notification until it is accepted (2xx) or the attempts run out, recording
// every attempt.
func (d *Dispatcher) deliver(ctx context.Context, j job) {
	defer func() {
		d.mu.Lock()
		delete(d.inflight, j.id)
		d.done[j.id] = true
		d.mu.Unlock()
	}()
	hook := d.Hooks[j.hook]
	for n := 1; ; n++ {
		snap := d.Cache.Snapshot()
		in := d.incident(snap, j.inc)
		if in == nil {
			return
		}
		body, err := d.body(snap, in, j)
		if err != nil {
			d.Log.Error("webhook_body_failed", slog.Any("err", err))
			return
		}
		start := time.Now()
		code, err := d.post(ctx, hook, body, start)
		att := Attempt{At: At(start), StatusCode: code, DurationMs: time.Since(start).Milliseconds()}
		if err != nil {
			att.Error = err.Error()
		}
		delay, again := d.Backoff.Delay(n)
		state := DeliveryPending
		switch {
		case err == nil:
			state = DeliveryDelivered
		case !again:
			state = DeliveryFailed
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		rec, merr := d.record(lctx, &j, att, state)
		cancel()
		if merr != nil {
			d.Log.Warn("webhook_log_failed", slog.String("delivery", j.id), slog.Any("err", merr))
		}
		if err == nil {
			d.Log.Info("webhook_delivered", slog.String("delivery", j.id), slog.String("url", hook.URL),
				slog.Int("attempt", n), slog.Int64("duration_ms", att.DurationMs))
			if d.OnDelivered != nil && rec != nil {
				d.OnDelivered(rec)
			}
			return
		}
		d.Log.Warn("webhook_attempt_failed", slog.String("delivery", j.id), slog.String("url", hook.URL),
			slog.Int("attempt", n), slog.Any("err", err))
		if !again {
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (d *Dispatcher) body(snap *Snapshot, in *Incident, j job) ([]byte, error) {
	doc := d.Renderer.Incident(snap, in)
	st := d.Renderer.Status(snap)
	n := Notification{Meta: NotificationMeta{Event: "incident.update", DeliveryID: j.id, CreatedAt: At(time.Now())},
		Page:     NotificationPage{ID: d.Renderer.PageID, StatusIndicator: st.Indicator, StatusDescription: st.Description},
		Incident: doc}
	if in.Kind == KindMaintenance {
		n.Meta.Event = "maintenance.update"
	}
	for _, u := range doc.IncidentUpdates {
		if u.ID == j.update {
			n.Update = u
		}
	}
	return json.Marshal(n)
}

func (d *Dispatcher) post(ctx context.Context, hook Webhook, body []byte, now time.Time) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "geomesh-webhooks/1")
	req.Header.Set(SignatureHeader, Sign(hook.Secret, now.Unix(), body))
	res, err := d.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	_ = res.Body.Close()
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

// prune deletes the oldest finished delivery records beyond Keep.
func (d *Dispatcher) prune(ctx context.Context, snap *Snapshot) {
	if len(snap.Deliveries) <= d.Keep {
		return
	}
	for _, dl := range snap.Deliveries[d.Keep:] { // newest first
		if dl.Status != DeliveryPending {
			_ = d.Store.KV.Delete(ctx, DeliveryKey(dl.ID))
		}
	}
}
