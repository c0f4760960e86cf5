package device

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

func okServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprint(w, `{"ok":true,"method":"coolerState","params":{}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func get(t *testing.T, ctx context.Context, c *http.Client, url string) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Idle connections cost no goroutines: after requests to many devices, the
// goroutine count is back where it was, and each device kept its connection.
func TestTransportIdleConnectionsHoldNoGoroutines(t *testing.T) {
	const devices = 20
	urls := make([]string, devices)
	conns := make([]*atomic.Int64, devices)
	for i := range urls {
		srv, n := okServer(t)
		urls[i], conns[i] = srv.URL, n
	}
	c := NewClient("test", 2).HTTP
	before := runtime.NumGoroutine()
	for round := range 3 {
		for i, u := range urls {
			if _, err := get(t, context.Background(), c, u); err != nil {
				t.Fatalf("round %d device %d: %v", round, i, err)
			}
		}
	}
	for i, n := range conns {
		if n.Load() != 1 {
			t.Errorf("device %d saw %d connections, want 1", i, n.Load())
		}
	}
	// The servers' goroutines for the open connections are the only new
	// ones. Goroutines of finished requests may take a while to return on a
	// loaded machine; one kept per idle connection never would.
	after := 0
	testutil.WaitFor(t, testutil.Patience, 10*time.Millisecond, "the goroutines to settle", func() bool {
		after = runtime.NumGoroutine()
		return after <= before+devices+2
	}, func() string {
		return fmt.Sprintf("%d goroutines before, %d after %d idle connections: the client keeps goroutines per connection", before, after, devices)
	})
}

// A device that closes idle connections: the next request notices the dead
// connection before any answer and retries once on a new one.
func TestTransportRetriesStaleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted, resets atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() { // one answer per connection, advertised as keep-alive, then close
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				if req.URL.Query().Get("operation") == payload.OpReset {
					resets.Add(1)
				}
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
			}()
		}
	}()
	client := NewClient("test", 1)
	c := client.HTTP
	for i := range 5 {
		body, err := get(t, context.Background(), c, "http://"+ln.Addr().String()+"/cooler")
		if err != nil || body != `{"ok":true}` {
			t.Fatalf("request %d: %q %v", i, body, err)
		}
	}
	if n := accepted.Load(); n < 5 {
		t.Errorf("%d connections for 5 requests to a device that closes each one", n)
	}

	// A write is never sent twice. Either the transport sees, before
	// sending, that the controller closed the idle connection (the usual
	// case: idleConnUnusable) and sends the write once on a new one, or the
	// close is still in flight, the write fails on the stale connection and
	// is not retried.
	before := accepted.Load()
	_, err = client.Call(context.Background(), ln.Addr().String(), payload.OpReset, nil)
	newConns := accepted.Load() - before
	switch {
	case err == nil && (newConns != 1 || resets.Load() != 1):
		t.Errorf("write succeeded on %d new connections, the device saw it %d times; want 1 and 1", newConns, resets.Load())
	case err != nil && newConns != 0:
		t.Errorf("write failed after opening %d new connections, want 0 (no retry): %v", newConns, err)
	case resets.Load() > 1:
		t.Errorf("the device saw the write %d times", resets.Load())
	}
	// A read after that opens a new connection and works.
	if _, err := client.Call(context.Background(), ln.Addr().String(), payload.OpCoolerState, nil); err != nil {
		t.Errorf("read after the failed write: %v", err)
	}
}

// A request waiting for a slow answer, or for a connection slot, returns
// when its context ends, and the slot is free again afterwards.
func TestTransportHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = io.WriteString(w, "done")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := NewClient("test", 1).HTTP

	// The server holds /slow until the test ends: only the deadline can end
	// the request.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := get(t, ctx, c, srv.URL+"/slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow answer: %v, want the deadline", err)
	}
	// The slot was given back: a new request gets through.
	if body, err := get(t, context.Background(), c, srv.URL+"/fast"); err != nil || body != "done" {
		t.Fatalf("after a timeout: %q %v", body, err)
	}

	// With the only slot taken, a second request waits until its deadline.
	held := make(chan error, 1)
	holdCtx, cancelHold := context.WithCancel(context.Background())
	go func() { _, err := get(t, holdCtx, c, srv.URL+"/slow"); held <- err }()
	tr := c.Transport.(*deviceTransport)
	testutil.WaitFor(t, testutil.Patience, 2*time.Millisecond, "the held request to take the only slot", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		p := tr.hosts[strings.TrimPrefix(srv.URL, "http://")]
		return p != nil && len(p.slots) == 1
	})
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	if _, err := get(t, short, c, srv.URL+"/fast"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request without a free slot: %v, want the deadline", err)
	}
	cancelHold()
	if err := <-held; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v", err)
	}
}

// An answer abandoned half-way closes its connection at once instead of
// reading the rest of it. What tells is how much the server got to send: a
// drain would take all of the 1 GB it announced; a close stops it after what
// the socket buffers hold (a few MiB). No clock involved.
func TestTransportEarlyCloseDoesNotDrain(t *testing.T) {
	const announced = 1 << 30
	var written atomic.Int64
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		defer close(ended)
		w.Header().Set("Content-Length", fmt.Sprint(announced))
		chunk := strings.Repeat("x", 64<<10)
		for written.Load() < announced {
			n, err := io.WriteString(w, chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	c := NewClient("test", 1).HTTP
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-ended:
	case <-time.After(testutil.Patience):
		t.Fatalf("the server still writes %v after Close (%d bytes so far)", testutil.Patience, written.Load())
	}
	if n := written.Load(); n >= 64<<20 {
		t.Errorf("the server wrote %d of %d bytes: Close drained the body", n, announced)
	}
	tr := c.Transport.(*deviceTransport)
	tr.mu.Lock()
	idle := len(tr.hosts[strings.TrimPrefix(srv.URL, "http://")].idle)
	tr.mu.Unlock()
	if idle != 0 {
		t.Errorf("a half-read connection went back to the pool")
	}
}

// Connections idle for longer than the idle timeout are closed, not reused,
// and the sweep forgets devices without connections.
func TestTransportIdleTimeout(t *testing.T) {
	srv, conns := okServer(t)
	c := NewClient("test", 2).HTTP
	tr := c.Transport.(*deviceTransport)
	var mu sync.Mutex
	now := time.Now()
	tr.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }

	for range 2 {
		if _, err := get(t, context.Background(), c, srv.URL); err != nil {
			t.Fatal(err)
		}
		advance(idleConnTimeout / 2)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections within the idle timeout, want 1", n)
	}
	advance(idleConnTimeout)
	if _, err := get(t, context.Background(), c, srv.URL); err != nil {
		t.Fatal(err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections after the idle timeout, want 2", n)
	}
	advance(2 * idleConnTimeout)
	tr.sweep()
	tr.mu.Lock()
	hosts := len(tr.hosts)
	tr.mu.Unlock()
	if hosts != 0 {
		t.Errorf("%d devices kept after the sweep, want 0", hosts)
	}
}
