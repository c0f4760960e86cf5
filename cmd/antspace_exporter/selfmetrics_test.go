package main

import (
	"strings"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Self-metrics whose label values are known up front show 0 before the
// first event, so rate() and dashboards have a series from the start.
func TestSelfMetricsStartAtZero(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3}, func(o *exporterOptions) { o.coalesceWindow = time.Second })
	_, body := env.get(t, "/metrics", nil)
	for _, want := range []string{
		`antspace_exporter_upstream_requests_total{operation="coolerState",result="success"} 0`,
		`antspace_exporter_upstream_requests_total{operation="coolerState",result="failure"} 0`,
		`antspace_exporter_upstream_requests_total{operation="minerInfo",result="success"} 0`,
		`antspace_exporter_upstream_requests_total{operation="minerInfo",result="failure"} 0`,
		`antspace_exporter_upstream_reads_shared_total{operation="coolerState"} 0`,
		`antspace_exporter_upstream_reads_shared_total{operation="minerInfo"} 0`,
		`antspace_exporter_probes_total{module="hk3",result="success"} 0`,
		`antspace_exporter_probes_total{module="immersion",result="failure"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s before any probe:\n%s", want, grepUpstream(body))
		}
	}
}
