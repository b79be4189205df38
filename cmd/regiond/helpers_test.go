package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// syncBuffer is a bytes.Buffer safe for the node's logging goroutines and the test's polling.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// envMap is a lookupEnv over a map.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// parse resolves args and env the way `regiond` does, without starting anything.
func parse(t *testing.T, args []string, env map[string]string) (settings, error) {
	t.Helper()
	fs := pflag.NewFlagSet("regiond", pflag.ContinueOnError)
	flags := newNodeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	return loadSettings(flags, envMap(env))
}

// writeFile writes a config file into a fresh temporary directory and returns its path.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	return writeFileAt(t, filepath.Join(t.TempDir(), name), body)
}

func writeFileAt(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runAsync runs `regiond args...` in the background; wait returns its exit code.
func runAsync(ctx context.Context, args []string, env map[string]string, stdout, stderr *syncBuffer) (wait func() int) {
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, envMap(env), stdout, stderr) }()
	return func() int { return <-done }
}

// awaitText polls buf until it contains want, or fails after timeout with what it saw.
func awaitText(t *testing.T, buf *syncBuffer, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v; output so far:\n%s", want, timeout, buf.String())
		}
		<-tick.C
	}
}
