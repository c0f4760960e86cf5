package testutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
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

func TestManualDeadline(t *testing.T) {
	ctx, expire, cancel := ManualDeadline(context.Background())
	defer cancel()
	select {
	case <-ctx.Done():
		t.Fatal("done before expire")
	default:
	}
	if ctx.Err() != nil {
		t.Fatalf("Err %v before expire", ctx.Err())
	}
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	expire()
	<-child.Done() // a derived context ends too
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("Err %v, child %v; want context.DeadlineExceeded", ctx.Err(), child.Err())
	}
	cancel()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("cancel after expire changed Err to %v", ctx.Err())
	}

	parent, cancelParent := context.WithCancel(context.Background())
	ctx2, _, cancel2 := ManualDeadline(parent)
	defer cancel2()
	cancelParent()
	<-ctx2.Done()
	if !errors.Is(ctx2.Err(), context.Canceled) {
		t.Errorf("Err %v after the parent was canceled", ctx2.Err())
	}
}

func TestContextEndsBeforeTheBinaryDeadline(t *testing.T) {
	ctx := Context(t)
	d, ok := t.Deadline()
	got, has := ctx.Deadline()
	if ok != has || (ok && !got.Before(d)) {
		t.Errorf("context deadline %v (%v), test deadline %v (%v)", got, has, d, ok)
	}
}

// A goroutine that ends after goleak's own retries ran out is slow teardown,
// not a leak; one that never ends is reported.
func TestFindLeaksWaitsForSlowTeardown(t *testing.T) {
	base := goleak.IgnoreCurrent()
	release := make(chan struct{})
	go func() { <-release }()
	misses := 0
	err := findLeaks(Patience, func(error) {
		if misses++; misses == 1 {
			close(release) // the goroutine ends only after Find has seen it
		}
	}, base)
	if err != nil || misses == 0 {
		t.Errorf("slow teardown: %v after %d misses", err, misses)
	}

	stuck := make(chan struct{})
	defer close(stuck)
	go func() { <-stuck }()
	if err := findLeaks(300*time.Millisecond, nil, goleak.IgnoreCurrent(), base); err != nil {
		t.Errorf("ignored goroutine reported: %v", err)
	}
	if err := findLeaks(300*time.Millisecond, nil, base); err == nil {
		t.Error("a goroutine that never ends was not reported")
	}
}

func TestRefusedAddr(t *testing.T) {
	addr := RefusedAddr(t)
	if _, err := net.Dial("tcp", addr); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("dial %s: %v, want connection refused", addr, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	RefuseConnections(t, closed)
	if _, err := net.Dial("tcp", closed); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("dial %s: %v, want connection refused", closed, err)
	}
	if _, err := net.Listen("tcp", closed); err == nil {
		t.Errorf("another listener got %s", closed)
	}
}
