package mesh

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validMeta() Meta {
	return Meta{NodeID: "n1", Region: "us-east", Roles: []string{"gateway"}}
}

func TestConfigValidate(t *testing.T) {
	key16 := make([]byte, 16)
	tests := []struct {
		name string
		cfg  func() Config
		want string // substring of the error; "" means valid
	}{
		{"local ok without key", func() Config { c := LocalConfig(); c.Meta = validMeta(); return c }, ""},
		{"lan ok with key", func() Config {
			c := DefaultLANConfig()
			c.Meta, c.Keys = validMeta(), [][]byte{key16}
			return c
		}, ""},
		{"wan ok with 32-byte key", func() Config {
			c := DefaultWANConfig()
			c.Meta, c.Keys = validMeta(), [][]byte{make([]byte, 32)}
			return c
		}, ""},
		{"lan without key", func() Config { c := DefaultLANConfig(); c.Meta = validMeta(); return c },
			"gossip encryption key required for profile lan"},
		{"wan without key", func() Config { c := DefaultWANConfig(); c.Meta = validMeta(); return c },
			"gossip encryption key required for profile wan"},
		{"bad key length", func() Config {
			c := LocalConfig()
			c.Meta, c.Keys = validMeta(), [][]byte{key16, make([]byte, 20)}
			return c
		}, "key 1 is 20 bytes, want 16, 24 or 32"},
		{"region uppercase", func() Config {
			c := LocalConfig()
			c.Meta = validMeta()
			c.Meta.Region = "US-east"
			return c
		}, `region "US-east" does not match`},
		{"region too short", func() Config {
			c := LocalConfig()
			c.Meta = validMeta()
			c.Meta.Region = "a"
			return c
		}, `region "a" does not match`},
		{"region starts with digit", func() Config {
			c := LocalConfig()
			c.Meta = validMeta()
			c.Meta.Region = "1east"
			return c
		}, `region "1east" does not match`},
		{"region too long", func() Config {
			c := LocalConfig()
			c.Meta = validMeta()
			c.Meta.Region = "a" + strings.Repeat("b", 31)
			return c
		}, "does not match"},
		{"empty node id", func() Config {
			c := LocalConfig()
			c.Meta = validMeta()
			c.Meta.NodeID = ""
			return c
		}, "meta: node id is empty"},
		{"meta too large", func() Config {
			c := LocalConfig()
			c.Meta = validMeta()
			long := "https://" + strings.Repeat("x", 200)
			c.Meta.HTTPURL, c.Meta.AdminURL, c.Meta.NATSRouteURL = long, long, long
			return c
		}, "limit 512"},
		{"field too long", func() Config {
			c := LocalConfig()
			c.Meta = validMeta()
			c.Meta.HTTPURL = strings.Repeat("x", 300)
			return c
		}, "http url is 300 bytes, limit 255"},
		{"unknown profile", func() Config { c := LocalConfig(); c.Meta = validMeta(); c.Profile = "lam"; return c },
			`profile "lam" is not lan, wan or local`},
		{"bad seed", func() Config {
			c := LocalConfig()
			c.Meta, c.Seeds = validMeta(), []string{"nohost"}
			return c
		}, `seed "nohost" is not host:port`},
		{"zero grace", func() Config { c := LocalConfig(); c.Meta = validMeta(); c.RegionDownGrace = 0; return c },
			"region down grace 0s must be positive"},
		{"bad bind addr", func() Config { c := LocalConfig(); c.Meta = validMeta(); c.BindAddr = "localhost"; return c },
			`bind address "localhost" is not an IP address`},
		{"several problems on one line", func() Config { c := DefaultLANConfig(); c.RejoinInterval = -time.Second; return c },
			"meta: node id is empty; meta: region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg().Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want error containing %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("Validate() = %q, want one line containing %q", msg, tt.want)
			}
		})
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	if _, err := New(DefaultLANConfig()); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New(DefaultLANConfig()) = %v, want ErrInvalidConfig", err)
	}
}

func TestRegionStateString(t *testing.T) {
	for s, want := range map[RegionState]string{
		RegionUnknown: "unknown", RegionUp: "up", RegionSuspect: "suspect", RegionDown: "down", 42: "unknown",
	} {
		if got := s.String(); got != want {
			t.Errorf("RegionState(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}
