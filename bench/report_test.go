//go:build linux

package main

import (
	"strings"
	"testing"
	"time"
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
