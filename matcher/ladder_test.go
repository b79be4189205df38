package matcher

import (
	"math/rand/v2"
	"sort"
	"testing"
)

// TestLadderAgainstSortedSet drives the ladder and a plain sorted set with the same random
// operations (prices clustered, plus far outliers across chunk boundaries) and compares them.
func TestLadderAgainstSortedSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	l := newLadder()
	ref := map[int64]int32{}
	var ps []int64 // the occupied prices, sorted
	price := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return 1 + rng.Int64N(1<<40) // far away
		case 1:
			return chunkSize*int64(1+rng.IntN(4)) + int64(rng.IntN(3)) - 1 // chunk edges
		default:
			return 100_000 + int64(rng.IntN(200))
		}
	}
	for i := 0; i < 20000; i++ {
		p := price()
		if li, ok := ref[p]; ok {
			if got := l.level(p); got != li {
				t.Fatalf("level(%d) = %d, want %d", p, got, li)
			}
			l.remove(p)
			delete(ref, p)
			k := sort.Search(len(ps), func(i int) bool { return ps[i] >= p })
			ps = append(ps[:k], ps[k+1:]...)
		} else {
			if got := l.level(p); got != none {
				t.Fatalf("level(%d) = %d for an empty price", p, got)
			}
			li := int32(i)
			l.add(p, li)
			ref[p] = li
			k := sort.Search(len(ps), func(i int) bool { return ps[i] >= p })
			ps = append(ps, 0)
			copy(ps[k+1:], ps[k:])
			ps[k] = p
		}
		if lo, ok := l.min(); ok != (len(ps) > 0) || ok && lo != ps[0] {
			t.Fatalf("min = %d,%v; want %v", lo, ok, ps)
		}
		if hi, ok := l.max(); ok && hi != ps[len(ps)-1] {
			t.Fatalf("max = %d", hi)
		}
		q := price()
		k := sort.Search(len(ps), func(i int) bool { return ps[i] > q })
		if got, ok := l.above(q); ok != (k < len(ps)) || ok && got != ps[k] {
			t.Fatalf("above(%d) = %d,%v", q, got, ok)
		}
		k = sort.Search(len(ps), func(i int) bool { return ps[i] >= q }) - 1
		if got, ok := l.below(q); ok != (k >= 0) || ok && got != ps[k] {
			t.Fatalf("below(%d) = %d,%v", q, got, ok)
		}
	}
}

func TestIDTableAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	tab := newIDTable(4)
	ref := map[uint64]int32{}
	for i := 0; i < 50000; i++ {
		k := uint64(rng.IntN(3000))
		switch rng.IntN(3) {
		case 0:
			tab.put(k, int32(i))
			ref[k] = int32(i)
		case 1:
			tab.del(k)
			delete(ref, k)
		}
		want, ok := ref[k]
		if !ok {
			want = -1
		}
		if got := tab.get(k); got != want {
			t.Fatalf("step %d: get(%d) = %d, want %d", i, k, got, want)
		}
		if tab.n != len(ref) {
			t.Fatalf("step %d: n = %d, want %d", i, tab.n, len(ref))
		}
	}
	for k, v := range ref {
		if got := tab.get(k); got != v {
			t.Fatalf("final get(%d) = %d, want %d", k, got, v)
		}
	}
}
