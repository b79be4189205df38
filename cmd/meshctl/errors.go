package main

import "errors"

var (
	// errUsage marks a bad command line: exit 2, nothing was sent.
	errUsage = errors.New("usage")
	// errRefused marks a request the server refused (4xx: bad token, validation, unknown
	// symbol) or one the operator did not confirm: exit 2, nothing was changed.
	errRefused = errors.New("refused")
	// errFailed marks an operation that failed or partly failed, or a server that could not be
	// reached or answered 5xx: exit 1.
	errFailed = errors.New("failed")
	// errPending marks a deadline (or an interrupt) reached while the operation continues on the
	// server: exit 3.
	errPending = errors.New("still running")
)

// Exit codes (client-compat.md §C.2 rule 7).
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	exitPending = 3
)

// marked is an error tagged with one of the kinds above; it prints as the error alone.
type marked struct{ err, kind error }

func (m marked) Error() string   { return m.err.Error() }
func (m marked) Unwrap() []error { return []error{m.err, m.kind} }

func mark(kind, err error) error { return marked{err, kind} }

// exitCode maps a command's error to the exit code. Unmarked errors come from cobra (unknown
// flag or command, wrong number of arguments): usage errors.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errPending):
		return exitPending
	case errors.Is(err, errFailed):
		return exitFailed
	default:
		return exitUsage
	}
}
