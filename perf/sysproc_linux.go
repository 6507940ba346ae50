package perf

import "syscall"

// childSysProcAttr makes the kernel kill a child when the harness dies, so no
// server outlives a crashed or killed run.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
