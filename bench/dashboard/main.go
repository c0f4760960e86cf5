//go:build linux

// Command dashboard measures the fleet dashboard at scale (issue #18,
// `make bench-dashboard`): it starts a mock fleet of N containers on
// loopback addresses, the exporter, and Prometheus 3 scraping all of them
// every 15 s with rules/antspace.rules.yml loaded; gives Prometheus the
// dashboard's default time range of history (6 h) by backfilling the
// series the dashboard reads with promtool (openmetrics, from real /probe
// answers) and the recording rules' history with promtool (rules); then
// times every request the fleet dashboard makes when it loads (Grafana's
// variables, instant and range queries with Grafana's step) while
// scraping goes on, once as generated (recording rules) and once with
// every recorded series expanded to the rule's expression. Results go to
// bench/results/dashboard-n<N>.md and .csv.
//
//	make bench-dashboard                         # N=2000
//	BENCH_N=3000 make bench-dashboard
//	go run ./bench/dashboard -n 200 -reps 3      # a quick try
//
// Only loopback addresses are used.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
)

type options struct {
	n          int
	sites      int
	perMock    int
	fleetStart string
	bin        string
	out        string
	promDir    string
	rulesFile  string
	interval   time.Duration
	rng        time.Duration
	screenPx   int
	reps       int
	rangeReps  int
	timeout    time.Duration
	keep       bool
}

func main() {
	home, _ := os.UserHomeDir()
	promDir := os.Getenv("ANTSPACE_PROM3_DIR")
	if promDir == "" {
		promDir = filepath.Join(home, ".cache", "antspace", "prom3")
	}
	o := options{}
	flag.IntVar(&o.n, "n", envInt("BENCH_N", 2000), "containers in the mock fleet (env BENCH_N)")
	flag.IntVar(&o.sites, "sites", 4, "sites the containers are spread over (the site label)")
	flag.IntVar(&o.perMock, "mock.per-process", 3000, "containers per mock process")
	flag.StringVar(&o.fleetStart, "fleet.start", envString("BENCH_FLEET_START", "127.88.0.1:19100"), "first mock address; the fleet takes consecutive 127.x addresses (not bench's 127.77, so both can run)")
	flag.StringVar(&o.bin, "bin", envString("BIN", "bin"), "directory with antspace_exporter and antspace_mock (make build)")
	flag.StringVar(&o.out, "out", "bench/results", "directory for the markdown and CSV results")
	flag.StringVar(&o.promDir, "prom3", promDir, "directory with Prometheus 3's prometheus and promtool (make prom3); /usr/bin is the fallback")
	flag.StringVar(&o.rulesFile, "rules", "rules/antspace.rules.yml", "rule file Prometheus loads")
	flag.DurationVar(&o.interval, "interval", 15*time.Second, "scrape and rule evaluation interval, and the backfill's step")
	flag.DurationVar(&o.rng, "range", 6*time.Hour, "the dashboard's time range (its default is now-6h)")
	flag.IntVar(&o.screenPx, "screen-px", 1920, "dashboard width in pixels: a panel's width in pixels is its max data points, as in Grafana")
	flag.IntVar(&o.reps, "reps", 5, "repetitions of each request")
	flag.IntVar(&o.rangeReps, "range-reps", 2, "repetitions of each instant query also asked as a range query (0: skip)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "Prometheus query timeout per request")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (Prometheus data, logs)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/dashboard:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.n <= 0 || o.n > 20000 {
		return fmt.Errorf("-n %d: want 1..20000", o.n)
	}
	rep := &report{opts: o, when: time.Now().UTC(), cpus: runtime.NumCPU()}
	rep.load = append(rep.load, loadAvg("start"))
	promBin, promtool, note := findPrometheus(o.promDir)
	rep.promNote = note
	if note != "" {
		fmt.Println("note:", note)
	}
	rep.promVersion = version(promBin)

	rulesFile, err := filepath.Abs(o.rulesFile)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		return err
	}
	rules, err := parseRules(b)
	if err != nil {
		return err
	}
	view := grafanaView{Range: o.rng, MinInterval: o.interval, ScreenPx: o.screenPx}
	qs, err := fleetQueries(view)
	if err != nil {
		return err
	}
	variants := [2][]query{qs, make([]query, len(qs))}
	copy(variants[1], qs)
	var exprs []string
	for i := range variants[1] {
		e, n, err := rules.expand(qs[i].Expr)
		if err != nil {
			return fmt.Errorf("%s: %w", qs[i].name(), err)
		}
		variants[1][i].Expr = e
		rep.expanded = append(rep.expanded, n)
		exprs = append(exprs, qs[i].Expr, e)
	}
	for _, r := range rules.records {
		exprs = append(exprs, rules.expr[r].String())
	}
	sels, err := rules.rawSelectors(exprs)
	if err != nil {
		return err
	}

	tmp, cleanup, err := harness.WorkDir("antspace-dashboard-", o.keep)
	if err != nil {
		return err
	}
	defer cleanup()
	nofile := harness.RaiseNoFile(uint64(3*max(o.n, 0) + 4096)) //nolint:gosec // o.n is checked positive above
	fmt.Printf("fleet of %d containers from %s, Prometheus %s (%s), RLIMIT_NOFILE %d, %d CPUs\n", o.n, o.fleetStart, promBin, rep.promVersion, nofile, rep.cpus)
	fl, err := harness.StartFleet(harness.FleetOptions{
		Mock: filepath.Join(o.bin, "antspace_mock"), N: o.n, PerProcess: o.perMock, Start: o.fleetStart, Dir: tmp, Sites: o.sites,
	})
	if fl != nil {
		defer fl.Stop()
	}
	if err != nil {
		return err
	}
	exp, err := harness.StartExporter(harness.ExporterOptions{
		Bin: filepath.Join(o.bin, "antspace_exporter"),
		// Prometheus runs on the same host: no gzip (docs/performance.md).
		Args:    []string{"--config.file", fl.Inventory, "--log.level", "warn", "--web.probe-compression=none", "--upstream.max-connections-per-container=1"},
		LogFile: filepath.Join(tmp, "exporter.log"),
	})
	if err != nil {
		return err
	}
	defer exp.Stop()

	// 1. The series the dashboard reads, from one real probe of each container.
	start := time.Now()
	ss, err := probeFleet(exp.URL, sels)
	if err != nil {
		return err
	}
	rep.series = len(ss)
	fmt.Printf("%d series the fleet dashboard reads (from %d selectors), from one /probe of each container in %s\n", len(ss), len(sels), time.Since(start).Round(time.Millisecond))

	// 2. Their history, backfilled with promtool before Prometheus starts.
	dataDir := filepath.Join(tmp, "data")
	to := time.Now().Truncate(o.interval)
	from := to.Add(-o.rng - 15*time.Minute) // the range's start has a lookback too
	rep.histFrom, rep.histTo = from, to
	start = time.Now()
	samples, err := backfillOpenMetrics(promtool, tmp, dataDir, ss, from, to, o.interval)
	if err != nil {
		return err
	}
	rep.samples, rep.backfillRaw = samples, time.Since(start)
	fmt.Printf("backfilled %d samples (%d series, %s .. %s) in %s\n", samples, len(ss), from.Format(time.TimeOnly), to.Format(time.TimeOnly), rep.backfillRaw.Round(time.Second))
	rep.load = append(rep.load, loadAvg("after the raw backfill"))

	// 3. Prometheus, scraping the fleet.
	expAddr := strings.TrimPrefix(exp.URL, "http://")
	prom, err := startPrometheus(promBin, tmp, promConfig(expAddr, rulesFile, o.interval), dataDir)
	if err != nil {
		return err
	}
	defer prom.Stop()
	if err := prom.WaitUntil(5*time.Minute, "every container scraped (count(up == 1) = N)", func() bool {
		v, err := prom.scalar(`count(up{job="antspace"} == 1)`, time.Time{})
		return err == nil && int(v) == o.n
	}); err != nil {
		return err
	}
	fmt.Println("Prometheus scrapes every container")

	// 4. The recording rules' history, level by level.
	start = time.Now()
	if err := backfillRules(promtool, prom, tmp, dataDir, rules, from, to, o.interval); err != nil {
		return err
	}
	rep.backfillRules = time.Since(start)
	fmt.Printf("backfilled the recording rules in %s\n", rep.backfillRules.Round(time.Second))

	// 5. Let Prometheus load and compact the blocks before measuring.
	if err := settle(prom); err != nil {
		return err
	}
	rep.load = append(rep.load, loadAvg("before measuring"))
	if rep.headSeries, err = prom.self("prometheus_tsdb_head_series"); err != nil {
		return err
	}

	// 6. Both variants answer alike, then the measurement.
	rep.mismatch = compareVariants(prom, variants, rep.expanded)
	rep.queries, rep.results = qs, measure(prom, o, variants)
	rep.load = append(rep.load, loadAvg("after measuring"))
	if err := errorsJoin(fl.Alive(), exp.Alive(), prom.Alive()); err != nil {
		return err
	}
	if rss, err := harness.ReadMemory(prom.PID()); err == nil {
		rep.promRSS = rss.PeakRSS
	}
	return rep.write()
}

// findPrometheus returns Prometheus 3 from dir (make prom3), or the one
// in /usr/bin with a note.
func findPrometheus(dir string) (prom, promtool, note string) {
	p, t := filepath.Join(dir, "prometheus"), filepath.Join(dir, "promtool")
	if isExec(p) && isExec(t) {
		return p, t, ""
	}
	return "/usr/bin/prometheus", "/usr/bin/promtool", fmt.Sprintf("Prometheus 3 not found in %s (run make prom3); using /usr/bin/prometheus and /usr/bin/promtool instead", dir)
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&0o111 != 0
}

func version(bin string) string {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// probeFleet reads the exporter's /sd and probes each container once (8 at
// a time), keeping the series a selector of the dashboard reads.
func probeFleet(base string, sels [][]*labels.Matcher) ([]series, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(base + "/sd")
	if err != nil {
		return nil, err
	}
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	err = json.NewDecoder(resp.Body).Decode(&groups)
	_ = resp.Body.Close() // decoded; nothing to do on a close error
	if err != nil {
		return nil, err
	}
	type job struct {
		target string
		labels map[string]string
	}
	jobs := make(chan job)
	var (
		mu   sync.Mutex
		out  []series
		errs []error
		wg   sync.WaitGroup
	)
	keep := func(ls labels.Labels) bool { return matchesAny(ls, sels) }
	for range 8 {
		wg.Go(func() {
			for j := range jobs {
				ss, err := probeOne(client, base, j.target, j.labels, keep)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				out = append(out, ss...)
				mu.Unlock()
			}
		})
	}
	for _, g := range groups {
		for _, t := range g.Targets {
			// The labels Prometheus gives the target: the group's labels
			// without the __ ones, job, and instance from the relabelling.
			ls := map[string]string{"job": "antspace", "instance": t}
			for k, v := range g.Labels {
				if !strings.HasPrefix(k, "__") {
					ls[k] = v
				}
			}
			if m, ok := g.Labels["__param_module"]; ok {
				ls["__param_module"] = m
			}
			jobs <- job{target: t, labels: ls}
		}
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("%d probes failed, first: %w", len(errs), errs[0])
	}
	slices.SortFunc(out, func(a, b series) int { return labels.Compare(a.ls, b.ls) })
	return out, nil
}

func probeOne(client *http.Client, base, target string, ls map[string]string, keep func(labels.Labels) bool) ([]series, error) {
	q := url.Values{"target": {target}}
	if m := ls["__param_module"]; m != "" {
		q.Set("module", m)
	}
	tl := map[string]string{}
	for k, v := range ls {
		if !strings.HasPrefix(k, "__") {
			tl[k] = v
		}
	}
	resp, err := client.Get(base + "/probe?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // read below
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("probe %s: %s", target, resp.Status)
	}
	return probeSeries(body, tl, keep)
}

func loadAvg(when string) string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return when + ": unknown"
	}
	f := strings.Fields(string(b))
	return fmt.Sprintf("%s: %s %s %s", when, f[0], f[1], f[2])
}

func envString(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(key), &v); err == nil {
		return v
	}
	return def
}
