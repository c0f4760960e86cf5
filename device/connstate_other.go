//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package device

import "net"

// idleConnUnusable cannot peek without blocking on this platform; a stale
// connection is still caught by the retry of reads on reused connections,
// and bytes left over after an answer by pooledBody.Close.
func idleConnUnusable(net.Conn) bool { return false }
