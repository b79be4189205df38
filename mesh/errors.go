package mesh

import "errors"

// Sentinel errors. Functions wrap them with the operation that failed; test with errors.Is.
var (
	// ErrInvalidConfig reports a Config that Validate refuses.
	ErrInvalidConfig = errors.New("invalid mesh config")
	// ErrBadMeta reports node metadata that cannot be encoded or decoded.
	ErrBadMeta = errors.New("bad node meta")
	// ErrNotStarted reports a call that needs a started Mesh.
	ErrNotStarted = errors.New("mesh not started")
	// ErrAlreadyStarted reports a second Start.
	ErrAlreadyStarted = errors.New("mesh already started")
	// ErrClosed reports a call on a closed Mesh.
	ErrClosed = errors.New("mesh closed")
	// ErrNoSeedReachable reports that Start could join none of the configured seeds.
	ErrNoSeedReachable = errors.New("no seed reachable")
	// ErrBlocked reports a stream dial to an address a FilterTransport blocks.
	ErrBlocked = errors.New("address blocked by filter transport")
)
