//go:build linux

package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// variantNames are the two variants measured: the dashboard as generated,
// and its queries with the recorded series expanded.
var variantNames = [2]string{"recording rules", "rules expanded"}

// result is one request measured repeatedly.
type result struct {
	times   []time.Duration
	results int // series (or label values) in the last answer
	err     string
}

func (r result) quantile(q float64) time.Duration {
	if len(r.times) == 0 {
		return 0
	}
	s := slices.Clone(r.times)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func (r result) max() time.Duration {
	if len(r.times) == 0 {
		return 0
	}
	return slices.Max(r.times)
}

// measured holds results per query index, variant, and mode (0: as
// Grafana asks, 1: an instant query asked as a range query).
type measured [][2][2]result

// measure asks every request o.reps times, the two variants of a request
// one after the other so that background load hits both alike; then each
// instant query as a range query o.rangeReps times.
func measure(prom *prometheus, o options, variants [2][]query) measured {
	res := make(measured, len(variants[0]))
	for rep := range o.reps {
		fmt.Printf("repetition %d/%d of %d requests × 2 variants ...\n", rep+1, o.reps, len(res))
		for i := range res {
			for v := range variants {
				if res[i][v][0].err == "" { // a request that failed (timed out) once is not asked again
					res[i][v][0].add(ask(prom, variants[v][i], false, o))
				}
			}
		}
	}
	for rep := range o.rangeReps {
		fmt.Printf("instant queries as range queries, repetition %d/%d ...\n", rep+1, o.rangeReps)
		for i := range res {
			if variants[0][i].Kind != "instant" {
				continue
			}
			for v := range variants {
				if res[i][v][1].err == "" {
					res[i][v][1].add(ask(prom, variants[v][i], true, o))
				}
			}
		}
	}
	return res
}

func (r *result) add(d time.Duration, n int, err error) {
	if err != nil {
		r.err = err.Error()
		return
	}
	r.times = append(r.times, d)
	r.results = n
}

// ask sends one request the way Grafana sends it for the range now-rng..now:
// label values with the range, an instant query at now, a range query from
// and to the step-aligned range ends with the panel's step.
func ask(prom *prometheus, q query, asRange bool, o options) (time.Duration, int, error) {
	now := time.Now()
	form := url.Values{"timeout": {o.timeout.String()}}
	path := "/api/v1/query"
	switch {
	case q.Kind == "label":
		path = "/api/v1/label/" + q.Label + "/values"
		form = url.Values{"match[]": {q.Expr}, "start": {formatTime(now.Add(-o.rng))}, "end": {formatTime(now)}}
	case q.Kind == "range" || asRange:
		path = "/api/v1/query_range"
		form.Set("query", q.Expr)
		form.Set("start", formatTime(now.Add(-o.rng).Truncate(q.Step)))
		form.Set("end", formatTime(now.Truncate(q.Step)))
		form.Set("step", strconv.FormatFloat(q.Step.Seconds(), 'f', -1, 64))
	default:
		form.Set("query", q.Expr)
		form.Set("time", formatTime(now))
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout+30*time.Second)
	defer cancel()
	return prom.post(ctx, path, form)
}

// compareVariants asks each query that the expansion changed in both
// variants at one instant (a minute ago, so the rules have been evaluated)
// and lists those that return different numbers of series.
func compareVariants(prom *prometheus, variants [2][]query, expanded []int) []string {
	at := time.Now().Add(-time.Minute)
	var out []string
	for i, q := range variants[0] {
		if q.Kind == "label" || expanded[i] == 0 {
			continue
		}
		a, errA := prom.seriesCount(q.Expr, at)
		b, errB := prom.seriesCount(variants[1][i].Expr, at)
		if errA != nil || errB != nil || a != b {
			out = append(out, fmt.Sprintf("%s: %d series with rules, %d expanded (%v, %v)", q.name(), a, b, errA, errB))
		}
	}
	return out
}
