// Package proto holds the protobuf schema of geomesh (package geomesh.v1) and the Go code
// generated from it by `make proto`, plus hand-written decoders that validate.
//
// Files by concern: types.proto (shared enums: side, order type, time in force, STP mode, phase),
// command.proto (Command on CMD_<SYMBOL>, CommandResult), event.proto (EventBatch on
// EVT_<SYMBOL>), ownership.proto (OwnershipRecord, SymbolSpec: KV OWNERS), snapshot.proto
// (SnapshotEnvelope: object store SNAPSHOTS), node.proto (NodeMeta), plan.proto (Plan, Step: KV
// PLANS), audit.proto (AuditEntry: stream AUDIT), account.proto (ApiKey, ListenKey: KV ACCOUNTS),
// control.proto (RegionRecord, Lease: KV CONTROL).
//
// Schema rules: field numbers are never reused; every enum has UNSPECIFIED = 0 meaning "not set";
// every stored or networked record has `uint32 schema_version = 1`, so a reader can refuse an
// unknown version before decoding the rest. Prices are int64 ticks, quantities int64 lots, quote
// quantities int64 in units of tick_size*step_size; times are int64 Unix nanoseconds.
//
// Reading: use the Decode<Record> helpers (DecodeCommand, DecodeEventBatch, ...) for every record
// read from NATS, KV or the object store. They refuse any schema_version other than SchemaVersion
// with an error wrapping ErrUnknownSchemaVersion, malformed bytes and structurally invalid content
// with ErrInvalid, and never return a half-read message. Writers call Validate before marshaling.
// Validate checks structure (versions, identifiers, known enum values, signs, a command body, a
// snapshot checksum), not trading rules: price/quantity combinations per order type, filters and
// phases are the matcher's, which rejects with Binance codes.
//
// Conversions between these messages and domain types live next to their users (region,
// gateway), not here. Decode helpers and Validate are safe for concurrent use; a message is not
// safe for concurrent mutation.
package proto
