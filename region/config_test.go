package region

import (
	"strings"
	"testing"

	"github.com/geomesh/geomesh/mesh"
	"github.com/geomesh/geomesh/test/deptest"
)

func TestImports(t *testing.T) {
	deptest.Check(t, ".",
		"github.com/geomesh/geomesh/matcher", "github.com/geomesh/geomesh/mesh",
		"github.com/geomesh/geomesh/proto", "github.com/geomesh/geomesh/region/client",
		"github.com/geomesh/geomesh/region/status", // the status model (incidents.go)
		"github.com/nats-io/nats-server/v2",
		"github.com/nats-io/nats.go", "github.com/nats-io/jwt/v2",
		"github.com/prometheus/client_golang/prometheus", // the node's metrics
		"google.golang.org/protobuf",                     // marshalling the proto messages
		"github.com/shopspring/decimal")                  // the matcher spec's decimals, at the edge
}

func TestConfigValidate(t *testing.T) {
	local := func(mod func(*Config)) Config {
		c := LocalConfig()
		c.NodeID, c.Region, c.DataDir = "us-east-1", "us-east", "/tmp/x"
		mod(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"local ok", local(func(*Config) {}), ""},
		{"no node id", local(func(c *Config) { c.NodeID = "" }), "node id is required"},
		{"bad node id", local(func(c *Config) { c.NodeID = "a b" }), "node id"},
		{"no region", local(func(c *Config) { c.Region = "" }), "region is required"},
		{"upper-case region", local(func(c *Config) { c.Region = "US-East" }), "lower-case"},
		{"region with underscore", local(func(c *Config) { c.Region = "us_east" }), "lower-case"},
		{"region starting with digit", local(func(c *Config) { c.Region = "1east" }), "lower-case"},
		{"no data dir", local(func(c *Config) { c.DataDir = "" }), "data dir is required"},
		{"zero replicas", local(func(c *Config) { c.Replicas = 0 }), "replicas"},
		{"tiny dedupe window", local(func(c *Config) { c.DuplicateWindow = 1 }), "duplicate window"},
		{"unknown role", local(func(c *Config) { c.Roles = []string{"matcher", "cook"} }), `role "cook"`},
		{"lan without secret", local(func(c *Config) { c.Profile = mesh.ProfileLAN; c.GossipKeys = [][]byte{make([]byte, 32)} }), "cluster secret is required"},
		{"lan without gossip key", local(func(c *Config) { c.Profile = mesh.ProfileLAN; c.ClusterSecret = "s" }), "gossip key is required"},
		{"lan complete", local(func(c *Config) {
			c.Profile = mesh.ProfileLAN
			c.ClusterSecret = "s"
			c.GossipKeys = [][]byte{make([]byte, 32)}
		}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}
