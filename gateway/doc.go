// Package gateway is the client-facing API of a region: a strict subset of the Binance Spot API
// (REST /api/v3, /api/v1/trades, /sapi/v1/system/status, market streams /ws and /stream, the
// listen-key user-data stream, the WebSocket API /ws-api/v3), authentication with API keys kept in KV ACCOUNTS, request-weight
// and order-rate limits, and routing of commands to cmd.<SYMBOL> through region/client's
// Submitter. It talks to the mesh only through NATS subjects and KV buckets.
//
// Reads never cross regions: every gateway keeps a local replica of each symbol (depth, recent
// trades, 24 h statistics and every order's Binance state) by consuming EVT_<SYMBOL> from the
// start with an ordered consumer; the symbols to follow come from a watch on KV OWNERS. Because
// the replica and the market streams come from the event log, depth update ids stay continuous
// across symbol moves and failovers, and GET /api/v3/order works from any region.
//
// newOrderRespType ACK answers once the command is durably appended: an order's id is the CMD_<S>
// sequence of the command that placed it, so the append's ack carries it. RESULT and FULL wait
// for the matcher's answer, which it sends before its events reach EVT_<S> (they are a pure
// function of the durable command log). Read-your-writes: a gateway remembers the newest
// command it answered for each account (and for each symbol's public data); a read right
// after waits, at most ReadYourWrites, until the replica applied it.
//
// Orders carry a dedupe id derived from the account and newClientOrderId ("o:<account>:<id>"),
// so a retried request is never placed twice. An outcome the gateway cannot know is answered
// 5XX with -1007; a command certainly not appended is answered 503 with -1008.
//
// Files: config.go (Config), gateway.go (New, Start, Close), http.go (routes, auth, weights),
// params.go (parameter parsing), sign.go (HMAC, recvWindow), accounts.go (API and listen keys),
// symbols.go (OWNERS watch, EVT followers), replica.go (the local book and order index),
// rest_public.go, rest_orders.go, responses.go (Binance JSON), limits.go, ws.go and ws_user.go
// (market and listen-key streams), ws_api.go (WebSocket API /ws-api/v3, sharing the REST
// handlers), status.go (Statuspage v2, /status, the status WebSocket), health.go (/healthz,
// /readyz, Drain), metrics.go (Prometheus).
//
// Concurrency: one follower goroutine per symbol writes its replica (under the replica's lock)
// and feeds the WebSocket hub; HTTP handlers only read. Every goroutine the gateway starts is
// waited for by Close, which is idempotent.
package gateway
