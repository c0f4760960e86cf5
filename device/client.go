// Package device talks to Antspace container controllers: the HTTP client,
// its connection handling (see deviceTransport) and the sharing of reads
// between probes (see Coalescer). What the answers mean is the business of
// package payload (decoding) and package collector (metrics).
package device

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

// DefaultMaxBodyBytes bounds a controller answer. Real answers are a few KiB
// (minerInfo with a few hundred miners stays well under 1 MiB).
const DefaultMaxBodyBytes = 4 << 20

// DefaultMaxConnsPerDevice is how many connections the client keeps open to
// one controller unless told otherwise
// (--upstream.max-connections-per-container).
const DefaultMaxConnsPerDevice = 2

// Client talks to container controllers over HTTP.
type Client struct {
	HTTP         *http.Client
	UserAgent    string
	MaxBodyBytes int64
	// Observe, when set, is told the outcome of every upstream request.
	Observe func(operation string, err error)
	// Coalesce, when set, lets Read share upstream reads between probes.
	Coalesce *Coalescer

	slots chan struct{} // global bound on upstream requests in flight; nil = none
}

// LimitConcurrency bounds the upstream requests in flight across all
// containers; n <= 0 removes the bound. A request waits for a free slot as
// long as its context allows. Call it before the client is used.
func (c *Client) LimitConcurrency(n int) {
	if n <= 0 {
		c.slots = nil
		return
	}
	c.slots = make(chan struct{}, n)
}

// MaxConcurrency is the bound set with LimitConcurrency (0 = none).
func (c *Client) MaxConcurrency() int { return cap(c.slots) }

// InFlight is the number of upstream requests holding a slot.
func (c *Client) InFlight() int { return len(c.slots) }

func (c *Client) bodyLimit() int64 {
	if c.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return c.MaxBodyBytes
}

// Read performs a read operation (coolerState, minerInfo). maxBodyBytes > 0
// bounds the answer instead of the client's MaxBodyBytes. With a Coalescer
// set, concurrent and recent reads of the same container share one upstream
// request (see Coalescer). Client implements collector.Reader.
func (c *Client) Read(ctx context.Context, address, operation string, maxBodyBytes int64) (*payload.Envelope, error) {
	if maxBodyBytes > 0 && maxBodyBytes != c.MaxBodyBytes {
		limited := *c
		limited.MaxBodyBytes = maxBodyBytes
		c = &limited
	}
	if c.Coalesce == nil || c.Coalesce.Window() <= 0 {
		return c.Call(ctx, address, operation, nil)
	}
	return c.Coalesce.Do(ctx, address, operation, c.bodyLimit(), func(shared context.Context) (*payload.Envelope, error) {
		return c.Call(shared, address, operation, nil)
	})
}

// NewClient returns a client with a transport tuned for many slow devices:
// keep-alive connections reused per container, a small cap of connections
// per device so a controller never sees a burst, and idle connections that
// cost a socket, not goroutines and buffers (see deviceTransport).
func NewClient(userAgent string, maxConnsPerDevice int) *Client {
	if maxConnsPerDevice <= 0 {
		maxConnsPerDevice = DefaultMaxConnsPerDevice
	}
	c := &Client{
		HTTP:         &http.Client{CheckRedirect: noRedirects},
		UserAgent:    userAgent,
		MaxBodyBytes: DefaultMaxBodyBytes,
	}
	// Anything but plain http:// GETs (not used by the exporter today)
	// goes through net/http's Transport.
	c.UseTransport(TransportDevice, maxConnsPerDevice)
	return c
}

// idleConnTimeout closes a connection to a controller unused for this long.
const idleConnTimeout = 90 * time.Second

// Controllers don't redirect; following one would let a lying device point
// the exporter at an arbitrary address.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// URL builds the controller URL for an operation.
func URL(address, operation string, extra url.Values) string {
	q := url.Values{"operation": {operation}}
	maps.Copy(q, extra)
	if !strings.Contains(address, "://") {
		// url.URL escapes what a host:port may hold that a URL must
		// escape (an IPv6 zone's %).
		return (&url.URL{Scheme: "http", Host: address, Path: "/cooler", RawQuery: q.Encode()}).String()
	}
	return strings.TrimRight(address, "/") + "/cooler?" + q.Encode()
}

// Call performs one operation and returns the decoded envelope. Any transport
// error, non-2xx status, oversized or malformed body, or ok:false is an error
// whose text says what went wrong.
func (c *Client) Call(ctx context.Context, address, operation string, extra url.Values) (env *payload.Envelope, err error) {
	if c.slots != nil {
		select {
		case c.slots <- struct{}{}:
			defer func() { <-c.slots }()
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: no free upstream slot before the probe timeout (all %d in use, --upstream.max-concurrent): %w", operation, cap(c.slots), ctx.Err())
		}
	}
	if c.Coalesce != nil && !payload.IsRead(operation) {
		defer c.Coalesce.Forget(address) // a write changes what the next read must see
	}
	if c.Observe != nil {
		defer func() { c.Observe(operation, err) }()
	}
	limit := c.bodyLimit()
	reqCtx := context.WithValue(ctx, bodyLimitKey{}, limit) // bounds what the transport reads (wireBudget)
	if !payload.IsRead(operation) {
		reqCtx = context.WithValue(reqCtx, noRetryKey{}, true) // a write is sent at most once
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, URL(address, operation, extra), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: bad request: %w", operation, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: no answer before the probe timeout: %w", operation, ctxErr)
		}
		return nil, fmt.Errorf("%s: request failed: %w", operation, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the limit or failed: nothing left to report

	if resp.ContentLength > limit {
		return nil, &BodyLimitError{Operation: operation, Limit: limit, ContentLength: resp.ContentLength}
	}
	body, err := readBody(io.LimitReader(resp.Body, limit+1), resp.ContentLength)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: body not complete before the probe timeout: %w", operation, ctxErr)
		}
		return nil, fmt.Errorf("%s: reading body: %w", operation, err)
	}
	if int64(len(body)) > limit {
		return nil, &BodyLimitError{Operation: operation, Limit: limit}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%s: HTTP status %d: %s", operation, resp.StatusCode, payload.Snippet(body))
	}
	env = &payload.Envelope{}
	if err := payload.DecodeEnvelope(body, env); err != nil {
		return nil, fmt.Errorf("%s: %w", operation, err)
	}
	if !env.OK {
		return env, fmt.Errorf("%s: device answered ok:false", operation)
	}
	return env, nil
}

// bodyHintMax bounds the buffer readBody sizes from a Content-Length up
// front: a device that announces a large body grows the buffer only with
// what it sends, as with io.ReadAll.
const bodyHintMax = 64 << 10

// readBody is io.ReadAll with the buffer sized from the answer's
// Content-Length (when known, up to bodyHintMax), so a body is read into one
// allocation instead of a 512-byte one grown half a dozen times.
func readBody(r io.Reader, contentLength int64) ([]byte, error) {
	size := 512
	if contentLength >= 0 && contentLength < bodyHintMax {
		size = int(contentLength) + 1 // + 1: room to see the end without growing
	}
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow as append does
		}
	}
}

// BodyLimitError is the error of an answer larger than the body limit
// (MaxBodyBytes, a module's max_body_bytes): the body was not read past it.
type BodyLimitError struct {
	Operation string
	Limit     int64
	// ContentLength is the length the answer announced when it was refused
	// before reading; 0 when the body was cut off at the limit.
	ContentLength int64
}

func (e *BodyLimitError) Error() string {
	if e.ContentLength > 0 {
		return fmt.Sprintf("%s: body larger than the %d-byte limit (Content-Length %d)", e.Operation, e.Limit, e.ContentLength)
	}
	return fmt.Sprintf("%s: body larger than the %d-byte limit", e.Operation, e.Limit)
}
