package proto

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	gproto "google.golang.org/protobuf/proto"
)

// SchemaVersion is the schema_version written and accepted for every record kind (Command,
// EventBatch, CommandResult, OwnershipRecord, SnapshotEnvelope, NodeMeta, Plan, AuditEntry, ApiKey,
// ListenKey, RegionRecord, Lease). Compatible changes (new fields, new enum values) keep it;
// an incompatible change of one kind gives that kind a version of its own.
const SchemaVersion = 1

// schemaVersionField is the field number of schema_version in every versioned message.
const schemaVersionField protowire.Number = 1

// versioned is a message with a schema version and structural checks.
type versioned interface {
	gproto.Message
	GetSchemaVersion() uint32
	Validate() error
}

// DecodeCommand decodes and validates a message of stream CMD_<SYMBOL>.
func DecodeCommand(b []byte) (*Command, error) { return decode(b, &Command{}) }

// DecodeEventBatch decodes and validates a message of stream EVT_<SYMBOL>.
func DecodeEventBatch(b []byte) (*EventBatch, error) { return decode(b, &EventBatch{}) }

// DecodeCommandResult decodes and validates a matcher's direct answer to a requester.
func DecodeCommandResult(b []byte) (*CommandResult, error) { return decode(b, &CommandResult{}) }

// DecodeOwnershipRecord decodes and validates a value of KV bucket OWNERS.
func DecodeOwnershipRecord(b []byte) (*OwnershipRecord, error) {
	return decode(b, &OwnershipRecord{})
}

// DecodeSnapshotEnvelope decodes and validates an object of store SNAPSHOTS, including the
// SHA-256 of its state.
func DecodeSnapshotEnvelope(b []byte) (*SnapshotEnvelope, error) {
	return decode(b, &SnapshotEnvelope{})
}

// DecodeNodeMeta decodes and validates node metadata.
func DecodeNodeMeta(b []byte) (*NodeMeta, error) { return decode(b, &NodeMeta{}) }

// DecodePlan decodes and validates a value of KV bucket PLANS.
func DecodePlan(b []byte) (*Plan, error) { return decode(b, &Plan{}) }

// DecodeAuditEntry decodes and validates a message of stream AUDIT.
func DecodeAuditEntry(b []byte) (*AuditEntry, error) { return decode(b, &AuditEntry{}) }

// DecodeApiKey decodes and validates an API key record of KV bucket ACCOUNTS.
func DecodeApiKey(b []byte) (*ApiKey, error) { return decode(b, &ApiKey{}) }

// DecodeListenKey decodes and validates a listen key record of KV bucket ACCOUNTS.
func DecodeListenKey(b []byte) (*ListenKey, error) { return decode(b, &ListenKey{}) }

// DecodeRegionRecord decodes and validates a region (cordon) record of KV bucket CONTROL.
func DecodeRegionRecord(b []byte) (*RegionRecord, error) { return decode(b, &RegionRecord{}) }

// DecodeLease decodes and validates the controller lease of KV bucket CONTROL.
func DecodeLease(b []byte) (*Lease, error) { return decode(b, &Lease{}) }

// decode reads the schema version first, straight from the wire, and refuses an unknown one
// before decoding anything else; then it unmarshals m and validates it. Unknown fields of the
// supported version are kept (a newer writer may add fields) and survive a re-marshal.
func decode[M versioned](b []byte, m M) (M, error) {
	var zero M
	name := m.ProtoReflect().Descriptor().Name()
	v, err := peekSchemaVersion(b)
	if err != nil {
		return zero, fmt.Errorf("decode %s: %w: %w", name, ErrInvalid, err)
	}
	if v != SchemaVersion {
		return zero, fmt.Errorf("decode %s: version %d (supported %d): %w", name, v, SchemaVersion, ErrUnknownSchemaVersion)
	}
	if err := gproto.Unmarshal(b, m); err != nil {
		return zero, fmt.Errorf("decode %s: %w: %w", name, ErrInvalid, err)
	}
	if err := m.Validate(); err != nil {
		return zero, fmt.Errorf("decode %s: %w", name, err)
	}
	return m, nil
}

// peekSchemaVersion returns the value of field 1 (schema_version) of an encoded message, 0 when
// absent. As protobuf does, the last occurrence wins and a varint is truncated to 32 bits. A field
// 1 of another wire type is an unknown field to the decoder, so it does not count either.
func peekSchemaVersion(b []byte) (uint32, error) {
	var v uint32
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, protowire.ParseError(n)
		}
		b = b[n:]
		if num == schemaVersionField && typ == protowire.VarintType {
			x, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0, protowire.ParseError(m)
			}
			v = uint32(x)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return 0, protowire.ParseError(m)
		}
		b = b[m:]
	}
	return v, nil
}

// checkVersion is the version check shared by every Validate method.
func checkVersion(v uint32) error {
	if v != SchemaVersion {
		return fmt.Errorf("schema_version %d (supported %d): %w", v, SchemaVersion, ErrUnknownSchemaVersion)
	}
	return nil
}
