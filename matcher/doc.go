// Package matcher is the order book of one symbol as a pure, deterministic state machine:
// Apply(command) mutates the book and returns the events that command produced.
//
// Concurrency contract: a Book is not safe for concurrent use; it is owned by exactly one
// goroutine (the region's matcher host). The package reads no clock, draws no random numbers,
// starts no goroutines, does no logging and never depends on map iteration order, so the same
// command log always yields byte-identical events and an equal Hash. Prices are int64 ticks and
// quantities int64 lots inside the book; decimal strings are converted only at the edges
// (see Spec) with shopspring/decimal.
package matcher
