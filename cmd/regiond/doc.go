// Command regiond is the geomesh regional daemon: it wires a region.Node from a YAML config file,
// the environment and flags, and once the node is ready serves the node's gateway (Binance REST
// and WebSocket, package gateway) and its admin API (region.Node.AdminHandler, for meshctl);
// it logs with log/slog and shuts down cleanly on SIGINT or SIGTERM, closing the gateway and
// the admin server before the node.
//
//	regiond --config deploy/local/us-east.yaml     run one node
//	regiond demo                                   run a 3-region mesh with 3 symbols in one process,
//	                                               with a gateway and an admin API per region
//	regiond version                                print the version
//
// Configuration precedence is: defaults of the profile < config file < environment (secrets only:
// GEOMESH_CLUSTER_SECRET, GEOMESH_GOSSIP_KEYS, GEOMESH_ADMIN_TOKEN) < flags. See config.go for
// the file schema, which includes the symbols the controller creates, the failover, snapshot and
// timeout knobs, the gateway and admin addresses, the admin token (required outside the local
// profile; generated and logged once in it) and the API keys created at start (bootstrap_keys).
//
// Exit codes: 0 after a clean shutdown, 2 for a bad command line or configuration (one line on
// stderr, "regiond: <reason>", before anything starts), 1 for a failure at run time.
//
// Everything lives in run, which tests call in-process with their own arguments, environment and
// writers; main only adds the process's signals, environment and exit code. The package is the
// only place that reads files, the environment and flags (house rule); it holds no goroutines
// beyond the lifetime of run.
package main
