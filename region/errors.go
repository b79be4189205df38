package region

import "errors"

var (
	// ErrNotReady: the JetStream cluster has no meta leader yet (forming, or this node is on the
	// minority side of a partition). Retryable.
	ErrNotReady = errors.New("region: jetstream not ready")
	// ErrClosed: the node was closed.
	ErrClosed = errors.New("region: node closed")
	// ErrInvalidSymbol: a symbol name streams and subjects cannot carry.
	ErrInvalidSymbol = errors.New("region: invalid symbol")
)
