package matcher

// idIndex maps the ids of open orders to slab indexes. Order ids are assigned consecutively, so
// recent ids live in a ring indexed by id&ringMask: lookup, insert and delete are one array
// access, with no hashing or probing. When the id counter reaches id+ringSize while that order is
// still open, the entry moves to a map (it is only ever looked up there, never iterated).
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

func newIDIndex() idIndex {
	x := idIndex{ring: new([ringSize]int32), old: make(map[uint64]int32)}
	for i := range x.ring {
		x.ring[i] = none
	}
	return x
}

// advance records that id last was assigned, evicting the entry it displaces from the ring.
func (x *idIndex) advance(last uint64) {
	for x.last < last {
		x.last++
		slot := &x.ring[x.last&ringMask]
		if *slot != none {
			x.old[x.last-ringSize] = *slot
			*slot = none
		}
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
