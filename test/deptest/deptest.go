// Package deptest enforces the dependency direction of STYLE.md: a package's test calls Check
// with the import path prefixes its non-test files may use.
package deptest

import (
	"go/build"
	"sort"
	"strings"
	"testing"
)

// Check fails t when a non-test Go file in dir imports a path that is neither in the standard
// library nor under one of the allowed prefixes. A prefix matches itself and anything below it.
func Check(t testing.TB, dir string, allowed ...string) {
	t.Helper()
	pkg, err := build.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("read package %q: %v", dir, err)
	}
	var bad []string
	for _, imp := range pkg.Imports {
		if isStd(imp) || matches(imp, allowed) {
			continue
		}
		bad = append(bad, imp)
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("package %s imports %v; allowed: stdlib and %v", pkg.ImportPath, bad, allowed)
	}
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func matches(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}
