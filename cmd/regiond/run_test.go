package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunNodeFromFile runs one node from a config file with random ports, cancels the context
// (what SIGINT and SIGTERM do) and expects a clean exit.
func TestRunNodeFromFile(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "node.yaml", `
node_id: solo-1
region: us-east
data_dir: ./data
profile: local
gossip:
  addr: 127.0.0.1:0
nats:
  port: 0
cluster:
  port: 0
jetstream:
  replicas: 1
log:
  level: info
  format: json
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	wait := runAsync(ctx, []string{"--config", path}, nil, &stdout, &stderr)
	awaitText(t, &stderr, `"msg":"regiond_started"`, 20*time.Second)
	cancel()
	done := make(chan int, 1)
	go func() { done <- wait() }()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit code %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit within 20s of cancel; stderr:\n%s", stderr.String())
	}
	log := stderr.String()
	for _, want := range []string{`"msg":"regiond_stopping"`, `"msg":"node_stopped"`, `"nats":"nats://127.0.0.1:`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "regiond: ") {
		t.Errorf("an error line on a clean exit:\n%s", log)
	}
	// data_dir is relative to the config file.
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "data", "jetstream")); err != nil {
		t.Errorf("store not under the config file's directory: %v", err)
	}
}

// TestRunStartFailureExits1: a valid configuration that cannot start (the gossip port is taken)
// is a runtime failure: exit 1, one line on stderr.
func TestRunStartFailureExits1(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"--profile", "local", "--node-id", "n1", "--region", "us-east",
		"--data-dir", t.TempDir(), "--gossip-addr", ln.Addr().String(), "--log-level", "error"},
		envMap(nil), &stdout, &stderr)
	if code != exitRuntime {
		t.Errorf("exit code %d, want %d", code, exitRuntime)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "regiond: start: ") {
		t.Errorf("stderr is not one \"regiond: start: \" line:\n%s", stderr.String())
	}
}
