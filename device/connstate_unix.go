//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package device

import (
	"net"
	"syscall"
)

// idleConnUnusable reports whether an idle connection has something to read
// before a request was sent on it: bytes the controller sent unasked (which
// would otherwise be read as the next request's answer) or its end (the
// controller closed it). net/http's Transport notices both with a read
// goroutine per idle connection; the device transport holds none, so it
// peeks once, without blocking, when it takes the connection from the pool.
func idleConnUnusable(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	unusable := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// n > 0: unsolicited bytes; n == 0 without error: the peer closed.
		// EAGAIN: nothing to read, the connection is fine.
		unusable = n > 0 || (n == 0 && err == nil) || (err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK)
		return true
	})
	return unusable || err != nil
}
