package main

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/region"
)

// TestDeployLocalConfigs loads every file of deploy/local through the same code path as
// `regiond --config`, validates it with region.New (nothing starts) and checks the files fit
// together: distinct fixed ports (gossip, NATS, routes, gateway, admin API), each seeding the
// other regions' gossip addresses, and the same two symbols, admin token and API key in every file.
func TestDeployLocalConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "deploy", "local", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ap-south.yaml", "eu-west.yaml", "us-east.yaml"}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if !slices.Equal(names, want) {
		t.Fatalf("deploy/local holds %v, want %v", names, want)
	}

	var symbols []region.SymbolConfig // the first file's, which every other file must repeat
	var front *frontConfig            // likewise
	gossip := map[string]string{}     // region -> gossip addr
	seeds := map[string][]string{}
	ports := map[string]string{} // "kind port" -> region, to catch clashes
	for _, f := range files {
		s, err := parse(t, []string{"--config", f}, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c := s.node
		if _, err := region.New(c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		r := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if c.Region != r || c.Profile != mesh.ProfileLocal || c.Replicas != 3 {
			t.Errorf("%s: region %q profile %q replicas %d, want %q local 3", f, c.Region, c.Profile, c.Replicas, r)
		}
		if want := filepath.Join(filepath.Dir(f), "data", r); c.DataDir != want {
			t.Errorf("%s: data dir %q, want %q", f, c.DataDir, want)
		}
		_, gport, _ := strings.Cut(c.GossipAddr, ":")
		_, hport, _ := strings.Cut(s.front.httpAddr, ":")
		_, aport, _ := strings.Cut(s.front.adminAddr, ":")
		for _, p := range []string{"gossip " + gport, fmt.Sprint("nats ", c.NATSPort), fmt.Sprint("cluster ", c.ClusterPort),
			"http " + hport, "admin " + aport} {
			if strings.HasSuffix(p, " 0") {
				t.Errorf("%s: %s: want a fixed port", f, p)
			}
			if other, ok := ports[p]; ok {
				t.Errorf("%s: %s also used by %s", f, p, other)
			}
			ports[p] = r
		}
		fr := s.front
		switch {
		case fr.tokenGenerated || fr.noGateway || len(fr.keys) != 1:
			t.Errorf("%s: front %+v, want an admin token, a gateway and one bootstrap key", f, s.front)
		case front == nil:
			front = &fr
		case fr.adminToken != front.adminToken || !reflect.DeepEqual(fr.keys, front.keys):
			t.Errorf("%s: admin token and keys %q %+v differ from %s's %q %+v", f, fr.adminToken, fr.keys,
				files[0], front.adminToken, front.keys)
		}
		gossip[r] = c.GossipAddr
		seeds[r] = c.Seeds
		switch {
		case len(c.Symbols) != 2:
			t.Errorf("%s: %d symbols, want 2", f, len(c.Symbols))
		case symbols == nil:
			symbols = c.Symbols
		case !reflect.DeepEqual(c.Symbols, symbols):
			t.Errorf("%s: symbols %+v differ from %s's %+v", f, c.Symbols, files[0], symbols)
		}
		for _, sc := range c.Symbols {
			if len(sc.Preferred) != 3 {
				t.Errorf("%s: %s prefers %v, want all three regions in order", f, sc.Symbol, sc.Preferred)
			}
		}
	}
	for r, ss := range seeds {
		var want []string
		for other, addr := range gossip {
			if other != r {
				want = append(want, addr)
			}
		}
		slices.Sort(want)
		got := slices.Sorted(slices.Values(ss))
		if !slices.Equal(got, want) {
			t.Errorf("%s seeds %v, want the other regions %v", r, got, want)
		}
	}
}
