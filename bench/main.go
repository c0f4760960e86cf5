//go:build linux

// Command bench is the load harness behind `make bench`: it starts a mock
// fleet of N containers on consecutive loopback addresses (fleet.go), the
// exporter with the fleet's inventory (internal/harness), and a generator
// that probes every container the way Prometheus does (generator.go,
// phase.go: scrape-timeout header, a fixed interval spread evenly over the
// targets). In the same run the generator fetches coolerState and minerInfo
// straight from the mock — the floor — and every exporter figure is printed
// beside it as a ratio (report.go). Results go to stdout as a markdown table
// and to bench/results/ as markdown and CSV.
//
//	make bench                                  # N=1000, 45 s measured per phase
//	BENCH_N=10000 BENCH_DURATION=60s make bench
//	go run ./bench -n 200 -duration 20s -interval 5s
//
// Only loopback addresses are used. Every loop is bounded by -duration.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
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
	ab           bool
	agent        bool
	agentBin     string
	centralBin   string
	agentRW2     bool
	agent2       bool // set by runAgent: the agent is a Prometheus 2
}

// variant is one exporter the run measures against the floor.
type variant struct {
	name string   // column heading
	args []string // exporter flags besides the common ones
}

// abTransports are the exporters of the transport A/B (-ab): the same
// exporter with its device transport and with net/http's Transport, keep-
// alive on and off (docs/performance.md).
var abTransports = []string{"device", "stdlib", "stdlib-no-keepalive"}

// variants are the exporters to measure: one, or the A/B's three.
func (o options) variants() []variant {
	extra := strings.Fields(o.exporterArgs)
	if !o.ab {
		return []variant{{name: "exporter", args: extra}}
	}
	var vs []variant
	for _, t := range abTransports {
		vs = append(vs, variant{name: t, args: append(slices.Clone(extra), "--upstream.transport="+t)})
	}
	return vs
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
	flag.IntVar(&o.miners, "miners", envInt("BENCH_MINERS", 0), "miners per container (0 = the mock's default; env BENCH_MINERS)")
	flag.IntVar(&o.maxInFlight, "max-in-flight", 5000, "generator requests in flight at most; a probe due while full counts as an error")
	flag.StringVar(&o.exporterArgs, "exporter.args", envString("BENCH_EXPORTER_ARGS", ""), "extra exporter flags, space separated")
	flag.IntVar(&o.rounds, "rounds", envInt("BENCH_ROUNDS", 3), "alternate floor and exporter this many times, each for duration/rounds, so drifting background load hits both alike (env BENCH_ROUNDS)")
	flag.StringVar(&o.exporterEnv, "exporter.env", envString("BENCH_EXPORTER_ENV", ""), "extra environment of the exporter, space separated KEY=VALUE (e.g. GOMAXPROCS=1 GOGC=200)")
	flag.IntVar(&o.perMock, "mock.per-process", 3000, "containers per mock process (each needs a listener and connections within its open-file limit)")
	flag.IntVar(&o.conns, "conns-per-container", 0, "connections per container for both the floor client and the exporter (--upstream.max-connections-per-container); 0: 2, or 1 when 2 per container would not fit the open-file limit")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (logs, inventory)")
	flag.BoolVar(&o.ab, "ab", envString("BENCH_AB", "") != "", "transport A/B: measure the exporter with its device transport and with net/http's Transport, keep-alive on and off, in one run (env BENCH_AB=1)")
	flag.BoolVar(&o.ha, "ha", envString("BENCH_HA", "") != "", "exporter phase as an HA Prometheus pair: every probe sent twice at once (env BENCH_HA=1)")
	flag.BoolVar(&o.agent, "agent", envString("BENCH_AGENT", "") != "", "agent mode instead: the cost per site of a Prometheus agent scraping the fleet and remote-writing to a central Prometheus 3 (agent.go; env BENCH_AGENT=1)")
	flag.StringVar(&o.agentBin, "agent.prometheus", envString("BENCH_AGENT_PROMETHEUS", defaultProm3()), "with -agent: the agent's prometheus binary (env BENCH_AGENT_PROMETHEUS)")
	flag.StringVar(&o.centralBin, "central.prometheus", defaultProm3(), "with -agent: the central server's prometheus binary (Prometheus 3)")
	flag.BoolVar(&o.agentRW2, "agent.rw2", envString("BENCH_AGENT_RW2", "") != "", "with -agent: remote write 2.0 (Prometheus 3 agents; env BENCH_AGENT_RW2=1)")
	flag.Parse()
	if o.warmup < 0 {
		o.warmup = o.interval
	}
	runner := run
	if o.agent {
		runner = runAgent
	}
	if err := runner(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.n <= 0 || o.n > 60000 {
		return fmt.Errorf("-n %d: want 1..60000", o.n)
	}
	nofile := harness.RaiseNoFile(uint64(4*o.n + 4096))
	if o.conns <= 0 {
		// The generator's floor client and the exporter each hold up to
		// conns connections per container (plus a few hundred more).
		o.conns = 2
		if uint64(2*o.n+2048) > nofile {
			o.conns = 1
		}
	}
	fmt.Printf("fleet of %d containers from %s in %d mock processes, interval %s (%.1f probes/s), %s warm-up + %s measured per phase in %d rounds, RLIMIT_NOFILE %d, %d connections per container\n",
		o.n, o.fleetStart, o.mockProcesses(), o.interval, float64(o.n)/o.interval.Seconds(), o.warmup, o.duration, max(1, o.rounds), nofile, o.conns)

	tmp, cleanup, err := harness.WorkDir("antspace-bench-", o.keep)
	if err != nil {
		return err
	}
	defer cleanup()

	fl, err := harness.StartFleet(o.fleetOptions(tmp))
	if fl != nil {
		defer fl.Stop()
	}
	if err != nil {
		return err
	}
	var exps []*harness.Exporter
	defer func() {
		for _, e := range exps {
			e.Stop()
		}
	}()
	for i, v := range o.variants() {
		args := []string{"--config.file", fl.Inventory, "--log.level", "warn",
			"--upstream.max-connections-per-container", strconv.Itoa(o.conns)}
		exp, err := harness.StartExporter(harness.ExporterOptions{
			Bin:     filepath.Join(o.bin, "antspace_exporter"),
			Args:    append(args, v.args...),
			Env:     strings.Fields(o.exporterEnv),
			LogFile: filepath.Join(tmp, fmt.Sprintf("exporter-%d.log", i)),
		})
		if err != nil {
			return err
		}
		exps = append(exps, exp)
	}

	floor, results := measure(o, fl, exps)
	if err := fl.Alive(); err != nil {
		return err
	}
	for _, e := range exps {
		if err := e.Alive(); err != nil {
			return err
		}
	}
	rep := report{opts: o, floor: floor, when: time.Now().UTC(), cpus: runtime.NumCPU()}
	for i, v := range o.variants() {
		rep.exporters = append(rep.exporters, measured{name: v.name, res: results[i]})
	}
	return rep.write()
}

// measure alternates the floor (the generator reads the devices itself) and
// each exporter (the same schedule through /probe) in rounds; the first
// round of each starts with the warm-up. Exporters not being measured sit
// idle with their connections open.
func measure(o options, fl *harness.Fleet, exps []*harness.Exporter) (floor phaseResult, results []phaseResult) {
	g := newGenerator(o)
	rounds := max(1, o.rounds)
	slice := o.duration / time.Duration(rounds)
	results = make([]phaseResult, len(exps))
	names := o.variants()
	for round := range rounds {
		warmup := time.Duration(0)
		if round == 0 {
			warmup = o.warmup
		}
		fmt.Printf("round %d/%d: floor, fetching coolerState + minerInfo straight from the mock ...\n", round+1, rounds)
		floor.merge(g.phase(fl, g.fetchDirect, nil, warmup, slice))
		for i, exp := range exps {
			fmt.Printf("round %d/%d: %s, probing every container through /probe ...\n", round+1, rounds, names[i].name)
			results[i].merge(g.phase(fl, g.probe(exp.URL), exp, warmup, slice))
		}
	}
	floor.sortLatencies()
	for i := range results {
		results[i].sortLatencies()
	}
	return floor, results
}

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
