package matcher

import "math/bits"

// ladder is the set of occupied price levels of one side: a sparse bitmap of 4096-tick chunks
// (64 words plus a summary word each) kept in a slice sorted by chunk key. Setting or clearing a
// price is O(1) within an existing chunk, and the next occupied price above or below any price is
// found with a few bit scans, so the best price needs no tracking and no scan of levels.
type ladder struct {
	chunks []chunk
	free   []int32
	keys   []chunkRef // sorted by key
	last   int32      // index into keys of the most recently used chunk (a cache), or -1
}

const (
	chunkShift = 12
	chunkSize  = 1 << chunkShift
)

type chunk struct {
	sum   uint64
	words [64]uint64
}

type chunkRef struct {
	key int64
	idx int32
}

// find returns the position of key in keys, or the insertion position and false.
func (l *ladder) find(key int64) (int, bool) {
	if c := l.last; c >= 0 && int(c) < len(l.keys) && l.keys[c].key == key {
		return int(c), true
	}
	lo, hi := 0, len(l.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.keys[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(l.keys) && l.keys[lo].key == key {
		l.last = int32(lo)
		return lo, true
	}
	return lo, false
}

func (l *ladder) set(p int64) {
	key := p >> chunkShift
	pos, ok := l.find(key)
	if !ok {
		var idx int32
		if n := len(l.free); n > 0 {
			idx = l.free[n-1]
			l.free = l.free[:n-1]
		} else {
			idx = int32(len(l.chunks))
			l.chunks = append(l.chunks, chunk{})
		}
		l.keys = append(l.keys, chunkRef{})
		copy(l.keys[pos+1:], l.keys[pos:])
		l.keys[pos] = chunkRef{key: key, idx: idx}
		l.last = int32(pos)
	}
	c := &l.chunks[l.keys[pos].idx]
	w := (p >> 6) & 63
	c.words[w] |= 1 << (p & 63)
	c.sum |= 1 << w
}

func (l *ladder) clear(p int64) {
	pos, ok := l.find(p >> chunkShift)
	if !ok {
		return
	}
	idx := l.keys[pos].idx
	c := &l.chunks[idx]
	w := (p >> 6) & 63
	c.words[w] &^= 1 << (p & 63)
	if c.words[w] == 0 {
		c.sum &^= 1 << w
		if c.sum == 0 {
			l.free = append(l.free, idx)
			l.keys = append(l.keys[:pos], l.keys[pos+1:]...)
			l.last = -1
		}
	}
}

func (l *ladder) highest(pos int) int64 {
	r := l.keys[pos]
	c := &l.chunks[r.idx]
	w := 63 - bits.LeadingZeros64(c.sum)
	return r.key<<chunkShift | int64(w)<<6 | int64(63-bits.LeadingZeros64(c.words[w]))
}

func (l *ladder) lowest(pos int) int64 {
	r := l.keys[pos]
	c := &l.chunks[r.idx]
	w := bits.TrailingZeros64(c.sum)
	return r.key<<chunkShift | int64(w)<<6 | int64(bits.TrailingZeros64(c.words[w]))
}

// max returns the highest set price.
func (l *ladder) max() (int64, bool) {
	if len(l.keys) == 0 {
		return 0, false
	}
	return l.highest(len(l.keys) - 1), true
}

// min returns the lowest set price.
func (l *ladder) min() (int64, bool) {
	if len(l.keys) == 0 {
		return 0, false
	}
	return l.lowest(0), true
}

// above returns the lowest set price > p.
func (l *ladder) above(p int64) (int64, bool) {
	q := p + 1
	key := q >> chunkShift
	pos, ok := l.find(key)
	if ok {
		c := &l.chunks[l.keys[pos].idx]
		w := (q >> 6) & 63
		if m := c.words[w] & (^uint64(0) << (q & 63)); m != 0 {
			return key<<chunkShift | w<<6 | int64(bits.TrailingZeros64(m)), true
		}
		if s := c.sum & (^uint64(0) << (w + 1)); s != 0 {
			w2 := int64(bits.TrailingZeros64(s))
			return key<<chunkShift | w2<<6 | int64(bits.TrailingZeros64(c.words[w2])), true
		}
		pos++
	}
	if pos < len(l.keys) {
		return l.lowest(pos), true
	}
	return 0, false
}

// below returns the highest set price < p.
func (l *ladder) below(p int64) (int64, bool) {
	q := p - 1
	if q < 0 {
		return 0, false
	}
	key := q >> chunkShift
	pos, ok := l.find(key)
	if ok {
		c := &l.chunks[l.keys[pos].idx]
		w := (q >> 6) & 63
		if m := c.words[w] & (^uint64(0) >> (63 - q&63)); m != 0 {
			return key<<chunkShift | w<<6 | int64(63-bits.LeadingZeros64(m)), true
		}
		if s := c.sum & (1<<w - 1); s != 0 {
			w2 := int64(63 - bits.LeadingZeros64(s))
			return key<<chunkShift | w2<<6 | int64(63-bits.LeadingZeros64(c.words[w2])), true
		}
	}
	if pos > 0 {
		return l.highest(pos - 1), true
	}
	return 0, false
}
