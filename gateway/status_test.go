package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/geomesh/geomesh/gateway"
	"github.com/geomesh/geomesh/region"
	"github.com/geomesh/geomesh/region/status"
	"github.com/geomesh/geomesh/test/meshtest"
)

// receiver is a webhook endpoint: it verifies every signature, fails the very first request
// (503) so that the retry path runs, and remembers when each update first arrived.
type receiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu       sync.Mutex
	requests int
	bad      []string
	got      map[string]status.Notification // by update id
	at       map[string]time.Time
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{t: t, secret: secret, got: map[string]status.Notification{}, at: map[string]time.Time{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.requests++
		if rc.requests == 1 {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		if err := status.Verify(r.Header.Get(status.SignatureHeader), rc.secret, body, now, 5*time.Minute); err != nil {
			rc.bad = append(rc.bad, err.Error())
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var n status.Notification
		if err := json.Unmarshal(body, &n); err != nil {
			rc.bad = append(rc.bad, err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, seen := rc.got[n.Update.ID]; !seen {
			rc.got[n.Update.ID], rc.at[n.Update.ID] = n, now
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// statuses returns the update statuses received for incident id, in update order.
func (rc *receiver) statuses(id string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var ups []status.UpdateDoc
	for _, n := range rc.got {
		if n.Incident.ID == id {
			ups = append(ups, n.Update)
		}
	}
	slices.SortFunc(ups, func(a, b status.UpdateDoc) int { return a.CreatedAt.Compare(b.CreatedAt.Time) })
	var out []string
	for _, u := range ups {
		out = append(out, u.Status)
	}
	return out
}

func getJSON(url string, v any) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("GET %s: content type %q", url, ct)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

func updateStatuses(d status.IncidentDoc) []string {
	var out []string
	for i := len(d.IncidentUpdates) - 1; i >= 0; i-- { // newest first on the wire
		out = append(out, d.IncidentUpdates[i].Status)
	}
	return out
}

// failoverIncident finds the failover incident of region r in a list.
func failoverIncident(l []status.IncidentDoc, r string) *status.IncidentDoc {
	for i := range l {
		if strings.HasPrefix(l[i].ID, "inc-"+r+"-") {
			return &l[i]
		}
	}
	return nil
}

// seenLog records when a poller first saw each incident update on a gateway.
type seenLog struct {
	mu sync.Mutex
	at map[string]time.Time // gateway region + " " + update id
	up map[string]status.Time
}

func (s *seenLog) poll(ctx context.Context, gw string, url string) {
	for ctx.Err() == nil {
		var doc status.IncidentsDoc
		if getJSON(url+"/api/v2/incidents.json", &doc) == nil {
			now := time.Now()
			s.mu.Lock()
			for _, in := range doc.Incidents {
				for _, u := range in.IncidentUpdates {
					k := gw + " " + u.Status
					if _, ok := s.at[k]; !ok && strings.HasPrefix(in.ID, "inc-") {
						s.at[k], s.up[k] = now, u.CreatedAt
					}
				}
			}
			s.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestStatusFailoverIncident kills the region that homes BTCUSDT. An incident opens and goes
// investigating -> identified -> monitoring on the status API of every live gateway, the dead
// region's components show major_outage, the summary pushes over the status WebSocket, the
// /status page shows it, a local webhook receiver gets every update with a valid signature
// (after one refused attempt) and the admin delivery log lists them. After the region restarts
// the incident resolves on all three gateways. The latency from each update to its visibility
// and its webhook is logged (target 1 s), not asserted.
func TestStatusFailoverIncident(t *testing.T) {
	const secret = "hook-secret"
	rc := newReceiver(t, secret)
	e := newEnv(t, func(c *region.Config) {
		c.SettleWindow = 2 * time.Second
		c.Webhooks = []status.Webhook{{URL: rc.srv.URL + "/hook", Secret: secret}}
		c.WebhookBackoff = status.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond, Attempts: 5}
	})
	ctx := ctxT(t)
	const dead = "us-east"
	live := []string{"eu-west", "ap-south"}

	for r, g := range e.gw {
		await(t, "operational on "+r, func() error {
			var s status.Summary
			if err := getJSON(g.URL()+"/api/v2/summary.json", &s); err != nil {
				return err
			}
			if s.Status.Indicator != "none" || len(s.Components) != 15 {
				return fmt.Errorf("indicator %q, %d components", s.Status.Indicator, len(s.Components))
			}
			return nil
		})
	}
	var sys struct {
		Status int    `json:"status"`
		Msg    string `json:"msg"`
	}
	if err := getJSON(e.gw["eu-west"].URL()+"/sapi/v1/system/status", &sys); err != nil || sys.Status != 0 || sys.Msg != "normal" {
		t.Errorf("system status %+v %v", sys, err)
	}

	// The status WebSocket of a live gateway: the summary on connect, then on every change.
	wsURL := "ws" + strings.TrimPrefix(e.gw["eu-west"].URL(), "http") + "/api/v2/stream"
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pushes := make(chan status.Summary, 256)
	go func() {
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				close(pushes)
				return
			}
			var s status.Summary
			if json.Unmarshal(b, &s) == nil {
				pushes <- s
			}
		}
	}()
	if s, ok := <-pushes; !ok || s.Status.Indicator != "none" {
		t.Fatalf("first push %+v", s)
	}

	seen := &seenLog{at: map[string]time.Time{}, up: map[string]status.Time{}}
	pctx, stopPolling := context.WithCancel(ctx)
	var pollers sync.WaitGroup
	for _, r := range live {
		pollers.Add(1)
		go func() {
			defer pollers.Done()
			seen.poll(pctx, r, e.gw[r].URL())
		}()
	}

	killedAt := time.Now()
	e.m.Kill(dead)
	var incID string
	for _, r := range live {
		url := e.gw[r].URL()
		await2 := func(what string, cond func() error) {
			t.Helper()
			if err := meshtest.Poll(60*time.Second, cond); err != nil {
				t.Fatalf("%s on %s: %v", what, r, err)
			}
		}
		await2("monitoring incident", func() error {
			var doc status.IncidentsDoc
			if err := getJSON(url+"/api/v2/incidents/unresolved.json", &doc); err != nil {
				return err
			}
			in := failoverIncident(doc.Incidents, dead)
			if in == nil {
				return fmt.Errorf("no incident for %s in %d", dead, len(doc.Incidents))
			}
			if got := updateStatuses(*in); !slices.Equal(got, []string{"investigating", "identified", "monitoring"}) {
				return fmt.Errorf("timeline %v", got)
			}
			incID = in.ID
			if !slices.Contains(in.Symbols, sym) || in.Impact != "major" || in.MonitoringAt == nil {
				return fmt.Errorf("incident %+v", in)
			}
			identified := in.IncidentUpdates[1]
			if !strings.Contains(identified.Body, sym+" "+dead+" → ") {
				return fmt.Errorf("identified body %q does not say where %s went", identified.Body, sym)
			}
			return nil
		})
		await2("summary", func() error {
			var s status.Summary
			if err := getJSON(url+"/api/v2/summary.json", &s); err != nil {
				return err
			}
			if s.Status.Indicator != "major" {
				return fmt.Errorf("indicator %q", s.Status.Indicator)
			}
			if failoverIncident(s.Incidents, dead) == nil {
				return fmt.Errorf("summary lists no incident")
			}
			for _, c := range s.Components {
				if (c.ID == dead || strings.HasPrefix(c.ID, dead+"-")) && c.Status != status.MajorOutage {
					return fmt.Errorf("component %s is %s", c.ID, c.Status)
				}
				if !strings.HasPrefix(c.ID, dead) && c.Status == status.MajorOutage {
					return fmt.Errorf("live component %s is %s", c.ID, c.Status)
				}
			}
			return nil
		})
		var all status.IncidentsDoc
		if err := getJSON(url+"/api/v2/incidents.json", &all); err != nil || failoverIncident(all.Incidents, dead) == nil {
			t.Errorf("incidents.json on %s: %v %+v", r, err, all)
		}
		var comps status.ComponentsDoc
		if err := getJSON(url+"/api/v2/components.json", &comps); err != nil || len(comps.Components) != 15 {
			t.Errorf("components.json on %s: %v", r, err)
		}
		res, err := http.Get(url + "/status")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, want := range []string{`data-incident="` + incID + `"`, `data-region="us-east"`, `data-region="eu-west"`,
			`data-region="ap-south"`, `data-symbol="BTCUSDT"`, "Partial System Outage"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("/status on %s lacks %q", r, want)
			}
		}
	}
	t.Logf("kill -> monitoring on both live gateways: %v", time.Since(killedAt))
	// The metrics moved too: the surviving controller counted the failover, and the survivors'
	// registries show the dead region down and the symbol's new home.
	failovers := 0.0
	for _, r := range []string{"eu-west", "ap-south"} {
		reg := e.m.Node(r).Registry()
		failovers += metricValue(t, reg, "geomesh_failovers_total", "")
		if up := metricValue(t, reg, "geomesh_region_up", dead); up != 0 {
			t.Errorf("%s: geomesh_region_up{region=%s} = %v, want 0", r, dead, up)
		}
	}
	if failovers < 1 {
		t.Errorf("geomesh_failovers_total on the survivors = %v, want >= 1", failovers)
	}
	{
		var doc status.IncidentsDoc
		if err := getJSON(e.gw["eu-west"].URL()+"/api/v2/incidents/unresolved.json", &doc); err == nil {
			if in := failoverIncident(doc.Incidents, dead); in != nil {
				t.Logf("kill -> incident opened (investigating written) %v (includes the gossip down grace)",
					in.CreatedAt.Sub(killedAt).Round(time.Millisecond))
			}
		}
	}
	// The phase change itself: BTCUSDT settled (TRADING on its new home) -> the monitoring update.
	if rec := e.m.Owner(sym); rec.GetPhase().String() == "PHASE_TRADING" {
		var doc status.IncidentsDoc
		if err := getJSON(e.gw["eu-west"].URL()+"/api/v2/incidents/unresolved.json", &doc); err == nil {
			if in := failoverIncident(doc.Incidents, dead); in != nil {
				settled := time.Unix(0, rec.UpdatedUnixNano)
				t.Logf("%s TRADING on %s -> monitoring update written %v later", sym, rec.HomeRegion,
					in.IncidentUpdates[0].CreatedAt.Sub(settled).Round(time.Millisecond))
			}
		}
	}

	// Pushed over the WebSocket.
	deadline := time.After(30 * time.Second)
	for pushed := false; !pushed; {
		select {
		case s, ok := <-pushes:
			if !ok {
				t.Fatal("status stream closed")
			}
			if in := failoverIncident(s.Incidents, dead); in != nil && in.Status == "monitoring" {
				pushed = true
			}
		case <-deadline:
			t.Fatal("no status push shows the monitoring incident")
		}
	}

	// Webhooks: every update, signed, and the delivery log.
	await(t, "webhooks", func() error {
		if got := rc.statuses(incID); !slices.Equal(got, []string{"investigating", "identified", "monitoring"}) {
			return fmt.Errorf("received %v", got)
		}
		return nil
	})
	admin := httptest.NewServer(e.m.Node("ap-south").AdminHandler("tok"))
	defer admin.Close()
	await(t, "delivery log", func() error {
		req, _ := http.NewRequest("GET", admin.URL+"/admin/v1/webhooks/deliveries", nil)
		req.Header.Set("Authorization", "Bearer tok")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		var log struct{ Deliveries []status.Delivery }
		if err := json.NewDecoder(res.Body).Decode(&log); err != nil {
			return err
		}
		delivered, retried := 0, 0
		for _, d := range log.Deliveries {
			if d.IncidentID != incID {
				continue
			}
			if d.Status == status.DeliveryDelivered {
				delivered++
			}
			if len(d.Attempts) > 1 && d.Attempts[0].StatusCode == http.StatusServiceUnavailable {
				retried++
			}
		}
		if delivered != 3 || retried != 1 {
			return fmt.Errorf("%d delivered, %d retried after a 503: %+v", delivered, retried, log.Deliveries)
		}
		return nil
	})
	rc.mu.Lock()
	if len(rc.bad) > 0 {
		t.Errorf("bad webhook requests: %v", rc.bad)
	}
	rc.mu.Unlock()

	// Back: the restarted region's new gateway and the others show the incident resolved.
	e.m.Restart(dead)
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := e.m.Node(dead).AwaitReady(rctx); err != nil {
		t.Fatal(err)
	}
	// Right after a restart the region's replicas may still be catching up: a gateway that
	// cannot start yet is retried.
	if err := meshtest.Poll(60*time.Second, func() error {
		cfg := gateway.LocalConfig()
		cfg.Region, cfg.NC, cfg.Submitter = dead, e.m.Node(dead).Conn(), e.m.Node(dead).Submitter()
		cfg.BootstrapKeys = []gateway.BootstrapKey{{APIKey: demoKey, Secret: demoSecret, Account: 99}}
		g, err := gateway.New(cfg)
		if err != nil {
			return err
		}
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := g.Start(sctx); err != nil {
			_ = g.Close()
			return err
		}
		t.Cleanup(func() { _ = g.Close() })
		e.gw[dead] = g
		return nil
	}); err != nil {
		t.Fatalf("start gateway %s after its restart: %v", dead, err)
	}
	for r, g := range e.gw {
		if err := meshtest.Poll(60*time.Second, func() error {
			var doc status.IncidentsDoc
			if err := getJSON(g.URL()+"/api/v2/incidents.json", &doc); err != nil {
				return err
			}
			in := failoverIncident(doc.Incidents, dead)
			if in == nil || in.Status != "resolved" || in.ResolvedAt == nil {
				return fmt.Errorf("incident %+v", in)
			}
			if got := updateStatuses(*in); !slices.Equal(got, []string{"investigating", "identified", "monitoring", "resolved"}) {
				return fmt.Errorf("timeline %v", got)
			}
			var un status.IncidentsDoc
			if err := getJSON(g.URL()+"/api/v2/incidents/unresolved.json", &un); err != nil {
				return err
			}
			if failoverIncident(un.Incidents, dead) != nil {
				return fmt.Errorf("still unresolved")
			}
			return nil
		}); err != nil {
			t.Fatalf("resolved on %s: %v", r, err)
		}
	}
	await(t, "resolved webhook", func() error {
		if got := rc.statuses(incID); len(got) != 4 || got[3] != "resolved" {
			return fmt.Errorf("received %v", got)
		}
		return nil
	})
	stopPolling()
	pollers.Wait()

	// A maintenance of the whole mesh is the only thing /sapi/v1/system/status reports.
	post := func(path, body string) status.Incident {
		t.Helper()
		req, _ := http.NewRequest("POST", admin.URL+"/admin/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var in status.Incident
		if err := json.Unmarshal(b, &in); err != nil || res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %s %v: %s", path, res.Status, err, b)
		}
		return in
	}
	systemStatus := func(want int) func() error {
		return func() error {
			if err := getJSON(e.gw["ap-south"].URL()+"/sapi/v1/system/status", &sys); err != nil {
				return err
			}
			if sys.Status != want {
				return fmt.Errorf("system status %+v", sys)
			}
			return nil
		}
	}
	mnt := post("/maintenances", `{"name":"Datacenter move","components":["us-east","eu-west","ap-south"]}`)
	await(t, "system_maintenance", systemStatus(1))
	if sys.Msg != "system_maintenance" {
		t.Errorf("system status %+v", sys)
	}
	var active status.MaintenancesDoc
	if err := getJSON(e.gw["eu-west"].URL()+"/api/v2/scheduled-maintenances/active.json", &active); err != nil ||
		len(active.ScheduledMaintenances) != 1 || active.ScheduledMaintenances[0].ID != mnt.ID {
		t.Errorf("active maintenances %+v %v", active, err)
	}
	post("/maintenances/"+mnt.ID+"/complete", "")
	await(t, "normal again", systemStatus(0))

	// Figures: from each update's creation to its first sight on a live gateway's API and to
	// its webhook.
	seen.mu.Lock()
	defer seen.mu.Unlock()
	var worstAPI, worstHook time.Duration
	for _, st := range []string{"investigating", "identified", "monitoring", "resolved"} {
		for _, r := range live {
			k := r + " " + st
			if at, ok := seen.at[k]; ok {
				d := at.Sub(seen.up[k].Time)
				worstAPI = max(worstAPI, d)
				t.Logf("status api %-9s %-13s visible %v after the update", r, st, d.Round(time.Millisecond))
			}
		}
	}
	rc.mu.Lock()
	for id, n := range rc.got {
		if n.Incident.ID != incID {
			continue
		}
		d := rc.at[id].Sub(n.Update.CreatedAt.Time)
		if n.Update.Status != "investigating" { // the first delivery waited out the deliberate 503
			worstHook = max(worstHook, d)
		}
		t.Logf("webhook %-13s received %v after the update", n.Update.Status, d.Round(time.Millisecond))
	}
	rc.mu.Unlock()
	t.Logf("worst: status API %v, webhook %v (target 1 s)", worstAPI.Round(time.Millisecond), worstHook.Round(time.Millisecond))
}
