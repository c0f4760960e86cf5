package harness

import "syscall"

func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
}
