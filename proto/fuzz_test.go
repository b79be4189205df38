package proto

import (
	"testing"

	gproto "google.golang.org/protobuf/proto"
)

// One fuzz target per Decode helper. Each never panics, and anything a helper accepts re-marshals
// to bytes it accepts again as an equal message. Seeds: the valid samples, their invalid
// variants from the version tests, and some malformed bytes.
//
//	go test -run '^$' -fuzz FuzzDecodeCommand -fuzztime 30s ./proto

func FuzzDecodeCommand(f *testing.F)          { fuzzDecoder(f, "Command") }
func FuzzDecodeEventBatch(f *testing.F)       { fuzzDecoder(f, "EventBatch") }
func FuzzDecodeCommandResult(f *testing.F)    { fuzzDecoder(f, "CommandResult") }
func FuzzDecodeOwnershipRecord(f *testing.F)  { fuzzDecoder(f, "OwnershipRecord") }
func FuzzDecodeSnapshotEnvelope(f *testing.F) { fuzzDecoder(f, "SnapshotEnvelope") }
func FuzzDecodeNodeMeta(f *testing.F)         { fuzzDecoder(f, "NodeMeta") }
func FuzzDecodePlan(f *testing.F)             { fuzzDecoder(f, "Plan") }
func FuzzDecodeAuditEntry(f *testing.F)       { fuzzDecoder(f, "AuditEntry") }
func FuzzDecodeApiKey(f *testing.F)           { fuzzDecoder(f, "ApiKey") }
func FuzzDecodeListenKey(f *testing.F)        { fuzzDecoder(f, "ListenKey") }
func FuzzDecodeRegionRecord(f *testing.F)     { fuzzDecoder(f, "RegionRecord") }
func FuzzDecodeLease(f *testing.F)            { fuzzDecoder(f, "Lease") }

// TestFuzzTargetsCoverDecoders keeps the list above in step with decoders().
func TestFuzzTargetsCoverDecoders(t *testing.T) {
	for _, d := range decoders() {
		if _, ok := fuzzTargets[d.name]; !ok {
			t.Errorf("no fuzz target for Decode%s", d.name)
		}
	}
}

var fuzzTargets = map[string]func(*testing.F){
	"Command": FuzzDecodeCommand, "EventBatch": FuzzDecodeEventBatch,
	"CommandResult": FuzzDecodeCommandResult, "OwnershipRecord": FuzzDecodeOwnershipRecord,
	"SnapshotEnvelope": FuzzDecodeSnapshotEnvelope, "NodeMeta": FuzzDecodeNodeMeta,
	"Plan": FuzzDecodePlan, "AuditEntry": FuzzDecodeAuditEntry, "ApiKey": FuzzDecodeApiKey,
	"ListenKey": FuzzDecodeListenKey, "RegionRecord": FuzzDecodeRegionRecord, "Lease": FuzzDecodeLease,
}

func fuzzDecoder(f *testing.F, name string) {
	var d decoder
	for _, x := range decoders() {
		if x.name == name {
			d = x
		}
	}
	if d.decode == nil {
		f.Fatalf("no decoder %q", name)
	}
	for _, m := range d.samples() {
		b := mustMarshal(f, m)
		f.Add(b)
		f.Add(mustMarshal(f, withVersion(m, SchemaVersion+1)))
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add(field1Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := d.decode(b)
		if err != nil {
			if m != nil {
				t.Fatalf("error %v with a non-nil message", err)
			}
			return
		}
		again, err := d.decode(mustMarshal(t, m))
		if err != nil {
			t.Fatalf("accepted %x, refused its re-marshal: %v", b, err)
		}
		if !gproto.Equal(again, m) {
			t.Fatalf("re-marshal changed the message:\n got %v\nwant %v", again, m)
		}
	})
}
