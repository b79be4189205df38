// Package mesh is gossip membership for geomesh, built on hashicorp/memberlist: node metadata,
// a per-region health view and a stream of membership events.
//
// A node advertises a Meta (node id, region, roles, NATS and HTTP URLs) in memberlist node
// metadata, encoded compactly by EncodeMeta (versioned, at most 512 bytes). Every node keeps
// a view of all nodes it has ever seen and derives each region's health from it: Up while at
// least one node of the region is alive, Suspect when the last one dies, Down once the
// region has had no alive node for Config.RegionDownGrace; a node coming back makes it Up
// again. The local node's own region is always Up for itself. Dead nodes are remembered and
// their addresses are rejoined every Config.RejoinInterval, because memberlist never probes a
// dead node again: this is what heals a partition. When memberlist reports another node
// claiming a known name from a new address (a restart on a new port), that address is
// rejoined as soon as the old incarnation is dead.
//
// Changes are delivered to Subscribe channels without ever blocking gossip: a full
// subscriber misses events, and DroppedEvents counts the misses.
//
// FilterTransport and NewLocalNetTransport are test helpers in non-test files so that other
// packages' tests (and test/meshtest) can partition a loopback mesh.
//
// Concurrency contract: a Mesh is safe for concurrent use; it owns the goroutines it starts
// (a region timer and a rejoin loop) and waits for them in Close. memberlist calls the event
// delegate with its own lock held, so the delegate never calls into memberlist and Mesh never
// calls memberlist while holding Mesh.mu. Lock order: Mesh.life, then (in memberlist) its
// node lock, then Mesh.mu, then hub.mu.
package mesh
