//go:build linux

package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// goal is the bound on every request.
const goal = time.Second

type report struct {
	opts          options
	when          time.Time
	cpus          int
	promVersion   string
	promNote      string
	load          []string
	series        int
	samples       int
	headSeries    float64
	promRSS       uint64
	histFrom      time.Time
	histTo        time.Time
	backfillRaw   time.Duration
	backfillRules time.Duration
	expanded      []int // recorded series expanded per query
	mismatch      []string
	queries       []query
	results       measured
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func (r *report) cell(x result) (p50, mx string) {
	if len(x.times) == 0 {
		if strings.Contains(x.err, "timed out") || strings.Contains(x.err, "deadline exceeded") {
			t := "> " + ms(r.opts.timeout) + " (timeout)"
			return t, t
		}
		if x.err != "" {
			return "error", "error"
		}
		return "", ""
	}
	p50, mx = ms(x.quantile(0.5)), ms(x.max())
	if x.err != "" {
		mx += " (+error)"
	}
	return p50, mx
}

// within says whether every request of the variant and mode answered, each
// time, within the goal.
func (r *report) within(v, mode int) (bool, time.Duration, string, []string) {
	ok, worst, which := true, time.Duration(0), ""
	var failed []string
	for i, q := range r.queries {
		x := r.results[i][v][mode]
		if mode == 1 && q.Kind != "instant" {
			continue
		}
		if x.err != "" || len(x.times) == 0 {
			ok = false
			failed = append(failed, q.name())
			continue
		}
		if m := x.max(); m > worst {
			worst, which = m, q.name()
		}
		if x.max() > goal {
			ok = false
		}
	}
	return ok, worst, which, failed
}

func (r *report) write() error {
	o := r.opts
	var b strings.Builder
	fmt.Fprintf(&b, "# Fleet dashboard at %d containers (`make bench-dashboard`)\n\n", o.n)
	fmt.Fprintf(&b, "Measured %s on %d CPUs (shared with other work: load averages below; times are wall clock *under load*). %s.\n\n", r.when.Format(time.RFC3339), r.cpus, r.promVersion)
	if r.promNote != "" {
		fmt.Fprintf(&b, "**Note:** %s.\n\n", r.promNote)
	}
	fmt.Fprintf(&b, "- Fleet: %d mock containers (half HK3, half immersion, 12 miners, over %d sites) on 127.x loopback addresses, one exporter (`--web.probe-compression=none`), Prometheus scraping every container every %s through `/sd` with `%s` loaded (rules evaluated every %s).\n", o.n, o.sites, o.interval, o.rulesFile, o.interval)
	fmt.Fprintf(&b, "- History: the %d series the fleet dashboard reads (every series matched by a selector of its queries, with the recording rules expanded, and of the rules' own expressions; derived from the dashboard JSON and the rule file), taken from one real `/probe` of each container and backfilled from %s to %s UTC every %s (%d samples; measurements wander by up to ±6 %% around the probed value (a 6 h and a 42 min swing), fault flags set now began at a random time in the window, one flag series in 20 had an episode) with `promtool tsdb create-blocks-from openmetrics` in **%s**; the recording rules' history with `promtool tsdb create-blocks-from rules` against that Prometheus, level by level (rules reading rules after those), in **%s**. Other series (per-miner, exporter self-metrics, …) have live data only; ALERTS has no history (only instant queries read it).\n",
		r.series, r.histFrom.Format("15:04"), r.histTo.Format("15:04"), o.interval, r.samples, r.backfillRaw.Round(time.Second), r.backfillRules.Round(time.Second))
	fmt.Fprintf(&b, "- Prometheus head series while measuring: %.0f (all series of every probe, live); Prometheus peak RSS %.0f MiB.\n", r.headSeries, float64(r.promRSS)/(1<<20))
	fmt.Fprintf(&b, "- Requests: every query of `dashboards/antspace-fleet.json` as Grafana sends them for the default range now-%s, variables at All (site `.*`, container `.+`): the variables' label values (with the range), instant queries at now, range queries now-%s..now aligned to the step, step = Grafana's interval: %s / the panel's max data points (its width in pixels on a %d px dashboard, or maxDataPoints), rounded as Grafana rounds it, at least %s (full-width panels 15 s, half-width 20 s). Each request %d times, the two variants one after the other, over HTTP (POST) while scraping goes on; p50 and max of the wall time until the whole answer was read.\n",
		promDuration(o.rng), promDuration(o.rng), promDuration(o.rng), o.screenPx, o.interval, o.reps)
	fmt.Fprintf(&b, "- Variants: **recording rules** = the dashboard as generated; **rules expanded** = each recorded series (`container:…`, `site:…`) replaced by its rule's expression from the rule file, the selector's matchers moved inside (what the dashboard would ask without the rules).\n")
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min): %s.\n\n", strings.Join(r.load, "; "))

	for v := range variantNames {
		ok, worst, which, failed := r.within(v, 0)
		verdict := "every request ≤ 1 s"
		if !ok {
			verdict = "**not** every request ≤ 1 s"
		}
		fmt.Fprintf(&b, "**%s:** %s (slowest answered: %s, max %s ms", variantNames[v], verdict, which, ms(worst))
		if len(failed) > 0 {
			fmt.Fprintf(&b, "; no answer within %s: %s", r.opts.timeout, strings.Join(failed, ", "))
		}
		b.WriteString(").  \n")
	}
	b.WriteString("\n| panel | query | kind | step | results | rules p50 (ms) | rules max (ms) | expanded p50 (ms) | expanded max (ms) | rules expanded |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	var rows [][]string
	rows = append(rows, []string{"panel", "ref", "kind", "step_s", "results", "rules_p50_ms", "rules_max_ms", "expanded_p50_ms", "expanded_max_ms", "records_expanded", "as_range_rules_p50_ms", "as_range_rules_max_ms", "as_range_expanded_p50_ms", "as_range_expanded_max_ms"})
	for i, q := range r.queries {
		a50, amax := r.cell(r.results[i][0][0])
		e50, emax := r.cell(r.results[i][1][0])
		step := ""
		if q.Kind == "range" {
			step = promDuration(q.Step)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %d |\n", q.Panel, q.RefID, q.Kind, step, r.results[i][0][0].results, a50, amax, e50, emax, r.expanded[i])
		ra50, ramax := r.cell(r.results[i][0][1])
		re50, remax := r.cell(r.results[i][1][1])
		rows = append(rows, []string{q.Panel, q.RefID, q.Kind, strconv.FormatFloat(q.Step.Seconds(), 'f', -1, 64), strconv.Itoa(r.results[i][0][0].results),
			a50, amax, e50, emax, strconv.Itoa(r.expanded[i]), ra50, ramax, re50, remax})
	}
	if o.rangeReps > 0 {
		fmt.Fprintf(&b, "\nThe instant queries asked as **range** queries instead (now-%s..now, the step the panel would have, %d times each; Grafana sends them as instant queries, so this is the cost if a panel were switched to a time series):\n\n", promDuration(o.rng), o.rangeReps)
		b.WriteString("| panel | query | step | rules p50 (ms) | rules max (ms) | expanded p50 (ms) | expanded max (ms) |\n|---|---|---:|---:|---:|---:|---:|\n")
		for i, q := range r.queries {
			if q.Kind != "instant" {
				continue
			}
			a50, amax := r.cell(r.results[i][0][1])
			e50, emax := r.cell(r.results[i][1][1])
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", q.Panel, q.RefID, promDuration(q.Step), a50, amax, e50, emax)
		}
	}
	if len(r.mismatch) > 0 {
		b.WriteString("\nQueries whose two variants returned different numbers of series at one instant (the expansion is not the same query there):\n\n")
		for _, m := range r.mismatch {
			fmt.Fprintf(&b, "- %s\n", m)
		}
	} else {
		b.WriteString("\nBoth variants of every query that reads a recorded series returned the same number of series at one instant (checked before measuring).\n")
	}
	for i, q := range r.queries {
		for v := range variantNames {
			for mode := range 2 {
				if e := r.results[i][v][mode].err; e != "" {
					fmt.Fprintf(&b, "\nError, %s, %s: %s\n", q.name(), variantNames[v], e)
				}
			}
		}
	}

	fmt.Print("\n" + b.String())
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	base := filepath.Join(o.out, fmt.Sprintf("dashboard-n%d", o.n))
	if err := os.WriteFile(base+".md", []byte(b.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(base + ".csv")
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		_ = f.Close() // the write error is the one to report
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("wrote %s.md and .csv\n", base)
	return nil
}
