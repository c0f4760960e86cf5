package testutil

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b SyncBuffer
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				_, _ = fmt.Fprintf(&b, "w%d line %d\n", w, i) // SyncBuffer.Write never fails
				_ = b.String()                                // a reader during the writes, for -race
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "\n"); got != writers*lines {
		t.Errorf("%d lines, want %d", got, writers*lines)
	}
}

func TestFreeAddrIsListenableLoopback(t *testing.T) {
	addr := MustFreeAddr(t)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("%s is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ln.Close()
}

func TestWaitForAndEventually(t *testing.T) {
	n := 0
	WaitFor(t, 5*time.Second, time.Millisecond, "three calls", func() bool { n++; return n >= 3 })
	if n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
	m := 0
	Eventually(t, 5*time.Second, "second call", func() (bool, string) { m++; return m >= 2, fmt.Sprint("call ", m) })
	if m != 2 {
		t.Errorf("cond called %d times, want 2", m)
	}
}

// fatalRecorder records Fatalf instead of failing the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitForTimeoutSaysWhatAndDetail(t *testing.T) {
	f := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		WaitFor(f, 50*time.Millisecond, 5*time.Millisecond, "never", func() bool { return false }, func() string { return "detail here" })
	}()
	<-done
	if want := "timed out after 50ms waiting for never\ndetail here"; f.msg != want {
		t.Errorf("message %q, want %q", f.msg, want)
	}
}

func TestCannedHTTP(t *testing.T) {
	addr := CannedHTTP(t, func(line string) []byte { return []byte(`{"line":"` + line + `"}`) })
	for _, path := range []string{"/a", "/b", "/a"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"line":"GET ` + path + ` HTTP/1.1"}`; string(body) != want {
			t.Errorf("GET %s = %q, want %q", path, body, want)
		}
	}
}
