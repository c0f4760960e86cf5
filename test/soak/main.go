// Command soak runs the exporter binary against a fleet of simulated
// containers, a share of them misbehaving (the kinds rotate every minute),
// and probes every container like Prometheus would for a while. It prints
// the exporter's resident memory (VmRSS from /proc) and goroutine count
// (go_goroutines from its /metrics) over time, with any probe errors, and
// ends with a verdict: did anything keep growing?
//
//	go run ./test/soak -exporter bin/antspace_exporter -duration 10m
//
// (make soak builds the binary and runs this with SOAK_DURATION.)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

func main() {
	var (
		exporterBin = flag.String("exporter", "bin/antspace_exporter", "exporter binary to soak")
		duration    = flag.Duration("duration", 10*time.Minute, "how long to probe")
		containers  = flag.Int("containers", 60, "simulated containers (half HK3, half Immersion)")
		badShare    = flag.Float64("misbehaving", 0.3, "share of containers misbehaving at any time")
		interval    = flag.Duration("interval", 2*time.Second, "scrape interval per container")
		scrape      = flag.Duration("scrape-timeout", time.Second, "scrape timeout sent in X-Prometheus-Scrape-Timeout-Seconds")
		sample      = flag.Duration("sample", 0, "sampling period of RSS and goroutines (0 = duration/120, at least 2s)")
		rssGrowth   = flag.Float64("max-rss-growth", 0.15, "verdict: largest allowed growth of median RSS from the middle third to the last third")
		keepLogs    = flag.String("exporter-log", "", "write the exporter's log here (default: a temporary file, its tail printed on failure)")
	)
	flag.Parse()
	if *badShare < 0 || *badShare > 1.0/3 {
		fmt.Fprintln(os.Stderr, "soak: -misbehaving must be between 0 and 1/3")
		os.Exit(2)
	}
	if *sample == 0 {
		*sample = max(*duration/120, 2*time.Second)
	}
	if err := run(*exporterBin, *duration, *containers, *badShare, *interval, *scrape, *sample, *rssGrowth, *keepLogs); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// The misbehaviours that rotate through the fleet. Slow beyond the timeout
// and hangs keep upstream requests open until the probe gives up; huge bodies
// stream far past the body limit.
func misbehaviours(scrape time.Duration) []mock.Misbehaviour {
	return []mock.Misbehaviour{
		{Kind: mock.Hang},
		{Kind: mock.Slow, Delay: 3 * scrape},
		{Kind: mock.Slow, Delay: scrape / 10},
		{Kind: mock.HTTP500},
		{Kind: mock.HTTP400},
		{Kind: mock.InvalidJSON},
		{Kind: mock.TruncatedJSON},
		{Kind: mock.WrongTypes},
		{Kind: mock.Nulls},
		{Kind: mock.HugeBody, Size: 64 << 20},
		{Kind: mock.NotOK},
		{Kind: mock.ParamsNull},
		{Kind: mock.ExtraFields},
		{Kind: mock.HTTP500, Operation: "minerInfo"},
		{Kind: mock.Hang, Operation: "minerInfo"},
		// Controllers that break HTTP itself (issue #12).
		{Kind: mock.NotOKParams},
		{Kind: mock.HeaderFlood},
		{Kind: mock.EndlessHeaderLine},
		{Kind: mock.EndlessStatusLine},
		{Kind: mock.InformationalFlood},
		{Kind: mock.TrailerFlood},
		{Kind: mock.HugeContentLength},
		{Kind: mock.UnsolicitedResponse},
	}
}

type sampleRow struct {
	at         time.Duration
	rssKiB     int64
	heapInuse  float64 // bytes, go_memstats_heap_inuse_bytes
	goroutines float64
	fds        float64
	probes     int64
	errors     int64
}

func run(bin string, duration time.Duration, n int, badShare float64, interval, scrape, sampleEvery time.Duration, rssGrowth float64, logPath string) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("exporter binary: %w (run make build)", err)
	}
	dir, err := os.MkdirTemp("", "antspace-soak-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory; nothing to do if it stays

	// The fleet.
	var fleet []*mock.Server
	var inv strings.Builder
	inv.WriteString("containers:\n")
	for i := range n {
		typ := mock.HK3
		if i%2 == 1 {
			typ = mock.Immersion
		}
		name := fmt.Sprintf("soak-%03d", i)
		s, err := mock.Start(mock.Options{Name: name, Type: typ, Seed: int64(i + 1)}, "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer func() { _ = s.Close() }() // the soak is over; the verdict is already out
		fleet = append(fleet, s)
		fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: %s, labels: {site: soak}}\n", name, s.Addr(), typ)
	}
	cfg := filepath.Join(dir, "inventory.yml")
	if err := os.WriteFile(cfg, []byte(inv.String()), 0o600); err != nil {
		return err
	}

	// The exporter.
	if logPath == "" {
		logPath = filepath.Join(dir, "exporter.log")
	}
	exp, err := harness.StartExporter(harness.ExporterOptions{
		Bin:     bin,
		Args:    []string{"--config.file=" + cfg, "--log.level=warn"},
		LogFile: logPath,
		Ready:   15 * time.Second,
	})
	if err != nil {
		return err
	}
	defer exp.Stop()
	base := exp.URL
	fmt.Printf("soak: exporter pid %d on %s, %d containers (%.0f%% misbehaving, rotating every minute), scrape every %v with timeout %v, for %v\n",
		exp.PID(), strings.TrimPrefix(base, "http://"), n, badShare*100, interval, scrape, duration)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Rotate misbehaviours: every minute a different set of containers
	// misbehaves. The mix of kinds stays the same, so the load does too and
	// the first and last parts of the run are comparable.
	kinds := misbehaviours(scrape)
	bad := int(float64(n) * badShare)
	var rotation atomic.Int64
	rotate := func() {
		r := int(rotation.Add(1))
		for _, s := range fleet {
			s.ClearMisbehaviour()
		}
		for j := range bad {
			s := fleet[(r*7+j*3)%n] // distinct for bad <= n/3
			s.Misbehave(kinds[j%len(kinds)])
		}
	}
	rotate()
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				rotate()
			}
		}
	}()

	// Prometheus: one loop per container, staggered.
	client := &http.Client{Timeout: scrape + 2*time.Second}
	var (
		probes, errs atomic.Int64
		errMu        sync.Mutex
		errKinds     = map[string]int{}
		wg           sync.WaitGroup
	)
	noteErr := func(kind string) {
		errs.Add(1)
		errMu.Lock()
		errKinds[kind]++
		errMu.Unlock()
	}
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("soak-%03d", i)
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval * time.Duration(i) / time.Duration(n)):
			}
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				probes.Add(1)
				if kind := probe(ctx, client, base, name, scrape); kind != "" {
					noteErr(kind)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}

	// Sampling.
	var rows []sampleRow
	printRow := func(r sampleRow) {
		fmt.Printf("%8s  rss %6.1f MiB  heap %6.1f MiB  goroutines %5.0f  fds %4.0f  probes %7d  errors %d\n",
			r.at.Round(time.Second), float64(r.rssKiB)/1024, r.heapInuse/(1<<20), r.goroutines, r.fds, r.probes, r.errors)
	}
	takeSample := func() error {
		mem, err := harness.ReadMemory(exp.PID())
		if err != nil {
			return err
		}
		m, err := selfMetrics(exp)
		if err != nil {
			return err
		}
		rssKiB := int64(mem.RSS / 1024) //nolint:gosec // G115: a process's RSS in KiB fits an int64
		r := sampleRow{at: time.Since(start), rssKiB: rssKiB, heapInuse: m["go_memstats_heap_inuse_bytes"],
			goroutines: m["go_goroutines"], fds: m["process_open_fds"], probes: probes.Load(), errors: errs.Load()}
		rows = append(rows, r)
		printRow(r)
		return nil
	}
	if err := takeSample(); err != nil {
		return err
	}
	tick := time.NewTicker(sampleEvery)
	var failure error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-exp.Done():
			failure = fmt.Errorf("exporter exited during the soak: %w", exp.Alive())
			break loop
		case <-tick.C:
			if err := takeSample(); err != nil {
				noteErr("sampling: " + err.Error())
			}
		}
	}
	tick.Stop()
	wg.Wait()
	if failure == nil {
		// Final sample after the load stopped and in-flight probes ended.
		if err := takeSample(); err != nil {
			failure = err
		}
	}

	fmt.Printf("\nsoak: %d probes in %v, %d errors\n", probes.Load(), time.Since(start).Round(time.Second), errs.Load())
	errMu.Lock()
	for _, k := range slices.Sorted(maps.Keys(errKinds)) {
		fmt.Printf("  %6d  %s\n", errKinds[k], k)
	}
	errMu.Unlock()
	if failure != nil {
		printTail(logPath)
		return failure
	}
	verdict, ok := judge(rows, rssGrowth)
	fmt.Println(verdict)
	if !ok {
		printTail(logPath)
		return errors.New("something grew without bound")
	}
	if errs.Load() > 0 {
		printTail(logPath)
		return errors.New("probe errors (see above)")
	}
	return nil
}

// probe scrapes /probe once and returns "" or what went wrong. A failing
// container is not an error: the exporter must answer 200 with antspace_up 0,
// within the scrape timeout.
func probe(ctx context.Context, client *http.Client, base, name string, scrape time.Duration) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/probe?target="+name, nil)
	if err != nil {
		return "request: " + err.Error()
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(scrape.Seconds(), 'f', -1, 64))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "" // the soak ended mid-probe
		}
		return "transport: " + err.Error()
	}
	defer func() { _ = resp.Body.Close() }() // read to its end below
	body, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return ""
		}
		return "reading answer: " + err.Error()
	case resp.StatusCode != http.StatusOK:
		return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	case !strings.Contains(string(body), "\nantspace_up "):
		return "answer without antspace_up"
	case elapsed > scrape:
		return "answered after the scrape timeout"
	}
	return ""
}

// judge compares the middle third of the run with the last third: a leak
// keeps growing, a warm-up does not.
func judge(rows []sampleRow, rssGrowth float64) (string, bool) {
	if len(rows) < 6 {
		return fmt.Sprintf("soak: VERDICT inconclusive: only %d samples (run longer)", len(rows)), true
	}
	third := len(rows) / 3
	middle, last := rows[third:2*third], rows[2*third:]
	before := rows[1 : 2*third] // all but the first sample, taken before any load
	med := func(rs []sampleRow, f func(sampleRow) float64) float64 {
		v := make([]float64, 0, len(rs))
		for _, r := range rs {
			v = append(v, f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	peak := func(rs []sampleRow, f func(sampleRow) float64) float64 {
		m := 0.0
		for _, r := range rs {
			m = max(m, f(r))
		}
		return m
	}
	rss := func(r sampleRow) float64 { return float64(r.rssKiB) / 1024 }
	heap := func(r sampleRow) float64 { return r.heapInuse / (1 << 20) }
	gor := func(r sampleRow) float64 { return r.goroutines }
	fds := func(r sampleRow) float64 { return r.fds }
	type check struct {
		what          string
		mid, end      float64
		allowedAbs    float64 // growth below this is noise whatever the ratio
		allowedGrowth float64
	}
	// Memory is sampled at random phases of a sawtooth (huge bodies
	// allocate up to the body limit, the GC frees it): compare the medians
	// of the middle and last thirds, and the peak of the last third with
	// the peak of everything before it (a third may miss the spikes).
	checks := []check{
		{"RSS MiB med", med(middle, rss), med(last, rss), 8, rssGrowth},
		{"RSS MiB max", peak(before, rss), peak(last, rss), 8, rssGrowth},
		{"heap MiB med", med(middle, heap), med(last, heap), 8, rssGrowth},
		{"goroutines", med(middle, gor), med(last, gor), 20, 0.10},
		{"open fds", med(middle, fds), med(last, fds), 10, 0.10},
	}
	var b strings.Builder
	ok := true
	b.WriteString("soak: middle third (max: first two thirds) -> last third of the samples:\n")
	for _, c := range checks {
		grew := c.end - c.mid
		bad := grew > c.allowedAbs && grew > c.mid*c.allowedGrowth
		mark := "flat"
		if bad {
			mark, ok = "GREW", false
		}
		fmt.Fprintf(&b, "  %-12s %8.1f -> %8.1f  (%+.1f)  %s\n", c.what, c.mid, c.end, grew, mark)
	}
	top := slices.MaxFunc(rows, func(a, b sampleRow) int { return int(a.rssKiB - b.rssKiB) })
	fmt.Fprintf(&b, "  peak RSS %.1f MiB at %v\n", float64(top.rssKiB)/1024, top.at.Round(time.Second))
	if ok {
		b.WriteString("soak: VERDICT flat: nothing grew without bound")
	} else {
		b.WriteString("soak: VERDICT growth: see GREW above")
	}
	return b.String(), ok
}

// selfMetrics reads the exporter's goroutines, open fds and heap in use
// from its /metrics.
func selfMetrics(exp *harness.Exporter) (harness.Metrics, error) {
	m, err := exp.Metrics()
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"go_goroutines", "process_open_fds", "go_memstats_heap_inuse_bytes"} {
		if _, err := m.Get(name); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func printTail(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	fmt.Printf("--- last lines of the exporter log (%s):\n%s\n", path, strings.Join(lines[max(0, len(lines)-20):], "\n"))
}
