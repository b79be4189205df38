package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/geomesh/geomesh/proto"
)

// Read commands: one GET, printed as a table or, with -o json, as the server's JSON document.

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "show regions, their health and cordons, the controller and every symbol's home",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			var st statusDoc
			raw, err := a.api.getJSON(ctx, "/status", &st)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			controller := st.Controller
			if controller == "" {
				controller = "(none)"
			}
			fmt.Fprintf(a.stdout, "node %s in %s; controller %s\n\n", st.Node, st.Region, controller)
			tw := a.table()
			fmt.Fprintln(tw, "REGION\tSTATE\tNODES\tCORDONED\tSYMBOLS")
			for _, r := range st.Regions {
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%d\n", r.Name, r.State, r.Alive, r.Known, yesNo(r.Cordoned), r.Symbols)
			}
			_ = tw.Flush()
			fmt.Fprintln(a.stdout)
			a.symbolTable(st.Symbols)
			return nil
		},
	}
}

func (a *app) symbolsCmd() *cobra.Command {
	var region string
	cmd := &cobra.Command{
		Use:   "symbols",
		Short: "list symbols with their home region, phase and epoch",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			path := "/symbols"
			if region != "" {
				path += "?region=" + url.QueryEscape(region)
			}
			var doc struct {
				Symbols []symbolDoc `json:"symbols"`
			}
			raw, err := a.api.getJSON(ctx, path, &doc)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			a.symbolTable(doc.Symbols)
			return nil
		},
	}
	cmd.Flags().StringVar(&region, "region", "", "only symbols homed in this region")
	return cmd
}

func (a *app) symbolTable(syms []symbolDoc) {
	tw := a.table()
	fmt.Fprintln(tw, "SYMBOL\tHOME\tPHASE\tEPOCH\tPREFERRED\tUPDATED\tBY\tREASON")
	for _, s := range syms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.Symbol, s.Home, short(s.Phase, "PHASE_"), s.Epoch,
			strings.Join(s.Preferred, ","), stamp(s.UpdatedUnixNano), dash(s.Actor), dash(s.Reason))
	}
	_ = tw.Flush()
}

func (a *app) historyCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history SYMBOL",
		Short: "show the audit log of a symbol's ownership changes, oldest first",
		Args:  exactArgs("SYMBOL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return mark(errUsage, fmt.Errorf("--limit %d: want 0 (all) or more", limit))
			}
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			path := "/symbols/" + url.PathEscape(symbolArg(args[0])) + "/history?limit=" + strconv.Itoa(limit)
			var doc struct {
				Entries []json.RawMessage `json:"entries"`
			}
			raw, err := a.api.getJSON(ctx, path, &doc)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			tw := a.table()
			fmt.Fprintln(tw, "TIME\tACTION\tHOME\tEPOCH\tPHASE\tACTOR\tREASON\tPLAN")
			for _, b := range doc.Entries {
				e := &proto.AuditEntry{}
				if err := protoIn.Unmarshal(b, e); err != nil {
					return mark(errFailed, fmt.Errorf("decode audit entry: %v", err))
				}
				home := e.NewHome
				if e.OldHome != e.NewHome {
					home = e.OldHome + "→" + e.NewHome
				}
				phase := short(e.NewPhase.String(), "PHASE_")
				if e.OldPhase != e.NewPhase {
					phase = short(e.OldPhase.String(), "PHASE_") + "→" + phase
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d→%d\t%s\t%s\t%s\t%s\n", stamp(e.TimeUnixNano),
					short(e.Action.String(), "AUDIT_ACTION_"), dash(home), e.OldEpoch, e.NewEpoch, phase,
					dash(e.Actor), dash(e.Reason), dash(e.PlanId))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "only the newest N entries (0 = all)")
	return cmd
}

func (a *app) plansCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plans",
		Short: "list plans (moves, evacuations, restores, rebalances), newest first",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := a.withTimeout(cmd.Context())
			defer cancel()
			var doc struct {
				Plans []json.RawMessage `json:"plans"`
			}
			raw, err := a.api.getJSON(ctx, "/plans", &doc)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printRaw(raw)
			}
			tw := a.table()
			fmt.Fprintln(tw, "ID\tKIND\tSTATE\tREGION\tSTEPS\tCREATED\tBY\tREASON")
			for _, b := range doc.Plans {
				p := &proto.Plan{}
				if err := protoIn.Unmarshal(b, p); err != nil {
					return mark(errFailed, fmt.Errorf("decode plan: %v", err))
				}
				c := countSteps(p)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", p.Id, kindName(p), stateName(p.State),
					dash(p.Region), c.done(), len(p.Steps), stamp(p.CreatedUnixNano), dash(p.RequestedBy), dash(p.Reason))
			}
			return tw.Flush()
		},
	}
}

func (a *app) table() *tabwriter.Writer { return tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0) }

// printRaw prints a JSON answer as one line.
func (a *app) printRaw(raw []byte) error {
	_, err := fmt.Fprintln(a.stdout, strings.TrimSpace(string(raw)))
	return err
}

// symbolArg normalises a symbol typed by an operator (btcusdt → BTCUSDT).
func symbolArg(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func short(s, prefix string) string { return strings.TrimPrefix(s, prefix) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func stamp(unixNano int64) string {
	if unixNano == 0 {
		return "-"
	}
	return time.Unix(0, unixNano).UTC().Format(time.RFC3339)
}
