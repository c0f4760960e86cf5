//go:build linux

package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// report is a run's floor and exporter figures, as markdown and CSV.
type report struct {
	opts            options
	floor, exporter phaseResult
	when            time.Time
	cpus            int
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
	name, unit      string
	floor, exporter float64
	ratio           bool // print exporter/floor
}

func (r report) rows() []row {
	f, e := r.floor, r.exporter
	per := func(cpu float64, n int64) float64 {
		if n == 0 {
			return 0
		}
		return cpu / float64(n)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return []row{
		{"probes/s (floor: fetch pairs/s)", "1/s", float64(f.probes) / f.duration.Seconds(), float64(e.probes) / e.duration.Seconds(), true},
		{"p50 latency", "ms", ms(quantile(f.latencies, 0.5)), ms(quantile(e.latencies, 0.5)), true},
		{"p99 latency", "ms", ms(quantile(f.latencies, 0.99)), ms(quantile(e.latencies, 0.99)), true},
		{"CPU per probe (floor: client CPU per fetch pair)", "ms", 1000 * per(f.cpu, f.probes), 1000 * per(e.cpu, e.probes), true},
		{"CPU share of one core", "%", 100 * f.cpu / f.duration.Seconds(), 100 * e.cpu / e.duration.Seconds(), true},
		{"peak RSS (VmHWM)", "MiB", f.rssKiB / 1024, e.rssKiB / 1024, true},
		{"Go heap in use at the end", "MiB", f.heapMiB, e.heapMiB, true},
		{"Go stacks in use at the end", "MiB", f.stackMiB, e.stackMiB, true},
		{"goroutines (peak sampled)", "", f.goroutines, e.goroutines, true},
		{"upstream requests per probe", "", f.upstreamPerProbe, e.upstreamPerProbe, true},
		{"mock CPU per probe", "ms", 1000 * per(f.mockCPU, f.probes), 1000 * per(e.mockCPU, e.probes), true},
		{"errors", "", float64(f.errors), float64(e.errors), false},
		{"probes measured", "", float64(f.probes), float64(e.probes), false},
	}
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
	b.WriteString("\n| metric | floor | exporter | exporter / floor |\n|---|---:|---:|---:|\n")
	for _, rw := range r.rows() {
		name := rw.name
		if rw.unit != "" {
			name += " (" + rw.unit + ")"
		}
		ratio := ""
		if rw.ratio && rw.floor != 0 {
			ratio = fmt.Sprintf("%.2f×", rw.exporter/rw.floor)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, fmtNum(rw.floor), fmtNum(rw.exporter), ratio)
	}
	if len(r.floor.firstErrors)+len(r.exporter.firstErrors) > 0 {
		b.WriteString("\nFirst errors:\n")
		for _, e := range r.floor.firstErrors {
			fmt.Fprintf(&b, "- floor: %s\n", e)
		}
		for _, e := range r.exporter.firstErrors {
			fmt.Fprintf(&b, "- exporter: %s\n", e)
		}
	}
	return b.String()
}

func (r report) csv() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"n", "interval_seconds", "metric", "unit", "floor", "exporter", "ratio"})
	for _, rw := range r.rows() {
		ratio := ""
		if rw.ratio && rw.floor != 0 {
			ratio = strconv.FormatFloat(rw.exporter/rw.floor, 'g', 4, 64)
		}
		_ = w.Write([]string{strconv.Itoa(r.opts.n), fmtNum(r.opts.interval.Seconds()), rw.name, rw.unit,
			strconv.FormatFloat(rw.floor, 'g', 6, 64), strconv.FormatFloat(rw.exporter, 'g', 6, 64), ratio})
	}
	w.Flush()
	return buf.Bytes()
}
