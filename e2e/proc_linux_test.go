package e2e

import "syscall"

// childAttr makes the kernel kill a child when the test process dies, so an
// aborted run (timeout panic, ^C) leaves no Prometheus or Alertmanager behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
