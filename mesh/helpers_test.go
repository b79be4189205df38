package mesh

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"
)

// testNode is a started Mesh on loopback behind a FilterTransport.
type testNode struct {
	*Mesh
	ft *FilterTransport
}

// startNode starts a Local-profile node named name in region, joining seeds. mutate may
// change the config before New.
func startNode(t *testing.T, name, region string, mutate func(*Config), seeds ...string) *testNode {
	t.Helper()
	n, err := tryStartNode(t, name, region, mutate, seeds...)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return n
}

func tryStartNode(t *testing.T, name, region string, mutate func(*Config), seeds ...string) (*testNode, error) {
	t.Helper()
	ft, err := NewLocalFilterTransport(nil)
	if err != nil {
		return nil, err
	}
	cfg := LocalConfig()
	cfg.Meta = Meta{
		NodeID:        name,
		Region:        region,
		Roles:         []string{"gateway", "matcher"},
		NATSClientURL: "nats://127.0.0.1:4222",
		HTTPURL:       "http://127.0.0.1:8080",
		Version:       "test",
	}
	cfg.Seeds = seeds
	cfg.Transport = ft
	if testing.Verbose() && os.Getenv("MESH_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		_ = ft.Shutdown()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		_ = m.Close()
		return nil, err
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
	})
	return &testNode{Mesh: m, ft: ft}, nil
}

// await polls cond every 10 ms until it returns nil or timeout passes, then fails with the
// last error.
func await(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// awaitMembers waits until every node sees exactly the named members.
func awaitMembers(t *testing.T, nodes []*testNode, names ...string) {
	t.Helper()
	want := fmt.Sprint(names)
	await(t, 5*time.Second, "members "+want, func() error {
		for _, n := range nodes {
			var got []string
			for _, m := range n.Members() {
				got = append(got, m.Name)
			}
			if fmt.Sprint(got) != want {
				return fmt.Errorf("%s sees %v", n.Name(), got)
			}
		}
		return nil
	})
}

// awaitRegion waits until every node sees region in state.
func awaitRegion(t *testing.T, timeout time.Duration, nodes []*testNode, region string, state RegionState) {
	t.Helper()
	await(t, timeout, region+" "+state.String(), func() error {
		for _, n := range nodes {
			if h := n.Region(region); h.State != state {
				return fmt.Errorf("%s sees %s %s (alive %d known %d)", n.Name(), region, h.State, h.Alive, h.Known)
			}
		}
		return nil
	})
}

// recvUntil reads events from ch until match returns true or timeout passes.
func recvUntil(t *testing.T, ch <-chan Event, timeout time.Duration, what string, match func(Event) bool) Event {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("%s: channel closed", what)
			}
			if match(ev) {
				return ev
			}
		case <-timer.C:
			t.Fatalf("%s: no matching event within %v", what, timeout)
		}
	}
}
