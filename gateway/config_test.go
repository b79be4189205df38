package gateway

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestConfigValidate(t *testing.T) {
	nc := &nats.Conn{}
	tests := []struct {
		name string
		mut  func(*Config)
		ok   bool
	}{
		{"local", func(*Config) {}, true},
		{"no region", func(c *Config) { c.Region = "" }, false},
		{"no nc", func(c *Config) { c.NC = nil }, false},
		{"negative body", func(c *Config) { c.MaxBodyBytes = -1 }, false},
		{"negative timeout", func(c *Config) { c.RequestTimeout = -1 }, false},
		{"zero fields default", func(c *Config) { *c = Config{Region: "r", NC: nc} }, true},
	}
	for _, tc := range tests {
		c := LocalConfig()
		c.Region, c.NC = "us-east", nc
		tc.mut(&c)
		err := c.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	d := (Config{Region: "r", NC: nc}).withDefaults()
	if d.Addr != DefaultConfig().Addr || d.RecentTrades != 1000 || d.Now == nil || d.WSPingInterval == 0 {
		t.Errorf("defaults not applied: %+v", d)
	}
}
