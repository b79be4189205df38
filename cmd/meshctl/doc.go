// Command meshctl is the geomesh operator CLI: it talks to the admin API of any node
// (region.Node.AdminHandler) over HTTP with a bearer token.
//
//	meshctl status | symbols [--region R] | history SYMBOL | plans | plan show ID [--follow]
//	meshctl cordon R | uncordon R | halt SYMBOL | resume SYMBOL [--phase PHASE]
//	meshctl move SYMBOL --to R | evacuate R | restore R | rebalance | plan abort ID
//
// Global flags: --server URL ($MESHCTL_SERVER), --token ($MESHCTL_TOKEN), -o table|json,
// --timeout, --actor, --reason. The conventions follow kubectl drain/cordon and nomad node drain
// (client-compat.md §C): long operations block with progress lines on stderr and take
// --wait=false, --dry-run and --yes; -o json prints NDJSON events and a summary on stdout;
// traffic-moving commands (move, evacuate, restore, rebalance, halt) show the dry run and ask
// unless --yes, and refuse without a terminal. Interrupting meshctl never stops a plan.
//
// Exit codes: 0 done or nothing to do, 1 failed (or server unreachable, 5xx), 2 usage error or
// refused (4xx, including a wrong token; not confirmed), 3 deadline or interrupt while the
// operation continues on the server.
//
// Everything lives in run, which tests call in-process with their own arguments and streams;
// main only adds the process's signals, streams and exit code. The package starts no goroutines.
package main
