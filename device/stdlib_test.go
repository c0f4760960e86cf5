package device_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Every transport of the A/B reads a container; keep-alive reuses one
// connection for sequential reads, the no-keep-alive variant opens one per
// read, and a write always goes on a new connection with net/http's
// transport (it would otherwise resend a GET on a stale connection).
func TestTransportsOfTheAB(t *testing.T) {
	for _, tc := range []struct {
		transport device.Transport
		readConns int64 // connections for 5 sequential reads
	}{
		{device.TransportDevice, 1},
		{device.TransportStdlib, 1},
		{device.TransportStdlibNoKeepAlive, 5},
	} {
		t.Run(string(tc.transport), func(t *testing.T) {
			d := startDevice(t, mock.HK3)
			c := device.NewClient("antspace_exporter/test", 1)
			c.UseTransport(tc.transport, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := range 5 {
				if env, err := c.Read(ctx, d.addr(), payload.OpCoolerState, 0); err != nil || !env.OK {
					t.Fatalf("read %d: %v", i, err)
				}
			}
			if n := d.newConns.Load(); n != tc.readConns {
				t.Errorf("5 reads opened %d connections, want %d", n, tc.readConns)
			}
			if tc.transport == device.TransportDevice {
				return // the device transport's write rule is tested in transport_test.go
			}
			before := d.newConns.Load()
			for range 2 {
				if _, err := c.Call(ctx, d.addr(), payload.OpSetTemp, url.Values{"temp": {"30"}}); err != nil {
					t.Fatal(err)
				}
			}
			if n := d.newConns.Load() - before; n != 2 {
				t.Errorf("2 writes opened %d connections, want 2 (never a reused one)", n)
			}
		})
	}
}
