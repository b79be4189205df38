package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// The status page's operator commands (admin API /admin/v1/incidents, /maintenances,
// /webhooks/deliveries; region/incidents.go):
//
//	meshctl status incident list    [--all] [-o json]
//	meshctl status incident create  NAME [-m TEXT] [--status S] [--impact I] [--component ID]... [--symbol SYM]...
//	meshctl status incident update  ID -m TEXT [--status S]
//	meshctl status incident resolve ID [-m TEXT]
//	meshctl status webhooks         [--limit N] [-o json]
//	meshctl maintenance list        [--all] [-o json]
//	meshctl maintenance create      NAME [-m TEXT] [--component ID]... [--start RFC3339] [--end RFC3339 | --duration D]
//	meshctl maintenance complete    ID [-m TEXT]
//
// Automatic incidents (a region down) and maintenances (an evacuation) are written by the
// mesh itself; these commands add what only people know.

// Wire shapes of the status records (package region/status), as much as the CLI shows.
type (
	incidentDoc struct {
		ID             string      `json:"id"`
		Kind           string      `json:"kind"`
		Name           string      `json:"name"`
		Status         string      `json:"status"`
		Impact         string      `json:"impact"`
		Source         string      `json:"source"`
		Components     []string    `json:"components"`
		Symbols        []string    `json:"symbols"`
		StartedAt      string      `json:"started_at"`
		ResolvedAt     *string     `json:"resolved_at"`
		ScheduledFor   *string     `json:"scheduled_for"`
		ScheduledUntil *string     `json:"scheduled_until"`
		Updates        []updateDoc `json:"updates"`
	}
	updateDoc struct {
		Status    string `json:"status"`
		Body      string `json:"body"`
		CreatedAt string `json:"created_at"`
		Actor     string `json:"actor"`
	}
	incidentRequest struct {
		Name           string   `json:"name,omitempty"`
		Status         string   `json:"status,omitempty"`
		Impact         string   `json:"impact,omitempty"`
		Body           string   `json:"body,omitempty"`
		Components     []string `json:"components,omitempty"`
		Symbols        []string `json:"symbols,omitempty"`
		Actor          string   `json:"actor,omitempty"`
		ScheduledFor   string   `json:"scheduled_for,omitempty"`
		ScheduledUntil string   `json:"scheduled_until,omitempty"`
	}
	deliveryDoc struct {
		ID         string `json:"id"`
		URL        string `json:"url"`
		Event      string `json:"event"`
		IncidentID string `json:"incident_id"`
		Status     string `json:"status"`
		CreatedAt  string `json:"created_at"`
		Attempts   []struct {
			At         string `json:"at"`
			StatusCode int    `json:"status_code"`
			Error      string `json:"error"`
		} `json:"attempts"`
	}
)

var statusIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$`)

func statusID(id string) (string, error) {
	if !statusIDRE.MatchString(id) {
		return "", mark(errUsage, fmt.Errorf("invalid id %q", id))
	}
	return id, nil
}

// incidentsCmd is "meshctl status incident".
func (a *app) incidentsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "list, open, update and resolve status-page incidents",
		Args:  exactArgs(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.listCmd("incident", "/incidents", "incidents"),
		a.createCmd("incident", "/incidents"),
		a.updateCmd(),
		a.finishCmd("incident", "resolve", "/incidents", "/resolve", "resolved"))
	return cmd
}

// maintenanceCmd is "meshctl maintenance".
func (a *app) maintenanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "maintenance",
		Short: "list, schedule and complete status-page maintenances",
		Args:  exactArgs(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.listCmd("maintenance", "/maintenances", "maintenances"),
		a.createCmd("maintenance", "/maintenances"),
		a.finishCmd("maintenance", "complete", "/maintenances", "/complete", "completed"))
	return cmd
}

func (a *app) listCmd(what, path, field string) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list open " + what + "s (--all: also finished ones), newest first",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			p := path
			if !all {
				p += "?open=true"
			}
			var doc map[string][]incidentDoc
			raw, err := a.api.getJSON(ctx, p, &doc)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			list := doc[field]
			if len(list) == 0 {
				fmt.Fprintf(a.stdout, "no %s%ss\n", map[bool]string{false: "open ", true: ""}[all], what)
				return nil
			}
			tw := a.table()
			fmt.Fprintln(tw, "ID\tSTATUS\tIMPACT\tSTARTED\tSOURCE\tCOMPONENTS\tNAME")
			for _, in := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Status, in.Impact, dash(in.StartedAt), dash(in.Source),
					dash(strings.Join(in.Components, ",")), in.Name)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list resolved / completed ones")
	return cmd
}

func (a *app) createCmd(what, path string) *cobra.Command {
	var req incidentRequest
	var message, start, end string
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "open " + map[string]string{"incident": "an incident", "maintenance": "a maintenance"}[what],
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = strings.TrimSpace(args[0])
			req.Body = cmpOr(message, a.reason)
			req.Actor = a.actor
			for i, s := range req.Symbols {
				req.Symbols[i] = symbolArg(s)
			}
			if what == "maintenance" {
				if err := maintenanceWindow(&req, start, end, duration, a.now()); err != nil {
					return err
				}
			}
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			return a.sendIncident(ctx, http.MethodPost, path, req, "opened")
		},
	}
	f := cmd.Flags()
	f.StringVarP(&message, "message", "m", "", "first message shown on the page (default: --reason, else the name)")
	f.StringSliceVar(&req.Components, "component", nil, "affected component: a region (eu-west) or one of its services (eu-west-rest|ws|orders|matching); repeatable")
	if what == "incident" {
		f.StringVar(&req.Status, "status", "", "investigating (default), identified, monitoring")
		f.StringVar(&req.Impact, "impact", "", "none, minor (default), major, critical")
		f.StringSliceVar(&req.Symbols, "symbol", nil, "affected symbol; repeatable")
	} else {
		f.StringVar(&start, "start", "", "start of the window, RFC 3339 (default now: in progress at once)")
		f.StringVar(&end, "end", "", "end of the window, RFC 3339 (completes on its own then)")
		f.DurationVar(&duration, "duration", 0, "length of the window (instead of --end)")
	}
	return cmd
}

func maintenanceWindow(req *incidentRequest, start, end string, d time.Duration, now time.Time) error {
	from := now
	if start != "" {
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return mark(errUsage, fmt.Errorf("--start %q: want RFC 3339, e.g. 2026-11-02T10:00:00Z", start))
		}
		from = t
		req.ScheduledFor = t.UTC().Format(time.RFC3339)
	}
	switch {
	case end != "" && d != 0:
		return mark(errUsage, errors.New("--end and --duration exclude each other"))
	case end != "":
		t, err := time.Parse(time.RFC3339, end)
		if err != nil {
			return mark(errUsage, fmt.Errorf("--end %q: want RFC 3339", end))
		}
		req.ScheduledUntil = t.UTC().Format(time.RFC3339)
	case d < 0:
		return mark(errUsage, fmt.Errorf("--duration %v: must be positive", d))
	case d > 0:
		req.ScheduledUntil = from.Add(d).UTC().Format(time.RFC3339)
	}
	return nil
}

func (a *app) updateCmd() *cobra.Command {
	var req incidentRequest
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "add a message to an incident, optionally changing its status",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := statusID(args[0])
			if err != nil {
				return err
			}
			req.Body = cmpOr(req.Body, a.reason)
			if strings.TrimSpace(req.Body) == "" {
				return mark(errUsage, errors.New("a message is required: -m TEXT"))
			}
			req.Actor = a.actor
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			return a.sendIncident(ctx, http.MethodPost, "/incidents/"+url.PathEscape(id)+"/updates", req, "updated")
		},
	}
	cmd.Flags().StringVarP(&req.Body, "message", "m", "", "the message")
	cmd.Flags().StringVar(&req.Status, "status", "", "new status: investigating, identified, monitoring, resolved (default: unchanged)")
	return cmd
}

func (a *app) finishCmd(what, verb, path, suffix, done string) *cobra.Command {
	var message string
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: verb + " " + map[string]string{"incident": "an incident", "maintenance": "a maintenance"}[what],
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := statusID(args[0])
			if err != nil {
				return err
			}
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			req := incidentRequest{Body: cmpOr(message, a.reason), Actor: a.actor}
			return a.sendIncident(ctx, http.MethodPost, path+"/"+url.PathEscape(id)+suffix, req, done)
		},
	}
	cmd.Flags().StringVarP(&message, "message", "m", "", "closing message (default: a standard one)")
	return cmd
}

// sendIncident posts req and prints the record: "<kind> <id> <status>: <name>" or its JSON.
func (a *app) sendIncident(ctx context.Context, method, path string, req incidentRequest, verb string) error {
	b, err := a.api.do(ctx, method, path, req)
	if err != nil {
		return err
	}
	if a.json() {
		return a.printRaw(b)
	}
	var in incidentDoc
	if err := json.Unmarshal(b, &in); err != nil {
		return mark(errFailed, fmt.Errorf("%s %s: decode answer: %v", method, path, err))
	}
	fmt.Fprintf(a.stdout, "%s %s %s (%s): %s\n", in.Kind, in.ID, verb, in.Status, in.Name)
	return nil
}

// webhooksCmd is "meshctl status webhooks": the delivery log.
func (a *app) webhooksCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "show the webhook delivery log, newest first",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return mark(errUsage, fmt.Errorf("--limit %d: want at least 1", limit))
			}
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			var doc struct {
				Deliveries []deliveryDoc `json:"deliveries"`
			}
			raw, err := a.api.getJSON(ctx, fmt.Sprintf("/webhooks/deliveries?limit=%d", limit), &doc)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			tw := a.table()
			fmt.Fprintln(tw, "CREATED\tSTATUS\tATTEMPTS\tLAST\tEVENT\tINCIDENT\tURL")
			for _, d := range doc.Deliveries {
				last := "-"
				if n := len(d.Attempts); n > 0 {
					at := d.Attempts[n-1]
					last = fmt.Sprint(at.StatusCode)
					if at.Error != "" {
						last += " " + at.Error
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.CreatedAt, d.Status, len(d.Attempts), last, d.Event, d.IncidentID, d.URL)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "how many deliveries to show")
	return cmd
}

func cmpOr(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
