//go:build !linux

package harness

import "syscall"

func childAttrs() *syscall.SysProcAttr { return nil }
