// Package region is the regional node: an embedded nats-server with JetStream whose cluster is
// formed from gossip, the per-symbol streams and the replicated buckets, the matcher host, the
// controller and the admin API. It is the composition root: it owns the goroutines and the clock.
package region
