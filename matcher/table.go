package matcher

// idTable is an open-addressing hash table from uint64 keys to int32 slab indexes (linear
// probing, backward-shift deletion, no tombstones). It never iterates, so its layout cannot
// influence output. vals[i] < 0 marks an empty slot.
type idTable struct {
	keys  []uint64
	vals  []int32
	shift uint8
	n     int
}

func newIDTable(capacity int) idTable {
	bits := uint8(4)
	for 1<<bits < 2*capacity {
		bits++
	}
	t := idTable{keys: make([]uint64, 1<<bits), vals: make([]int32, 1<<bits), shift: 64 - bits}
	for i := range t.vals {
		t.vals[i] = -1
	}
	return t
}

func (t *idTable) slot(k uint64) int { return int((k * 0x9E3779B97F4A7C15) >> t.shift) }

// get returns the value for k or -1.
func (t *idTable) get(k uint64) int32 {
	mask := len(t.vals) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		v := t.vals[i]
		if v < 0 || t.keys[i] == k {
			return v
		}
	}
}

// put sets k to v (v >= 0).
func (t *idTable) put(k uint64, v int32) {
	if 2*(t.n+1) > len(t.vals) {
		t.grow()
	}
	mask := len(t.vals) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		if t.vals[i] < 0 {
			t.keys[i], t.vals[i] = k, v
			t.n++
			return
		}
		if t.keys[i] == k {
			t.vals[i] = v
			return
		}
	}
}

// del removes k if present.
func (t *idTable) del(k uint64) {
	mask := len(t.vals) - 1
	i := t.slot(k)
	for {
		if t.vals[i] < 0 {
			return
		}
		if t.keys[i] == k {
			break
		}
		i = (i + 1) & mask
	}
	t.n--
	// Backward-shift: move later entries of the probe run into the hole when their home slot
	// does not lie cyclically in (hole, j].
	for j := (i + 1) & mask; t.vals[j] >= 0; j = (j + 1) & mask {
		h := t.slot(t.keys[j])
		if (i <= j && (i < h && h <= j)) || (i > j && (i < h || h <= j)) {
			continue
		}
		t.keys[i], t.vals[i] = t.keys[j], t.vals[j]
		i = j
	}
	t.vals[i] = -1
}

func (t *idTable) grow() {
	old := *t
	*t = newIDTable(len(old.vals))
	for i, v := range old.vals {
		if v >= 0 {
			t.put(old.keys[i], v)
		}
	}
}
