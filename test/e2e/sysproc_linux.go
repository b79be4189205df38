package e2e

import "syscall"

// sysProcAttr puts the child in its own process group (a Ctrl-C to `go test` reaches the test,
// which then kills its children by PID) and has the kernel kill it if the test process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
