package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ms(us int64) string { return fmt.Sprintf("%.2f", float64(us)/1000) }

func codes(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// printTable writes the human report.
func printTable(w io.Writer, r *result) {
	fmt.Fprintf(w, "meshload: %.0f orders/s target for %s (+%s warm-up), %d symbols, %d accounts, regions %s, resp %s, ws %.0f%%\n",
		r.Rate, r.Duration, r.Warmup, r.Symbols, r.Accounts, strings.Join(r.Regions, ","), strings.Join(r.RespTypes, ","), r.WSFraction*100)
	fmt.Fprintf(w, "scheduled %d, measured %d, achieved %.0f answers/s over %.1fs, retries: %d resent, %d resolved; errors %d\n\n",
		r.Scheduled, r.Measured, r.AchievedRPS, r.WindowSec, r.Resends, r.Resolves, r.Errors)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "REGION\tOP\tVIA\tREQUESTS\tACK\tREJECTED\tUNKNOWN\tFAILED\tP50 ms\tP99 ms\tP99.9 ms\tMAX ms\tRATE/s\tREJECTED BY CODE\t")
	row := func(s summary) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%.0f\t%s\t\n", s.Region, s.Op, s.Transport,
			s.Requests, s.Ack, s.Rejected, s.Unknown, s.Failed, ms(s.P50US), ms(s.P99US), ms(s.P999US), ms(s.MaxUS), s.RPS, codes(s.Errors))
	}
	for _, s := range r.Rows {
		row(s)
	}
	if r.Raw != nil {
		row(*r.Raw)
	}
	_ = tw.Flush()
	if r.Ratios != nil {
		fmt.Fprintf(w, "\nratios to the raw R3 append: ACK p50 %.2fx (target <= 1.5), FULL p50 %.2fx (<= 2.5), ACK p99 %.2fx (<= 2)\n",
			r.Ratios.AckP50, r.Ratios.FullP50, r.Ratios.AckP99)
	}
}

// coldResult is the --cold-start-symbols report.
type coldResult struct {
	Symbols    int            `json:"symbols"`
	Regions    []string       `json:"regions"`
	FormedSec  float64        `json:"mesh_formed_s"`
	TradingSec float64        `json:"all_trading_s"`
	Homes      map[string]int `json:"homes"`
}

func printCold(w io.Writer, c *coldResult) {
	fmt.Fprintf(w, "cold start of %d symbols on %d regions (%s): mesh formed in %s, every symbol TRADING in its home region after %s\n",
		c.Symbols, len(c.Regions), strings.Join(c.Regions, ","), secs(c.FormedSec), secs(c.TradingSec))
	for _, r := range c.Regions {
		fmt.Fprintf(w, "  %s: %d symbols homed\n", r, c.Homes[r])
	}
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
