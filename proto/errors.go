package proto

import "errors"

// Sentinel errors of the Decode helpers and Validate methods; test with errors.Is.
var (
	// ErrUnknownSchemaVersion: the record's schema_version is not SchemaVersion (including a
	// missing version, read as 0). The record was not decoded any further.
	ErrUnknownSchemaVersion = errors.New("unknown schema version")
	// ErrInvalid: the bytes are not a well-formed message of the expected type, or the message is
	// structurally invalid (missing body, negative quantity, bad symbol...).
	ErrInvalid = errors.New("invalid message")
)
