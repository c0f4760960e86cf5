//go:build linux

package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report is a run's floor and exporter figures, as markdown and CSV.
type report struct {
	opts      options
	floor     phaseResult
	exporters []measured // one, or the A/B's variants
	when      time.Time
	cpus      int
}

// measured is one exporter's figures.
type measured struct {
	name string
	res  phaseResult
}

// write prints the markdown table and writes it and the CSV to -out as
// n<N>[-ha].md and .csv.
func (r report) write() error {
	md := r.markdown()
	fmt.Println()
	fmt.Print(md)
	if err := os.MkdirAll(r.opts.out, 0o755); err != nil {
		return err
	}
	base := filepath.Join(r.opts.out, r.opts.resultName())
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".csv", r.csv(), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwritten: %s.md, %s.csv\n", base, base)
	return nil
}

// resultName is n<N>, with -m<miners> for a miner count other than the
// mock's default and -ha for an HA pair.
func (o options) resultName() string {
	name := fmt.Sprintf("n%d", o.n)
	if o.miners > 0 {
		name += fmt.Sprintf("-m%d", o.miners)
	}
	if o.ab {
		name += "-ab"
	}
	if o.ha {
		name += "-ha"
	}
	return name
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

type row struct {
	name, unit string
	values     []float64 // floor, then each exporter
	ratio      bool      // print exporter/floor
}

// column is one metric of a phase.
type column struct {
	name, unit string
	ratio      bool
	value      func(phaseResult) float64
}

func columns() []column {
	per := func(cpu float64, n int64) float64 {
		if n == 0 {
			return 0
		}
		return cpu / float64(n)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return []column{
		{"probes/s (floor: fetch pairs/s)", "1/s", true, func(p phaseResult) float64 { return float64(p.probes) / p.duration.Seconds() }},
		{"p50 latency", "ms", true, func(p phaseResult) float64 { return ms(quantile(p.latencies, 0.5)) }},
		{"p99 latency", "ms", true, func(p phaseResult) float64 { return ms(quantile(p.latencies, 0.99)) }},
		{"CPU per probe (floor: client CPU per fetch pair)", "ms", true, func(p phaseResult) float64 { return 1000 * per(p.cpu, p.probes) }},
		{"CPU share of one core", "%", true, func(p phaseResult) float64 { return 100 * p.cpu / p.duration.Seconds() }},
		{"peak RSS (VmHWM)", "MiB", true, func(p phaseResult) float64 { return p.rssKiB / 1024 }},
		{"Go heap in use at the end", "MiB", true, func(p phaseResult) float64 { return p.heapMiB }},
		{"Go stacks in use at the end", "MiB", true, func(p phaseResult) float64 { return p.stackMiB }},
		{"goroutines (peak sampled)", "", true, func(p phaseResult) float64 { return p.goroutines }},
		{"upstream requests per probe", "", true, func(p phaseResult) float64 { return p.upstreamPerProbe }},
		{"mock CPU per probe", "ms", true, func(p phaseResult) float64 { return 1000 * per(p.mockCPU, p.probes) }},
		{"errors", "", false, func(p phaseResult) float64 { return float64(p.errors) }},
		{"probes measured", "", false, func(p phaseResult) float64 { return float64(p.probes) }},
	}
}

func (r report) rows() []row {
	var rows []row
	for _, c := range columns() {
		rw := row{name: c.name, unit: c.unit, ratio: c.ratio, values: []float64{c.value(r.floor)}}
		for _, e := range r.exporters {
			rw.values = append(rw.values, c.value(e.res))
		}
		rows = append(rows, rw)
	}
	return rows
}

func fmtNum(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func (r report) markdown() string {
	var b strings.Builder
	o := r.opts
	fmt.Fprintf(&b, "### antspace_exporter load test: %d containers, %s interval\n\n", o.n, o.interval)
	fmt.Fprintf(&b, "%s; %d CPUs; %s measured per phase (%d alternating rounds) after %s warm-up; %.1f probes/s scheduled; scrape timeout %s; mock fleet on 127.x loopback addresses; %d connection(s) per container for the floor client and the exporter.\n",
		r.when.Format(time.RFC3339), r.cpus, o.duration, max(1, o.rounds), o.warmup, float64(o.n)/o.interval.Seconds(), o.scrapeTO, o.conns)
	fmt.Fprintf(&b, "Floor = the generator itself fetching coolerState + minerInfo from the mock (map[string]any decode); exporter = the same schedule through /probe.\n")
	if o.miners > 0 {
		fmt.Fprintf(&b, "%d miners per container.\n", o.miners)
	}
	if o.exporterArgs != "" {
		fmt.Fprintf(&b, "Exporter flags: `%s`.\n", o.exporterArgs)
	}
	if o.exporterEnv != "" {
		fmt.Fprintf(&b, "Exporter environment: `%s`.\n", o.exporterEnv)
	}
	if o.ha {
		b.WriteString("HA pair: in the exporter phase every probe is sent twice at once, as by two Prometheus servers; figures are per probe.\n")
	}
	b.WriteString("\n| metric | floor |")
	for _, e := range r.exporters {
		fmt.Fprintf(&b, " %s | %s / floor |", e.name, e.name)
	}
	b.WriteString("\n|---|---:|" + strings.Repeat("---:|---:|", len(r.exporters)) + "\n")
	for _, rw := range r.rows() {
		name := rw.name
		if rw.unit != "" {
			name += " (" + rw.unit + ")"
		}
		fmt.Fprintf(&b, "| %s | %s |", name, fmtNum(rw.values[0]))
		for _, v := range rw.values[1:] {
			ratio := ""
			if rw.ratio && rw.values[0] != 0 {
				ratio = fmt.Sprintf("%.2f×", v/rw.values[0])
			}
			fmt.Fprintf(&b, " %s | %s |", fmtNum(v), ratio)
		}
		b.WriteString("\n")
	}
	errs := slices.Clone(r.floor.firstErrors)
	for i := range errs {
		errs[i] = "floor: " + errs[i]
	}
	for _, e := range r.exporters {
		for _, msg := range e.res.firstErrors {
			errs = append(errs, e.name+": "+msg)
		}
	}
	if len(errs) > 0 {
		b.WriteString("\nFirst errors:\n")
		for _, e := range errs {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	return b.String()
}

// csv has a line per metric and exporter.
func (r report) csv() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"n", "interval_seconds", "exporter", "metric", "unit", "floor", "value", "ratio"})
	for _, rw := range r.rows() {
		for i, e := range r.exporters {
			v := rw.values[i+1]
			ratio := ""
			if rw.ratio && rw.values[0] != 0 {
				ratio = strconv.FormatFloat(v/rw.values[0], 'g', 4, 64)
			}
			_ = w.Write([]string{strconv.Itoa(r.opts.n), fmtNum(r.opts.interval.Seconds()), e.name, rw.name, rw.unit,
				strconv.FormatFloat(rw.values[0], 'g', 6, 64), strconv.FormatFloat(v, 'g', 6, 64), ratio})
		}
	}
	w.Flush()
	return buf.Bytes()
}
