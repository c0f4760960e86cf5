package device

import (
	"net"
	"net/http"
	"time"
)

// Transport names the HTTP client side of the device client. The exporter
// uses TransportDevice; the others exist for the A/B measurement in the load
// harness (docs/performance.md) and are reachable only through a hidden flag.
type Transport string

// The transports.
const (
	TransportDevice            Transport = "device"              // deviceTransport (transport.go)
	TransportStdlib            Transport = "stdlib"              // net/http.Transport with keep-alive
	TransportStdlibNoKeepAlive Transport = "stdlib-no-keepalive" // net/http.Transport, a connection per request
)

// Transports lists the valid Transport values.
var Transports = []Transport{TransportDevice, TransportStdlib, TransportStdlibNoKeepAlive}

// UseTransport switches c to transport t (call before c is used).
func (c *Client) UseTransport(t Transport, maxConnsPerDevice int) {
	if maxConnsPerDevice <= 0 {
		maxConnsPerDevice = DefaultMaxConnsPerDevice
	}
	switch t {
	case TransportStdlib, TransportStdlibNoKeepAlive:
		c.HTTP.Transport = &stdlibRoundTripper{
			reads:  newStdlibTransport(maxConnsPerDevice, t == TransportStdlib),
			writes: newStdlibTransport(maxConnsPerDevice, false),
		}
	default:
		c.HTTP.Transport = newDeviceTransport(maxConnsPerDevice, idleConnTimeout, newStdlibTransport(maxConnsPerDevice, true))
	}
}

// newStdlibTransport is net/http's Transport tuned as far as it goes for
// many slow devices: no proxy, the per-device cap of the device transport,
// idle connections closed after the same time, no idle limit across hosts
// (a fleet has one host per container), small write buffers (requests are a
// few hundred bytes), a bounded answer head and no transparent gzip (a
// device never compresses; a lying one cannot send a gzip bomb).
func newStdlibTransport(maxConnsPerDevice int, keepAlive bool) *http.Transport {
	return &http.Transport{
		Proxy:                  nil, // devices are on the site network; never go through a proxy
		DialContext:            (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:    maxConnsPerDevice,
		MaxConnsPerHost:        maxConnsPerDevice,
		IdleConnTimeout:        idleConnTimeout,
		DisableKeepAlives:      !keepAlive,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
		WriteBufferSize:        512,
		ReadBufferSize:         4096,
	}
}

// stdlibRoundTripper keeps the device transport's promise that a write is
// sent at most once: net/http retries a GET on a keep-alive connection the
// device closed, so writes (marked with noRetryKey) go on a fresh connection
// that cannot be stale.
type stdlibRoundTripper struct{ reads, writes *http.Transport }

func (s *stdlibRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Context().Value(noRetryKey{}) != nil {
		return s.writes.RoundTrip(req)
	}
	return s.reads.RoundTrip(req)
}

func (s *stdlibRoundTripper) CloseIdleConnections() {
	s.reads.CloseIdleConnections()
	s.writes.CloseIdleConnections()
}
