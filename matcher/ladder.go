package matcher

import "math/bits"

// ladder holds the occupied price levels of one side and maps each price to its level index.
// Prices are grouped in chunks of 4096 ticks, kept in a slice sorted by chunk key; a chunk has
// a 64-word occupancy bitmap with a summary word, and each non-empty 64-tick word has a page of
// 64 level indexes. Adding, removing and finding a level is O(1) within a chunk, the next
// occupied price above or below any price takes a few bit scans, and prices near each other
// share cache lines, so the best price needs no tracking and no scan of levels.
type ladder struct {
	chunks    []chunk
	freeChunk []int32
	keys      []chunkRef // sorted by key
	last      int32      // index into keys of the most recently used chunk (a cache), or -1
	hotKey    int64      // key of chunk hot (a cache for level, add and remove)
	hot       int32      // index into chunks of the most recently used chunk, or -1
	pages     [][64]int32
	freePage  []int32
	n         int   // number of set prices
	lo, hi    int64 // lowest and highest set price when n > 0 (so min and max are loads)
}

const (
	chunkShift = 12
	chunkSize  = 1 << chunkShift
)

type chunk struct {
	sum   uint64
	words [64]uint64
	pages [64]int32 // page of level indexes for each non-empty word
}

type chunkRef struct {
	key int64
	idx int32
}

func newLadder() ladder { return ladder{last: -1, hot: -1} }

// chunkAt returns the chunk with key, or nil. Prices cluster, so it is nearly always the chunk
// used last; a chunk's index stays valid until the chunk is freed (remove clears the cache then).
func (l *ladder) chunkAt(key int64) *chunk {
	if l.hot >= 0 && l.hotKey == key {
		return &l.chunks[l.hot]
	}
	return l.chunkAtSlow(key)
}

func (l *ladder) chunkAtSlow(key int64) *chunk {
	pos, ok := l.find(key)
	if !ok {
		return nil
	}
	l.hotKey, l.hot = key, l.keys[pos].idx
	return &l.chunks[l.hot]
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

// level returns the level index at price p, or none. The hot chunk's case is small enough to
// be inlined into callers.
func (l *ladder) level(p int64) int32 {
	if l.hot >= 0 && l.hotKey == p>>chunkShift {
		c := &l.chunks[l.hot]
		if w := (p >> 6) & 63; c.words[w]&(1<<(p&63)) != 0 {
			return l.pages[c.pages[w]][p&63]
		}
		return none
	}
	return l.levelSlow(p)
}

func (l *ladder) levelSlow(p int64) int32 {
	c := l.chunkAtSlow(p >> chunkShift)
	if c == nil {
		return none
	}
	w := (p >> 6) & 63
	if c.words[w]&(1<<(p&63)) == 0 {
		return none
	}
	return l.pages[c.pages[w]][p&63]
}

// add records level li at price p, which must be unoccupied.
func (l *ladder) add(p int64, li int32) {
	c, _ := l.cell(p)
	*c = li
}

// cell returns the cell holding the level index of price p and whether p was set. An unset p
// becomes set: the caller stores its level index in the cell before changing the ladder again.
// One lookup serves both the search for a price's level and the insertion of a new one.
func (l *ladder) cell(p int64) (*int32, bool) {
	key := p >> chunkShift
	var c *chunk
	if l.hot >= 0 && l.hotKey == key {
		c = &l.chunks[l.hot]
	} else if c = l.chunkAtSlow(key); c == nil {
		c = l.newChunk(key)
	}
	w, bit := (p>>6)&63, uint64(1)<<(p&63)
	if c.words[w]&bit != 0 {
		return &l.pages[c.pages[w]][p&63], true
	}
	if c.words[w] == 0 {
		var pg int32
		if n := len(l.freePage); n > 0 {
			pg = l.freePage[n-1]
			l.freePage = l.freePage[:n-1]
		} else {
			pg = int32(len(l.pages))
			l.pages = append(l.pages, [64]int32{})
		}
		c.pages[w] = pg
		c.sum |= 1 << w
	}
	c.words[w] |= bit
	if l.n == 0 || p < l.lo {
		l.lo = p
	}
	if l.n == 0 || p > l.hi {
		l.hi = p
	}
	l.n++
	return &l.pages[c.pages[w]][p&63], false
}

// newChunk inserts an empty chunk with key (not present) and makes it the hot chunk.
func (l *ladder) newChunk(key int64) *chunk {
	pos, _ := l.find(key)
	var idx int32
	if n := len(l.freeChunk); n > 0 {
		idx = l.freeChunk[n-1]
		l.freeChunk = l.freeChunk[:n-1]
	} else {
		idx = int32(len(l.chunks))
		l.chunks = append(l.chunks, chunk{})
	}
	l.keys = append(l.keys, chunkRef{})
	copy(l.keys[pos+1:], l.keys[pos:])
	l.keys[pos] = chunkRef{key: key, idx: idx}
	l.last = int32(pos)
	l.hotKey, l.hot = key, idx
	return &l.chunks[idx]
}

// remove forgets the level at price p.
func (l *ladder) remove(p int64) {
	key := p >> chunkShift
	c := l.chunkAt(key)
	if c == nil {
		return
	}
	w := (p >> 6) & 63
	c.words[w] &^= 1 << (p & 63)
	if c.words[w] == 0 {
		l.freePage = append(l.freePage, c.pages[w])
		c.sum &^= 1 << w
		if c.sum == 0 {
			pos, _ := l.find(key)
			l.freeChunk = append(l.freeChunk, l.keys[pos].idx)
			l.keys = append(l.keys[:pos], l.keys[pos+1:]...)
			l.last, l.hot = -1, -1
		}
	}
	if l.n--; l.n > 0 {
		if p == l.lo {
			l.lo, _ = l.above(p)
		}
		if p == l.hi {
			l.hi, _ = l.below(p)
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
func (l *ladder) max() (int64, bool) { return l.hi, l.n > 0 }

// min returns the lowest set price.
func (l *ladder) min() (int64, bool) { return l.lo, l.n > 0 }

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
