//go:build linux

// Command bench is the load harness behind `make bench`: it starts a mock
// fleet of N containers on consecutive loopback addresses, the exporter with
// the fleet's inventory, and a generator that probes every container the way
// Prometheus does (scrape-timeout header, a fixed interval spread evenly over
// the targets). In the same run the generator fetches coolerState and
// minerInfo straight from the mock — the floor — and every exporter figure
// is printed beside it as a ratio. Results go to stdout as a markdown table
// and to bench/results/ as markdown and CSV.
//
//	make bench                                  # N=1000, 45 s measured per phase
//	BENCH_N=10000 BENCH_DURATION=60s make bench
//	go run ./bench -n 200 -duration 20s -interval 5s
//
// Only loopback addresses are used. Every loop is bounded by -duration.
package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

type options struct {
	n            int
	duration     time.Duration
	warmup       time.Duration
	interval     time.Duration
	scrapeTO     time.Duration
	fleetStart   string
	bin          string
	out          string
	miners       int
	maxInFlight  int
	exporterArgs string
	keep         bool
	ha           bool
	rounds       int
	perMock      int
	conns        int
	exporterEnv  string
}

func main() {
	o := options{}
	flag.IntVar(&o.n, "n", envInt("BENCH_N", 1000), "containers in the mock fleet (env BENCH_N; up to 10000)")
	flag.DurationVar(&o.duration, "duration", envDuration("BENCH_DURATION", 45*time.Second), "measured time of each phase (env BENCH_DURATION)")
	flag.DurationVar(&o.warmup, "warmup", envDuration("BENCH_WARMUP", -1), "unmeasured time before each phase, opening connections (default: one interval; env BENCH_WARMUP)")
	flag.DurationVar(&o.interval, "interval", envDuration("BENCH_INTERVAL", 15*time.Second), "scrape interval per container (env BENCH_INTERVAL)")
	flag.DurationVar(&o.scrapeTO, "scrape-timeout", 10*time.Second, "X-Prometheus-Scrape-Timeout-Seconds sent with each probe")
	flag.StringVar(&o.fleetStart, "fleet.start", envString("BENCH_FLEET_START", "127.77.0.1:19100"), "first mock address; the fleet takes consecutive 127.x addresses")
	flag.StringVar(&o.bin, "bin", envString("BIN", "bin"), "directory with antspace_exporter and antspace_mock (make build)")
	flag.StringVar(&o.out, "out", "bench/results", "directory for the markdown and CSV results")
	flag.IntVar(&o.miners, "miners", 0, "miners per container (0 = the mock's default)")
	flag.IntVar(&o.maxInFlight, "max-in-flight", 5000, "generator requests in flight at most; a probe due while full counts as an error")
	flag.StringVar(&o.exporterArgs, "exporter.args", envString("BENCH_EXPORTER_ARGS", ""), "extra exporter flags, space separated")
	flag.IntVar(&o.rounds, "rounds", envInt("BENCH_ROUNDS", 3), "alternate floor and exporter this many times, each for duration/rounds, so drifting background load hits both alike (env BENCH_ROUNDS)")
	flag.StringVar(&o.exporterEnv, "exporter.env", envString("BENCH_EXPORTER_ENV", ""), "extra environment of the exporter, space separated KEY=VALUE (e.g. GOMAXPROCS=1 GOGC=200)")
	flag.IntVar(&o.perMock, "mock.per-process", 3000, "containers per mock process (each needs a listener and connections within its open-file limit)")
	flag.IntVar(&o.conns, "conns-per-container", 0, "connections per container for both the floor client and the exporter (--upstream.max-connections-per-container); 0: 2, or 1 when 2 per container would not fit the open-file limit")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (logs, inventory)")
	flag.BoolVar(&o.ha, "ha", envString("BENCH_HA", "") != "", "exporter phase as an HA Prometheus pair: every probe sent twice at once (env BENCH_HA=1)")
	flag.Parse()
	if o.warmup < 0 {
		o.warmup = o.interval
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.n <= 0 || o.n > 60000 {
		return fmt.Errorf("-n %d: want 1..60000", o.n)
	}
	start, err := netip.ParseAddrPort(o.fleetStart)
	if err != nil || !start.Addr().Is4() || !start.Addr().IsLoopback() {
		return fmt.Errorf("-fleet.start %q must be a 127.x.y.z:port address", o.fleetStart)
	}
	nofile := raiseNoFile(uint64(4*o.n + 4096))
	if o.conns <= 0 {
		// The generator's floor client and the exporter each hold up to
		// conns connections per container (plus a few hundred more).
		o.conns = 2
		if uint64(2*o.n+2048) > nofile {
			o.conns = 1
		}
	}
	mocks := (o.n + o.perMock - 1) / max(1, o.perMock)
	fmt.Printf("fleet of %d containers from %s in %d mock processes, interval %s (%.1f probes/s), %s warm-up + %s measured per phase in %d rounds, RLIMIT_NOFILE %d, %d connections per container\n",
		o.n, o.fleetStart, mocks, o.interval, float64(o.n)/o.interval.Seconds(), o.warmup, o.duration, max(1, o.rounds), nofile, o.conns)

	tmp, err := os.MkdirTemp("", "antspace-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("temporary directory:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	// The mock fleet, in processes of at most perMock containers on
	// consecutive addresses.
	var (
		mockProcs []*process
		targets   []target
		inv       strings.Builder
	)
	inv.WriteString("containers:\n")
	defer func() {
		for _, p := range mockProcs {
			p.stop()
		}
	}()
	addr := start.Addr()
	for i := range mocks {
		count := min(o.perMock, o.n-i*o.perMock)
		part := filepath.Join(tmp, fmt.Sprintf("inventory-%d.yml", i))
		mockArgs := []string{
			"--fleet", strconv.Itoa(count), "--fleet.mode", "addresses", "--fleet.start", netip.AddrPortFrom(addr, start.Port()).String(),
			"--name", fmt.Sprintf("bench-%d", i), "--seed", strconv.Itoa(1 + i*o.perMock),
			"--fleet.hk3-share", "0.5", "--inventory.out", part, "--log.level", "warn",
		}
		if o.miners > 0 {
			mockArgs = append(mockArgs, "--miners", strconv.Itoa(o.miners))
		}
		p, err := startProcess(filepath.Join(o.bin, "antspace_mock"), mockArgs, filepath.Join(tmp, fmt.Sprintf("mock-%d.log", i)))
		if err != nil {
			return err
		}
		mockProcs = append(mockProcs, p)
		if err := waitUntil(2*time.Minute, "the mock fleet's inventory", p, func() bool {
			_, err := os.Stat(part)
			return err == nil
		}); err != nil {
			return err
		}
		ts, err := readInventory(part)
		if err != nil {
			return err
		}
		if len(ts) != count {
			return fmt.Errorf("%s lists %d containers, want %d", part, len(ts), count)
		}
		for _, t := range ts {
			fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: %s}\n", t.name, t.address, t.typ)
		}
		targets = append(targets, ts...)
		for range count {
			addr = addr.Next()
		}
	}
	inventory := filepath.Join(tmp, "inventory.yml")
	if err := os.WriteFile(inventory, []byte(inv.String()), 0o644); err != nil {
		return err
	}

	// The exporter.
	listen, err := testutil.FreeAddr()
	if err != nil {
		return err
	}
	expArgs := []string{"--config.file", inventory, "--web.listen-address", listen, "--log.level", "warn",
		"--upstream.max-connections-per-container", strconv.Itoa(o.conns)}
	if o.exporterArgs != "" {
		expArgs = append(expArgs, strings.Fields(o.exporterArgs)...)
	}
	expProc, err := startProcess(filepath.Join(o.bin, "antspace_exporter"), expArgs, filepath.Join(tmp, "exporter.log"), strings.Fields(o.exporterEnv)...)
	if err != nil {
		return err
	}
	defer expProc.stop()
	exporterURL := "http://" + listen
	if err := waitUntil(30*time.Second, "the exporter", expProc, func() bool {
		resp, err := http.Get(exporterURL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return err
	}

	g := newGenerator(o)
	// The floor (the generator reads the devices itself) and the exporter
	// phase (the same schedule through /probe) alternate in rounds; the
	// first round of each starts with the warm-up.
	rounds := max(1, o.rounds)
	slice := o.duration / time.Duration(rounds)
	var floor, exp phaseResult
	ew := &exporterWatch{url: exporterURL, proc: expProc}
	for round := range rounds {
		warmup := time.Duration(0)
		if round == 0 {
			warmup = o.warmup
		}
		fmt.Printf("round %d/%d: floor, fetching coolerState + minerInfo straight from the mock ...\n", round+1, rounds)
		floor.merge(g.phase(targets, func(ctx context.Context, t target) error { return g.fetchDirect(ctx, t) }, nil, mockProcs, warmup, slice))
		fmt.Printf("round %d/%d: exporter, probing every container through /probe ...\n", round+1, rounds)
		exp.merge(g.phase(targets, func(ctx context.Context, t target) error { return g.probe(ctx, exporterURL, t) }, ew, mockProcs, warmup, slice))
	}
	slices.Sort(floor.latencies)
	slices.Sort(exp.latencies)

	for _, p := range mockProcs {
		if err := p.alive(); err != nil {
			return err
		}
	}
	if err := expProc.alive(); err != nil {
		return err
	}
	rep := report{opts: o, floor: floor, exporter: exp, when: time.Now().UTC(), cpus: runtime.NumCPU()}
	md := rep.markdown()
	fmt.Println()
	fmt.Print(md)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	base := filepath.Join(o.out, fmt.Sprintf("n%d", o.n))
	if o.ha {
		base += "-ha"
	}
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".csv", rep.csv(), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nwritten: %s.md, %s.csv\n", base, base)
	return nil
}

// ---- processes ----

type process struct {
	cmd  *exec.Cmd
	name string
	log  string
	done chan struct{}
	err  error
}

func startProcess(path string, args []string, logFile string, env ...string) (*process, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %w (run make build first)", path, err)
	}
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &process{cmd: cmd, name: filepath.Base(path), log: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v; log %s:\n%s", p.name, p.err, p.log, tail(p.log))
	default:
		return nil
	}
}

func (p *process) stop() {
	if p.alive() != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func waitUntil(limit time.Duration, what string, p *process, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if err := p.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s; log %s:\n%s", limit, what, p.log, tail(p.log))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// raiseNoFile raises this process's open-file limit (children inherit it):
// the mock holds a listener per container plus the connections of both the
// floor client and the exporter (up to two each per container). Root may
// raise the hard limit too.
func raiseNoFile(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur >= want {
		return lim.Cur
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want
		}
	}
	lim.Cur = min(want, lim.Max)
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

func processesCPU(ps []*process) float64 {
	total := 0.0
	for _, p := range ps {
		v, _ := testutil.ProcCPUSeconds(p.pid())
		total += v
	}
	return total
}

func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// ---- inventory ----

type target struct{ name, address, typ string }

func readInventory(path string) ([]target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var inv struct {
		Containers []struct{ Name, Address, Type string } `yaml:"containers"`
	}
	if err := yaml.Unmarshal(b, &inv); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ts := make([]target, len(inv.Containers))
	for i, c := range inv.Containers {
		ts[i] = target{name: c.Name, address: c.Address, typ: c.Type}
	}
	return ts, nil
}

// ---- generator ----

type generator struct {
	o      options
	client *http.Client // to the exporter
	floor  *http.Client // to the devices, the same connection cap as the exporter's
	slots  chan struct{}
}

func newGenerator(o options) *generator {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     5 * time.Minute,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}
	floor := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: o.conns,
		MaxConnsPerHost:     o.conns,
		IdleConnTimeout:     5 * time.Minute,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}
	return &generator{o: o, client: &http.Client{Transport: tr}, floor: &http.Client{Transport: floor}, slots: make(chan struct{}, o.maxInFlight)}
}

const promAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// probe scrapes /probe like Prometheus: scrape-timeout header, the Accept
// header of Prometheus 2.x and gzip (Go's transport asks for it).
func (g *generator) probe(ctx context.Context, base string, t target) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/probe?target="+url.QueryEscape(t.name), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", promAccept)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(g.o.scrapeTO.Seconds(), 'f', -1, 64))
	req.Header.Set("User-Agent", "Prometheus/2.42.0")
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if !bytes.Contains(body, []byte("\nantspace_up 1\n")) || !bytes.Contains(body, []byte("\nantspace_miner_info_success 1\n")) {
		return errors.New("antspace_up or antspace_miner_info_success not 1")
	}
	return nil
}

// fetchDirect is the floor: the two reads a probe needs, concurrently, each
// decoded into map[string]any.
func (g *generator) fetchDirect(ctx context.Context, t target) error {
	errc := make(chan error, 1)
	go func() { errc <- g.getJSON(ctx, t.address, "minerInfo") }()
	err := g.getJSON(ctx, t.address, "coolerState")
	return errors.Join(err, <-errc)
}

func (g *generator) getJSON(ctx context.Context, address, op string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+address+"/cooler?operation="+op, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := g.floor.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", op, resp.StatusCode)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if v["ok"] != true {
		return fmt.Errorf("%s: ok is not true", op)
	}
	return nil
}

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

type exporterWatch struct {
	url  string
	proc *process
}

// phase runs the schedule for warmup+duration and measures the second part.
// With ew nil the generator's own CPU is the measured process (the floor).
func (g *generator) phase(targets []target, do func(context.Context, target) error, ew *exporterWatch, mockProcs []*process, warmup, duration time.Duration) phaseResult {
	var (
		mu        sync.Mutex
		res       phaseResult
		measuring atomic.Bool
		wg        sync.WaitGroup
	)
	n := len(targets)
	step := g.o.interval / time.Duration(n)
	begin := time.Now()
	measureAt := begin.Add(warmup)
	end := measureAt.Add(duration)

	var cpu0, mock0, up0 float64
	startMeasure := func() {
		cpu0 = g.cpu(ew)
		mock0 = processesCPU(mockProcs)
		if ew != nil {
			up0, _ = upstreamTotal(ew.url)
		}
		measuring.Store(true)
	}
	// Sample goroutines while measuring.
	stopSampling := make(chan struct{})
	sampled := make(chan float64, 1)
	go func() {
		peak := 0.0
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				sampled <- peak
				return
			case <-tick.C:
				if !measuring.Load() {
					continue
				}
				if ew != nil {
					if v, err := exporterGoroutines(ew.url); err == nil {
						peak = max(peak, v)
					}
				} else {
					peak = max(peak, float64(runtime.NumGoroutine()))
				}
			}
		}
	}()

	started := false
	for k := 0; ; k++ {
		due := begin.Add(time.Duration(k) * step)
		if !due.Before(end) {
			break
		}
		if !started && !due.Before(measureAt) {
			started = true
			startMeasure()
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		t := targets[k%n]
		measured := started
		copies := 1
		if g.o.ha && ew != nil {
			copies = 2 // both servers of an HA pair probe at once
		}
		for range copies {
			select {
			case g.slots <- struct{}{}:
			default:
				if measured {
					mu.Lock()
					res.errors++
					res.firstErrors = appendFew(res.firstErrors, "generator full: more than -max-in-flight requests pending")
					mu.Unlock()
				}
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-g.slots }()
				ctx, cancel := context.WithTimeout(context.Background(), g.o.scrapeTO)
				defer cancel()
				t0 := time.Now()
				err := do(ctx, t)
				lat := time.Since(t0)
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
			}()
		}
	}
	if !started {
		startMeasure()
	}
	wg.Wait() // bounded by the scrape timeout
	res.duration = time.Since(measureAt)
	res.cpu = g.cpu(ew) - cpu0
	res.mockCPU = processesCPU(mockProcs) - mock0
	close(stopSampling)
	res.goroutines = <-sampled
	if ew != nil {
		res.rssKiB, _ = testutil.ProcStatusKiB(ew.proc.pid(), "VmHWM")
		if up1, err := upstreamTotal(ew.url); err == nil && res.probes > 0 {
			res.upstreamPerProbe = (up1 - up0) / float64(res.probes)
			res.upstreamMeasured = true
		}
		res.exporterGoroutines = true
		if mfs, err := scrape(ew.url); err == nil {
			if f := mfs["go_memstats_heap_inuse_bytes"]; f != nil {
				res.heapMiB = f.sum / (1 << 20)
			}
			if f := mfs["go_memstats_stack_inuse_bytes"]; f != nil {
				res.stackMiB = f.sum / (1 << 20)
			}
		}
	} else {
		res.rssKiB, _ = testutil.ProcStatusKiB(os.Getpid(), "VmHWM")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		res.heapMiB, res.stackMiB = float64(ms.HeapInuse)/(1<<20), float64(ms.StackInuse)/(1<<20)
		res.upstreamPerProbe, res.upstreamMeasured = 2, true
	}
	return res
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

func (g *generator) cpu(ew *exporterWatch) float64 {
	if ew == nil {
		return selfCPUSeconds()
	}
	v, _ := testutil.ProcCPUSeconds(ew.proc.pid())
	return v
}

func appendFew(list []string, s string) []string {
	if len(list) < 5 && !slices.Contains(list, s) {
		return append(list, s)
	}
	return list
}

// ---- exporter metrics ----

func scrape(base string) (map[string]*dtoFamily, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]*dtoFamily{}
	for name, mf := range mfs {
		f := &dtoFamily{}
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				f.sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				f.sum += m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				f.sum += m.GetUntyped().GetValue()
			}
		}
		out[name] = f
	}
	return out, nil
}

type dtoFamily struct{ sum float64 }

func upstreamTotal(base string) (float64, error) {
	mfs, err := scrape(base)
	if err != nil {
		return 0, err
	}
	f := mfs["antspace_exporter_upstream_requests_total"]
	if f == nil {
		return 0, errors.New("no antspace_exporter_upstream_requests_total")
	}
	return f.sum, nil
}

func exporterGoroutines(base string) (float64, error) {
	mfs, err := scrape(base)
	if err != nil {
		return 0, err
	}
	f := mfs["go_goroutines"]
	if f == nil {
		return 0, errors.New("no go_goroutines")
	}
	return f.sum, nil
}

// ---- report ----

type report struct {
	opts            options
	floor, exporter phaseResult
	when            time.Time
	cpus            int
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

// ---- env ----

func envString(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return v
	}
	return def
}
