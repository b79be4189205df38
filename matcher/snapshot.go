package matcher

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"

	"github.com/shopspring/decimal"
)

// Snapshot format (version 1), all integers varints:
//
//	"GMBK" version(1 byte)
//	spec: symbol, base, quote, tick, step, minPrice, maxPrice, minQty, maxQty, minNotional,
//	      maxNotional (strings), maxNumOrders
//	phase(1 byte) lastOrderID lastTradeID lastUpdateID lastSeq lastTime
//	      (lastOrderID is the Seq of the last command that placed an order, so <= lastSeq)
//	for side in BUY, SELL: order count, then the orders best level first, FIFO within a level:
//	      id account clientOrderID type tif stp price qty remaining executed executedQuote time
//	crc32 (Castagnoli, 4 bytes little endian) of everything before it
//
// The encoding is canonical: equal books give equal bytes whatever their slab layout.
const (
	snapMagic   = "GMBK"
	snapVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendSnapshot appends the canonical snapshot of the complete state to dst.
func (b *Book) AppendSnapshot(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, snapMagic...)
	dst = append(dst, snapVersion)
	s := &b.spec
	for _, str := range [...]string{s.Symbol, s.BaseAsset, s.QuoteAsset} {
		dst = appendString(dst, str)
	}
	for _, d := range [...]decimal.Decimal{s.TickSize, s.StepSize, s.MinPrice, s.MaxPrice, s.MinQty, s.MaxQty, s.MinNotional, s.MaxNotional} {
		dst = appendString(dst, d.String())
	}
	dst = binary.AppendUvarint(dst, uint64(s.MaxNumOrders))
	dst = append(dst, byte(b.phase))
	for _, u := range [...]uint64{b.lastID, b.lastTr, b.lastUp, b.seq} {
		dst = binary.AppendUvarint(dst, u)
	}
	dst = binary.AppendVarint(dst, b.time)
	for s := Buy; s <= Sell; s++ {
		n := 0
		b.eachOrder(s, func(*order) { n++ })
		dst = binary.AppendUvarint(dst, uint64(n))
		b.eachOrder(s, func(o *order) {
			dst = binary.AppendUvarint(dst, o.id)
			dst = binary.AppendUvarint(dst, o.account)
			dst = appendString(dst, o.clientOrderID)
			dst = append(dst, byte(o.typ), byte(o.tif), byte(o.stp))
			for _, v := range [...]int64{o.price, o.qty, o.remaining, o.executed, o.executedQuote, o.time} {
				dst = binary.AppendVarint(dst, v)
			}
		})
	}
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// Snapshot returns the canonical snapshot of the complete state.
func (b *Book) Snapshot() []byte { return b.AppendSnapshot(nil) }

// Hash returns sha256 of the canonical snapshot.
func (b *Book) Hash() [32]byte { return sha256.Sum256(b.AppendSnapshot(nil)) }

// eachOrder calls f for the resting orders of side s, best level first, FIFO within a level.
func (b *Book) eachOrder(s Side, f func(*order)) {
	for li, ok := b.bestLevel(s); ok; li, ok = b.nextLevel(s, b.levels[li].price) {
		for oi := b.levels[li].head; oi != none; oi = b.orders[oi].next {
			f(&b.orders[oi])
		}
	}
}

// Restore rebuilds a Book from a snapshot. It rejects unknown versions (ErrSnapshotVersion) and
// truncated, corrupt or inconsistent input (ErrSnapshotCorrupt) and never panics.
func Restore(data []byte) (*Book, error) {
	if len(data) < len(snapMagic)+1+4 || string(data[:len(snapMagic)]) != snapMagic {
		return nil, fmt.Errorf("restore: magic: %w", ErrSnapshotVersion)
	}
	if v := data[len(snapMagic)]; v != snapVersion {
		return nil, fmt.Errorf("restore: version %d: %w", v, ErrSnapshotVersion)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("restore: checksum: %w", ErrSnapshotCorrupt)
	}
	r := reader{b: body, off: len(snapMagic) + 1}
	corrupt := func(what string, a ...any) error {
		return fmt.Errorf("restore: %s: %w", fmt.Sprintf(what, a...), ErrSnapshotCorrupt)
	}
	var spec Spec
	spec.Symbol, spec.BaseAsset, spec.QuoteAsset = r.string(), r.string(), r.string()
	for _, p := range [...]*decimal.Decimal{&spec.TickSize, &spec.StepSize, &spec.MinPrice, &spec.MaxPrice, &spec.MinQty, &spec.MaxQty, &spec.MinNotional, &spec.MaxNotional} {
		str := r.string()
		if r.err != nil {
			return nil, corrupt("spec: %v", r.err)
		}
		// Only plain decimals (as AppendSnapshot writes them): an exponent form such as
		// "1e999999999" would make the arithmetic in Validate explode.
		if _, ok := numberSyntax(str); !ok {
			return nil, corrupt("spec decimal %q", str)
		}
		d, err := decimal.NewFromString(str)
		if err != nil {
			return nil, corrupt("spec decimal %q", str)
		}
		*p = d
	}
	spec.MaxNumOrders = int(r.uvarint() & 0x7fffffff)
	if r.err != nil {
		return nil, corrupt("spec: %v", r.err)
	}
	b, err := NewBook(spec)
	if err != nil {
		return nil, fmt.Errorf("restore: %w: %w", err, ErrSnapshotCorrupt)
	}
	b.phase = Phase(r.byte())
	b.lastID, b.lastTr, b.lastUp, b.seq = r.uvarint(), r.uvarint(), r.uvarint(), r.uvarint()
	b.time = r.varint()
	if r.err != nil || b.phase < Trading || b.phase > Halt {
		return nil, corrupt("header")
	}
	if b.lastID > b.seq {
		return nil, corrupt("last order id %d beyond last sequence %d", b.lastID, b.seq)
	}
	b.byID.last = b.lastID
	var all []int32
	for s := Buy; s <= Sell; s++ {
		n := r.uvarint()
		const minOrderBytes = 2 + 1 + 3 + 6
		if r.err != nil || n > uint64(len(r.b)-r.off)/minOrderBytes {
			return nil, corrupt("order count")
		}
		prev, prevID := int64(-1), uint64(0)
		for i := uint64(0); i < n; i++ {
			o := order{side: s}
			o.id, o.account, o.clientOrderID = r.uvarint(), r.uvarint(), r.string()
			o.typ, o.tif, o.stp = OrderType(r.byte()), TimeInForce(r.byte()), STPMode(r.byte())
			o.price, o.qty, o.remaining, o.executed, o.executedQuote, o.time = r.varint(), r.varint(), r.varint(), r.varint(), r.varint(), r.varint()
			if r.err != nil {
				return nil, corrupt("order: %v", r.err)
			}
			if err := b.checkRestored(&o, prev); err != nil {
				return nil, corrupt("order %d: %s", o.id, err)
			}
			if o.price == prev && o.id <= prevID {
				return nil, corrupt("order %d: level FIFO not in id order", o.id)
			}
			prev, prevID = o.price, o.id
			oi := b.allocOrder()
			b.orders[oi] = o
			all = append(all, oi)
		}
	}
	if r.off != len(r.b) {
		return nil, corrupt("%d trailing bytes", len(r.b)-r.off)
	}
	// Link in id order so every account's open-order list is in id order; levels come out in
	// FIFO order because ids within a level were checked ascending.
	sort.Slice(all, func(i, j int) bool { return b.orders[all[i]].id < b.orders[all[j]].id })
	for i, oi := range all {
		if i > 0 && b.orders[all[i-1]].id == b.orders[oi].id {
			return nil, corrupt("duplicate order id %d", b.orders[oi].id)
		}
		o := &b.orders[oi]
		if o.clientOrderID != "" {
			if _, dup := b.byClient[clientKey{o.account, o.clientOrderID}]; dup {
				return nil, corrupt("duplicate client order id %q", o.clientOrderID)
			}
		}
		b.rest(oi)
	}
	b.dirty = b.dirty[:0]
	if bl, ok := b.bestLevel(Buy); ok {
		if al, ok := b.bestLevel(Sell); ok && b.levels[bl].price >= b.levels[al].price {
			return nil, corrupt("crossed book")
		}
	}
	return b, nil
}

// checkRestored validates one decoded order; prev is the previous order's price on its side.
func (b *Book) checkRestored(o *order, prev int64) error {
	switch {
	case o.id == 0 || o.id > b.lastID:
		return fmt.Errorf("id beyond last order id %d", b.lastID)
	case o.typ != Limit && o.typ != LimitMaker || o.typ == Limit && o.tif != GTC || o.typ == LimitMaker && o.tif != 0 || o.stp > STPExpireBoth:
		return fmt.Errorf("order type")
	case o.price < b.lim.minPrice || o.price > b.lim.maxPrice:
		return fmt.Errorf("price %d outside filter", o.price)
	case o.remaining <= 0 || o.executed < 0 || o.qty > b.lim.maxQty || o.remaining+o.executed != o.qty:
		return fmt.Errorf("quantities")
	case o.executedQuote < 0 || o.executedQuote > o.executed*b.lim.maxPrice:
		return fmt.Errorf("executed quote")
	case !validClientID(o.clientOrderID):
		return fmt.Errorf("client order id")
	case prev >= 0 && (o.side == Buy && o.price > prev || o.side == Sell && o.price < prev):
		return fmt.Errorf("price order")
	}
	return nil
}

// appendCRC appends the snapshot checksum of body.
func appendCRC(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}
