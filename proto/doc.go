// Package proto holds the protobuf schema of geomesh (commands, events, ownership records,
// snapshots, node metadata, plans and audit entries) and the Go code generated from it.
// Conversions between these messages and domain types live next to their users.
package proto
