// Command regiond is the geomesh regional daemon: it wires a region.Node from a YAML config file,
// the environment and flags, logs with log/slog and shuts down cleanly on SIGINT or SIGTERM.
//
//	regiond --config deploy/local/us-east.yaml     run one node
//	regiond demo                                   run a 3-region mesh with 3 symbols in one process
//	regiond version                                print the version
//
// Configuration precedence is: defaults of the profile < config file < environment (secrets only:
// GEOMESH_CLUSTER_SECRET, GEOMESH_GOSSIP_KEYS) < flags. See config.go for the file schema, which
// includes the symbols the controller creates and the failover, snapshot and timeout knobs.
//
// Exit codes: 0 after a clean shutdown, 2 for a bad command line or configuration (one line on
// stderr, "regiond: <reason>", before anything starts), 1 for a failure at run time.
//
// Everything lives in run, which tests call in-process with their own arguments, environment and
// writers; main only adds the process's signals, environment and exit code. The package is the
// only place that reads files, the environment and flags (house rule); it holds no goroutines
// beyond the lifetime of run.
package main
