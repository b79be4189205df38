package matcher

import (
	"testing"
	"unsafe"
)

func TestOrderSize(t *testing.T) {
	if s := unsafe.Sizeof(order{}); s != 128 {
		t.Fatalf("order is %d bytes, want 128 (two cache lines)", s)
	}
	if o := unsafe.Offsetof(order{}.stp); o >= 64 {
		t.Fatalf("hot fields end at %d, want < 64", o)
	}
}
