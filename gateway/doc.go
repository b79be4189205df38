// Package gateway is the client-facing API of a region: Binance-compatible REST and WebSocket,
// authentication, rate limits, routing of commands to cmd.<SYMBOL>, user-data and market-data
// fan-out, and the status API. It talks to the mesh only through NATS subjects and KV buckets.
package gateway
