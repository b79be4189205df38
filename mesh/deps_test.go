package mesh

import (
	"testing"

	"github.com/geomesh/geomesh/test/deptest"
)

func TestDependencies(t *testing.T) {
	deptest.Check(t, ".", "github.com/hashicorp/memberlist")
}
