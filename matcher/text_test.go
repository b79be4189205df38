package matcher

import (
	"errors"
	"testing"
)

func TestFormatParseCommandRoundTrip(t *testing.T) {
	for i, c := range randomLog(3, 5000) {
		line := FormatCommand(&c)
		got, err := ParseCommand(line)
		if err != nil {
			t.Fatalf("command %d %q: %v", i, line, err)
		}
		if got != c {
			t.Fatalf("command %d: %q parsed to %+v, want %+v", i, line, got, c)
		}
	}
}

func TestParseCommandErrors(t *testing.T) {
	for _, line := range []string{"", "buy", "new acct=x", "new p=1.5", "new WHAT", "new stp=SOMETIMES", "new foo=1"} {
		if _, err := ParseCommand(line); !errors.Is(err, ErrScript) {
			t.Errorf("ParseCommand(%q) = %v, want ErrScript", line, err)
		}
	}
}

func TestParseScript(t *testing.T) {
	blocks, err := ParseScript("# c\nnew acct=1\nbook\n----\nout1\nout2\n\n\ncancel acct=1 id=1\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || len(blocks[0].Input) != 2 || blocks[0].Expected != "out1\nout2" || !blocks[0].HasSep ||
		blocks[1].HasSep || blocks[1].Line != 9 || len(blocks[0].Comments) != 1 {
		t.Fatalf("blocks = %+v", blocks)
	}
	if _, err := ParseScript("----\n"); !errors.Is(err, ErrScript) {
		t.Fatalf("separator without input: %v", err)
	}
}
