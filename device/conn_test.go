package device_test

import (
	"context"
	"fmt"
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

// Sequential probes of one container reuse the keep-alive connection: the
// device sees one TCP connection however many probes there are.
func TestSequentialProbesReuseOneConnection(t *testing.T) {
	d := startDevice(t, mock.HK3)
	c := device.NewClient("antspace_exporter/test", 1)
	const probes = 25
	for i := range probes {
		if r := probeWith(c, d.addr(), hk3, testutil.Patience); !r.Up() || r.MinerErr != nil {
			t.Fatalf("probe %d: err=%v minerErr=%v", i, r.Err, r.MinerErr)
		}
	}
	if n := d.arrivals.Load(); n != 2*probes {
		t.Fatalf("device got %d requests, want %d", n, 2*probes)
	}
	if n := d.newConns.Load(); n != 1 {
		t.Errorf("%d probes opened %d connections, want 1", probes, n)
	}
}

// With the default cap of 2, a probe's two concurrent reads may use two
// connections, and sequential probes keep reusing them.
func TestSequentialProbesStayWithinCap(t *testing.T) {
	d := startDevice(t, mock.Immersion)
	c := device.NewClient("antspace_exporter/test", 2)
	s := collector.Settings{Type: collector.TypeImmersion}
	for i := range 25 {
		if r := probeWith(c, d.addr(), s, testutil.Patience); !r.Up() {
			t.Fatalf("probe %d: %v", i, r.Err)
		}
	}
	if n := d.newConns.Load(); n > 2 {
		t.Errorf("25 probes opened %d connections, want at most 2", n)
	}
}

// Many concurrent probes of one container never open more connections than
// the per-device cap, and never have more requests in flight at the device.
func TestConcurrentProbesRespectPerDeviceCap(t *testing.T) {
	for _, limit := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("cap=%d", limit), func(t *testing.T) {
			d := startDevice(t, mock.HK3)
			c := device.NewClient("antspace_exporter/test", limit) // no coalescing: every probe reads
			var wg sync.WaitGroup
			errs := make(chan error, 40)
			for range 40 {
				wg.Go(func() {
					if r := probeWith(c, d.addr(), hk3, testutil.Patience); !r.Up() {
						errs <- r.Err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := d.arrivals.Load(); n != 80 {
				t.Errorf("device got %d requests, want 80", n)
			}
			if n := d.newConns.Load(); n > int64(limit) {
				t.Errorf("40 concurrent probes opened %d connections, cap %d", n, limit)
			}
			if n := d.maxOpen.Load(); n > int64(limit) {
				t.Errorf("%d connections open at once, cap %d", n, limit)
			}
			if n := d.maxInFlight.Load(); n > int64(limit) {
				t.Errorf("%d requests in flight at the device, cap %d", n, limit)
			}
		})
	}
}

// The global bound caps upstream requests in flight across containers; a
// request that cannot get a slot before its deadline fails without reaching
// any device, and the others go on once slots free up.
func TestGlobalUpstreamBound(t *testing.T) {
	const global = 3
	devices := make([]*mockDevice, 4)
	for i := range devices {
		devices[i] = startDevice(t, mock.HK3)
		devices[i].holdOps(payload.OpCoolerState)
	}
	c := device.NewClient("antspace_exporter/test", 2) // 4 devices x 2 = 8 without the bound
	c.LimitConcurrency(global)
	if c.MaxConcurrency() != global {
		t.Fatalf("MaxConcurrency = %d", c.MaxConcurrency())
	}
	total := func(f func(*mockDevice) int64) int64 {
		var n int64
		for _, d := range devices {
			n += f(d)
		}
		return n
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			if _, err := c.Call(ctx, devices[i%4].addr(), payload.OpCoolerState, nil); err != nil {
				errs <- err
			}
		})
	}
	testutil.WaitFor(t, testutil.Patience, 2*time.Millisecond, "3 requests to reach the devices", func() bool {
		return total(func(d *mockDevice) int64 { return d.inFlight.Load() }) == global
	})
	if n := c.InFlight(); n != global {
		t.Errorf("InFlight = %d, want %d", n, global)
	}

	// A probe-like call with a short deadline gives up waiting for a slot.
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	_, err := c.Call(short, devices[0].addr(), payload.OpMinerInfo, nil)
	if err == nil || !strings.Contains(err.Error(), "no free upstream slot") {
		t.Fatalf("call without a free slot: %v", err)
	}
	if n := total(func(d *mockDevice) int64 { return d.arrivals.Load() }); n != global {
		t.Errorf("devices got %d requests while %d slots were busy", n, global)
	}

	for _, d := range devices {
		d.release()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := total(func(d *mockDevice) int64 { return d.arrivals.Load() }); n != 8 {
		t.Errorf("devices got %d requests, want 8", n)
	}
	var peak int64
	for _, d := range devices {
		peak = max(peak, d.maxInFlight.Load())
	}
	if peak > 2 {
		t.Errorf("a device had %d requests in flight, per-device cap 2", peak)
	}
	if n := c.InFlight(); n != 0 {
		t.Errorf("InFlight = %d after all calls returned", n)
	}
}
