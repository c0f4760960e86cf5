package testutil

import (
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
)

// RefusedAddr returns a loopback address where connections are refused for
// the rest of the test: a TCP port bound without listening. Closing a server
// to get such an address is not enough on a busy machine: once the port is
// free, another process may listen on it and answer.
func RefusedAddr(t testing.TB) string {
	t.Helper()
	addr, _ := refuse(t, 0)
	return addr
}

// RefuseConnections keeps connections to addr (a loopback host:port whose
// server was just closed) refused until release is called or the test ends,
// by binding its port without listening. It fails the test if another process took the
// port in between, or if the closed server's connections still hold it
// (TIME_WAIT): use it for servers that had none.
func RefuseConnections(t testing.TB, addr string) (release func()) {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	if _, err := fmt.Sscan(port, &p); err != nil {
		t.Fatal(err)
	}
	got, release := refuse(t, p)
	if got != addr {
		t.Fatalf("RefuseConnections(%s) bound %s", addr, got)
	}
	return release
}

func refuse(t testing.TB, port int) (string, func()) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() { once.Do(func() { _ = syscall.Close(fd) }) }
	t.Cleanup(release)
	// No SO_REUSEADDR: with it, a listener (Go sets it) could bind the
	// same port beside this socket and take the connections.
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("binding 127.0.0.1:%d: %v", port, err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port), release
}
