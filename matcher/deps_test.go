package matcher

import (
	"go/build"
	"strings"
	"testing"

	"github.com/geomesh/geomesh/test/deptest"
)

func TestImports(t *testing.T) {
	deptest.Check(t, ".", "github.com/shopspring/decimal")
}

// TestNoClockRandomnessConcurrencyOrLogging keeps the state machine deterministic: no non-test
// file may import these (time is banned outright since the matcher needs no durations either).
func TestNoClockRandomnessConcurrencyOrLogging(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{"time": true, "math/rand": true, "math/rand/v2": true, "crypto/rand": true,
		"sync": true, "sync/atomic": true, "log": true, "log/slog": true, "os": true, "unsafe": true}
	for _, imp := range pkg.Imports {
		if banned[imp] || strings.HasPrefix(imp, "github.com/geomesh/") {
			t.Errorf("matcher non-test files import %q", imp)
		}
	}
	for _, f := range pkg.GoFiles {
		if strings.HasSuffix(f, "_test.go") {
			t.Errorf("GoFiles contains test file %s", f)
		}
	}
}
