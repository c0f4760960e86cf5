//go:build linux

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
)

func TestReportABColumnsAndRatios(t *testing.T) {
	ph := func(probes int64, cpu float64) phaseResult {
		return phaseResult{probes: probes, duration: 10 * time.Second, cpu: cpu, latencies: []time.Duration{time.Millisecond}}
	}
	o := options{n: 100, interval: 15 * time.Second, ab: true}
	r := report{opts: o, floor: ph(100, 1), exporters: []measured{{"device", ph(100, 1.5)}, {"stdlib", ph(100, 3)}}}
	md := r.markdown()
	for _, want := range []string{
		"| metric | floor | device | device / floor | stdlib | stdlib / floor |",
		"| CPU per probe (floor: client CPU per fetch pair) (ms) | 10 | 15 | 1.50× | 30 | 3.00× |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	lines := strings.Split(strings.TrimSpace(string(r.csv())), "\n")
	if want := 1 + 2*len(columns()); len(lines) != want {
		t.Errorf("CSV has %d lines, want %d (a header, a line per metric and exporter)", len(lines), want)
	}
	if !strings.Contains(string(r.csv()), "100,15,stdlib,CPU per probe (floor: client CPU per fetch pair),ms,10,30,3\n") {
		t.Errorf("CSV lacks the stdlib CPU line:\n%s", r.csv())
	}
	if got := o.resultName(); got != "n100-ab" {
		t.Errorf("result name %q, want n100-ab", got)
	}
}

func TestAgentReportPerContainer(t *testing.T) {
	o := options{n: 100, interval: 10 * time.Second, duration: time.Minute}
	start := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	counters := func(k float64) harness.Metrics {
		return harness.Metrics{
			"prometheus_agent_samples_appended_total":        k * 15000,
			"prometheus_remote_storage_samples_total":        k * 15000,
			"prometheus_remote_storage_bytes_total":          k * 300000,
			"prometheus_tsdb_head_samples_appended_total":    k * 15000,
			"prometheus_remote_storage_samples_failed_total": 0,
		}
	}
	before := agentSnapshot{at: start, agent: counters(1), central: counters(1)}
	// 100 s: 15,000 samples and 300,000 bytes; the agent used 3 s of CPU
	// (1,000 scrapes: 3 ms each), the central server 1.5 s.
	after := agentSnapshot{at: start.Add(100 * time.Second), agentCPU: 3, centralCPU: 1.5, expCPU: 2, agent: counters(2), central: counters(2)}
	md, err := agentReport(o, before, after, harness.Memory{RSS: 100 << 20, PeakRSS: 120 << 20}, harness.Memory{RSS: 200 << 20, PeakRSS: 200 << 20}, 100, 15000)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| samples scraped by the agent /s | 150 | 1.5 |",
		"| **bytes sent to central /s** (`prometheus_remote_storage_bytes_total`, compressed) | 3000 | **30 B/s** |",
		"| **agent CPU** (% of one core) | 3.0 % | **0.030 %** (3000 µs per scrape) |",
		"| agent CPU per sample | 200.00 µs |  |",
		"| **agent RSS** now / peak | 100 / 120 MiB | 1024.0 KiB |",
		"| central CPU per sample appended | 100.00 µs |  |",
		"agent CPU / exporter CPU = 1.50; central CPU / agent CPU = 0.50.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	delete(after.agent, "prometheus_remote_storage_bytes_total")
	if _, err := agentReport(o, before, after, harness.Memory{}, harness.Memory{}, 100, 0); err == nil {
		t.Error("no error with the agent's bytes counter missing")
	}
}
