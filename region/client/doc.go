// Package client is the part of a region other processes use to reach it: the names of the
// streams, subjects and buckets (the DESIGN.md contract) and the Submitter that appends commands
// to a symbol's log and awaits the matcher's answer. It depends only on proto and nats.go, so the
// gateway (and tests in other processes) can use it without importing the region node.
package client
