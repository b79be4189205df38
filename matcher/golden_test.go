package matcher

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of the golden scripts in testdata")

// TestGolden runs every testdata/*.txt script. Each block's input lines are commands or
// directives; the output is their events (with "> line" headers when a block has several lines).
// After each file the final state must survive a snapshot round trip with an equal hash, and a
// replay of all commands from a snapshot taken half way must give identical events.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			blocks, err := ParseScript(string(data))
			if err != nil {
				t.Fatal(err)
			}
			r := NewRunner()
			for i := range blocks {
				bl := &blocks[i]
				var out []string
				for _, line := range bl.Input {
					got, err := r.Exec(line)
					if err != nil {
						t.Fatalf("%s:%d: %v", file, bl.Line, err)
					}
					if len(bl.Input) > 1 {
						out = append(out, "> "+line)
					}
					if got != "" {
						out = append(out, got)
					}
					checkInvariants(t, r.Book)
				}
				got := strings.Join(out, "\n")
				if *rewrite {
					bl.Expected = got
					continue
				}
				if got != bl.Expected {
					t.Errorf("%s:%d: %s\n got:\n%s\nwant:\n%s", file, bl.Line, strings.Join(bl.Input, "; "), got, bl.Expected)
				}
			}
			if *rewrite {
				if err := os.WriteFile(file, []byte(FormatScript(blocks)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			snap := r.Book.Snapshot()
			rb, err := Restore(snap)
			if err != nil {
				t.Fatalf("restore final state: %v", err)
			}
			if rb.Hash() != r.Book.Hash() || !bytes.Equal(rb.Snapshot(), snap) {
				t.Fatalf("restored book differs")
			}
		})
	}
}
