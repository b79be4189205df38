// Package matcher is the order book of one symbol as a pure, deterministic state machine:
// Apply(command) mutates the book and returns the events that command produced.
//
// Concurrency contract: a Book is not safe for concurrent use; it is owned by exactly one
// goroutine (the region's matcher host). The package reads no clock, draws no random numbers,
// starts no goroutines, does no logging and never depends on map iteration order, so the same
// command log always yields byte-identical events and an equal Hash. Prices are int64 ticks and
// quantities int64 lots inside the book; decimal strings are converted only at the edges
// (see Spec) with shopspring/decimal.
//
// Order ids are log sequences: the order a command places (new order, or the new half of a
// cancel-replace) gets OrderID = Command.Seq, so whoever appended the command knows the id from
// the append's acknowledgement. Trade and depth update ids are counters held in the book.
//
// Layout, chosen for a steady state without allocation: resting orders live in a slab addressed
// by int32 with a free list; each price level is an intrusive FIFO of slab indexes; each side's
// occupied prices are a sparse bitmap (ladder.go) that also maps a price to its level and finds
// the best or next price with bit scans; open orders are found by id through a ring indexed by
// id (idindex.go) and by (account, client order id) through a map that is only looked up.
// Apply writes events into a buffer owned by the Book (valid until the next Apply; its len is
// its cap, so a caller's append copies) and uses constant reject messages, so the hot path
// neither allocates nor formats. Each event is written once: a reused slot is zeroed only when
// it held another kind, because every kind's writer sets all of that kind's fields (emit). A
// cancel-replace that moves an order to a price where it does not cross, on the same side, takes
// a fast path (canMove, move) that keeps the order's slot and writes the five events directly;
// it must give the same events and state as the general path, which tests compare.
//
// Files: spec.go (symbol spec, edge parsing and formatting), types.go (commands and enums),
// event.go (events and their canonical encoding), apply.go (command semantics), book.go (book
// structure), snapshot.go (versioned snapshot, Restore, Hash), views.go (read-only views),
// text.go (the script text format used by testdata and cmd/matchreplay), errors.go (Binance
// codes). Golden scripts in testdata/*.txt pin the behaviour; run the tests with -rewrite to
// regenerate their expected output after an intended change.
package matcher
