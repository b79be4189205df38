// Command matchreplay replays a recorded matcher command file (the text format of the golden
// scripts in matcher/testdata) through a fresh order book and prints every command's events and
// the final book: depth, open orders, counters and state hash.
//
//	go run ./cmd/matchreplay matcher/testdata/replay/example.txt
//	go run ./cmd/matchreplay -latency -q FILE    # per-command apply latency p50/p99/p99.9
//
// Expected output after "----" in the file is ignored; "spec" and "book" directives work as in
// the golden scripts. The process is single-threaded; the clock is read here, never in matcher.
package main
