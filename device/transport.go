package device

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// deviceTransport is the http.RoundTripper of the device client: plain
// HTTP/1.1 with keep-alive, at most maxPerHost connections per controller
// (requests beyond that wait for one, as long as their context allows), and
// idle connections held without goroutines or buffers.
//
// net/http's Transport keeps two goroutines and two 4 KiB buffers per idle
// connection, about 28 KiB: with every container of a 10,000-container
// fleet probed every 15 s, that is 10,000–20,000 connections and several
// hundred MiB. Here an idle connection is a socket in a slice; a request
// borrows pooled buffers only while it runs.
type deviceTransport struct {
	dialer      *net.Dialer
	maxPerHost  int
	idleTimeout time.Duration
	other       http.RoundTripper // anything that is not plain http://
	now         func() time.Time

	mu        sync.Mutex
	hosts     map[string]*hostPool
	lastSweep time.Time
}

type hostPool struct {
	slots chan struct{} // one per request using a connection of this host
	idle  []idleConn    // most recently used last; guarded by deviceTransport.mu
	users int           // requests holding this pool; guarded by deviceTransport.mu
}

type idleConn struct {
	conn  net.Conn
	since time.Time
}

func newDeviceTransport(maxPerHost int, idleTimeout time.Duration, other http.RoundTripper) *deviceTransport {
	return &deviceTransport{
		dialer:      &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		maxPerHost:  maxPerHost,
		idleTimeout: idleTimeout,
		other:       other,
		now:         time.Now,
		hosts:       map[string]*hostPool{},
	}
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 512) }}
)

// acquire returns the host's pool, which stays in the map until release.
func (t *deviceTransport) acquire(host string) *hostPool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.hosts[host]
	if p == nil {
		p = &hostPool{slots: make(chan struct{}, t.maxPerHost)}
		t.hosts[host] = p
	}
	p.users++
	return p
}

// release gives back a request's hold on the pool and, when it had one, its
// connection slot.
func (t *deviceTransport) release(p *hostPool, slot bool) {
	if slot {
		<-p.slots
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p.users--
}

// RoundTrip sends one request on an idle connection of the host or a new
// one. A read on a reused connection that fails before any answer arrives
// (the device closed the idle connection) is retried once on a new one;
// writes are not retried (see noRetryKey).
func (t *deviceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || (req.Method != http.MethodGet && req.Method != http.MethodHead) || req.Body != nil && req.Body != http.NoBody {
		return t.other.RoundTrip(req)
	}
	ctx := req.Context()
	host := req.URL.Host
	p := t.acquire(host)
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		t.release(p, false)
		return nil, ctx.Err()
	}
	t.sweep()
	for attempt := 0; ; attempt++ {
		conn, reused := t.get(p), true
		for conn != nil && idleConnUnusable(conn) {
			_ = conn.Close() // unsolicited bytes or closed by the controller
			conn = t.get(p)
		}
		if conn == nil {
			reused = false
			c, err := t.dialer.DialContext(ctx, "tcp", host)
			if err != nil {
				t.release(p, true)
				return nil, err
			}
			conn = c
		}
		resp, err := t.exchange(ctx, p, conn, req)
		if err == nil {
			return resp, nil
		}
		_ = conn.Close()
		if reused && attempt == 0 && ctx.Err() == nil && errors.Is(err, errNoAnswer) && ctx.Value(noRetryKey{}) == nil {
			continue // a stale keep-alive connection
		}
		t.release(p, true)
		return nil, err
	}
}

var errNoAnswer = errors.New("connection closed before an answer")

// noRetryKey marks a request's context: never retry it, not even on a stale
// connection, because the device might have acted on it before the
// connection died (the controller's writes are GETs too).
type noRetryKey struct{}

// exchange writes req on conn and reads the answer's head. The answer's
// body returns the connection to the pool (and the slot) when read to its
// end and closed.
func (t *deviceTransport) exchange(ctx context.Context, p *hostPool, conn net.Conn, req *http.Request) (*http.Response, error) {
	// The context's end interrupts a blocked read or write. (No socket
	// deadline from the context's deadline: an I/O error then always comes
	// after ctx.Err() is set, so callers report it as the probe timeout.)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })

	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(conn)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writerPool.Put(bw)
	if err != nil {
		stop()
		return nil, t.ioError(ctx, fmt.Errorf("%w: %w", errNoAnswer, err))
	}

	// The answer is read through a byte budget (wireBudget) and its head
	// by readHead, which bounds every line, the header count, all heads
	// together and the 1xx answers; http.ReadResponse then parses the
	// checked head and frames the body. Two pooled readers: br on the
	// connection, hr for http.ReadResponse over the head and then br.
	budget := wireBudget(ctx)
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(&budgetReader{r: conn, left: budget, size: budget})
	head := headPool.Get().(*bytes.Buffer)
	hr := readerPool.Get().(*bufio.Reader)
	fail := func(err error) (*http.Response, error) {
		stop()
		br.Reset(nil)
		readerPool.Put(br)
		hr.Reset(nil)
		readerPool.Put(hr)
		putHead(head)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isConnReset(err) {
			err = fmt.Errorf("%w: %w", errNoAnswer, err)
		}
		return nil, t.ioError(ctx, err)
	}
	if err := readHead(br, head); err != nil {
		return fail(err)
	}
	hr.Reset(io.MultiReader(bytes.NewReader(head.Bytes()), br))
	resp, err := http.ReadResponse(hr, req)
	if err != nil {
		return fail(err)
	}
	resp.Body = &pooledBody{t: t, p: p, conn: conn, br: br, hr: hr, head: head, body: resp.Body, stop: stop, reusable: !resp.Close && !req.Close, ctx: ctx}
	return resp, nil
}

// ioError reports a cancelled or expired context as such, not as the
// deadline error the connection saw.
func (t *deviceTransport) ioError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}

func isConnReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// get takes the most recently used idle connection of the host, closing
// those idle for too long.
func (t *deviceTransport) get(p *hostPool) net.Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for len(p.idle) > 0 {
		ic := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(ic.since) < t.idleTimeout {
			return ic.conn
		}
		_ = ic.conn.Close()
	}
	return nil
}

func (t *deviceTransport) put(p *hostPool, conn net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p.idle = append(p.idle, idleConn{conn: conn, since: t.now()})
}

// sweep closes connections idle for longer than idleTimeout and forgets
// hosts without any, at most twice per idleTimeout; no goroutine needed.
func (t *deviceTransport) sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Sub(t.lastSweep) < t.idleTimeout/2 {
		return
	}
	t.lastSweep = now
	for host, p := range t.hosts {
		keep := p.idle[:0]
		for _, ic := range p.idle {
			if now.Sub(ic.since) < t.idleTimeout {
				keep = append(keep, ic)
			} else {
				_ = ic.conn.Close()
			}
		}
		clear(p.idle[len(keep):])
		p.idle = keep
		if len(p.idle) == 0 && p.users == 0 {
			delete(t.hosts, host)
		}
	}
}

// CloseIdleConnections closes every idle connection (http.Client calls it).
func (t *deviceTransport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for host, p := range t.hosts {
		for _, ic := range p.idle {
			_ = ic.conn.Close()
		}
		p.idle = nil
		if p.users == 0 {
			delete(t.hosts, host)
		}
	}
	if c, ok := t.other.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// pooledBody hands the connection back when the answer was read to its
// end; a body closed early closes the connection.
type pooledBody struct {
	t        *deviceTransport
	p        *hostPool
	conn     net.Conn
	br       *bufio.Reader // on the connection
	hr       *bufio.Reader // http.ReadResponse's, over the head and br
	head     *bytes.Buffer // the answer's head, which hr may still refer to
	body     io.ReadCloser
	stop     func() bool
	ctx      context.Context
	reusable bool

	mu   sync.Mutex
	eof  bool
	done bool
}

func (b *pooledBody) Read(buf []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return 0, errors.New("read on a closed body")
	}
	n, err := b.body.Read(buf)
	if errors.Is(err, io.EOF) {
		b.eof = true
	} else if err != nil {
		err = b.t.ioError(b.ctx, err)
	}
	return n, err
}

func (b *pooledBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	stillOurs := b.stop() // false: the context ended and may have poisoned the deadline
	if b.eof && b.reusable && stillOurs && b.br.Buffered() == 0 && b.hr.Buffered() == 0 {
		_ = b.body.Close() // at EOF: no I/O
		b.t.put(b.p, b.conn)
	} else {
		_ = b.conn.Close() // first, so closing the body does not drain a long answer
		_ = b.body.Close()
	}
	b.br.Reset(nil)
	readerPool.Put(b.br)
	b.hr.Reset(nil)
	readerPool.Put(b.hr)
	putHead(b.head)
	b.t.release(b.p, true)
	return nil
}
