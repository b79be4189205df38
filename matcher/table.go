package matcher

// idTable is an open-addressing hash table from uint64 keys to int32 slab indexes (linear
// probing, backward-shift deletion, no tombstones; key and value share a cache line). It never
// iterates, so its layout cannot influence output. val < 0 marks an empty slot.
type idTable struct {
	slots []idSlot
	shift uint8
	n     int
}

type idSlot struct {
	key uint64
	val int32
}

func newIDTable(capacity int) idTable {
	bits := uint8(4)
	for 1<<bits < 2*capacity {
		bits++
	}
	t := idTable{slots: make([]idSlot, 1<<bits), shift: 64 - bits}
	for i := range t.slots {
		t.slots[i].val = -1
	}
	return t
}

func (t *idTable) slot(k uint64) int { return int((k * 0x9E3779B97F4A7C15) >> t.shift) }

// get returns the value for k or -1.
func (t *idTable) get(k uint64) int32 {
	mask := len(t.slots) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.val < 0 || s.key == k {
			return s.val
		}
	}
}

// put sets k to v (v >= 0).
func (t *idTable) put(k uint64, v int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.val < 0 {
			s.key, s.val = k, v
			t.n++
			return
		}
		if s.key == k {
			s.val = v
			return
		}
	}
}

// del removes k if present.
func (t *idTable) del(k uint64) {
	mask := len(t.slots) - 1
	i := t.slot(k)
	for {
		if t.slots[i].val < 0 {
			return
		}
		if t.slots[i].key == k {
			break
		}
		i = (i + 1) & mask
	}
	t.n--
	// Backward-shift: move later entries of the probe run into the hole unless their home slot
	// lies cyclically in (hole, j].
	for j := (i + 1) & mask; t.slots[j].val >= 0; j = (j + 1) & mask {
		h := t.slot(t.slots[j].key)
		if (i <= j && (i < h && h <= j)) || (i > j && (i < h || h <= j)) {
			continue
		}
		t.slots[i] = t.slots[j]
		i = j
	}
	t.slots[i].val = -1
}

func (t *idTable) grow() {
	old := t.slots
	*t = newIDTable(len(old))
	for _, s := range old {
		if s.val >= 0 {
			t.put(s.key, s.val)
		}
	}
}
