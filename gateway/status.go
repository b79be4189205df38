package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/geomesh/geomesh/region/status"
)

// The status API, served unauthenticated by every gateway from its watch of KV STATUS (the
// active controller writes it; package status): the Atlassian Statuspage v2 documents under
// /api/v2, Binance's /sapi/v1/system/status, a server-rendered page at /status and a WebSocket
// at /api/v2/stream that pushes summary.json on connect and after every change.

// statusView is the gateway's copy of the STATUS bucket.
type statusView struct {
	cache *status.Cache
	up    websocket.Upgrader
}

func newStatusView(g *Gateway) *statusView {
	return &statusView{cache: status.NewCache(g.log),
		up: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }}}
}

// watchStatus follows KV STATUS (re-established by the caller when it fails).
func (g *Gateway) watchStatus(ctx context.Context) error {
	return g.status.cache.Watch(ctx, g.js)
}

// statusRoutes registers the status endpoints on mux.
func (g *Gateway) statusRoutes(mux *http.ServeMux) {
	doc := func(path string, render func(status.Renderer, *status.Snapshot) any) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			writeStatusJSON(w, render(g.renderer(r), g.status.cache.Snapshot()))
		})
	}
	doc("/api/v2/summary.json", func(rd status.Renderer, s *status.Snapshot) any { return rd.Summary(s) })
	doc("/api/v2/status.json", func(rd status.Renderer, s *status.Snapshot) any { return rd.StatusDoc(s) })
	doc("/api/v2/components.json", func(rd status.Renderer, s *status.Snapshot) any { return rd.ComponentsDoc(s) })
	doc("/api/v2/incidents.json", func(rd status.Renderer, s *status.Snapshot) any { return rd.Incidents(s, false) })
	doc("/api/v2/incidents/unresolved.json", func(rd status.Renderer, s *status.Snapshot) any { return rd.Incidents(s, true) })
	doc("/api/v2/scheduled-maintenances.json", func(rd status.Renderer, s *status.Snapshot) any { return rd.Maintenances(s, "") })
	doc("/api/v2/scheduled-maintenances/upcoming.json", func(rd status.Renderer, s *status.Snapshot) any {
		return rd.Maintenances(s, "upcoming")
	})
	doc("/api/v2/scheduled-maintenances/active.json", func(rd status.Renderer, s *status.Snapshot) any {
		return rd.Maintenances(s, "active")
	})
	mux.HandleFunc("GET /api/v2/stream", g.serveStatusStream)
	mux.HandleFunc("GET /status", g.serveStatusPage)
}

// systemStatus answers /sapi/v1/system/status: 1 only when the whole mesh is in maintenance
// (client-compat §B.2); partial trouble shows per symbol in exchangeInfo.
func (g *Gateway) systemStatus(*req) (any, *apiError) {
	if status.WholeMeshInMaintenance(g.status.cache.Snapshot().Regions) {
		return map[string]any{"status": 1, "msg": "system_maintenance"}, nil
	}
	return map[string]any{"status": 0, "msg": "normal"}, nil
}

// renderer names the page after the host the client asked for, so links work behind any name.
func (g *Gateway) renderer(r *http.Request) status.Renderer {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return status.Renderer{PageID: "geomesh", Name: "geomesh", URL: scheme + "://" + r.Host}
}

func writeStatusJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encode"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(b)
}

// statusStreamPing is how often the status WebSocket pings an idle client.
const statusStreamPing = 30 * time.Second

// serveStatusStream pushes summary.json on connect and after every change of the bucket. A
// client that cannot keep up sees the newest summary (changes are coalesced). It ends when the
// client goes away or the gateway closes (the request context is the gateway's).
func (g *Gateway) serveStatusStream(w http.ResponseWriter, r *http.Request) {
	c, err := g.status.up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the client
	}
	defer c.Close()
	changed, unsubscribe := g.status.cache.Subscribe()
	defer unsubscribe()
	gone := make(chan struct{})
	go func() { // reads: pongs and the close frame
		defer close(gone)
		c.SetReadLimit(1024)
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	rd := g.renderer(r)
	send := func() bool {
		b, err := json.Marshal(rd.Summary(g.status.cache.Snapshot()))
		if err != nil {
			return false
		}
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return c.WriteMessage(websocket.TextMessage, b) == nil
	}
	ping := time.NewTicker(statusStreamPing)
	defer ping.Stop()
	if !send() {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutdown"),
				time.Now().Add(time.Second))
			return
		case <-gone:
			return
		case <-changed:
			if !send() {
				return
			}
		case <-ping.C:
			if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)) != nil {
				return
			}
		}
	}
}

// Page data of /status.
type (
	statusPage struct {
		Region       string
		Status       status.PageStatus
		Regions      []pageRegion
		Open         []status.IncidentDoc
		Maintenances []status.IncidentDoc
		Resolved     []status.IncidentDoc
		Generated    string
	}
	pageRegion struct {
		status.Component
		Services []status.Component
		Note     string
		Symbols  []pageSymbol
	}
	pageSymbol struct{ Name, Phase, Status string }
)

func (g *Gateway) serveStatusPage(w http.ResponseWriter, r *http.Request) {
	snap := g.status.cache.Snapshot()
	rd := g.renderer(r)
	p := statusPage{Region: g.cfg.Region, Status: rd.Status(snap), Generated: time.Now().UTC().Format(time.RFC3339)}
	comps := rd.Components(snap)
	byRegion := map[string]*pageRegion{}
	for _, c := range comps {
		if c.Group {
			p.Regions = append(p.Regions, pageRegion{Component: c})
		}
	}
	for i := range p.Regions {
		pr := &p.Regions[i]
		byRegion[pr.ID] = pr
		if rr := snap.Region(pr.ID); rr != nil {
			pr.Note = rr.Note
		}
		for _, c := range comps {
			if c.GroupID != nil && *c.GroupID == pr.ID {
				pr.Services = append(pr.Services, c)
			}
		}
	}
	for _, s := range g.reg.all() {
		rec := s.record()
		home := rec.GetHomeRegion()
		pr := byRegion[home]
		if pr == nil {
			p.Regions = append(p.Regions, pageRegion{Component: status.Component{ID: home, Name: status.RegionTitle(home), Status: "unknown"}})
			pr = &p.Regions[len(p.Regions)-1]
			// re-point the map: append may have moved the slice
			for i := range p.Regions {
				byRegion[p.Regions[i].ID] = &p.Regions[i]
			}
		}
		pr.Symbols = append(pr.Symbols, pageSymbol{Name: s.name, Phase: strings.TrimPrefix(rec.GetPhase().String(), "PHASE_"),
			Status: symbolStatus(rec.GetPhase())})
	}
	for _, in := range snap.Incidents {
		switch {
		case in.Open():
			p.Open = append(p.Open, rd.Incident(snap, in))
		case len(p.Resolved) < 5:
			p.Resolved = append(p.Resolved, rd.Incident(snap, in))
		}
	}
	for _, m := range snap.Maintenances {
		if m.Open() || len(p.Maintenances) < 5 {
			p.Maintenances = append(p.Maintenances, rd.Incident(snap, m))
		}
	}
	slices.SortStableFunc(p.Maintenances, func(a, b status.IncidentDoc) int {
		return cmp.Compare(maintRank(a.Status), maintRank(b.Status))
	})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	if err := statusTemplate.Execute(w, p); err != nil {
		g.log.Warn("status_page_failed", "err", err)
	}
}

func maintRank(s string) int {
	switch s {
	case status.InProgress, status.Verifying:
		return 0
	case status.Scheduled:
		return 1
	}
	return 2
}

var statusTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"label": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"when": func(v any) string {
		var t status.Time
		switch x := v.(type) {
		case status.Time:
			t = x
		case *status.Time:
			if x != nil {
				t = *x
			}
		}
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>geomesh status</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:1.5rem;margin:0 0 4px} h2{font-size:1.15rem;margin:28px 0 10px}
.banner{padding:14px 18px;border-radius:6px;color:#fff;font-weight:600;margin:16px 0}
.none{background:#2f9e44}.minor{background:#e8a10b}.major{background:#e8590c}.critical{background:#c92a2a}
.card{background:#fff;border:1px solid #dfe3ea;border-radius:6px;padding:14px 18px;margin:10px 0}
.region h3{margin:0 0 8px;font-size:1.05rem;display:flex;justify-content:space-between}
.svc{display:flex;justify-content:space-between;border-top:1px solid #eef0f4;padding:5px 0;font-size:.92rem}
.st{font-weight:600;text-transform:capitalize}
.operational{color:#2f9e44}.degraded_performance{color:#e8a10b}.partial_outage{color:#e8590c}
.major_outage{color:#c92a2a}.under_maintenance{color:#1c7ed6}.unknown{color:#868e96}
.syms{margin-top:8px;font-size:.85rem;color:#495057}.sym{display:inline-block;margin:2px 8px 2px 0;padding:1px 6px;border-radius:4px;background:#eef0f4}
.sym.CANCEL_ONLY,.sym.POST_ONLY{background:#fff3bf}.sym.HALT,.sym.BREAK{background:#ffe3e3}
.inc h3{margin:0 0 4px;font-size:1rem}.meta{color:#868e96;font-size:.82rem}
ol.tl{list-style:none;padding:0;margin:8px 0 0}ol.tl li{border-left:3px solid #dfe3ea;padding:4px 0 6px 10px;margin-left:2px}
.tl .s{font-weight:600;text-transform:capitalize}.note{color:#868e96;font-size:.82rem}
footer{color:#868e96;font-size:.8rem;margin-top:30px}
</style></head>
<body><main>
<h1>geomesh status</h1>
<div class="meta">served by the {{.Region}} gateway · <a href="/api/v2/summary.json">summary.json</a></div>
<div id="page-status" class="banner {{.Status.Indicator}}">{{.Status.Description}}</div>

{{if .Open}}<h2>Open incidents</h2>{{range .Open}}
<div class="card inc" id="{{.ID}}" data-incident="{{.ID}}" data-status="{{.Status}}">
<h3>{{.Name}}</h3>
<div class="meta">{{label .Status}} · impact {{.Impact}} · started {{when .StartedAt}}{{if .Symbols}} · symbols {{range .Symbols}}{{.}} {{end}}{{end}}</div>
<ol class="tl">{{range .IncidentUpdates}}<li><span class="s">{{label .Status}}</span> — {{.Body}} <span class="meta">{{when .CreatedAt}}</span></li>{{end}}</ol>
</div>{{end}}{{end}}

{{if .Maintenances}}<h2>Scheduled maintenance</h2>{{range .Maintenances}}
<div class="card inc" id="{{.ID}}" data-maintenance="{{.ID}}" data-status="{{.Status}}">
<h3>{{.Name}}</h3>
<div class="meta">{{label .Status}}{{if .ScheduledFor}} · from {{when .ScheduledFor}}{{end}}{{if .ScheduledUntil}} until {{when .ScheduledUntil}}{{end}}</div>
<ol class="tl">{{range .IncidentUpdates}}<li><span class="s">{{label .Status}}</span> — {{.Body}} <span class="meta">{{when .CreatedAt}}</span></li>{{end}}</ol>
</div>{{end}}{{end}}

<h2>Regions</h2>
{{range .Regions}}<div class="card region" data-region="{{.ID}}">
<h3><span>{{.Name}} <span class="meta">{{.ID}}</span></span><span class="st {{.Status}}">{{label (print .Status)}}</span></h3>
{{if .Note}}<div class="note">{{.Note}}</div>{{end}}
{{range .Services}}<div class="svc" data-component="{{.ID}}"><span>{{.Name}}</span><span class="st {{.Status}}">{{label (print .Status)}}</span></div>{{end}}
<div class="syms">{{if .Symbols}}Symbols homed here: {{range .Symbols}}<span class="sym {{.Phase}}" data-symbol="{{.Name}}" title="{{.Status}}">{{.Name}} {{.Phase}}</span>{{end}}{{else}}No symbols homed here.{{end}}</div>
</div>{{end}}

{{if .Resolved}}<h2>Past incidents</h2>{{range .Resolved}}
<div class="card inc" id="{{.ID}}"><h3>{{.Name}}</h3><div class="meta">{{label .Status}} · {{when .StartedAt}}{{if .ResolvedAt}} – {{when .ResolvedAt}}{{end}}</div></div>{{end}}{{end}}

<footer>Generated {{.Generated}}. This page reloads itself when the status changes (WebSocket /api/v2/stream).</footer>
</main>
<script>
(function(){try{var first=true,u=(location.protocol==="https:"?"wss://":"ws://")+location.host+"/api/v2/stream";
var ws=new WebSocket(u);ws.onmessage=function(){if(first){first=false;return;}location.reload();};}catch(e){}})();
</script>
</body></html>
`))
