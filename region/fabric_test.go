package region_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/region/client"
	"github.com/geomesh/geomesh/test/meshtest"
)

// regionOfServer maps server names to regions as the harness names nodes ("<region>-1").
func regionOfServer(name string) string { return strings.TrimSuffix(name, "-1") }

// replicaRegions returns the region of every replica (leader included) of stream name.
func replicaRegions(ctx context.Context, js jetstream.JetStream, name string) ([]string, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return nil, fmt.Errorf("stream %s has no leader", name)
	}
	out := []string{regionOfServer(info.Cluster.Leader)}
	for _, p := range info.Cluster.Replicas {
		out = append(out, regionOfServer(p.Name))
	}
	return out, nil
}

func TestFabricFormsFromOneSeedAndPlacesOneReplicaPerRegion(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	start := time.Now()
	m := meshtest.New(t, meshtest.Options{})
	m.AwaitConverged()
	t.Logf("3 regions converged in %v", time.Since(start))

	n := m.Node("eu-west")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.EnsureSymbol(ctx, "BTCUSDT"); err != nil {
		t.Fatalf("EnsureSymbol: %v", err)
	}
	// Idempotent: a second node creating the same streams is fine.
	if err := m.Node("ap-south").EnsureSymbol(ctx, "BTCUSDT"); err != nil {
		t.Fatalf("EnsureSymbol again: %v", err)
	}
	for _, name := range []string{client.CmdStream("BTCUSDT"), client.EvtStream("BTCUSDT"),
		"KV_" + client.BucketOwners, "KV_" + client.BucketControl, "KV_" + client.BucketPlans,
		"KV_" + client.BucketAccounts, "OBJ_" + client.ObjectSnapshots, client.StreamAudit} {
		var regions []string
		m.Await("replicas of "+name, func() error {
			var err error
			regions, err = replicaRegions(ctx, n.JetStream(), name)
			if err == nil && len(regions) != 3 {
				err = fmt.Errorf("replicas in %v", regions)
			}
			return err
		})
		seen := map[string]bool{}
		for _, r := range regions {
			if seen[r] {
				t.Errorf("stream %s: two replicas in region %s (%v)", name, r, regions)
			}
			seen[r] = true
		}
	}

	t.Logf("streams and replicas checked after %v", time.Since(start))
	if err := n.EnsureSymbol(ctx, "btc-usdt"); err == nil {
		t.Error("EnsureSymbol accepted a malformed symbol")
	}

	// A fourth region joins at runtime through one seed and gets routes to everyone.
	start = time.Now()
	m.AddRegion("sa-east")
	m.AwaitConverged()
	t.Logf("4th region joined in %v", time.Since(start))
	for _, r := range m.Regions() {
		if got := m.Node(r).Mesh().Region("sa-east").State; got != mesh.RegionUp {
			t.Errorf("%s sees sa-east %v", r, got)
		}
	}
	if len(m.Node("sa-east").MetaPeers()) != 4 {
		t.Errorf("sa-east meta peers: %v", m.Node("sa-east").MetaPeers())
	}
}

func TestKilledRegionIsReportedDownEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	m := meshtest.New(t, meshtest.Options{})
	m.AwaitConverged()

	start := time.Now()
	m.Kill("ap-south")
	var detected time.Duration
	for _, r := range []string{"us-east", "eu-west"} {
		m.AwaitRegionState(r, "ap-south", mesh.RegionDown)
		detected = time.Since(start)
	}
	t.Logf("killed region reported down by every other region after %v (local profile)", detected)
	// The JetStream meta layer agrees (the controller will require both).
	m.Await("meta layer sees ap-south offline", func() error {
		for _, r := range []string{"us-east", "eu-west"} {
			if offline, ok := m.Node(r).MetaPeers()["ap-south-1"]; !ok || !offline {
				return fmt.Errorf("%s: ap-south-1 offline=%v known=%v", r, offline, ok)
			}
		}
		return nil
	})

	m.Restart("ap-south")
	m.AwaitConverged()
}

func TestPartitionedRegionSeesOthersDownAndHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-region cluster")
	}
	m := meshtest.New(t, meshtest.Options{})
	m.AwaitConverged()

	m.Partition("us-east")
	m.AwaitRegionState("us-east", "eu-west", mesh.RegionDown)
	m.AwaitRegionState("us-east", "ap-south", mesh.RegionDown)
	m.AwaitRegionState("eu-west", "us-east", mesh.RegionDown)
	m.AwaitRegionState("ap-south", "us-east", mesh.RegionDown)
	// The minority side loses JetStream; the majority keeps it.
	m.Await("minority loses the meta leader", func() error {
		if m.Node("us-east").JetStreamReady() {
			return fmt.Errorf("us-east still has a meta leader")
		}
		if !m.Node("eu-west").JetStreamReady() {
			return fmt.Errorf("eu-west lost the meta leader")
		}
		return nil
	})

	m.Heal()
	m.AwaitConverged()
}
