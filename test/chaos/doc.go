// Package chaos is the chaos suite of geomesh (issue #8): TestChaos runs three real regiond
// processes (built with e2e.Build, each in its own network namespace when the machine allows),
// drives them with a load of signed Binance REST orders (Driver), and in every round injects one
// fault chosen by a seeded RNG: SIGKILL a region and restart it, SIGSTOP it for a few seconds,
// partition it away, slow its link, or restart every region one by one the way an upgrade does
// (evacuate, SIGTERM, restart with the same data, restore). After each round it checks the
// invariants: every acknowledged request is in CMD_<S> exactly once, EVT_<S> equals the
// deterministic replay of CMD_<S>, every region's book is the same, no symbol stayed without a
// trading owner longer than the RTO bound, and no request failed during a rolling restart.
//
// Environment: GEOMESH_CHAOS_ROUNDS (default 3), GEOMESH_CHAOS_SEED (default: time; printed, so
// a run replays), GEOMESH_CHAOS_RATE (requests/s, default 150), GEOMESH_CHAOS_RTO_BOUND
// (default 30s), GEOMESH_CHAOS_FAULTS (comma-separated kinds to draw from, default all enabled),
// GEOMESH_E2E_KEEP (keep configs, data, logs and the journal). `make chaos ROUNDS=N` runs it.
//
// Without network namespaces (not root, no iproute2) the processes run on loopback and the
// partition and slow faults are disabled, with the reason printed. Observations that are not
// invariants (a non-zero exit after SIGTERM, stream leaders still on a region when it is
// stopped after its evacuation) are printed as notes. TestChaosCompose (GEOMESH_CHAOS_COMPOSE=1)
// runs `docker network disconnect` rounds against deploy/compose.yaml through test/compose.
package chaos
