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

var (
	// ErrUnknownSymbol: no ownership record for the symbol.
	ErrUnknownSymbol = errors.New("region: unknown symbol")
	// ErrSymbolExists: the symbol already has an ownership record.
	ErrSymbolExists = errors.New("region: symbol exists")
	// ErrConflict: a compare-and-swap kept losing to other writers.
	ErrConflict = errors.New("region: conflicting ownership updates")
)
