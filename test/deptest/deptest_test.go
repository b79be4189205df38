package deptest

import "testing"

func TestMatches(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"github.com/shopspring/decimal", true},
		{"github.com/shopspring/decimalx", false},
		{"github.com/nats-io/nats.go/jetstream", true},
		{"github.com/nats-io/nats-server/v2/server", false},
	}
	allowed := []string{"github.com/shopspring/decimal", "github.com/nats-io/nats.go"}
	for _, tt := range tests {
		if got := matches(tt.path, allowed); got != tt.want {
			t.Errorf("matches(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	for path, want := range map[string]bool{"fmt": true, "crypto/sha256": true, "github.com/x/y": false} {
		if got := isStd(path); got != want {
			t.Errorf("isStd(%q) = %v, want %v", path, got, want)
		}
	}
}
