package device_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/antspace-exporter/antspace_exporter/mock"
	"github.com/antspace-exporter/antspace_exporter/mock/mocktest"
)

// mockDevice is a mock container behind an instrumented HTTP server: it counts
// TCP connections and requests in flight, and can hold requests of chosen
// operations at a gate until the test opens it.
type mockDevice struct {
	*mock.Container
	srv *httptest.Server

	newConns    atomic.Int64 // TCP connections accepted
	openConns   atomic.Int64 // connections not yet closed
	maxOpen     atomic.Int64
	inFlight    atomic.Int64 // requests being served
	maxInFlight atomic.Int64
	arrivals    atomic.Int64 // requests received

	mu       sync.Mutex
	hold     map[string]bool // operations held at the gate
	gate     chan struct{}   // closed to release held requests
	canceled chan string     // operations whose held request the client abandoned
}

func startDevice(t *testing.T, typ mock.Type) *mockDevice {
	t.Helper()
	c, err := mock.NewContainer(mock.Options{Name: "dev", Type: typ, Seed: 42, Clock: mock.NewManualClock(epoch)})
	if err != nil {
		t.Fatal(err)
	}
	d := &mockDevice{Container: c, hold: map[string]bool{}, gate: make(chan struct{}), canceled: make(chan string, 100)}
	d.srv = httptest.NewUnstartedServer(http.HandlerFunc(d.serve))
	d.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			d.newConns.Add(1)
			raise(&d.maxOpen, d.openConns.Add(1))
		case http.StateClosed, http.StateHijacked:
			d.openConns.Add(-1)
		}
	}
	d.srv.Start()
	t.Cleanup(func() {
		d.release()
		c.Stop()
		d.srv.Close()
	})
	return d
}

func raise(peak *atomic.Int64, v int64) {
	for {
		old := peak.Load()
		if v <= old || peak.CompareAndSwap(old, v) {
			return
		}
	}
}

func (d *mockDevice) addr() string { return d.srv.Listener.Addr().String() }

// holdOps makes requests of the given operations wait until release.
func (d *mockDevice) holdOps(ops ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, op := range ops {
		d.hold[op] = true
	}
}

func (d *mockDevice) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.gate:
	default:
		close(d.gate)
	}
}

func (d *mockDevice) serve(w http.ResponseWriter, r *http.Request) {
	d.arrivals.Add(1)
	raise(&d.maxInFlight, d.inFlight.Add(1))
	defer d.inFlight.Add(-1)
	op := r.URL.Query().Get("operation")
	d.mu.Lock()
	held, gate := d.hold[op], d.gate
	d.mu.Unlock()
	if held {
		select {
		case <-gate:
		case <-r.Context().Done():
			d.canceled <- op
			return
		}
	}
	d.ServeHTTP(w, r)
}

var epoch = mocktest.Epoch

// startMock starts a mock container on loopback for the test's lifetime.
func startMock(t *testing.T, o mock.Options) *mock.Server {
	t.Helper()
	return mocktest.Start(t, o)
}

// exposition renders what c collects in the text format.
func exposition(t *testing.T, c prometheus.Collector) []byte {
	t.Helper()
	b, err := promtestutil.CollectAndFormat(c, expfmt.TypeTextPlain) // through a pedantic registry
	if err != nil {
		t.Fatal(err)
	}
	return b
}
