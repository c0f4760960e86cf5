package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// The upstream flags reach the shared client.
func TestUpstreamOptionsWired(t *testing.T) {
	e := newExporter(exporterOptions{logger: log.NewNopLogger(), telemetryPath: "/metrics", maxConns: 2, maxUpstream: 7, coalesceWindow: 1500 * time.Millisecond})
	if n := e.client.MaxConcurrency(); n != 7 {
		t.Errorf("MaxConcurrency = %d, want 7", n)
	}
	if e.client.Coalesce == nil || e.client.Coalesce.Window() != 1500*time.Millisecond {
		t.Errorf("coalesce window not set: %+v", e.client.Coalesce)
	}
	off := newExporter(exporterOptions{logger: log.NewNopLogger(), telemetryPath: "/metrics", maxConns: 2})
	if off.client.Coalesce != nil || off.client.MaxConcurrency() != 0 {
		t.Errorf("zero options should disable coalescing and the bound")
	}
}

// Concurrent /probe requests for one container (an HA pair) cost the device
// one read, and the exporter's upstream counter says so.
func TestProbesCoalesced(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"ha": mock.HK3}, func(o *exporterOptions) { o.coalesceWindow = time.Minute })
	var wg sync.WaitGroup
	header := http.Header{scrapeTimeoutHeader: {"5"}}
	for range 4 {
		wg.Go(func() {
			code, body := env.get(t, "/probe?target=ha", header)
			if code != http.StatusOK || !strings.Contains(body, "antspace_up 1") {
				t.Errorf("probe: %d\n%s", code, body)
			}
		})
	}
	wg.Wait()
	if n := env.mocks["ha"].Reads(payload.OpCoolerState); n != 1 {
		t.Errorf("device saw %d coolerState reads for 4 probes, want 1", n)
	}
	_, metrics := env.get(t, "/metrics", nil)
	for _, want := range []string{
		`antspace_exporter_upstream_requests_total{operation="coolerState",result="success"} 1`,
		`antspace_exporter_upstream_reads_shared_total{operation="coolerState"} 3`,
		`antspace_exporter_upstream_reads_shared_total{operation="minerInfo"} 3`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepUpstream(metrics))
		}
	}
}

func grepUpstream(text string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, "antspace_exporter_upstream_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
