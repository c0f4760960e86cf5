package main

import (
	"strings"
	"testing"
	"time"
)

func TestGrafanaInterval(t *testing.T) {
	for _, c := range []struct {
		in, want time.Duration
	}{
		{11250 * time.Millisecond, 10 * time.Second},
		{16 * time.Second, 15 * time.Second},
		{22500 * time.Millisecond, 20 * time.Second},
		{67500 * time.Millisecond, time.Minute},
		{2160 * time.Millisecond, 2 * time.Second},
	} {
		if got := roundInterval(c.in); got != c.want {
			t.Errorf("roundInterval(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	v := grafanaView{Range: 6 * time.Hour, MinInterval: 15 * time.Second, ScreenPx: 1920}
	for _, c := range []struct {
		width, maxPoints int
		want             time.Duration
	}{
		{24, 0, 15 * time.Second},     // 1920 px: 11.25 s → 10 s, raised to the 15 s minimum
		{12, 0, 20 * time.Second},     // 960 px: 22.5 s → 20 s
		{4, 0, time.Minute},           // 320 px: 67.5 s → 1 m
		{24, 10000, 15 * time.Second}, // maxDataPoints 10000: 2.16 s → 2 s → 15 s
	} {
		if got := v.interval(c.width, c.maxPoints); got != c.want {
			t.Errorf("interval(w=%d, maxDataPoints=%d) = %s, want %s", c.width, c.maxPoints, got, c.want)
		}
	}
}

// fleetQueries returns every query of the committed fleet dashboard with
// no variable left, as Grafana would send it at "All".
func TestFleetQueriesAsGrafanaSendsThem(t *testing.T) {
	qs, err := fleetQueries(grafanaView{Range: 6 * time.Hour, MinInterval: 15 * time.Second, ScreenPx: 1920})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, q := range qs {
		kinds[q.Kind]++
		if strings.Contains(q.Expr, "$") {
			t.Errorf("%s: variable left in %s", q.name(), q.Expr)
		}
		if q.Kind != "label" && !strings.Contains(q.Expr, `site=~".*"`) {
			t.Errorf("%s: want the site variable at All (.*): %s", q.name(), q.Expr)
		}
		if q.Kind == "range" && q.Step != 15*time.Second && q.Step != 20*time.Second {
			t.Errorf("%s: step %s, want 15 s (full width) or 20 s (half width)", q.name(), q.Step)
		}
		if q.Panel == "Active faults" && q.RefID == "B" && !strings.Contains(q.Expr, "[6h:15s]") {
			t.Errorf("Active faults B: want $__range:$__interval as 6h:15s: %s", q.Expr)
		}
		if q.Panel == "Containers" && !strings.Contains(q.Expr, `container=~".+"`) {
			t.Errorf("%s: want the container variable at All (.+): %s", q.name(), q.Expr)
		}
	}
	if kinds["label"] != 2 || kinds["range"] < 6 || kinds["instant"] < 20 {
		t.Errorf("kinds %v: want the 2 variables, ≥ 6 range and ≥ 20 instant queries", kinds)
	}
}
