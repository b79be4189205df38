// Package mesh is gossip membership for geomesh, built on hashicorp/memberlist: node metadata,
// a per-region health view and a stream of membership events.
//
// Concurrency contract: a Mesh is safe for concurrent use; it owns the goroutines it starts and
// waits for them in Close.
package mesh
