// Package status is geomesh's status model: per-region component groups (REST API, WebSocket,
// order entry, matching), incidents with their update timelines, scheduled maintenances and
// webhook deliveries, stored as JSON records (with a schema version) in the replicated KV bucket
// STATUS so that every region serves the same page.
//
// It is a leaf package (stdlib, nats.go, region/client) so that both region (the active
// controller writes the records) and gateway (every gateway watches the bucket and serves it)
// can use it:
//
//   - model.go: the stored records and their enums, Encode/Decode with the schema check;
//   - mapping.go: the pure mapping from a region's health to component statuses (client-compat
//     §B.1) and from components to the page indicator;
//   - statuspage.go: the Atlassian Statuspage v2 JSON documents rendered from a Snapshot;
//   - store.go: the KV store (CAS updates, idempotent creates) and Cache, a watch of the bucket
//     that keeps the current Snapshot and signals changes;
//   - webhook.go: signed notifications (X-Geomesh-Signature), bounded exponential backoff, and
//     the Dispatcher that delivers every incident and maintenance update once per URL, keeping a
//     delivery log in the bucket.
//
// Concurrency: Store is safe for concurrent use (every write is one KV operation, updates are
// compare-and-swap); Cache is safe for concurrent use, its Snapshot is immutable once returned;
// Dispatcher.Run is one goroutine, its deliveries run in goroutines it waits for.
package status
