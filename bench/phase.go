//go:build linux

package main

import (
	"context"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
)

// phaseResult is what one phase measured; rounds merge into one.
type phaseResult struct {
	probes, errors     int64
	duration           time.Duration
	latencies          []time.Duration
	cpu                float64 // CPU seconds of the measured process during the phase
	mockCPU            float64
	rssKiB             float64 // peak RSS (VmHWM)
	goroutines         float64 // peak sampled
	upstreamPerProbe   float64
	heapMiB, stackMiB  float64 // Go heap and stacks in use at the end
	firstErrors        []string
	upstreamMeasured   bool
	exporterGoroutines bool
}

// phase runs the schedule for warmup+duration and measures the second part.
// With exp nil the generator's own process is the one measured (the floor).
func (g *generator) phase(fl *harness.Fleet, do func(context.Context, harness.Target) error, exp *harness.Exporter, warmup, duration time.Duration) phaseResult {
	var (
		res phaseResult
		mu  sync.Mutex // guards res while requests run
		wg  sync.WaitGroup
		ctr counters
	)
	measureAt := time.Now().Add(warmup)
	stopSampling, sampled := g.sampleGoroutines(exp, &ctr.measuring)

	record := func(measured bool, lat time.Duration, err error) {
		if !measured {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		res.probes++
		res.latencies = append(res.latencies, lat)
		if err != nil {
			res.errors++
			res.firstErrors = appendFew(res.firstErrors, err.Error())
		}
	}
	full := func() {
		mu.Lock()
		defer mu.Unlock()
		res.errors++
		res.firstErrors = appendFew(res.firstErrors, "generator full: more than -max-in-flight requests pending")
	}
	g.schedule(fl.Targets, measureAt, measureAt.Add(duration), exp != nil && g.o.ha,
		func() { ctr.start(fl, exp) },
		func(t harness.Target, measured bool) {
			select {
			case g.slots <- struct{}{}:
			default:
				if measured {
					full()
				}
				return
			}
			wg.Go(func() {
				defer func() { <-g.slots }()
				ctx, cancel := context.WithTimeout(context.Background(), g.o.scrapeTO)
				defer cancel()
				t0 := time.Now()
				err := do(ctx, t)
				record(measured, time.Since(t0), err)
			})
		})
	wg.Wait() // bounded by the scrape timeout
	res.duration = time.Since(measureAt)
	close(stopSampling)
	res.goroutines = <-sampled
	ctr.finish(fl, exp, &res)
	return res
}

// schedule sends one request per target, spread evenly over the interval,
// from now until end; start is called once when the first request at or
// after measureAt is due (or at the end if none was). With twice set every
// request is sent twice at once (an HA pair).
func (g *generator) schedule(targets []harness.Target, measureAt, end time.Time, twice bool, start func(), send func(t harness.Target, measured bool)) {
	n := len(targets)
	step := g.o.interval / time.Duration(n)
	begin := time.Now()
	started := false
	for k := 0; ; k++ {
		due := begin.Add(time.Duration(k) * step)
		if !due.Before(end) {
			break
		}
		if !started && !due.Before(measureAt) {
			started = true
			start()
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		send(targets[k%n], started)
		if twice {
			send(targets[k%n], started) // both servers of an HA pair probe at once
		}
	}
	if !started {
		start()
	}
}

// sampleGoroutines samples the measured process's goroutines every 2 s
// while measuring is set, and sends the peak when stop is closed.
func (g *generator) sampleGoroutines(exp *harness.Exporter, measuring *atomic.Bool) (stop chan struct{}, peak <-chan float64) {
	stop = make(chan struct{})
	out := make(chan float64, 1)
	go func() {
		top := 0.0
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				out <- top
				return
			case <-tick.C:
				if !measuring.Load() {
					continue
				}
				if exp == nil {
					top = max(top, float64(runtime.NumGoroutine()))
				} else if m, err := exp.Metrics(); err == nil {
					top = max(top, m["go_goroutines"])
				}
			}
		}
	}()
	return stop, out
}

// counters are the cumulative figures read when measuring starts, to
// subtract at the end.
type counters struct {
	measuring            atomic.Bool
	cpu, mock, upstream0 float64
	upstreamOK           bool
}

func (c *counters) start(fl *harness.Fleet, exp *harness.Exporter) {
	c.cpu = cpuOf(exp)
	c.mock = fl.CPU()
	if exp != nil {
		if m, err := exp.Metrics(); err == nil {
			c.upstream0, err = m.Get("antspace_exporter_upstream_requests_total")
			c.upstreamOK = err == nil
		}
	}
	c.measuring.Store(true)
}

// finish fills in CPU, memory, goroutines and upstream requests per probe.
func (c *counters) finish(fl *harness.Fleet, exp *harness.Exporter, res *phaseResult) {
	res.cpu = cpuOf(exp) - c.cpu
	res.mockCPU = fl.CPU() - c.mock
	if exp == nil {
		if mem, err := harness.ReadMemory(os.Getpid()); err == nil {
			res.rssKiB = float64(mem.PeakRSS) / 1024
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		res.heapMiB, res.stackMiB = float64(ms.HeapInuse)/(1<<20), float64(ms.StackInuse)/(1<<20)
		res.upstreamPerProbe, res.upstreamMeasured = 2, true
		return
	}
	if mem, err := harness.ReadMemory(exp.PID()); err == nil {
		res.rssKiB = float64(mem.PeakRSS) / 1024
	}
	res.exporterGoroutines = true
	m, err := exp.Metrics()
	if err != nil {
		return
	}
	if up1, err := m.Get("antspace_exporter_upstream_requests_total"); err == nil && c.upstreamOK && res.probes > 0 {
		res.upstreamPerProbe = (up1 - c.upstream0) / float64(res.probes)
		res.upstreamMeasured = true
	}
	res.heapMiB = m["go_memstats_heap_inuse_bytes"] / (1 << 20)
	res.stackMiB = m["go_memstats_stack_inuse_bytes"] / (1 << 20)
}

// cpuOf is the exporter's CPU seconds, or the generator's own for the floor.
func cpuOf(exp *harness.Exporter) float64 {
	if exp == nil {
		return harness.SelfCPUSeconds()
	}
	v, _ := harness.CPUSeconds(exp.PID())
	return v
}

// merge adds a round's figures: sums of counts and CPU, peaks of the rest.
func (r *phaseResult) merge(o phaseResult) {
	upstream := r.upstreamPerProbe*float64(r.probes) + o.upstreamPerProbe*float64(o.probes)
	r.probes += o.probes
	r.errors += o.errors
	r.duration += o.duration
	r.latencies = append(r.latencies, o.latencies...)
	r.cpu += o.cpu
	r.mockCPU += o.mockCPU
	r.rssKiB = max(r.rssKiB, o.rssKiB)
	r.goroutines = max(r.goroutines, o.goroutines)
	r.heapMiB, r.stackMiB = max(r.heapMiB, o.heapMiB), max(r.stackMiB, o.stackMiB)
	if r.probes > 0 {
		r.upstreamPerProbe = upstream / float64(r.probes)
	}
	r.upstreamMeasured = r.upstreamMeasured || o.upstreamMeasured
	r.exporterGoroutines = r.exporterGoroutines || o.exporterGoroutines
	for _, e := range o.firstErrors {
		r.firstErrors = appendFew(r.firstErrors, e)
	}
}

func (r *phaseResult) sortLatencies() { slices.Sort(r.latencies) }

func appendFew(list []string, s string) []string {
	if len(list) < 5 && !slices.Contains(list, s) {
		return append(list, s)
	}
	return list
}
