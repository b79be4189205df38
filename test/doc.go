// Package test groups geomesh's cross-package tests: the in-process harness (meshtest),
// multi-process end-to-end tests, chaos and load.
package test
