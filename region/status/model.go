package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SchemaVersion of every stored record; Decode refuses others.
const SchemaVersion = 1

// Errors.
var (
	// ErrSchema: a stored record of an unknown schema version (written by a newer geomesh).
	ErrSchema = errors.New("status: unknown schema version")
	// ErrInvalid: a record or request that breaks the model's rules.
	ErrInvalid = errors.New("status: invalid")
	// ErrNotFound: no such incident or maintenance.
	ErrNotFound = errors.New("status: not found")
	// ErrConflict: a compare-and-swap kept losing to other writers.
	ErrConflict = errors.New("status: conflicting updates")
	// ErrStalled: a watch of the bucket stopped delivering (its stream lost its leader).
	ErrStalled = errors.New("status: watch stalled")
)

// ComponentStatus is a Statuspage component status.
type ComponentStatus string

// Component statuses, in increasing severity (see Severity).
const (
	Operational         ComponentStatus = "operational"
	UnderMaintenance    ComponentStatus = "under_maintenance"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
)

// Severity orders component statuses: operational 0 ... major_outage 4 (-1 unknown).
func (s ComponentStatus) Severity() int {
	switch s {
	case Operational:
		return 0
	case UnderMaintenance:
		return 1
	case DegradedPerformance:
		return 2
	case PartialOutage:
		return 3
	case MajorOutage:
		return 4
	}
	return -1
}

// Worst returns the more severe of a and b.
func Worst(a, b ComponentStatus) ComponentStatus {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}

// Incident statuses (Statuspage) and scheduled-maintenance statuses.
const (
	Investigating = "investigating"
	Identified    = "identified"
	Monitoring    = "monitoring"
	Resolved      = "resolved"
	Postmortem    = "postmortem"

	Scheduled  = "scheduled"
	InProgress = "in_progress"
	Verifying  = "verifying"
	Completed  = "completed"
)

// Impacts.
const (
	ImpactNone        = "none"
	ImpactMinor       = "minor"
	ImpactMajor       = "major"
	ImpactCritical    = "critical"
	ImpactMaintenance = "maintenance"
)

// Kinds of Incident records.
const (
	KindIncident    = "incident"
	KindMaintenance = "maintenance"
)

// Sources of incidents: automation (one writer, the active controller) or an operator.
const (
	SourceFailover  = "failover"  // a region went down
	SourceEvacuate  = "evacuate"  // an evacuation plan (maintenance)
	SourceOperator  = "operator"  // created through the admin API
	SourceScheduled = "scheduled" // a maintenance scheduled by an operator
)

// Children of a region's component group, in display order.
var Services = []Service{
	{Suffix: "rest", Name: "REST API"},
	{Suffix: "ws", Name: "WebSocket"},
	{Suffix: "orders", Name: "Order entry"},
	{Suffix: "matching", Name: "Matching"},
}

// Service is one child component of a region.
type Service struct{ Suffix, Name string }

// ComponentID is the id of region's child component with suffix ("" = the group itself).
func ComponentID(region, suffix string) string {
	if suffix == "" {
		return region
	}
	return region + "-" + suffix
}

// RegionTitle turns "eu-west" into "EU West".
func RegionTitle(region string) string {
	parts := strings.Split(region, "-")
	for i, p := range parts {
		switch {
		case len(p) <= 2:
			parts[i] = strings.ToUpper(p)
		default:
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

// RegionRecord is one region's component group as the active controller last computed it
// (key "region.<name>").
type RegionRecord struct {
	SchemaVersion int    `json:"schema_version"`
	Region        string `json:"region"`
	// Health is the mesh view of the region: up, suspect, down.
	Health    string `json:"health"`
	Cordoned  bool   `json:"cordoned,omitempty"`
	Position  int    `json:"position"`
	CreatedAt Time   `json:"created_at"`
	// Services by suffix (rest, ws, orders, matching).
	Services map[string]ServiceState `json:"services"`
	// Note explains the current status in one line ("3 symbols CANCEL_ONLY").
	Note string `json:"note,omitempty"`
}

// ServiceState is one child component's status and when it last changed.
type ServiceState struct {
	Status    ComponentStatus `json:"status"`
	UpdatedAt Time            `json:"updated_at"`
}

// GroupStatus is the worst of the region's services.
func (r *RegionRecord) GroupStatus() ComponentStatus {
	s := Operational
	for _, st := range r.Services {
		s = Worst(s, st.Status)
	}
	return s
}

// UpdatedAt is the newest service change.
func (r *RegionRecord) UpdatedAt() Time {
	t := r.CreatedAt
	for _, st := range r.Services {
		if st.UpdatedAt.After(t.Time) {
			t = st.UpdatedAt
		}
	}
	return t
}

// Incident is an incident or a scheduled maintenance (Kind) with its timeline (key
// "incident.<id>" or "maintenance.<id>").
type Incident struct {
	SchemaVersion int    `json:"schema_version"`
	ID            string `json:"id"`
	Kind          string `json:"kind"`
	Name          string `json:"name"`
	// Status: investigating|identified|monitoring|resolved|postmortem for incidents,
	// scheduled|in_progress|verifying|completed for maintenances.
	Status string `json:"status"`
	Impact string `json:"impact"`
	// Source: failover, evacuate, operator or scheduled; Region and PlanID link automation's
	// records to what caused them.
	Source string `json:"source"`
	Region string `json:"region,omitempty"`
	PlanID string `json:"plan_id,omitempty"`
	// Components affected (ids), Symbols affected.
	Components []string `json:"components"`
	Symbols    []string `json:"symbols"`

	CreatedAt      Time  `json:"created_at"`
	UpdatedAt      Time  `json:"updated_at"`
	StartedAt      Time  `json:"started_at"`
	MonitoringAt   *Time `json:"monitoring_at,omitempty"`
	ResolvedAt     *Time `json:"resolved_at,omitempty"`
	ScheduledFor   *Time `json:"scheduled_for,omitempty"`
	ScheduledUntil *Time `json:"scheduled_until,omitempty"`
	// Auto marks a record the controller drives (a scheduled maintenance starts and completes
	// on its own; a failover incident follows the failover).
	Auto bool `json:"auto"`

	Updates []Update `json:"updates"`
}

// Update is one entry of an incident's timeline.
type Update struct {
	ID                 string              `json:"id"`
	Status             string              `json:"status"`
	Body               string              `json:"body"`
	CreatedAt          Time                `json:"created_at"`
	Actor              string              `json:"actor"`
	AffectedComponents []AffectedComponent `json:"affected_components"`
}

// AffectedComponent is a component whose status an update changed.
type AffectedComponent struct {
	Code      string          `json:"code"`
	Name      string          `json:"name"`
	OldStatus ComponentStatus `json:"old_status"`
	NewStatus ComponentStatus `json:"new_status"`
}

// Open reports whether the incident is not resolved (or the maintenance not completed).
func (in *Incident) Open() bool {
	return in.Status != Resolved && in.Status != Postmortem && in.Status != Completed
}

// Key is the incident's KV key.
func (in *Incident) Key() string { return KeyOf(in.Kind, in.ID) }

// KeyOf is the KV key of an incident or maintenance id.
func KeyOf(kind, id string) string {
	if kind == KindMaintenance {
		return "maintenance." + id
	}
	return "incident." + id
}

// AddUpdate appends an update with status and body at now, and sets the status and times.
func (in *Incident) AddUpdate(status, body, actor string, now time.Time, affected []AffectedComponent) {
	t := At(now)
	if affected == nil {
		affected = []AffectedComponent{}
	}
	in.Updates = append(in.Updates, Update{ID: fmt.Sprintf("%s-u%d", in.ID, len(in.Updates)+1), Status: status,
		Body: body, CreatedAt: t, Actor: actor, AffectedComponents: affected})
	in.Status, in.UpdatedAt = status, t
	switch status {
	case Monitoring, Verifying:
		if in.MonitoringAt == nil {
			in.MonitoringAt = &t
		}
	case Resolved, Completed:
		if in.ResolvedAt == nil {
			in.ResolvedAt = &t
		}
	}
}

// Validate checks the record's enums and ids.
func (in *Incident) Validate() error {
	if !idRE.MatchString(in.ID) {
		return fmt.Errorf("%w: id %q", ErrInvalid, in.ID)
	}
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > 200 {
		return fmt.Errorf("%w: name must be 1 to 200 characters", ErrInvalid)
	}
	switch in.Kind {
	case KindIncident:
		if !ValidIncidentStatus(in.Status) {
			return fmt.Errorf("%w: incident status %q", ErrInvalid, in.Status)
		}
		switch in.Impact {
		case ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical:
		default:
			return fmt.Errorf("%w: impact %q: want none, minor, major or critical", ErrInvalid, in.Impact)
		}
	case KindMaintenance:
		if !ValidMaintenanceStatus(in.Status) {
			return fmt.Errorf("%w: maintenance status %q", ErrInvalid, in.Status)
		}
	default:
		return fmt.Errorf("%w: kind %q", ErrInvalid, in.Kind)
	}
	return nil
}

// ValidIncidentStatus reports whether s is an incident status.
func ValidIncidentStatus(s string) bool {
	switch s {
	case Investigating, Identified, Monitoring, Resolved, Postmortem:
		return true
	}
	return false
}

// ValidMaintenanceStatus reports whether s is a scheduled-maintenance status.
func ValidMaintenanceStatus(s string) bool {
	switch s {
	case Scheduled, InProgress, Verifying, Completed:
		return true
	}
	return false
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$`)

// ValidID reports whether id can name an incident or maintenance (it is part of a KV key).
func ValidID(id string) bool { return idRE.MatchString(id) }

// Delivery is one webhook notification to one URL and its attempts (key "delivery.<id>").
type Delivery struct {
	SchemaVersion int       `json:"schema_version"`
	ID            string    `json:"id"`
	URL           string    `json:"url"`
	Event         string    `json:"event"` // incident.update or maintenance.update
	IncidentID    string    `json:"incident_id"`
	UpdateID      string    `json:"update_id"`
	Status        string    `json:"status"` // pending, delivered, failed
	Attempts      []Attempt `json:"attempts"`
	CreatedAt     Time      `json:"created_at"`
	UpdatedAt     Time      `json:"updated_at"`
	// Sender is the node that owns the delivery while it is pending.
	Sender string `json:"sender"`
}

// Attempt is one POST of a delivery.
type Attempt struct {
	At         Time   `json:"at"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error,omitempty"`
	DurationMs int64  `json:"duration_ms"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Time is a timestamp encoded the way Statuspage does: RFC 3339, UTC, milliseconds.
type Time struct{ time.Time }

// At wraps t (UTC, millisecond precision).
func At(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// TimeLayout is Statuspage's timestamp format.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON encodes "2026-11-02T10:00:00.000Z" (null for the zero time).
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON accepts RFC 3339 (with or without fractions) and null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = At(v)
	return nil
}

// String is the JSON form without quotes ("" for zero).
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// Encode marshals a record, setting its schema version.
func Encode(v any) ([]byte, error) {
	switch r := v.(type) {
	case *RegionRecord:
		r.SchemaVersion = SchemaVersion
	case *Incident:
		r.SchemaVersion = SchemaVersion
	case *Delivery:
		r.SchemaVersion = SchemaVersion
	default:
		return nil, fmt.Errorf("%w: cannot encode %T", ErrInvalid, v)
	}
	return json.Marshal(v)
}

// Decode unmarshals a stored record into v (*RegionRecord, *Incident, *Delivery), refusing
// unknown schema versions.
func Decode(b []byte, v any) error {
	var head struct {
		SchemaVersion int `json:"schema_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if head.SchemaVersion != SchemaVersion {
		return fmt.Errorf("%w: %d (this build reads %d)", ErrSchema, head.SchemaVersion, SchemaVersion)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}
