package main

import "errors"

var (
	// errUsage marks a bad command line or configuration: exit code 2, nothing was started.
	errUsage = errors.New("bad configuration")
	// errRuntime marks a failure after the configuration was accepted: exit code 1.
	errRuntime = errors.New("runtime failure")
	// errNoAdminToken: the admin API needs a token outside the local profile.
	errNoAdminToken = errors.New("admin_token is required")
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// exitCode maps an error returned by a command to the process exit code. Anything not marked as
// a runtime failure is a usage error: cobra's own errors (unknown flag, unknown command, bad flag
// value) are not wrapped, and they are all mistakes in the command line.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errRuntime):
		return exitRuntime
	default:
		return exitUsage
	}
}
