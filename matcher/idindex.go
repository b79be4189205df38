package matcher

// idIndex maps the ids of open orders to slab indexes. Order ids are the log sequences of the
// commands that placed them: increasing, with gaps where a command placed no order. Recent ids
// live in a ring indexed by id&ringMask covering the ringSize ids (sequences) up to the newest:
// lookup, insert and delete are one array access, with no hashing or probing, and a gap costs
// nothing but unused slots. When the newest id reaches id+ringSize while that order is still
// open, the entry moves to a map (it is only ever looked up there, never iterated).
type idIndex struct {
	ring *[ringSize]int32 // slab index of the open order with id in (last-ringSize, last], or none
	old  map[uint64]int32
	last uint64 // the newest assigned id
}

const (
	ringBits = 16
	ringSize = 1 << ringBits
	ringMask = ringSize - 1
)

// advance indexes the ring with uint16(id), which is id&ringMask only for 16 ring bits.
var _ = [1]struct{}{}[ringBits-16]

func newIDIndex() idIndex {
	x := idIndex{ring: new([ringSize]int32), old: make(map[uint64]int32)}
	for i := range x.ring {
		x.ring[i] = none
	}
	return x
}

// advance records that id last was assigned, evicting the entries of the ids it pushes out of
// the ring. A jump of more than ringSize (a long stretch of commands that placed no order)
// visits each ring slot once, not each skipped id.
func (x *idIndex) advance(last uint64) {
	// The common case, inlined: the previous command placed an order, and the slot is free.
	if last-x.last == 1 && x.ring[uint16(last)] < 0 {
		x.last = last
	} else {
		x.advanceSlow(last)
	}
}

// evict moves the entry in id's ring slot, of id-ringSize, to the map.
func (x *idIndex) evict(id uint64) {
	slot := &x.ring[id&ringMask]
	x.old[id-ringSize] = *slot
	*slot = none
}

func (x *idIndex) advanceSlow(last uint64) {
	if last <= x.last {
		return
	}
	if last-x.last > ringSize {
		x.evictAll()
		x.last = last
		return
	}
	for x.last < last {
		x.last++
		if x.ring[x.last&ringMask] != none {
			x.evict(x.last)
		}
	}
}

// evictAll moves every ring entry to the map.
func (x *idIndex) evictAll() {
	for i, v := range x.ring {
		if v == none {
			continue
		}
		// Slot i holds the id in (last-ringSize, last] that is congruent to i.
		id := x.last - (x.last-uint64(i))&ringMask
		x.old[id] = v
		x.ring[i] = none
	}
}

func (x *idIndex) inRing(id uint64) bool { return x.last-id < ringSize }

// get returns the slab index of open order id, or none.
func (x *idIndex) get(id uint64) int32 {
	if id == 0 || id > x.last {
		return none
	}
	if x.inRing(id) {
		return x.ring[id&ringMask]
	}
	if v, ok := x.old[id]; ok {
		return v
	}
	return none
}

// put records that order id (<= last) rests in slot v.
func (x *idIndex) put(id uint64, v int32) {
	if x.inRing(id) {
		x.ring[id&ringMask] = v
	} else {
		x.old[id] = v
	}
}

// del forgets order id.
func (x *idIndex) del(id uint64) {
	if x.inRing(id) {
		x.ring[id&ringMask] = none
	} else {
		delete(x.old, id)
	}
}
