package main

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// series is one series as Prometheus stores it from a probe scrape: the
// exporter's labels plus the target's, and the value of the last probe.
type series struct {
	ls    labels.Labels
	value float64
}

// probeSeries parses one /probe answer (Prometheus text format) into
// series with the target's labels added as Prometheus adds them (job,
// instance and the /sd target labels; the exposition carries none of them,
// so there is nothing to rename), plus the scrape's up = 1. Only series
// keep accepts are returned.
func probeSeries(text []byte, target map[string]string, keep func(labels.Labels) bool) ([]series, error) {
	tp := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := tp.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return nil, err
	}
	add := func(out []series, l labels.Labels, v float64) []series {
		b := labels.NewBuilder(l)
		for k, val := range target {
			b.Set(k, val)
		}
		ls := b.Labels()
		if keep(ls) {
			out = append(out, series{ls: ls, value: v})
		}
		return out
	}
	out := add(nil, labels.FromStrings(model.MetricNameLabel, "up"), 1)
	names := slices.Sorted(maps.Keys(mfs))
	for _, name := range names {
		mf := mfs[name]
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				v = m.GetUntyped().GetValue()
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			default:
				continue // summaries and histograms: the dashboard reads none
			}
			b := labels.NewScratchBuilder(len(m.GetLabel()) + 1)
			b.Add(model.MetricNameLabel, name)
			for _, lp := range m.GetLabel() {
				b.Add(lp.GetName(), lp.GetValue())
			}
			b.Sort()
			out = add(out, b.Labels(), v)
		}
	}
	return out, nil
}

// shape is how a series' history varies: flags (0/1) stay at their value
// with rare episodes, counts stay constant, measurements wander around
// their value.
type shape int

const (
	shapeMeasure shape = iota
	shapeFlag
	shapeConstant
)

func shapeOf(s series) shape {
	name := s.ls.Get(model.MetricNameLabel)
	switch {
	case s.value == 0 || s.value == 1:
		if name == "up" || strings.HasSuffix(name, "_up") || strings.HasSuffix(name, "_active") {
			return shapeFlag
		}
		return shapeConstant
	case s.value == math.Trunc(s.value) && !strings.HasSuffix(name, "_celsius") && !strings.HasSuffix(name, "_pascals") &&
		!strings.HasSuffix(name, "_watts") && !strings.HasSuffix(name, "_per_second"):
		return shapeConstant
	}
	return shapeMeasure
}

// history generates a series' values from `from` to `to` (exclusive)
// every step, ending near its current value, deterministically from the
// series' labels:
//   - measurements: the current value times 1 ± at most 6 % (a 6 h
//     swing of ±4 %, a 42 min one of ±1.6 % and a little noise), 2 decimals
//   - flags: the current value, except that one series in 20 had an episode
//     of the other value (10 min to 1 h) somewhere in the window; a flag
//     set now was set at a random time within the window
//   - counts: constant
type history struct {
	s          series
	kind       shape
	rng        *rand.Rand
	phase1     float64
	phase2     float64
	epStart    time.Time // episode of the other value, [epStart, epEnd)
	epEnd      time.Time
	from, upTo time.Time
}

func newHistory(s series, from, to time.Time) *history {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s.ls.String())) // hash.Hash never fails
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed>>7|1)) //nolint:gosec // plausible test data, reproducible from the labels; nothing secret

	hi := &history{s: s, kind: shapeOf(s), rng: rng, phase1: rng.Float64() * 2 * math.Pi, phase2: rng.Float64() * 2 * math.Pi, from: from, upTo: to}
	if hi.kind == shapeFlag {
		span := to.Sub(from)
		switch {
		case s.value == 1 && strings.HasSuffix(s.ls.Get(model.MetricNameLabel), "_active"):
			// A fault set now began somewhere in the window.
			hi.epStart, hi.epEnd = from, from.Add(time.Duration(rng.Float64()*float64(span)))
		case rng.IntN(20) == 0:
			d := 10*time.Minute + time.Duration(rng.Float64()*float64(50*time.Minute))
			start := from.Add(time.Duration(rng.Float64() * float64(max(span-d, 0))))
			hi.epStart, hi.epEnd = start, start.Add(d)
		}
	}
	return hi
}

func (h *history) at(t time.Time) float64 {
	switch h.kind {
	case shapeFlag:
		if !t.Before(h.epStart) && t.Before(h.epEnd) {
			return 1 - h.s.value
		}
		return h.s.value
	case shapeConstant:
		return h.s.value
	}
	hours := t.Sub(h.upTo).Hours()
	f := 0.02*(math.Sin(2*math.Pi*hours/6+h.phase1)-math.Sin(h.phase1)) +
		0.008*(math.Sin(2*math.Pi*hours/0.7+h.phase2)-math.Sin(h.phase2)) +
		0.002*(h.rng.Float64()-0.5)
	return math.Round(h.s.value*(1+f)*100) / 100
}

// writeOpenMetrics writes the history of ss from `from` to `to`
// (exclusive) every step as OpenMetrics text for promtool tsdb
// create-blocks-from openmetrics: one gauge family per metric name, each
// series' samples in time order, "# EOF" at the end. It returns the number
// of samples written.
func writeOpenMetrics(w io.Writer, ss []series, from, to time.Time, step time.Duration) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	byName := map[string][]series{}
	var names []string
	for _, s := range ss {
		n := s.ls.Get(model.MetricNameLabel)
		if _, ok := byName[n]; !ok {
			names = append(names, n)
		}
		byName[n] = append(byName[n], s)
	}
	slices.Sort(names)
	samples := 0
	var line []byte
	for _, n := range names {
		if _, err := fmt.Fprintf(bw, "# TYPE %s gauge\n", n); err != nil {
			return samples, err
		}
		for _, s := range byName[n] {
			h := newHistory(s, from, to)
			prefix := []byte(n)
			prefix = append(prefix, '{')
			first := true
			s.ls.Range(func(l labels.Label) {
				if l.Name == model.MetricNameLabel {
					return
				}
				if !first {
					prefix = append(prefix, ',')
				}
				first = false
				prefix = append(prefix, l.Name...)
				prefix = append(prefix, '=')
				prefix = strconv.AppendQuote(prefix, l.Value)
			})
			prefix = append(prefix, "} "...)
			for t := from; t.Before(to); t = t.Add(step) {
				line = append(line[:0], prefix...)
				line = strconv.AppendFloat(line, h.at(t), 'g', -1, 64)
				line = append(line, ' ')
				line = strconv.AppendFloat(line, float64(t.UnixMilli())/1000, 'f', -1, 64)
				line = append(line, '\n')
				if _, err := bw.Write(line); err != nil {
					return samples, err
				}
				samples++
			}
		}
	}
	if _, err := bw.WriteString("# EOF\n"); err != nil {
		return samples, err
	}
	return samples, bw.Flush()
}
