//go:build !linux

package testutil

import "testing"

// RefusedAddr returns a loopback address where connections are refused. On
// Linux the port is held for the test (see refuse_linux.go); elsewhere it is
// port 1, where nothing listens on a test machine.
func RefusedAddr(t testing.TB) string { return "127.0.0.1:1" }

// RefuseConnections is a no-op outside Linux: a closed server's port stays
// free and, on a busy machine, may be taken by another process.
func RefuseConnections(t testing.TB, addr string) (release func()) { return func() {} }
