package device_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

func coalescingClient(window time.Duration) *device.Client {
	c := device.NewClient("antspace_exporter/test", 2)
	c.Coalesce = device.NewCoalescer(window, 0)
	return c
}

// sharedCounter counts, per operation, the reads the coalescer answered from
// another caller's device read.
func sharedCounter(co *device.Coalescer) func(op string) int {
	var mu sync.Mutex
	n := map[string]int{}
	co.Shared = func(op string) { mu.Lock(); defer mu.Unlock(); n[op]++ }
	return func(op string) int { mu.Lock(); defer mu.Unlock(); return n[op] }
}

func probeWith(c *device.Client, addr string, s collector.Settings, timeout time.Duration) *collector.Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return collector.Probe(ctx, c, addr, s)
}

var hk3 = collector.Settings{Module: "hk3", Type: collector.TypeHK3}

// Two probes of one container at the same time (an HA Prometheus pair) cost
// the device one read of each operation.
// The window is a minute: on a loaded machine the second probe may start
// after the first finished, and must still share its read.
func TestCoalesceConcurrentProbes(t *testing.T) {
	srv := startMock(t, mock.Options{Name: "ha", Type: mock.HK3})
	c := coalescingClient(time.Minute)
	var wg sync.WaitGroup
	results := make([]*collector.Result, 2)
	for i := range results {
		wg.Go(func() { results[i] = probeWith(c, srv.Addr(), hk3, testutil.Patience) })
	}
	wg.Wait()
	for i, r := range results {
		if !r.Up() || r.MinerErr != nil {
			t.Fatalf("probe %d: err=%v minerErr=%v", i, r.Err, r.MinerErr)
		}
	}
	if n := srv.Reads(payload.OpCoolerState); n != 1 {
		t.Errorf("device saw %d coolerState reads, want 1", n)
	}
	if n := srv.Reads(payload.OpMinerInfo); n != 1 {
		t.Errorf("device saw %d minerInfo reads, want 1", n)
	}
	if a, b := exposition(t, results[0]), exposition(t, results[1]); string(a) != string(b) {
		t.Errorf("the two probes report different values:\n%s\n---\n%s", a, b)
	}
}

// A probe that arrives while a read is in flight waits for it instead of
// sending its own.
func TestCoalesceJoinsReadInFlight(t *testing.T) {
	d := startDevice(t, mock.HK3)
	d.holdOps(payload.OpCoolerState)
	c := coalescingClient(device.DefaultCoalesceWindow)
	shared := sharedCounter(c.Coalesce)

	var wg sync.WaitGroup
	results := make([]*collector.Result, 2)
	wg.Go(func() { results[0] = probeWith(c, d.addr(), hk3, testutil.Patience) })
	testutil.WaitFor(t, testutil.Patience, 2*time.Millisecond, "the first coolerState read to reach the device", func() bool { return d.inFlight.Load() == 1 })
	wg.Go(func() { results[1] = probeWith(c, d.addr(), hk3, testutil.Patience) })
	testutil.WaitFor(t, testutil.Patience, 2*time.Millisecond, "the second probe to join the read", func() bool {
		return device.CoalesceWaiters(c.Coalesce, d.addr(), payload.OpCoolerState, device.DefaultMaxBodyBytes) == 2
	})
	d.release()
	wg.Wait()
	for i, r := range results {
		if !r.Up() {
			t.Fatalf("probe %d: %v", i, r.Err)
		}
	}
	if n := d.Reads(payload.OpCoolerState); n != 1 {
		t.Errorf("device saw %d coolerState reads, want 1", n)
	}
	if n := shared(payload.OpCoolerState); n != 1 {
		t.Errorf("%d coolerState reads counted as shared, want 1 (the joining probe)", n)
	}
}

// A finished read is reused within the window; after it a probe reads again.
func TestCoalesceWindow(t *testing.T) {
	srv := startMock(t, mock.Options{Name: "window", Type: mock.Immersion})
	c := coalescingClient(time.Minute) // long in real time: only the fake clock ages results
	shared := sharedCounter(c.Coalesce)
	now := epoch
	var mu sync.Mutex
	device.SetCoalescerClock(c.Coalesce, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s := collector.Settings{Type: collector.TypeImmersion}

	for i := range 3 {
		if r := probeWith(c, srv.Addr(), s, testutil.Patience); !r.Up() {
			t.Fatalf("probe %d: %v", i, r.Err)
		}
		advance(10 * time.Second)
	}
	if n := srv.Reads(payload.OpCoolerState); n != 1 {
		t.Fatalf("after 3 probes within the window the device saw %d coolerState reads, want 1", n)
	}
	if a, b := shared(payload.OpCoolerState), shared(payload.OpMinerInfo); a != 2 || b != 2 {
		t.Errorf("shared reads coolerState=%d minerInfo=%d, want 2 each (the 2nd and 3rd probe)", a, b)
	}
	advance(time.Minute)
	if r := probeWith(c, srv.Addr(), s, testutil.Patience); !r.Up() {
		t.Fatal(r.Err)
	}
	if n := srv.Reads(payload.OpCoolerState); n != 2 {
		t.Errorf("a probe after the window: device saw %d coolerState reads, want 2", n)
	}
	if n := srv.Reads(payload.OpMinerInfo); n != 2 {
		t.Errorf("a probe after the window: device saw %d minerInfo reads, want 2", n)
	}
	if n := shared(payload.OpCoolerState); n != 2 {
		t.Errorf("a probe after the window counted as shared: %d", n)
	}
}

// Window 0 turns coalescing off: every probe reads.
func TestCoalesceDisabled(t *testing.T) {
	srv := startMock(t, mock.Options{Name: "off", Type: mock.HK3})
	c := coalescingClient(0)
	for range 3 {
		if r := probeWith(c, srv.Addr(), hk3, testutil.Patience); !r.Up() {
			t.Fatal(r.Err)
		}
	}
	if n := srv.Reads(payload.OpCoolerState); n != 3 {
		t.Errorf("device saw %d coolerState reads, want 3", n)
	}
}

// A caller whose deadline passes returns at once while another caller keeps
// waiting for the shared read, which is not cancelled by the first caller
// giving up, even when that caller started it. The first caller's deadline
// passes when the test says (testutil.ManualDeadline), after the second has
// joined: no clock decides the order.
func TestCoalesceCallerTimeout(t *testing.T) {
	d := startDevice(t, mock.HK3)
	d.holdOps(payload.OpCoolerState)
	c := coalescingClient(device.DefaultCoalesceWindow)

	shortCtx, expire, cancel := testutil.ManualDeadline(context.Background())
	defer cancel()
	shortDone := make(chan *collector.Result, 1)
	go func() { shortDone <- collector.Probe(shortCtx, c, d.addr(), hk3) }() // starts the shared read
	testutil.WaitFor(t, testutil.Patience, 2*time.Millisecond, "the coolerState read to reach the device", func() bool { return d.inFlight.Load() >= 1 })

	longDone := make(chan *collector.Result, 1)
	go func() { longDone <- probeWith(c, d.addr(), hk3, testutil.Patience) }()
	testutil.WaitFor(t, testutil.Patience, 2*time.Millisecond, "the second probe to join", func() bool {
		return device.CoalesceWaiters(c.Coalesce, d.addr(), payload.OpCoolerState, device.DefaultMaxBodyBytes) == 2
	})
	select {
	case r := <-shortDone:
		t.Fatalf("short probe returned before its deadline passed: %v", r.Err)
	default:
	}

	expire()
	var r *collector.Result
	select {
	case r = <-shortDone: // while the device still holds the shared read
	case <-time.After(testutil.Patience):
		t.Fatalf("short probe still waiting %v after its deadline passed", testutil.Patience)
	}
	if r.Up() || !strings.Contains(r.Err.Error(), "coolerState: no answer before the probe timeout") {
		t.Fatalf("short probe: up=%v err=%v, want a timeout", r.Up(), r.Err)
	}
	select {
	case r := <-longDone:
		t.Fatalf("long probe returned before the device answered: %v", r.Err)
	case op := <-d.canceled:
		t.Fatalf("the shared %s read was cancelled when its first caller gave up", op)
	default:
	}

	d.release()
	if r := <-longDone; !r.Up() {
		t.Fatalf("long probe: %v", r.Err)
	}
	if n := d.Reads(payload.OpCoolerState); n != 1 {
		t.Errorf("device saw %d coolerState reads, want 1", n)
	}
}

// When every caller has given up, the shared read is cancelled: a hanging
// device does not keep a connection busy for nobody.
func TestCoalesceAbandonedReadCancelled(t *testing.T) {
	d := startDevice(t, mock.HK3)
	d.holdOps(payload.OpCoolerState)
	c := coalescingClient(device.DefaultCoalesceWindow)
	if r := probeWith(c, d.addr(), hk3, 100*time.Millisecond); r.Up() {
		t.Fatal("probe of a held device succeeded")
	}
	select {
	case op := <-d.canceled:
		if op != payload.OpCoolerState {
			t.Errorf("cancelled %s, want coolerState", op)
		}
	case <-time.After(testutil.Patience):
		t.Fatal("the abandoned read was not cancelled")
	}
	// The next probe reads again instead of getting the abandoned result.
	d.release()
	if r := probeWith(c, d.addr(), hk3, testutil.Patience); !r.Up() {
		t.Fatal(r.Err)
	}
	if n := d.Reads(payload.OpCoolerState); n != 1 { // the abandoned read never got an answer
		t.Errorf("device answered %d coolerState reads, want 1", n)
	}
}

// Probes with different body limits never share a read: the small limit
// still rejects a body the large one accepts.
func TestCoalesceBodyLimitsKeptApart(t *testing.T) {
	srv := startMock(t, mock.Options{Name: "limits", Type: mock.HK3})
	c := coalescingClient(time.Minute)
	big := probeWith(c, srv.Addr(), hk3, testutil.Patience)
	small := hk3
	small.MaxBodyBytes = 64
	tiny := probeWith(c, srv.Addr(), small, testutil.Patience)
	if !big.Up() {
		t.Fatalf("default limit: %v", big.Err)
	}
	if tiny.Up() || !strings.Contains(tiny.Err.Error(), "64-byte limit") {
		t.Fatalf("64-byte limit: up=%v err=%v, want the limit error", tiny.Up(), tiny.Err)
	}
	if n := srv.Reads(payload.OpCoolerState); n != 2 {
		t.Errorf("device saw %d coolerState reads, want 2 (one per limit)", n)
	}
}

// A write through the same client drops the kept result, so the next probe
// sees the device's new state.
func TestCoalesceWriteInvalidates(t *testing.T) {
	srv := startMock(t, mock.Options{Name: "write", Type: mock.HK3})
	c := coalescingClient(time.Minute)
	if r := probeWith(c, srv.Addr(), hk3, testutil.Patience); !r.Up() {
		t.Fatal(r.Err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	if _, err := c.Call(ctx, srv.Addr(), payload.OpReset, nil); err != nil {
		t.Fatal(err)
	}
	if r := probeWith(c, srv.Addr(), hk3, testutil.Patience); !r.Up() {
		t.Fatal(r.Err)
	}
	if n := srv.Reads(payload.OpCoolerState); n != 2 {
		t.Errorf("device saw %d coolerState reads, want 2", n)
	}
}

// The HTTP client is the collector's real Reader.
var _ collector.Reader = (*device.Client)(nil)
