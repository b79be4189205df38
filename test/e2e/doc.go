// Package e2e runs geomesh as real processes: it builds the regiond binary once, starts one
// process per region from YAML config files with free loopback ports, and drives the mesh from
// outside over plain NATS connections, the way a remote client or gateway would.
//
// The non-test files are the harness (Build, Start, Mesh, Proc); the tests are the scenarios
// (failover of a home region by SIGKILL, with a restart of the killed process to check fencing).
// Everything is skipped under -short.
//
// Concurrency: a Mesh is used by one test goroutine; its methods are not safe for concurrent use,
// except Proc.Exited and Proc.LogPath, which may be read at any time. Every process is started in
// its own process group, killed by its PID only, and always reaped: t.Cleanup kills whatever is
// still running. Process output goes to one log file per process incarnation, kept (and named in
// the test log) when the test fails, removed otherwise.
package e2e
