package matcher

import (
	"bytes"
	"errors"
	"testing"
)

// scriptBook builds a book with resting orders on both sides, a partial fill, an amend and
// client order ids, so snapshots have something in every field.
func scriptBook(t testing.TB) *Book {
	t.Helper()
	r := NewRunner()
	for _, line := range []string{
		"new acct=1 coid=a SELL LIMIT GTC p=105 q=5",
		"new acct=2 coid=b SELL LIMIT_MAKER p=105 q=3 stp=EXPIRE_MAKER",
		"new acct=3 BUY LIMIT GTC p=100 q=7",
		"new acct=3 coid=c BUY LIMIT GTC p=99 q=2",
		"new acct=4 BUY LIMIT IOC p=105 q=2",
		"amend acct=2 orig=b q=2",
		"phase POST_ONLY reason=test",
	} {
		if _, err := r.Exec(line); err != nil {
			t.Fatal(err)
		}
	}
	return r.Book
}

func TestSnapshotRoundTrip(t *testing.T) {
	b := scriptBook(t)
	snap := b.Snapshot()
	rb, err := Restore(snap)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, rb)
	if !bytes.Equal(rb.Snapshot(), snap) || rb.Hash() != b.Hash() {
		t.Fatal("restored book differs")
	}
	if rb.Counters() != b.Counters() || rb.Phase() != PostOnly {
		t.Fatalf("counters %+v phase %s", rb.Counters(), rb.Phase())
	}
	// The same next command gives the same events.
	c, _ := ParseCommand("new seq=100 acct=5 BUY LIMIT_MAKER p=101 q=1")
	c2 := c
	if !bytes.Equal(AppendEvents(nil, b.Apply(&c)), AppendEvents(nil, rb.Apply(&c2))) {
		t.Fatal("events differ after restore")
	}
}

func TestRestoreRejects(t *testing.T) {
	snap := scriptBook(t).Snapshot()
	flip := func(i int) []byte {
		c := bytes.Clone(snap)
		c[i] ^= 0x40
		return c
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrSnapshotVersion},
		{"bad magic", append([]byte("XXXX"), snap[4:]...), ErrSnapshotVersion},
		{"future version", append(append([]byte("GMBK"), 2), snap[5:]...), ErrSnapshotVersion},
		{"truncated", snap[:len(snap)-10], ErrSnapshotCorrupt},
		{"checksum", flip(len(snap) / 2), ErrSnapshotCorrupt},
		{"trailing", append(bytes.Clone(snap), 0), ErrSnapshotCorrupt},
		{"exponent in spec", expSpec(), ErrSnapshotCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Restore(tt.data); !errors.Is(err, tt.want) {
				t.Fatalf("Restore = %v, want %v", err, tt.want)
			}
		})
	}
}

// expSpec is a snapshot of an empty book whose tick size is written as 1e999999999, signed.
func expSpec() []byte {
	b, _ := NewBook(DefaultSpec())
	body := append([]byte(snapMagic), snapVersion)
	for _, str := range []string{"S", "B", "Q", "1e999999999", "1", "1", "1000000", "1", "1000000", "0", "0"} {
		body = appendString(body, str)
	}
	full := b.Snapshot()
	// Reuse the tail (max orders, phase, counters, order counts) of a real empty snapshot.
	r := reader{b: full[:len(full)-4], off: len(snapMagic) + 1}
	for i := 0; i < 11; i++ {
		r.string()
	}
	body = append(body, full[r.off:len(full)-4]...)
	return appendCRC(body)
}

// TestRestoreRejectsInconsistent re-signs snapshots whose content breaks a book invariant, so the
// checksum passes and the semantic checks must catch them.
func TestRestoreRejectsInconsistent(t *testing.T) {
	base := scriptBook(t)
	mutate := map[string]func(b *Book){
		"crossed": func(b *Book) {
			oi := b.byID.get(3) // bid at 100 -> 106 crosses the asks at 105
			b.orders[oi].price = 106
		},
		"qty mismatch":   func(b *Book) { b.orders[b.byID.get(1)].remaining++ },
		"id beyond last": func(b *Book) { b.lastID = 2 },
		"bad phase":      func(b *Book) { b.phase = 9 },
		"id beyond seq":  func(b *Book) { b.lastID = b.seq + 1 },
	}
	for _, name := range []string{"crossed", "qty mismatch", "id beyond last", "bad phase", "id beyond seq"} {
		t.Run(name, func(t *testing.T) {
			b, err := Restore(base.Snapshot())
			if err != nil {
				t.Fatal(err)
			}
			mutate[name](b)
			if _, err := Restore(b.Snapshot()); !errors.Is(err, ErrSnapshotCorrupt) {
				t.Fatalf("Restore = %v, want ErrSnapshotCorrupt", err)
			}
		})
	}
}

func FuzzRestore(f *testing.F) {
	f.Add(scriptBook(f).Snapshot())
	empty, _ := NewBook(DefaultSpec())
	f.Add(empty.Snapshot())
	f.Add([]byte("GMBK\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Restore(data)
		if err != nil {
			if !errors.Is(err, ErrSnapshotCorrupt) && !errors.Is(err, ErrSnapshotVersion) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		checkInvariants(t, b)
		rb, err := Restore(b.Snapshot())
		if err != nil || rb.Hash() != b.Hash() {
			t.Fatalf("re-restore: %v", err)
		}
	})
}

// FuzzRestoreUnsigned mutates snapshot bodies and fixes the checksum, so the decoder and the
// consistency checks (not the CRC) face the garbage.
func FuzzRestoreUnsigned(f *testing.F) {
	f.Add(scriptBook(f).Snapshot(), uint16(40), byte(1))
	f.Fuzz(func(t *testing.T, snap []byte, pos uint16, val byte) {
		if len(snap) < 9 {
			return
		}
		body := bytes.Clone(snap[:len(snap)-4])
		body[int(pos)%len(body)] = val
		data := appendCRC(body)
		if b, err := Restore(data); err == nil {
			checkInvariants(t, b)
		}
	})
}

func TestEventsRoundTrip(t *testing.T) {
	r := NewRunner()
	var all []Event
	for _, line := range []string{
		"new acct=1 coid=a SELL LIMIT GTC p=105 q=5",
		"new acct=2 coid=b BUY LIMIT IOC p=106 q=7 stp=EXPIRE_BOTH",
		"replace acct=1 ALLOW_FAILURE id=9 coid=z SELL LIMIT GTC p=110 q=1",
		"phase HALT reason=why",
	} {
		if _, err := r.Exec(line); err != nil {
			t.Fatal(err)
		}
		all = append(all, r.Book.ev...)
	}
	enc := AppendEvents(nil, all)
	dec, err := DecodeEvents(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(dec) != len(all) {
		t.Fatalf("decoded %d events, want %d", len(dec), len(all))
	}
	for i := range dec {
		if dec[i] != all[i] {
			t.Fatalf("event %d: %+v != %+v", i, dec[i], all[i])
		}
	}
	for i := 0; i < len(enc); i++ {
		if _, err := DecodeEvents(enc[:i]); !errors.Is(err, ErrEventsCorrupt) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
}

func FuzzDecodeEvents(f *testing.F) {
	f.Add(AppendEvents(nil, []Event{{Kind: EvTrade, Msg: "x", Price: -5}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := DecodeEvents(data)
		if err != nil {
			return
		}
		if !bytes.Equal(AppendEvents(nil, evs), data) {
			t.Fatalf("decode/encode not canonical")
		}
	})
}
