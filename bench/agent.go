//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
)

// Agent mode (-agent): the cost per site of the agent topology of
// docs/scaling.md. One site: the mock fleet, the exporter, a Prometheus in
// agent mode scraping every container through /sd and /probe, remote-
// writing to a central Prometheus 3 (--web.enable-remote-write-receiver)
// that evaluates rules/antspace.rules.yml and the site heartbeat. After the
// warm-up, the run measures for -duration the CPU time of each process
// (/proc), the agent's and the central server's resident memory, and from
// the agent's own /metrics the samples and bytes it sent. Every figure is a
// ratio within the run (CPU seconds per wall second, per sample, per
// container), written to bench/results/agent-n<N>.md.
//
//	go run ./bench -agent -n 1000 -duration 3m

// defaultProm3 is Prometheus 3 as scripts/prom3.sh installs it
// (internal/testutil.Prom3Dir).
func defaultProm3() string {
	dir := os.Getenv("ANTSPACE_PROM3_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "antspace", "prom3")
	}
	return filepath.Join(dir, "prometheus")
}

// agentFlags are the -agent.* flags of a run, as the report shows them.
func agentFlags(o options) string {
	var f string
	if o.agentRW2 {
		f += " -agent.rw2"
	}
	if o.agentBin != defaultProm3() {
		f += " -agent.prometheus " + o.agentBin
	}
	return f
}

// promLabel names a prometheus binary in the report.
func promLabel(bin string) string {
	if bin == defaultProm3() {
		return "Prometheus 3.16.0, `make prom3`"
	}
	return "`" + bin + "`"
}

// agentSnapshot is what a measurement reads at its start and end.
type agentSnapshot struct {
	at                                 time.Time
	agentCPU, centralCPU, expCPU, mock float64
	agent, central                     harness.Metrics
	load                               float64 // one-minute load average
}

func runAgent(o options) error {
	if o.n <= 0 || o.n > 60000 {
		return fmt.Errorf("-n %d: want 1..60000", o.n)
	}
	nofile := harness.RaiseNoFile(uint64(2*o.n + 4096))
	scrapeTimeout := min(o.scrapeTO, o.interval)
	agentFlag, err := harness.AgentFlag(o.agentBin)
	if err != nil {
		return err
	}
	if o.agentRW2 && agentFlag != "--agent" {
		return fmt.Errorf("-agent.rw2: %s is a Prometheus 2 agent (%s), which sends only remote write 1.0", o.agentBin, agentFlag)
	}
	o.agent2 = agentFlag != "--agent"
	fmt.Printf("agent mode: fleet of %d containers from %s, scrape interval %s (timeout %s), agent %s, central %s, %s warm-up + %s measured, RLIMIT_NOFILE %d\n",
		o.n, o.fleetStart, o.interval, scrapeTimeout, o.agentBin, o.centralBin, o.warmup, o.duration, nofile)
	tmp, cleanup, err := harness.WorkDir("antspace-bench-agent-", o.keep)
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
	exp, err := harness.StartExporter(harness.ExporterOptions{
		Bin:     filepath.Join(o.bin, "antspace_exporter"),
		Args:    append([]string{"--config.file", fl.Inventory, "--log.level", "warn"}, strings.Fields(o.exporterArgs)...),
		LogFile: filepath.Join(tmp, "exporter.log"),
	})
	if err != nil {
		return err
	}
	defer exp.Stop()

	rules, err := filepath.Abs(filepath.Join("rules", "antspace.rules.yml"))
	if err != nil {
		return err
	}
	siteRules := filepath.Join(tmp, "sites.rules.yml")
	if err := os.WriteFile(siteRules, []byte(agentHeartbeatRules), 0o644); err != nil {
		return err
	}
	centralCfg := filepath.Join(tmp, "central.yml")
	if err := os.WriteFile(centralCfg, fmt.Appendf(nil, "global:\n  evaluation_interval: %s\nrule_files: [%q, %q]\n", o.interval, rules, siteRules), 0o644); err != nil {
		return err
	}
	central, err := harness.StartPrometheus(harness.PrometheusOptions{
		Bin: o.centralBin, Config: centralCfg, DataDir: filepath.Join(tmp, "central-data"),
		Args: []string{"--web.enable-remote-write-receiver"}, LogFile: filepath.Join(tmp, "central.log"),
	})
	if err != nil {
		return err
	}
	defer central.Stop()

	exporterAddr := strings.TrimPrefix(exp.URL, "http://")
	agentCfg := filepath.Join(tmp, "agent.yml")
	if err := os.WriteFile(agentCfg, []byte(agentSite{
		exporter: exporterAddr, central: strings.TrimPrefix(central.URL, "http://"), cluster: "site-a",
		interval: o.interval, timeout: scrapeTimeout, rw2: o.agentRW2,
	}.config()), 0o644); err != nil {
		return err
	}
	agent, err := harness.StartPrometheus(harness.PrometheusOptions{
		Bin: o.agentBin, Config: agentCfg, DataDir: filepath.Join(tmp, "agent-data"), Agent: true,
		LogFile: filepath.Join(tmp, "agent.log"),
	})
	if err != nil {
		return err
	}
	defer agent.Stop()

	// Every container scraped by the agent and up on the central server.
	upQuery := `count(up{job="antspace",cluster="site-a"} == 1)`
	fmt.Printf("waiting until the central server has %s = %d ...\n", upQuery, o.n)
	if err := agent.WaitUntil(2*time.Minute+4*o.interval, "every container up centrally", func() bool {
		v, err := queryScalar(central.URL, upQuery)
		return err == nil && int(v) == o.n
	}); err != nil {
		return err
	}
	fmt.Printf("warm-up %s ...\n", o.warmup)
	time.Sleep(o.warmup)

	before, err := agentSnap(fl, exp, agent, central)
	if err != nil {
		return err
	}
	fmt.Printf("measuring %s ...\n", o.duration)
	time.Sleep(o.duration)
	after, err := agentSnap(fl, exp, agent, central)
	if err != nil {
		return err
	}
	if err := fl.Alive(); err != nil {
		return err
	}
	for _, p := range []*harness.Process{exp.Process, agent.Process, central.Process} {
		if err := p.Alive(); err != nil {
			return err
		}
	}
	upAtEnd, err := queryScalar(central.URL, upQuery)
	if err != nil {
		return err
	}
	agentMem, err := harness.ReadMemory(agent.PID())
	if err != nil {
		return err
	}
	centralMem, err := harness.ReadMemory(central.PID())
	if err != nil {
		return err
	}
	headSeries, _ := central.Metrics()

	md, err := agentReport(o, before, after, agentMem, centralMem, upAtEnd, headSeries["prometheus_tsdb_head_series"])
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(md)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("agent-n%d", o.n)
	if o.agentRW2 {
		name += "-rw2"
	}
	if o.agent2 {
		name += "-agent2"
	}
	out := filepath.Join(o.out, name+".md")
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Println("\nwritten:", out)
	return nil
}

func agentSnap(fl *harness.Fleet, exp *harness.Exporter, agent, central *harness.Prometheus) (agentSnapshot, error) {
	s := agentSnapshot{at: time.Now(), mock: fl.CPU()}
	var err error
	if s.agentCPU, err = harness.CPUSeconds(agent.PID()); err != nil {
		return s, err
	}
	if s.centralCPU, err = harness.CPUSeconds(central.PID()); err != nil {
		return s, err
	}
	if s.expCPU, err = harness.CPUSeconds(exp.PID()); err != nil {
		return s, err
	}
	if s.agent, err = agent.Metrics(); err != nil {
		return s, err
	}
	if s.central, err = central.Metrics(); err != nil {
		return s, err
	}
	b, _ := os.ReadFile("/proc/loadavg")
	_, _ = fmt.Sscan(string(b), &s.load) // 0 when unreadable
	return s, nil
}

// delta is a counter's increase over the measurement.
func delta(before, after harness.Metrics, name string) (float64, error) {
	a, err := after.Get(name)
	if err != nil {
		return 0, err
	}
	b, err := before.Get(name)
	if err != nil {
		return 0, err
	}
	return a - b, nil
}

func agentReport(o options, before, after agentSnapshot, agentMem, centralMem harness.Memory, upAtEnd, headSeries float64) (string, error) {
	secs := after.at.Sub(before.at).Seconds()
	n := float64(o.n)
	appended, err := delta(before.agent, after.agent, "prometheus_agent_samples_appended_total")
	if err != nil {
		return "", err
	}
	sent, err := delta(before.agent, after.agent, "prometheus_remote_storage_samples_total")
	if err != nil {
		return "", err
	}
	sentBytes, err := delta(before.agent, after.agent, "prometheus_remote_storage_bytes_total")
	if err != nil {
		return "", err
	}
	ingested, err := delta(before.central, after.central, "prometheus_tsdb_head_samples_appended_total")
	if err != nil {
		return "", err
	}
	failed, _ := delta(before.agent, after.agent, "prometheus_remote_storage_samples_failed_total")
	dropped, _ := delta(before.agent, after.agent, "prometheus_remote_storage_samples_dropped_total")
	agentCPU := after.agentCPU - before.agentCPU
	centralCPU := after.centralCPU - before.centralCPU
	expCPU := after.expCPU - before.expCPU
	mockCPU := after.mock - before.mock
	const mib = 1 << 20

	var b strings.Builder
	protocol := "remote write 1.0"
	if o.agentRW2 {
		protocol = "remote write 2.0 (`protobuf_message: io.prometheus.write.v2.Request`)"
	}
	fmt.Fprintf(&b, "# Agent mode, one site of %d containers, %s: cost per site\n\n", o.n, protocol)
	fmt.Fprintf(&b, "%s, %d CPUs, one-minute load average %.1f at the start and %.1f at the end of the measurement", before.at.UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), before.load, after.load)
	if max(before.load, after.load) > float64(runtime.NumCPU())/2 {
		fmt.Fprint(&b, ", **under load** (other work shared the machine; the figures are CPU time per wall second, sample or container within this run, which load inflates less than latencies, but does inflate)")
	}
	fmt.Fprintf(&b, ".\n\n`go run ./bench -agent%s -n %d -interval %s -duration %s` — the mock fleet (%s), the exporter (`%s`), a Prometheus agent (%s) scraping every container through `/sd` and `/probe` every %s and remote-writing to a central Prometheus (%s, `--web.enable-remote-write-receiver`) that evaluates `rules/antspace.rules.yml` and the site heartbeat every %s. Measured for %.0f s after every container was up centrally and a %s warm-up; CPU from `/proc/<pid>/stat`, memory from `/proc/<pid>/status`, samples and bytes from the agent's and the central server's `/metrics`.\n\n",
		agentFlags(o), o.n, o.interval, o.duration, o.fleetStart, strings.TrimSpace("antspace_exporter "+o.exporterArgs), promLabel(o.agentBin), o.interval, promLabel(o.centralBin), o.interval, secs, o.warmup)
	fmt.Fprintf(&b, "| | value | per container |\n|---|---:|---:|\n")
	row := func(name, v, per string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", name, v, per) }
	row("containers up centrally at the end", fmt.Sprintf("%.0f of %d", upAtEnd, o.n), "")
	row("samples scraped by the agent /s", fmt.Sprintf("%.0f", appended/secs), fmt.Sprintf("%.1f", appended/secs/n))
	row("samples remote-written /s", fmt.Sprintf("%.0f", sent/secs), fmt.Sprintf("%.1f", sent/secs/n))
	row("samples failed / dropped", fmt.Sprintf("%.0f / %.0f", failed, dropped), "")
	row("samples appended centrally /s", fmt.Sprintf("%.0f", ingested/secs), fmt.Sprintf("%.1f", ingested/secs/n))
	row("central head series", fmt.Sprintf("%.0f", headSeries), fmt.Sprintf("%.0f", headSeries/n))
	row("**bytes sent to central /s** (`prometheus_remote_storage_bytes_total`, compressed)", fmt.Sprintf("%.0f", sentBytes/secs), fmt.Sprintf("**%.0f B/s**", sentBytes/secs/n))
	row("bytes sent per sample", fmt.Sprintf("%.2f", sentBytes/max(1, sent)), "")
	row("**agent CPU** (% of one core)", fmt.Sprintf("%.1f %%", 100*agentCPU/secs), fmt.Sprintf("**%.3f %%** (%.0f µs per scrape)", 100*agentCPU/secs/n, 1e6*agentCPU/(secs/o.interval.Seconds()*n)))
	row("agent CPU per sample", fmt.Sprintf("%.2f µs", 1e6*agentCPU/max(1, appended)), "")
	row("**agent RSS** now / peak", fmt.Sprintf("%.0f / %.0f MiB", float64(agentMem.RSS)/mib, float64(agentMem.PeakRSS)/mib), fmt.Sprintf("%.1f KiB", float64(agentMem.RSS)/1024/n))
	row("**central CPU** for this site (% of one core)", fmt.Sprintf("%.1f %%", 100*centralCPU/secs), fmt.Sprintf("%.3f %%", 100*centralCPU/secs/n))
	row("central CPU per sample appended", fmt.Sprintf("%.2f µs", 1e6*centralCPU/max(1, ingested)), "")
	row("**central RSS** now / peak", fmt.Sprintf("%.0f / %.0f MiB", float64(centralMem.RSS)/mib, float64(centralMem.PeakRSS)/mib), fmt.Sprintf("%.1f KiB", float64(centralMem.RSS)/1024/n))
	row("exporter CPU (% of one core), for comparison", fmt.Sprintf("%.1f %%", 100*expCPU/secs), fmt.Sprintf("%.3f %%", 100*expCPU/secs/n))
	row("mock fleet CPU (% of one core), for comparison", fmt.Sprintf("%.1f %%", 100*mockCPU/secs), "")
	fmt.Fprintf(&b, "\nagent CPU / exporter CPU = %.2f; central CPU / agent CPU = %.2f.\n", agentCPU/max(expCPU, 1e-9), centralCPU/max(agentCPU, 1e-9))
	return b.String(), nil
}

// queryScalar runs an instant query whose answer is one sample (or none:
// 0) on a Prometheus server.
func queryScalar(base, query string) (float64, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }() // read by the decoder
	var r struct {
		Data struct {
			Result []struct {
				Value [2]json.RawMessage `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if len(r.Data.Result) == 0 {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(r.Data.Result[0].Value[1], &s); err != nil {
		return 0, err
	}
	var v float64
	_, err = fmt.Sscan(s, &v)
	return v, err
}

// agentHeartbeatRules is the site heartbeat of docs/scaling.md.
const agentHeartbeatRules = `groups:
  - name: antspace-sites
    rules:
      - record: cluster:antspace_up:count
        expr: count by (cluster) (up{job="antspace"})
      - alert: AntspaceSiteSilent
        expr: max_over_time(cluster:antspace_up:count[1d]) unless cluster:antspace_up:count
        for: 5m
`

// agentSite is the agent configuration of docs/scaling.md for one site.
type agentSite struct {
	exporter, central string // host:port
	cluster           string // external label
	keepSite          string // keep only the /sd targets of this site; "" keeps all
	interval, timeout time.Duration
	sendDeadline      time.Duration // remote write batch_send_deadline; 0 is Prometheus' default (5 s)
	rw2               bool          // remote write 2.0 (Prometheus 3 agents only)
}

func (a agentSite) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  scrape_interval: %s
  scrape_timeout: %s
  external_labels:
    cluster: %s
scrape_configs:
  - job_name: antspace
    metrics_path: /probe
    http_sd_configs:
      - url: http://%s/sd
        refresh_interval: 5s
    relabel_configs:
`, a.interval, a.timeout, a.cluster, a.exporter)
	if a.keepSite != "" {
		fmt.Fprintf(&b, "      - source_labels: [site]\n        regex: %s\n        action: keep\n", a.keepSite)
	}
	fmt.Fprintf(&b, `      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__address__]
        target_label: instance
      - target_label: __address__
        replacement: %s
remote_write:
  - url: http://%s/api/v1/write
`, a.exporter, a.central)
	if a.rw2 {
		b.WriteString("    protobuf_message: io.prometheus.write.v2.Request\n")
	}
	if a.sendDeadline > 0 {
		fmt.Fprintf(&b, "    queue_config:\n      batch_send_deadline: %s\n", a.sendDeadline)
	}
	return b.String()
}
