// Package testutil holds the small helpers that the tests and the tool
// programs (bench, test/soak) share: a log buffer safe for concurrent use,
// free loopback addresses, polling and binary lookup, and what keeps the
// tests independent of the machine's load (docs/testing.md): Patience,
// ManualDeadline, Context, BodyWatch, NoLeaks and VerifyTestMain. (Starting
// binaries, reading /metrics and /proc for bench and soak: internal/harness.)
//
// It is an ordinary package so that the programs under bench/ and test/ can
// import it too; nothing in the exporter itself does.
package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer that a logger (or a child process' output)
// and the test may share: Write and String take a lock. The zero value is
// ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago. The process given it may still lose a race for the port.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

// MustFreeAddr is FreeAddr that fails the test on error.
func MustFreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// debianPackages names the Debian package of the binaries the tests look for.
var debianPackages = map[string]string{
	"prometheus":              "prometheus",
	"promtool":                "prometheus",
	"alertmanager":            "prometheus-alertmanager",
	"prometheus-alertmanager": "prometheus-alertmanager",
}

// RequireBinary returns the path of the first of names found on PATH. When
// none is there the test is skipped, or fails when the environment variable
// CI is set (CI installs them, see .ci/run).
func RequireBinary(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	var pkgs []string
	for _, n := range names {
		if p, ok := debianPackages[n]; ok && !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	msg := fmt.Sprintf("none of %v on PATH", names)
	if len(pkgs) > 0 {
		msg += fmt.Sprintf(" (Debian: apt-get install --no-install-recommends %s)", strings.Join(pkgs, " "))
	}
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
