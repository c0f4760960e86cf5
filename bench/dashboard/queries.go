package main

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/antspace-exporter/antspace_exporter/dashboards"
)

// query is one request the fleet dashboard makes when it loads, as Grafana
// sends it: a template variable's label values, an instant query, or a
// range query with a step.
type query struct {
	Panel, RefID string
	Kind         string        // "label", "instant" or "range"
	Expr         string        // PromQL with the variables substituted; for "label" the match[] selector
	Label        string        // for "label": the label whose values are listed
	Step         time.Duration // range queries: the step; instant queries: the step they would have as a range query
}

func (q query) name() string {
	if q.Kind == "label" {
		return q.Panel
	}
	return q.Panel + " " + q.RefID
}

// grafanaView is what Grafana's interval calculation depends on.
type grafanaView struct {
	Range       time.Duration // the dashboard's time range (now-6h: 6h)
	MinInterval time.Duration // the data source's minimum interval (its scrape interval)
	ScreenPx    int           // dashboard width in pixels: a panel w columns wide is w/24 of it
}

// interval is Grafana's $__interval for a panel: range / max data points
// (the panel's maxDataPoints, else its width in pixels), rounded as Grafana
// rounds it, at least MinInterval.
func (v grafanaView) interval(width, maxDataPoints int) time.Duration {
	points := maxDataPoints
	if points <= 0 {
		points = max(1, v.ScreenPx*width/24)
	}
	iv := roundInterval(v.Range / time.Duration(points))
	return max(iv, v.MinInterval)
}

// roundInterval is Grafana's rounding of a computed interval (kbn.ts
// roundInterval), from 10 ms up to a year.
func roundInterval(d time.Duration) time.Duration {
	ms := d.Milliseconds()
	steps := []struct{ below, to int64 }{
		{15, 10}, {35, 20}, {75, 50}, {150, 100}, {350, 200}, {750, 500},
		{1500, 1000}, {3500, 2000}, {7500, 5000}, {12500, 10000}, {17500, 15000},
		{25000, 20000}, {45000, 30000}, {90000, 60000}, {210000, 120000},
		{450000, 300000}, {750000, 600000}, {1050000, 900000}, {1500000, 1200000},
		{2700000, 1800000}, {5400000, 3600000}, {9000000, 7200000}, {16200000, 10800000},
		{32400000, 21600000}, {86400000, 43200000}, {604800000, 86400000},
		{1814400000, 604800000}, {3628800000, 2592000000},
	}
	for _, s := range steps {
		if ms < s.below {
			return time.Duration(s.to) * time.Millisecond
		}
	}
	return 365 * 24 * time.Hour
}

// fleetQueries returns every request of the committed fleet dashboard with
// its template variables at "All" (their allValue) and Grafana's built-in
// variables for the view: $__interval per panel, $__range the time range,
// $__rate_interval max($__interval + min interval, 4 × min interval).
func fleetQueries(v grafanaView) ([]query, error) {
	all, err := dashboards.CommittedAllValues(dashboards.FleetUID)
	if err != nil {
		return nil, err
	}
	// The dashboard variables now; Grafana's built-ins, which depend on
	// the panel, stay references for the second pass below.
	keep := maps.Clone(all)
	for _, b := range builtins {
		keep[b] = "${" + b + "}"
	}
	qs, err := dashboards.CommittedQueries(keep)
	if err != nil {
		return nil, err
	}
	var out []query
	for _, q := range qs {
		if q.Dashboard != dashboards.FleetUID {
			continue
		}
		iv := v.interval(q.Width, q.MaxDataPoints)
		vars := map[string]string{
			"__interval":      promDuration(iv),
			"__interval_ms":   strconv.FormatInt(iv.Milliseconds(), 10),
			"__range":         promDuration(v.Range),
			"__range_s":       strconv.FormatInt(int64(v.Range.Seconds()), 10),
			"__range_ms":      strconv.FormatInt(v.Range.Milliseconds(), 10),
			"__rate_interval": promDuration(max(iv+v.MinInterval, 4*v.MinInterval)),
		}
		expr, err := dashboards.Substitute(q.Expr, vars)
		if err != nil {
			return nil, err
		}
		out = append(out, toQuery(q, expr, iv))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the fleet dashboard has no queries")
	}
	return out, nil
}

func toQuery(q dashboards.Query, expr string, iv time.Duration) query {
	switch {
	case q.Label != "":
		return query{Panel: q.Panel, RefID: q.RefID, Kind: "label", Expr: expr, Label: q.Label}
	case q.Instant:
		return query{Panel: q.Panel, RefID: q.RefID, Kind: "instant", Expr: expr, Step: iv}
	default:
		return query{Panel: q.Panel, RefID: q.RefID, Kind: "range", Expr: expr, Step: iv}
	}
}

// builtins are Grafana's variables that depend on the panel and the range.
var builtins = []string{"__interval", "__interval_ms", "__range", "__range_s", "__range_ms", "__rate_interval"}

// promDuration writes d the way Grafana writes intervals ("15s", "6h").
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	default:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
}
