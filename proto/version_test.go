package proto

import (
	"errors"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func withVersion(m versioned, v uint32) versioned {
	c := gproto.Clone(m).(versioned)
	fd := c.ProtoReflect().Descriptor().Fields().ByNumber(1)
	c.ProtoReflect().Set(fd, protoreflect.ValueOfUint32(v))
	return c
}

// TestEveryRecordHasSchemaVersionFieldOne pins the rule that lets decoders check the version first.
func TestEveryRecordHasSchemaVersionFieldOne(t *testing.T) {
	for _, d := range decoders() {
		fd := d.samples()[0].ProtoReflect().Descriptor().Fields().ByNumber(1)
		if fd == nil || fd.Name() != "schema_version" || fd.Kind() != protoreflect.Uint32Kind || fd.HasPresence() {
			t.Errorf("%s: field 1 is %v, want uint32 schema_version", d.name, fd)
		}
	}
}

func TestUnknownSchemaVersionRefused(t *testing.T) {
	for _, d := range decoders() {
		for _, v := range []uint32{0, SchemaVersion + 1, math.MaxUint32} {
			m := withVersion(d.samples()[0], v)
			if _, err := d.decode(mustMarshal(t, m)); !errors.Is(err, ErrUnknownSchemaVersion) {
				t.Errorf("%s version %d: decode error %v, want ErrUnknownSchemaVersion", d.name, v, err)
			}
			if err := m.Validate(); !errors.Is(err, ErrUnknownSchemaVersion) {
				t.Errorf("%s version %d: Validate error %v, want ErrUnknownSchemaVersion", d.name, v, err)
			}
		}
	}
}

// TestUnknownVersionNotHalfRead: a future version whose other fields no longer parse under this
// schema is refused for its version, before any of it is decoded.
func TestUnknownVersionNotHalfRead(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, SchemaVersion+1)
	b = protowire.AppendTag(b, 2, protowire.VarintType) // symbol was a string in version 1
	b = protowire.AppendVarint(b, 7)
	for _, d := range decoders() {
		_, err := d.decode(b)
		if !errors.Is(err, ErrUnknownSchemaVersion) || errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v, want only ErrUnknownSchemaVersion", d.name, err)
		}
	}
}

func TestPeekSchemaVersion(t *testing.T) {
	field1 := func(v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), v)
	}
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	str := protowire.AppendString(protowire.AppendTag(nil, 2, protowire.BytesType), "BTCUSDT")
	fixed1 := protowire.AppendFixed32(protowire.AppendTag(nil, 1, protowire.Fixed32Type), 1)
	tests := []struct {
		name    string
		in      []byte
		want    uint32
		wantErr bool
	}{
		{"empty", nil, 0, false},
		{"only version", field1(1), 1, false},
		{"version after other field", cat(str, field1(3)), 3, false},
		{"last occurrence wins", cat(field1(2), str, field1(1)), 1, false},
		{"truncated to 32 bits like the decoder", field1(1<<32 | 1), 1, false},
		{"wrong wire type is not the version", fixed1, 0, false},
		{"truncated varint", []byte{0x08, 0x80}, 0, true},
		{"truncated length", []byte{0x12, 0x05, 'a'}, 0, true},
		{"bad tag", []byte{0x00}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := peekSchemaVersion(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("version %d, want %d", got, tc.want)
			}
			// The decoder must read the same version.
			if !tc.wantErr {
				var l Lease
				if err := gproto.Unmarshal(tc.in, &l); err == nil && l.GetSchemaVersion() != got {
					t.Errorf("decoder reads version %d, peek %d", l.GetSchemaVersion(), got)
				}
			}
		})
	}
}

func TestMalformedBytesInvalid(t *testing.T) {
	for _, d := range decoders() {
		for _, in := range [][]byte{{0x08, 0x80}, {0xff}, append(field1Bytes(), 0x12, 0x05, 'a')} {
			if _, err := d.decode(in); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s % x: error %v, want ErrInvalid", d.name, in, err)
			}
		}
	}
}

func field1Bytes() []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), SchemaVersion)
}
