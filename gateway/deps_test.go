package gateway

import (
	"testing"

	"github.com/geomesh/geomesh/test/deptest"
)

// TestDependencies enforces STYLE.md: the gateway reaches the mesh only through NATS subjects
// and KV (proto, nats.go, region/client) and uses matcher only for its edge Spec API.
func TestDependencies(t *testing.T) {
	deptest.Check(t, ".",
		"github.com/geomesh/geomesh/proto",
		"github.com/geomesh/geomesh/region/client",
		"github.com/geomesh/geomesh/region/status",
		"github.com/geomesh/geomesh/matcher",
		"github.com/nats-io/nats.go",
		"github.com/prometheus/client_golang/prometheus",
		"github.com/shopspring/decimal",
		"github.com/gorilla/websocket",
		"golang.org/x/time/rate",
		"google.golang.org/protobuf",
	)
}
