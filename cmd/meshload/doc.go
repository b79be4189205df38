// Command meshload drives a geomesh mesh at an open-loop target rate through its
// Binance-compatible API and reports latency and throughput, next to the raw JetStream R3
// append baseline measured in the same run, so the figures are ratios that hold on a noisy
// machine.
//
// # What it sends
//
// Requests go to every region's gateway: REST POST /api/v3/order, DELETE /api/v3/order and
// POST /api/v3/order/cancelReplace (the moves), and, for a configurable fraction of places and
// cancels, the WebSocket API /ws-api/v3 (order.place, order.cancel). REST requests are signed
// with HMAC-SHA256 over the form body (Binance's totalParams), WebSocket API requests over the
// sorted parameters. HTTP keep-alive connections are reused (many per region) and WebSocket API
// requests use a pool of connections per region, one request at a time on each (the gateway
// answers the frames of one connection in order).
//
// The workload is a market-maker mix per account and symbol: limit orders resting around a mid
// price, cancels of resting orders, cancel-replace moves of resting orders to a new price, and a
// few crossing IOC orders that trade against them. Prices and quantities honour each symbol's
// PRICE_FILTER, LOT_SIZE, NOTIONAL and MAX_NUM_ORDERS filters read from exchangeInfo.
//
// # Open loop
//
// Request i is due at start + i/rate (its intended time) whatever happened to the earlier
// ones, and its latency is measured from that intended time, not from when it was actually
// sent (coordinated-omission correction), into HdrHistograms per region, operation and
// transport. Requests due during --warmup are sent and journaled but not measured.
//
// # Retries
//
// With --retry (the default) a connection error, or a 503 meaning "not executed" (-1008, -1016,
// or a draining gateway's answer without a Binance body), resends the same request (same
// newClientOrderId, so the mesh dedupes it) to the next region; an "outcome unknown" answer
// (-1007, or any other 5XX) is resolved by querying GET /api/v3/order?origClientOrderId= until
// the order's state is known. Both count as retries, not failures. A request fails only when no
// definite answer arrives within --request-timeout.
//
// # Journal
//
// --journal FILE writes one JSON object per line (NDJSON) for every place, cancel and replace
// request when it finishes (warm-up included), in completion order:
//
//	{"ts":"2026-11-22T05:02:41.123456789Z","region":"us-east","op":"place","symbol":"BTCUSDT","clientOrderId":"mlk3x9zp1f","orderId":123,"result":"ack","code":0,"latency_us":812,"account":1,"attempts":1}
//
// The fields (test/chaos's Record reads the same shape):
//
//   - ts: completion time, RFC 3339 in UTC with nanoseconds.
//   - region: the region whose gateway gave the final answer (the first one tried when none did).
//   - op: "place", "cancel" or "replace".
//   - symbol: the symbol.
//   - clientOrderId: the request's newClientOrderId: for place and replace the new order's id,
//     for cancel the cancel's own id. With account and op it gives the mesh's dedupe id
//     (o:, c: or r: + account + ":" + clientOrderId).
//   - origClientOrderId: cancel and replace only (omitted otherwise): the order canceled.
//   - orderId: the exchange's id of the new (place, replace) or canceled (cancel) order, when
//     known (0 otherwise).
//   - result: "ack" (the mesh accepted it: the order was placed, canceled, or moved),
//     "rejected" (a definite Binance error answer; code says which), "unknown" (the outcome could
//     not be learned within --request-timeout), "failed" (no answer at all: every region
//     unreachable, or retries disabled).
//   - code: the Binance error code of a rejection (e.g. -2010), or of the last answer of an
//     unknown outcome (-1007); 0 otherwise.
//   - latency_us: microseconds from the request's intended send time to its final answer.
//   - account: the account that sent it.
//   - attempts: how many times the request was sent (resends to other regions included; the
//     queries that resolve an unknown outcome are not counted).
//
// An order acknowledged here ("op":"place" or "replace", "result":"ack") must be present in the
// mesh exactly once: that is what the chaos suite checks.
//
// # Other modes
//
// --demo starts an in-process 3-region mesh (nodes, gateways without rate limits, API keys) and
// loads it (a deployed mesh enforces its gateways' limits: for a load test set the regiond keys
// gateway.orders_per_10s and gateway.request_weight_per_minute to -1 or above the load); --cold-start-symbols N starts an in-process mesh configured with N generated
// symbols and reports how long it took until every one of them was TRADING with its matcher
// running in its home region. --cpuprofile writes a CPU profile of the whole process (with
// --demo that includes the mesh; the load generator's goroutines carry the pprof label
// side=client, so `go tool pprof -tagignore side=client` shows the mesh alone). --pprof ADDR
// serves net/http/pprof during the run with block and mutex profiling on, for what the CPU
// profile cannot show: where requests wait (`curl ADDR/debug/pprof/goroutine?debug=1`).
//
// Exit status: 0 after a run, 1 when --max-errors was exceeded, 2 on a usage or setup error.
package main
