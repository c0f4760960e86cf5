package testutil

import (
	"io"
	"net/http"
	"sync"
)

// BodyWatch wraps an http.RoundTripper and counts, per host and device
// operation (the "operation" query parameter), the answers whose body the
// caller has closed — for a client that reads a body to its end before
// closing it, the answers it has fully read. Tests use it to act at a moment
// they observed ("coolerState has been read") instead of after a sleep.
type BodyWatch struct {
	next http.RoundTripper
	// OnClose, when set before use, is called (outside the lock) after each
	// body is closed, with the request it answered.
	OnClose func(*http.Request)

	mu sync.Mutex
	n  map[string]int
}

// WatchBodies replaces c's transport (http.DefaultTransport when nil) with a
// BodyWatch around it.
func WatchBodies(c *http.Client) *BodyWatch {
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	w := &BodyWatch{next: next, n: map[string]int{}}
	c.Transport = w
	return w
}

// RoundTrip implements http.RoundTripper.
func (w *BodyWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	key := req.URL.Host + " " + req.URL.Query().Get("operation")
	resp.Body = &watchedBody{ReadCloser: resp.Body, closed: func() {
		w.mu.Lock()
		w.n[key]++
		w.mu.Unlock()
		if w.OnClose != nil {
			w.OnClose(req)
		}
	}}
	return resp, nil
}

// CloseIdleConnections passes the call on, so that http.Client's reaches the
// wrapped transport.
func (w *BodyWatch) CloseIdleConnections() {
	if c, ok := w.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Closed is the number of answers to operation from host (host:port) whose
// body was closed.
func (w *BodyWatch) Closed(host, operation string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n[host+" "+operation]
}

type watchedBody struct {
	io.ReadCloser
	once   sync.Once
	closed func()
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.closed)
	return err
}
