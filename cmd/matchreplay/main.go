package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/geomesh/geomesh/matcher"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "matchreplay:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: matchreplay [-latency] [-q] FILE")

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("matchreplay", flag.ContinueOnError)
	latency := fs.Bool("latency", false, "print per-command apply latency percentiles (p50, p99, p99.9)")
	quiet := fs.Bool("q", false, "do not print each command's events, only the final book")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errUsage
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("read command file: %w", err)
	}
	blocks, err := matcher.ParseScript(string(data))
	if err != nil {
		return fmt.Errorf("parse %s: %w", fs.Arg(0), err)
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()

	r := matcher.NewRunner()
	var lat []time.Duration
	if *latency {
		r.Apply = func(b *matcher.Book, c *matcher.Command) []matcher.Event {
			t0 := time.Now()
			evs := b.Apply(c)
			lat = append(lat, time.Since(t0))
			return evs
		}
	}
	commands := 0
	for _, bl := range blocks {
		for _, line := range bl.Input {
			got, err := r.Exec(line)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", fs.Arg(0), bl.Line, err)
			}
			if f := strings.Fields(line); f[0] != "spec" && f[0] != "book" {
				commands++
			}
			if !*quiet {
				fmt.Fprintf(out, "> %s\n", line)
				if got != "" {
					fmt.Fprintln(out, got)
				}
			}
		}
	}
	fmt.Fprintf(out, "\n== final book after %d commands ==\n%s\n", commands, matcher.FormatBook(r.Book))
	if *latency && len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
		fmt.Fprintf(out, "apply latency over %d commands: p50=%v p99=%v p99.9=%v max=%v\n",
			len(lat), q(0.50), q(0.99), q(0.999), lat[len(lat)-1])
	}
	return nil
}
