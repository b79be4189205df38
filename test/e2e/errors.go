package e2e

import "errors"

var (
	// ErrExited: a process the harness started has exited when it should be running.
	ErrExited = errors.New("e2e: process exited")
	// ErrTimeout: a condition polled with Poll did not hold before its deadline.
	ErrTimeout = errors.New("e2e: timed out")
)
