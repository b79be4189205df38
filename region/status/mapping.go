package status

import (
	"fmt"
	"strings"
)

// Health is what the active controller knows of one region, the input of Map.
type Health struct {
	// State is the mesh view: "up", "suspect", "down" (anything else: unknown).
	State string
	// Cordoned: no new homes (an operator's cordon or an evacuation).
	Cordoned bool
	// Maintenance: an evacuation plan or a scheduled maintenance is in progress on the region.
	Maintenance bool
	// Phases counts the symbols homed in the region by phase name (TRADING, CANCEL_ONLY,
	// POST_ONLY, HALT).
	Phases map[string]int
}

// Map turns a region's health into its services' statuses (by suffix) and a one-line note,
// following client-compat §B.1:
//
//	region down (every node dead for the grace)        every service major_outage
//	region suspect (nodes dead, grace not over)       every service partial_outage
//	cordoned, evacuating or in a maintenance window   every service under_maintenance
//	some homed symbols HALT                           orders, matching partial_outage
//	some homed symbols CANCEL_ONLY or POST_ONLY       orders, matching degraded_performance
//	otherwise                                         operational
//
// An outage wins over maintenance: a region that dies during its maintenance is down.
func Map(h Health) (map[string]ComponentStatus, string) {
	out := map[string]ComponentStatus{}
	all := func(s ComponentStatus) {
		for _, sv := range Services {
			out[sv.Suffix] = s
		}
	}
	switch h.State {
	case "down":
		all(MajorOutage)
		return out, "region unreachable"
	case "suspect":
		all(PartialOutage)
		return out, "region not answering"
	case "up":
	default:
		all(MajorOutage)
		return out, "region state unknown"
	}
	if h.Cordoned || h.Maintenance {
		all(UnderMaintenance)
		return out, "under maintenance"
	}
	all(Operational)
	halted := h.Phases["HALT"]
	slow := h.Phases["CANCEL_ONLY"] + h.Phases["POST_ONLY"]
	var notes []string
	trading := Operational
	if slow > 0 {
		trading = DegradedPerformance
		notes = append(notes, fmt.Sprintf("%d symbol(s) not fully trading", slow))
	}
	if halted > 0 {
		trading = PartialOutage
		notes = append(notes, fmt.Sprintf("%d symbol(s) halted", halted))
	}
	out["orders"], out["matching"] = trading, trading
	return out, strings.Join(notes, "; ")
}

// Indicator is the page status: indicator (none, minor, major, critical) and its description,
// from the groups' and services' statuses. critical: order entry is down (major_outage) in at
// least two regions.
func Indicator(regions []*RegionRecord) (indicator, description string) {
	worst := Operational
	ordersDown := 0
	for _, r := range regions {
		worst = Worst(worst, r.GroupStatus())
		if r.Services["orders"].Status == MajorOutage {
			ordersDown++
		}
	}
	switch {
	case ordersDown >= 2:
		return ImpactCritical, "Major System Outage"
	case worst == MajorOutage || worst == PartialOutage:
		return ImpactMajor, "Partial System Outage"
	case worst == DegradedPerformance:
		return ImpactMinor, "Partially Degraded Service"
	case worst == UnderMaintenance:
		return ImpactMinor, "Service Under Maintenance"
	}
	return ImpactNone, "All Systems Operational"
}

// WholeMeshInMaintenance reports whether every known region is under maintenance (Binance
// /sapi/v1/system/status answers 1 only then).
func WholeMeshInMaintenance(regions []*RegionRecord) bool {
	if len(regions) == 0 {
		return false
	}
	for _, r := range regions {
		if r.GroupStatus() != UnderMaintenance {
			return false
		}
	}
	return true
}
