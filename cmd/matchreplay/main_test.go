package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/geomesh/geomesh/test/deptest"
)

func TestImports(t *testing.T) {
	deptest.Check(t, ".", "github.com/geomesh/geomesh/matcher")
}

func TestReplayExample(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-latency", "../../matcher/testdata/replay/example.txt"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"> new acct=1", "Trade tid=1", "== final book after", "hash=", "apply latency over"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReplayErrors(t *testing.T) {
	var out bytes.Buffer
	if err := run(nil, &out); err == nil {
		t.Error("no file: want usage error")
	}
	if err := run([]string{"/nonexistent/file"}, &out); err == nil {
		t.Error("missing file: want error")
	}
}
