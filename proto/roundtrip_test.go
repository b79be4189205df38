package proto

import (
	"testing"

	"github.com/geomesh/geomesh/test/deptest"
	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func TestImports(t *testing.T) {
	deptest.Check(t, ".", "google.golang.org/protobuf")
}

// TestSamplesPopulated keeps the round-trip samples complete: a field added to the schema but not
// to its sample fails here, so every field is round-tripped.
func TestSamplesPopulated(t *testing.T) {
	for _, d := range decoders() {
		for _, m := range d.samples() {
			if missing := unpopulated(m.ProtoReflect(), ""); len(missing) > 0 {
				t.Errorf("%s sample leaves fields unset: %v", d.name, missing)
			}
		}
	}
}

// TestSamplesCoverOneofs checks that the samples use every member of Command.body and Event.kind.
func TestSamplesCoverOneofs(t *testing.T) {
	var cmds, events []protoreflect.Message
	for _, c := range sampleCommands() {
		cmds = append(cmds, c.ProtoReflect())
	}
	for _, e := range sampleEventBatch().GetEvents() {
		events = append(events, e.ProtoReflect())
	}
	for _, tc := range []struct {
		oneof protoreflect.OneofDescriptor
		msgs  []protoreflect.Message
	}{
		{(&Command{}).ProtoReflect().Descriptor().Oneofs().ByName("body"), cmds},
		{(&Event{}).ProtoReflect().Descriptor().Oneofs().ByName("kind"), events},
	} {
		used := map[protoreflect.Name]bool{}
		for _, m := range tc.msgs {
			if fd := m.WhichOneof(tc.oneof); fd != nil {
				used[fd.Name()] = true
			}
		}
		fields := tc.oneof.Fields()
		for i := 0; i < fields.Len(); i++ {
			if name := fields.Get(i).Name(); !used[name] {
				t.Errorf("no sample sets %s.%s", tc.oneof.FullName(), name)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, d := range decoders() {
		t.Run(d.name, func(t *testing.T) {
			for _, want := range d.samples() {
				if err := want.Validate(); err != nil {
					t.Fatalf("sample invalid: %v", err)
				}
				got, err := d.decode(mustMarshal(t, want))
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if !gproto.Equal(got, want) {
					t.Errorf("round trip changed the message:\n got %v\nwant %v", got, want)
				}
			}
		})
	}
}

// TestRoundTripKeepsUnknownFields: a newer writer of the same schema version may add fields; an
// older reader keeps them, so a read-modify-write does not drop them.
func TestRoundTripKeepsUnknownFields(t *testing.T) {
	want := sampleOwnershipRecord()
	b := mustMarshal(t, want)
	b = append(b, 0xf8, 0x06, 0x01) // field 111, varint 1: unknown to this schema
	got, err := DecodeOwnershipRecord(b)
	if err != nil {
		t.Fatalf("decode with unknown field: %v", err)
	}
	if len(got.ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("unknown field dropped")
	}
	again, err := DecodeOwnershipRecord(mustMarshal(t, got))
	if err != nil {
		t.Fatalf("decode re-marshaled: %v", err)
	}
	if !gproto.Equal(again, got) {
		t.Errorf("unknown field lost on re-marshal")
	}
}
