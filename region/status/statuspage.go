package status

import (
	"cmp"
	"slices"
)

// Snapshot is the content of the STATUS bucket at one revision. It is immutable: Cache replaces
// it on every change.
type Snapshot struct {
	// Revision is the bucket revision of the newest record in it (0: empty).
	Revision     uint64
	Regions      []*RegionRecord // by Position, then name
	Incidents    []*Incident     // newest first
	Maintenances []*Incident     // newest first
	Deliveries   []*Delivery     // newest first
}

// Incident returns the incident or maintenance with id (nil when unknown).
func (s *Snapshot) Incident(id string) *Incident {
	for _, l := range [][]*Incident{s.Incidents, s.Maintenances} {
		for _, in := range l {
			if in.ID == id {
				return in
			}
		}
	}
	return nil
}

// Region returns the record of region r (nil when unknown).
func (s *Snapshot) Region(r string) *RegionRecord {
	for _, rr := range s.Regions {
		if rr.Region == r {
			return rr
		}
	}
	return nil
}

func (s *Snapshot) sort() {
	slices.SortFunc(s.Regions, func(a, b *RegionRecord) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.Region, b.Region))
	})
	newest := func(a, b *Incident) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt.Time), cmp.Compare(a.ID, b.ID))
	}
	slices.SortFunc(s.Incidents, newest)
	slices.SortFunc(s.Maintenances, newest)
	slices.SortFunc(s.Deliveries, func(a, b *Delivery) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt.Time), cmp.Compare(a.ID, b.ID))
	})
}

// Page describes the status page in every document.
type Page struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	TimeZone string `json:"time_zone"`
	// UpdatedAt: the newest change of any record.
	UpdatedAt Time `json:"updated_at"`
}

// Statuspage v2 documents (client-compat §B.1). Field names and enums follow Atlassian's public
// API; null-valued fields Statuspage always sends are kept as nil pointers.
type (
	// PageStatus is the "status" object.
	PageStatus struct {
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	}

	// Component is one component or component group.
	Component struct {
		ID                 string          `json:"id"`
		Name               string          `json:"name"`
		Status             ComponentStatus `json:"status"`
		CreatedAt          Time            `json:"created_at"`
		UpdatedAt          Time            `json:"updated_at"`
		Position           int             `json:"position"`
		Description        string          `json:"description"`
		Showcase           bool            `json:"showcase"`
		StartDate          *string         `json:"start_date"`
		GroupID            *string         `json:"group_id"`
		PageID             string          `json:"page_id"`
		Group              bool            `json:"group"`
		OnlyShowIfDegraded bool            `json:"only_show_if_degraded"`
		Components         []string        `json:"components,omitempty"`
	}

	// IncidentDoc is an incident or a scheduled maintenance.
	IncidentDoc struct {
		ID              string      `json:"id"`
		Name            string      `json:"name"`
		Status          string      `json:"status"`
		CreatedAt       Time        `json:"created_at"`
		UpdatedAt       Time        `json:"updated_at"`
		MonitoringAt    *Time       `json:"monitoring_at"`
		ResolvedAt      *Time       `json:"resolved_at"`
		Impact          string      `json:"impact"`
		Shortlink       string      `json:"shortlink"`
		StartedAt       Time        `json:"started_at"`
		PageID          string      `json:"page_id"`
		IncidentUpdates []UpdateDoc `json:"incident_updates"`
		Components      []Component `json:"components"`
		ScheduledFor    *Time       `json:"scheduled_for,omitempty"`
		ScheduledUntil  *Time       `json:"scheduled_until,omitempty"`
		// Symbols is a geomesh extension: the symbols the incident affects.
		Symbols []string `json:"symbols"`
	}

	// UpdateDoc is one incident update.
	UpdateDoc struct {
		ID                   string              `json:"id"`
		Status               string              `json:"status"`
		Body                 string              `json:"body"`
		IncidentID           string              `json:"incident_id"`
		CreatedAt            Time                `json:"created_at"`
		UpdatedAt            Time                `json:"updated_at"`
		DisplayAt            Time                `json:"display_at"`
		AffectedComponents   []AffectedComponent `json:"affected_components"`
		DeliverNotifications bool                `json:"deliver_notifications"`
		CustomTweet          *string             `json:"custom_tweet"`
		TweetID              *string             `json:"tweet_id"`
	}

	// Summary is /api/v2/summary.json.
	Summary struct {
		Page                  Page          `json:"page"`
		Components            []Component   `json:"components"`
		Incidents             []IncidentDoc `json:"incidents"`
		ScheduledMaintenances []IncidentDoc `json:"scheduled_maintenances"`
		Status                PageStatus    `json:"status"`
	}
	// StatusDoc is /api/v2/status.json.
	StatusDoc struct {
		Page   Page       `json:"page"`
		Status PageStatus `json:"status"`
	}
	// ComponentsDoc is /api/v2/components.json.
	ComponentsDoc struct {
		Page       Page        `json:"page"`
		Components []Component `json:"components"`
	}
	// IncidentsDoc is /api/v2/incidents.json and incidents/unresolved.json.
	IncidentsDoc struct {
		Page      Page          `json:"page"`
		Incidents []IncidentDoc `json:"incidents"`
	}
	// MaintenancesDoc is /api/v2/scheduled-maintenances.json (+ upcoming, active).
	MaintenancesDoc struct {
		Page                  Page          `json:"page"`
		ScheduledMaintenances []IncidentDoc `json:"scheduled_maintenances"`
	}
)

// maxListed bounds incidents.json and scheduled-maintenances.json (Statuspage lists 50).
const maxListed = 50

// Renderer renders Statuspage documents for one page.
type Renderer struct {
	PageID, Name, URL string
}

func (r Renderer) page(s *Snapshot) Page {
	p := Page{ID: r.PageID, Name: r.Name, URL: r.URL, TimeZone: "Etc/UTC"}
	for _, rr := range s.Regions {
		if u := rr.UpdatedAt(); u.After(p.UpdatedAt.Time) {
			p.UpdatedAt = u
		}
	}
	for _, l := range [][]*Incident{s.Incidents, s.Maintenances} {
		for _, in := range l {
			if in.UpdatedAt.After(p.UpdatedAt.Time) {
				p.UpdatedAt = in.UpdatedAt
			}
		}
	}
	return p
}

// Components renders the component groups (one per region) each followed by its services.
func (r Renderer) Components(s *Snapshot) []Component {
	out := []Component{}
	pos := 1
	for _, rr := range s.Regions {
		title := RegionTitle(rr.Region)
		g := Component{ID: rr.Region, Name: title, Status: rr.GroupStatus(), CreatedAt: rr.CreatedAt,
			UpdatedAt: rr.UpdatedAt(), Position: pos, Description: "Regional gateway " + rr.Region,
			PageID: r.PageID, Group: true, Components: []string{}}
		pos++
		var kids []Component
		for _, sv := range Services {
			st, ok := rr.Services[sv.Suffix]
			if !ok {
				continue
			}
			id := ComponentID(rr.Region, sv.Suffix)
			gid := rr.Region
			g.Components = append(g.Components, id)
			kids = append(kids, Component{ID: id, Name: title + " " + sv.Name, Status: st.Status,
				CreatedAt: rr.CreatedAt, UpdatedAt: st.UpdatedAt, Position: pos,
				Description: sv.Name + " of " + rr.Region, GroupID: &gid, PageID: r.PageID})
			pos++
		}
		out = append(out, g)
		out = append(out, kids...)
	}
	return out
}

// Status renders the page indicator.
func (r Renderer) Status(s *Snapshot) PageStatus {
	ind, desc := Indicator(s.Regions)
	return PageStatus{Indicator: ind, Description: desc}
}

// Incident renders one incident or maintenance.
func (r Renderer) Incident(s *Snapshot, in *Incident) IncidentDoc {
	d := IncidentDoc{ID: in.ID, Name: in.Name, Status: in.Status, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt,
		MonitoringAt: in.MonitoringAt, ResolvedAt: in.ResolvedAt, Impact: in.Impact,
		Shortlink: r.URL + "/status#" + in.ID, StartedAt: in.StartedAt, PageID: r.PageID,
		IncidentUpdates: []UpdateDoc{}, Components: []Component{}, Symbols: in.Symbols}
	if d.Symbols == nil {
		d.Symbols = []string{}
	}
	if in.Kind == KindMaintenance {
		d.ScheduledFor, d.ScheduledUntil = in.ScheduledFor, in.ScheduledUntil
		if d.ScheduledFor == nil {
			d.ScheduledFor = &in.StartedAt
		}
	}
	// Statuspage lists updates newest first.
	for i := len(in.Updates) - 1; i >= 0; i-- {
		u := in.Updates[i]
		aff := u.AffectedComponents
		if aff == nil {
			aff = []AffectedComponent{}
		}
		d.IncidentUpdates = append(d.IncidentUpdates, UpdateDoc{ID: u.ID, Status: u.Status, Body: u.Body,
			IncidentID: in.ID, CreatedAt: u.CreatedAt, UpdatedAt: u.CreatedAt, DisplayAt: u.CreatedAt,
			AffectedComponents: aff, DeliverNotifications: true})
	}
	all := r.Components(s)
	for _, id := range in.Components {
		for _, c := range all {
			if c.ID == id {
				d.Components = append(d.Components, c)
			}
		}
	}
	return d
}

func (r Renderer) list(s *Snapshot, l []*Incident, keep func(*Incident) bool) []IncidentDoc {
	out := []IncidentDoc{}
	for _, in := range l {
		if len(out) == maxListed {
			break
		}
		if keep(in) {
			out = append(out, r.Incident(s, in))
		}
	}
	return out
}

func all(*Incident) bool { return true }

// Upcoming: a maintenance not started yet; Active: started, not completed.
func Upcoming(in *Incident) bool { return in.Status == Scheduled }

// Active reports whether a maintenance is in progress or verifying.
func Active(in *Incident) bool { return in.Status == InProgress || in.Status == Verifying }

// Summary renders /api/v2/summary.json: unresolved incidents, upcoming and active maintenances.
func (r Renderer) Summary(s *Snapshot) Summary {
	return Summary{Page: r.page(s), Components: r.Components(s), Status: r.Status(s),
		Incidents:             r.list(s, s.Incidents, (*Incident).Open),
		ScheduledMaintenances: r.list(s, s.Maintenances, (*Incident).Open)}
}

// StatusDoc renders /api/v2/status.json.
func (r Renderer) StatusDoc(s *Snapshot) StatusDoc {
	return StatusDoc{Page: r.page(s), Status: r.Status(s)}
}

// ComponentsDoc renders /api/v2/components.json.
func (r Renderer) ComponentsDoc(s *Snapshot) ComponentsDoc {
	return ComponentsDoc{Page: r.page(s), Components: r.Components(s)}
}

// Incidents renders /api/v2/incidents.json (unresolved=false) or incidents/unresolved.json.
func (r Renderer) Incidents(s *Snapshot, unresolved bool) IncidentsDoc {
	keep := all
	if unresolved {
		keep = (*Incident).Open
	}
	return IncidentsDoc{Page: r.page(s), Incidents: r.list(s, s.Incidents, keep)}
}

// Maintenances renders /api/v2/scheduled-maintenances.json; which is "", "upcoming" or "active".
func (r Renderer) Maintenances(s *Snapshot, which string) MaintenancesDoc {
	keep := all
	switch which {
	case "upcoming":
		keep = Upcoming
	case "active":
		keep = Active
	}
	return MaintenancesDoc{Page: r.page(s), ScheduledMaintenances: r.list(s, s.Maintenances, keep)}
}
