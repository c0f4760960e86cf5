package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/mock"
)

// allocBudget is the most heap allocations one /probe may make in the
// exporter's handler: two upstream reads from a canned device (which
// allocates nothing per request), conversion, text exposition and gzip, as
// Prometheus asks for it, and the probe's own log lines kept for the debug
// view and the landing page's history, recorded as facts and formatted on
// request (debug.go). Measured at 223 (hk3) and
// 224 (immersion) with 12 miners each in round two of the performance work
// (619 before it); the probe log lines then added 92 (316 and 318), and
// recording their facts instead of formatting them on every probe took that
// back to 28 (251 and 252). Round three took it to 215 for both in the
// collector and device client (one-pass validation, bodies read into one
// buffer, miners' pairs shared), and with the handler's share to 185 (the Accept
// header's negotiation cached, the answer's header values shared, /probe's
// query read without a map, the history record allocated with the probe's
// facts; 222 and 223 before the collector's share was merged). The budget was
// lowered from 300 to 205, a margin of about 10 %,
// so that a change that gives some of this back is seen.
// A change that needs more says so here, with the reason.
const allocBudget = 205

// budget is b, with a fifth more under the race detector (it allocates too:
// 255 instead of 223 per probe).
func budget(b int) float64 {
	if raceEnabled {
		return float64(b) * 1.2
	}
	return float64(b)
}

func TestProbeAllocationBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	for _, tc := range benchTypes {
		t.Run(tc.name, func(t *testing.T) {
			h := benchExporter(t, tc.typ, 0)
			req := prometheusRequest(t, "")
			serve := func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
					t.Fatalf("HTTP %d, encoding %q", rec.Code, rec.Header().Get("Content-Encoding"))
				}
			}
			serve() // open the upstream connections
			got := testing.AllocsPerRun(50, serve)
			t.Logf("%.0f allocations per probe (budget %.0f)", got, budget(allocBudget))
			if got > budget(allocBudget) {
				t.Errorf("a probe makes %.0f allocations, over the budget of %.0f (see docs/performance.md)", got, budget(allocBudget))
			}
		})
	}
}

// The budget grows with the miners, not with each of their series: with
// 120 miners per container a probe stays within 2 allocations per extra
// miner over the budget (round two measured 3.2: 662 at 120 miners, the
// miner's address, model and firmware strings; round three shares model
// and firmware and their label pairs per probe, leaving the address: 1.0,
// 325 at 120 miners against 215 at 12).
func TestProbeAllocationsPerMiner(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counting")
	}
	h := benchExporter(t, mock.HK3, 120)
	req := prometheusRequest(t, "")
	serve := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d", rec.Code)
		}
	}
	serve()
	got := testing.AllocsPerRun(20, serve)
	limit := budget(allocBudget + 2*(120-12))
	t.Logf("%.0f allocations per probe of 120 miners (budget %.0f)", got, limit)
	if got > limit {
		t.Errorf("a probe of 120 miners makes %.0f allocations, over %.0f", got, limit)
	}
}
