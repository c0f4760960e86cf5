package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/dashboards"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Timing of the suite. Prometheus scrapes and evaluates every interval
// (the probe gets the scrape timeout, also interval, minus 0.5s); the rules'
// for/keep_firing_for are divided by speedup (1m -> 4s, 2m -> 8s, 3m -> 12s,
// 5m -> 20s), so their order is kept: a device alert's keep_firing_for (20s)
// still outlasts AntspaceContainerUnreachable's for (8s), which is what lets
// Alertmanager inhibit it instead of seeing it resolve.
const (
	interval = 2 * time.Second
	speedup  = 15
	// wait bounds each condition: the longest chain is keep_firing_for
	// (20s) plus a few scrape/evaluation/notification rounds, on a loaded
	// 2-core machine.
	wait = 90 * time.Second
)

// stack is everything the suite started.
type stack struct {
	root         string
	dir          string
	fleet        []*fleetContainer
	exporter     *process
	exporterAddr string
	prom         promAPI
	am           amAPI
	webhook      *webhookRecorder
	token        string // bearer token for /control
	inventory    string // the exporter's inventory file
	controlYAML  string // its control: section
}

func (s *stack) container(name string) *fleetContainer {
	for _, c := range s.fleet {
		if c.Name == name {
			return c
		}
	}
	panic("no container " + name)
}

// TestEndToEnd runs mock containers → the exporter binary → Prometheus with
// examples/prometheus.yml and the rule bundle → Alertmanager with
// examples/alertmanager.yml, and asserts each scenario of issue 7 through
// their HTTP APIs. Stopping the exporter comes last.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite skipped in -short mode")
	}
	amBin := testutil.RequireBinary(t, "prometheus-alertmanager", "alertmanager")
	for _, b := range testutil.PromBuilds() {
		t.Run(b.Name, func(t *testing.T) {
			b.Require(t)
			runEndToEnd(t, setup(t, b.Prometheus, amBin, setupOptions{}))
		})
	}
}

func runEndToEnd(t *testing.T, s *stack) {
	start := time.Now()
	steps := []struct {
		name string
		f    func(*testing.T)
	}{
		{"1_AllContainersScraped", s.scenarioScrape},
		{"2_LeakageAlertRoutedAndResolved", s.scenarioLeakage},
		{"3_UnreachableInhibitsDeviceAlerts", s.scenarioUnreachable},
		{"5_DashboardQueriesReturnData", s.scenarioDashboards},
		{"6_SetpointThroughControl", s.scenarioSetpoint},
		{"4_ExporterDown", s.scenarioExporterDown},
	}
	for _, st := range steps {
		t0 := time.Now()
		ok := t.Run(st.name, st.f)
		t.Logf("%s: %v in %v", st.name, map[bool]string{true: "ok", false: "FAILED"}[ok], time.Since(t0).Round(100*time.Millisecond))
	}
	t.Logf("scenarios took %v", time.Since(start).Round(100*time.Millisecond))
}

// setupOptions vary the stack: a site's rendered bundle and job names, a
// different fleet.
type setupOptions struct {
	rulesDir string            // rule files to load; "" = the committed rules/
	jobNames map[string]string // scrape jobs renamed in examples/prometheus.yml
	fleet    []*fleetContainer // nil = the demo's four containers
}

func setup(t *testing.T, promBin, amBin string, o setupOptions) *stack {
	root := repoRoot(t)
	dir := t.TempDir()
	s := &stack{root: root, dir: dir}
	// The processes' logs are printed when the test fails; E2E_LOG_DIR keeps
	// them (e.g. as CI artifacts).
	logDir := filepath.Join(dir, "logs")
	if d := os.Getenv("E2E_LOG_DIR"); d != "" {
		logDir = d
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}

	exporterBin := buildBinary(t, root, "./cmd/antspace_exporter", filepath.Join(dir, "bin"))

	// The fleet: names as in the demo (targets.example.yml), since the static
	// job of examples/prometheus.yml lists hk3-002 and imm-002 by name.
	s.fleet = o.fleet
	if s.fleet == nil {
		s.fleet = []*fleetContainer{
			{Name: "hk3-001", Type: mock.HK3, Seed: 1, Site: "demo", Row: "1"},
			{Name: "hk3-002", Type: mock.HK3, Seed: 2, Site: "demo", Row: "1"},
			{Name: "imm-001", Type: mock.Immersion, Seed: 3, Site: "demo", Row: "2"},
			{Name: "imm-002", Type: mock.Immersion, Seed: 4, Site: "demo", Row: "2"},
		}
	}
	for _, c := range s.fleet {
		c.start(t, "127.0.0.1:0")
	}
	t.Cleanup(func() {
		for _, c := range s.fleet {
			c.stop(t)
		}
	})

	// /control with one bearer token (a fresh random one; bcrypt's minimum
	// cost keeps the test fast, the exporter accepts any bcrypt cost).
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		t.Fatal(err)
	}
	s.token = hex.EncodeToString(tok)
	hash, err := bcrypt.GenerateFromPassword([]byte(s.token), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	control := fmt.Sprintf("control:\n  tokens:\n    - name: e2e-operator\n      hash: %q\n      actions: [reset, setpoint]\n", hash)

	inv := filepath.Join(dir, "inventory.yml")
	s.inventory, s.controlYAML = inv, control
	if err := os.WriteFile(inv, []byte(inventory(s.fleet, control)), 0o644); err != nil {
		t.Fatal(err)
	}
	s.exporterAddr = testutil.MustFreeAddr(t)
	s.exporter = startProcess(t, logDir, "antspace_exporter", exporterBin,
		"--config.file="+inv, "--web.listen-address="+s.exporterAddr)
	s.exporter.waitHTTP(t, "http://"+s.exporterAddr+"/-/healthy", testutil.Patience)

	s.webhook = startWebhook(t)
	amAddr, promAddr := testutil.MustFreeAddr(t), testutil.MustFreeAddr(t)
	r, err := Render(RenderOptions{
		Root: root, OutDir: filepath.Join(dir, "config"),
		ExporterAddr: s.exporterAddr, AlertmanagerAddr: amAddr, WebhookAddr: s.webhook.addr(),
		Interval: interval, Speedup: speedup,
		RulesDir: o.rulesDir, JobNames: o.jobNames,
	})
	if err != nil {
		t.Fatal(err)
	}

	am := startProcess(t, logDir, "alertmanager", amBin,
		"--config.file="+r.Alertmanager,
		"--storage.path="+filepath.Join(dir, "alertmanager"),
		"--web.listen-address="+amAddr,
		"--cluster.listen-address=", // no clustering: no gossip port, no peers
	)
	am.waitHTTP(t, "http://"+amAddr+"/-/ready", testutil.Patience)
	s.am = amAPI{base: "http://" + amAddr}

	prom := startProcess(t, logDir, "prometheus", promBin,
		"--config.file="+r.Prometheus,
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus"),
		"--web.listen-address="+promAddr,
		"--web.enable-lifecycle",
	)
	prom.waitHTTP(t, "http://"+promAddr+"/-/ready", 2*testutil.Patience)
	s.prom = promAPI{base: "http://" + promAddr}
	// Registered after Prometheus' own cleanup, so it runs before Prometheus
	// stops: scrape failures and slow scrapes explain a flaky timing.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, q := range []string{
			`sum by (job, instance) (count_over_time(up[1h]) - sum_over_time(up[1h])) > 0`,
			`max by (job, instance) (max_over_time(scrape_duration_seconds[1h])) > 0.25`,
		} {
			res, err := s.prom.query(q)
			if err != nil {
				t.Logf("diagnostics: %v", err)
				continue
			}
			for _, r := range res {
				t.Logf("diagnostics: %s: %s %s", q, describe(r.Metric), r.value())
			}
		}
	})
	t.Logf("Prometheus http://%s, Alertmanager http://%s, exporter http://%s", promAddr, amAddr, s.exporterAddr)
	return s
}

// Scenario 1: every container is scraped exactly once (through /sd or the
// static relabelling), antspace_up is 1 for each, and the key metrics of
// both types carry the inventory labels.
func (s *stack) scenarioScrape(t *testing.T) {
	testutil.Eventually(t, wait, "all targets up", func() (bool, string) {
		ts, err := s.prom.targets()
		if err != nil {
			return false, err.Error()
		}
		pools := map[string][]string{}
		for _, tg := range ts {
			if tg.Health != "up" {
				return false, fmt.Sprintf("target %s in %s is %s (%s)", tg.ScrapeURL, tg.ScrapePool, tg.Health, tg.LastError)
			}
			pools[tg.ScrapePool] = append(pools[tg.ScrapePool], tg.Labels["instance"])
		}
		for _, l := range pools {
			slices.Sort(l)
		}
		want := map[string][]string{
			"antspace":          {"hk3-001", "imm-001"}, // from /sd, minus the static ones
			"antspace_static":   {"hk3-002", "imm-002"},
			"antspace_exporter": {s.exporterAddr},
		}
		for pool, w := range want {
			if !slices.Equal(pools[pool], w) {
				return false, fmt.Sprintf("pool %s has %v, want %v (all: %v)", pool, pools[pool], w, pools)
			}
		}
		return len(pools) == len(want), fmt.Sprintf("pools %v", pools)
	})

	// Both patterns give the same target labels.
	ts, err := s.prom.targets()
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range ts {
		if tg.ScrapePool == "antspace_exporter" {
			continue
		}
		c := s.container(tg.Labels["instance"])
		want := map[string]string{"job": "antspace", "instance": c.Name, "container": c.Name, "type": string(c.Type), "site": c.Site, "row": c.Row}
		if !match(tg.Labels, want) {
			t.Errorf("target %s (pool %s) labels %s, want %s", tg.ScrapeURL, tg.ScrapePool, describe(tg.Labels), describe(want))
		}
		if !strings.Contains(tg.ScrapeURL, "module="+string(c.Type)) || !strings.Contains(tg.ScrapeURL, "target="+c.Name) {
			t.Errorf("target %s: scrape URL %s lacks target=%s and module=%s", c.Name, tg.ScrapeURL, c.Name, c.Type)
		}
	}

	testutil.Eventually(t, wait, "antspace_up == 1 once per container", func() (bool, string) {
		res, err := s.prom.query("antspace_up")
		if err != nil {
			return false, err.Error()
		}
		seen := map[string]int{}
		for _, r := range res {
			c := r.Metric["container"]
			seen[c]++
			if r.value() != "1" {
				return false, fmt.Sprintf("antspace_up%s = %s", describe(r.Metric), r.value())
			}
		}
		for _, c := range s.fleet {
			if seen[c.Name] != 1 {
				return false, fmt.Sprintf("%d antspace_up series for %s (%v)", seen[c.Name], c.Name, seen)
			}
		}
		return len(seen) == len(s.fleet), fmt.Sprintf("containers %v", seen)
	})

	keys := map[mock.Type][]string{
		mock.HK3: {
			`antspace_temperature_celsius{sensor="supply_liquid"}`,
			`antspace_supply_liquid_setpoint_celsius`,
			`antspace_pressure_pascals{sensor="supply_liquid"}`,
			`antspace_flow_cubic_meters_per_second{sensor="supply_liquid"}`,
			`antspace_power_watts`,
			`antspace_humidity_ratio`,
			`antspace_component_running{component="circulating_pump"}`,
			`antspace_fault_active{fault="leakage_fault"}`,
			`antspace_hashrate_hashes_per_second`,
			`antspace_container_info`,
		},
		mock.Immersion: {
			`antspace_temperature_celsius{sensor="primary_supply"}`,
			`antspace_temperature_celsius{sensor="secondary_supply1"}`,
			`antspace_supply_liquid_setpoint_celsius`,
			`antspace_tank_level_meters`,
			`antspace_voltage_volts`,
			`antspace_frequency_hertz`,
			`antspace_power_watts`,
			`antspace_fault_active{fault="leakage_fault"}`,
			`antspace_protocol_version`,
			`antspace_hashrate_hashes_per_second`,
		},
	}
	for _, c := range s.fleet {
		for _, sel := range keys[c.Type] {
			q := withMatchers(sel, fmt.Sprintf(`container=%q`, c.Name))
			res, err := s.prom.query(q)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) == 0 {
				t.Errorf("%s: no series", q)
				continue
			}
			want := map[string]string{"container": c.Name, "type": string(c.Type), "site": c.Site, "row": c.Row, "job": "antspace", "instance": c.Name}
			for _, r := range res {
				if !match(r.Metric, want) {
					t.Errorf("%s: series %s lacks %s", q, describe(r.Metric), describe(want))
				}
			}
		}
	}
	// Nothing of one type leaks into the other.
	for q, typ := range map[string]string{`antspace_pressure_pascals`: "hk3", `antspace_tank_level_meters`: "immersion"} {
		res, err := s.prom.query(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Metric["type"] != typ {
				t.Errorf("%s on a %s container: %s", q, r.Metric["type"], describe(r.Metric))
			}
		}
	}

	// The exporter's own metrics. Its job is scraped on its own schedule: the
	// probe counter exists in Prometheus only once a scrape of /metrics came
	// after the first successful probe, so wait for it.
	for _, q := range []string{`up{job="antspace_exporter"} == 1`, `antspace_exporter_build_info{job="antspace_exporter"}`, `antspace_exporter_probes_total{result="success"}`} {
		testutil.Eventually(t, wait, q, func() (bool, string) {
			res, err := s.prom.query(q)
			if err != nil {
				return false, err.Error()
			}
			return len(res) > 0, "no series"
		})
	}
}

// Scenario 2: a leakage fault on an HK3 container (discovered through /sd)
// fires AntspaceLeakage in Prometheus; Alertmanager receives it with
// severity critical, the container's labels and the runbook link, and
// routes it to the pager receiver. Clearing the fault resolves it.
func (s *stack) scenarioLeakage(t *testing.T) {
	c := s.container("hk3-001")
	sel := map[string]string{"alertname": "AntspaceLeakage", "container": c.Name}
	want := map[string]string{
		"alertname": "AntspaceLeakage", "severity": "critical", "class": "device", "fault": "leakage_fault",
		"container": c.Name, "instance": c.Name, "job": "antspace", "type": "hk3", "site": c.Site, "row": c.Row,
	}
	if a := s.mustPromAlerts(t, sel); len(a) != 0 {
		t.Fatalf("AntspaceLeakage already active before the fault: %v", a)
	}

	if err := c.server().SetFault("leakage_fault", true); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, "AntspaceLeakage firing in Prometheus", func() (bool, string) {
		as, err := s.promAlerts(sel)
		if err != nil || len(as) != 1 {
			return false, fmt.Sprintf("%d alerts: %v %v", len(as), as, err)
		}
		return as[0].State == "firing", "state " + as[0].State
	})
	a := s.mustPromAlerts(t, sel)[0]
	if !match(a.Labels, want) {
		t.Errorf("Prometheus alert labels %s, want %s", describe(a.Labels), describe(want))
	}

	testutil.Eventually(t, wait, "AntspaceLeakage active in Alertmanager", func() (bool, string) {
		as, err := s.amAlerts(sel)
		if err != nil || len(as) != 1 {
			return false, fmt.Sprintf("%d alerts %v", len(as), err)
		}
		return as[0].Status.State == "active", "state " + as[0].Status.State
	})
	am := s.mustAMAlerts(t, sel)[0]
	if !match(am.Labels, want) {
		t.Errorf("Alertmanager alert labels %s, want %s", describe(am.Labels), describe(want))
	}
	if u := am.Annotations["runbook_url"]; !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, "#antspaceleakage") {
		t.Errorf("runbook_url annotation %q, want an https link to #antspaceleakage", u)
	}
	if d := am.Annotations["description"]; !strings.Contains(d, c.Name) || !strings.Contains(d, c.Site) {
		t.Errorf("description %q does not name the container and site", d)
	}
	var receivers []string
	for _, r := range am.Receivers {
		receivers = append(receivers, r.Name)
	}
	if !slices.Equal(receivers, []string{"pager"}) {
		t.Errorf("receivers %v, want [pager] (severity critical)", receivers)
	}
	testutil.Eventually(t, wait, "pager webhook notified", func() (bool, string) {
		return s.webhook.received("/pager", "firing", sel), "no firing AntspaceLeakage on /pager yet"
	})

	// Clear it the way an operator would: reset through the exporter's /control.
	if ans := s.control(t, "reset", url.Values{"target": {c.Name}}); !ans.OK || !ans.Verified {
		t.Fatalf("/control/reset: %+v", ans)
	}
	testutil.Eventually(t, wait, "leakage flag back to 0", func() (bool, string) {
		res, err := s.prom.query(fmt.Sprintf(`antspace_fault_active{container=%q,fault="leakage_fault"}`, c.Name))
		if err != nil {
			return false, err.Error()
		}
		return len(res) == 1 && res[0].value() == "0", fmt.Sprintf("%v", res)
	})
	testutil.Eventually(t, wait, "AntspaceLeakage resolved in Prometheus and Alertmanager", func() (bool, string) {
		p, err1 := s.promAlerts(sel)
		a, err2 := s.amAlerts(sel)
		return err1 == nil && err2 == nil && len(p) == 0 && len(a) == 0,
			fmt.Sprintf("%d in Prometheus, %d in Alertmanager %v %v", len(p), len(a), err1, err2)
	})
}

// Scenario 3: a container (scraped through the static relabelling) with a
// firing device alert becomes unreachable: AntspaceContainerUnreachable
// fires and Alertmanager inhibits the device alert, which Prometheus keeps
// firing (keep_firing_for) rather than resolving. Back on its address, the
// container's alerts resolve.
func (s *stack) scenarioUnreachable(t *testing.T) {
	c := s.container("hk3-002")
	device := map[string]string{"alertname": "AntspaceCirculatingPumpFault", "container": c.Name}
	unreach := map[string]string{"alertname": "AntspaceContainerUnreachable", "container": c.Name}

	if err := c.server().SetFault("circulating_pump_fault", true); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, wait, "device alert active in Alertmanager", func() (bool, string) {
		as, err := s.amAlerts(device)
		return err == nil && len(as) == 1 && as[0].Status.State == "active", fmt.Sprintf("%d alerts %v", len(as), err)
	})

	addr := c.Addr
	c.stop(t)
	// Hold the port while the container is down: on a busy machine another
	// process's server could take it and answer the scrapes. A listener
	// that never accepts makes the scrapes time out, which is unreachable
	// too. (Not testutil.RefuseConnections: the closed server's connections
	// may still hold the port in TIME_WAIT.)
	release := func() {}
	if ln, err := net.Listen("tcp", addr); err == nil {
		release = func() { ln.Close() }
	} else {
		t.Logf("cannot hold %s while %s is down: %v", addr, c.Name, err)
	}
	testutil.Eventually(t, wait, "antspace_up == 0", func() (bool, string) {
		res, err := s.prom.query(fmt.Sprintf(`antspace_up{container=%q}`, c.Name))
		if err != nil {
			return false, err.Error()
		}
		return len(res) == 1 && res[0].value() == "0", fmt.Sprintf("%v", res)
	})
	testutil.Eventually(t, wait, "unreachable alert fires and inhibits the device alert", func() (bool, string) {
		us, err := s.amAlerts(unreach)
		if err != nil || len(us) != 1 || us[0].Status.State != "active" {
			return false, fmt.Sprintf("%d unreachable alerts %v", len(us), err)
		}
		ds, err := s.amAlerts(device)
		if err != nil {
			return false, err.Error()
		}
		if len(ds) != 1 {
			return false, fmt.Sprintf("%d device alerts in Alertmanager (did it resolve before the unreachable alert fired?)", len(ds))
		}
		d := ds[0]
		return d.Status.State == "suppressed" && slices.Contains(d.Status.InhibitedBy, us[0].Fingerprint),
			fmt.Sprintf("device alert %s inhibitedBy %v, unreachable fingerprint %s", d.Status.State, d.Status.InhibitedBy, us[0].Fingerprint)
	})
	u := s.mustAMAlerts(t, unreach)[0]
	if !match(u.Labels, map[string]string{"severity": "critical", "class": "reachability", "site": c.Site, "type": "hk3", "job": "antspace"}) {
		t.Errorf("unreachable alert labels %s", describe(u.Labels))
	}
	if u.Annotations["runbook_url"] == "" {
		t.Error("unreachable alert has no runbook_url")
	}
	// Only this container is affected.
	for _, o := range s.fleet {
		if o != c && len(s.mustAMAlerts(t, map[string]string{"alertname": "AntspaceContainerUnreachable", "container": o.Name})) > 0 {
			t.Errorf("%s reported unreachable too", o.Name)
		}
	}

	release()
	c.start(t, addr) // a fresh controller on the same address: faults clear
	testutil.Eventually(t, wait, "antspace_up back to 1", func() (bool, string) {
		res, err := s.prom.query(fmt.Sprintf(`antspace_up{container=%q}`, c.Name))
		if err != nil {
			return false, err.Error()
		}
		return len(res) == 1 && res[0].value() == "1", fmt.Sprintf("%v", res)
	})
	testutil.Eventually(t, wait, "unreachable and device alerts resolved", func() (bool, string) {
		n := 0
		for _, sel := range []map[string]string{unreach, device} {
			p, err1 := s.promAlerts(sel)
			a, err2 := s.amAlerts(sel)
			if err := errors.Join(err1, err2); err != nil {
				return false, err.Error()
			}
			n += len(p) + len(a)
		}
		return n == 0, fmt.Sprintf("%d still active", n)
	})
}

// Scenario 4 (last: it stops the exporter): AntspaceExporterDown fires and
// reaches Alertmanager.
func (s *stack) scenarioExporterDown(t *testing.T) {
	sel := map[string]string{"alertname": "AntspaceExporterDown"}
	s.exporter.stop(t)
	testutil.Eventually(t, wait, "AntspaceExporterDown firing in Prometheus", func() (bool, string) {
		as, err := s.promAlerts(sel)
		return err == nil && len(as) == 1 && as[0].State == "firing", fmt.Sprintf("%v %v", as, err)
	})
	testutil.Eventually(t, wait, "AntspaceExporterDown active in Alertmanager", func() (bool, string) {
		as, err := s.amAlerts(sel)
		return err == nil && len(as) == 1 && as[0].Status.State == "active", fmt.Sprintf("%d alerts %v", len(as), err)
	})
	a := s.mustAMAlerts(t, sel)[0]
	want := map[string]string{"severity": "critical", "class": "exporter", "job": "antspace_exporter", "instance": s.exporterAddr}
	if !match(a.Labels, want) {
		t.Errorf("labels %s, want %s", describe(a.Labels), describe(want))
	}
	if a.Annotations["runbook_url"] == "" {
		t.Error("no runbook_url")
	}
}

// Scenario 5: every query of the three dashboards (panels and template
// variables, with Site and Container set to "All") returns data. The queries
// that are empty on a healthy fleet (Optional) get their condition first: a
// fault and its alert on one container, energy counters and an unknown
// field on a container of each type.
func (s *stack) scenarioDashboards(t *testing.T) {
	hk3, imm := s.container("hk3-001"), s.container("imm-002")
	for k, v := range map[string]any{"power_a_distribution": 1234.5, "power_b_distribution": 987.6, "new_firmware_field": 7} {
		if err := hk3.server().Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := imm.server().Set("new_firmware_field", 8); err != nil {
		t.Fatal(err)
	}
	if err := imm.server().SetFault("fan_fault", true); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, k := range []string{"power_a_distribution", "power_b_distribution", "new_firmware_field"} {
			hk3.server().Unset(k)
		}
		imm.server().Unset("new_firmware_field")
		if ans := s.control(t, "reset", url.Values{"target": {imm.Name}}); !ans.OK {
			t.Errorf("/control/reset %s: %+v", imm.Name, ans)
		}
	}()
	testutil.Eventually(t, wait, "conditions of the optional panels present", func() (bool, string) {
		for _, q := range []string{
			`antspace_energy_joules_total{container="hk3-001"}`,
			`antspace_unknown_field_value{container="hk3-001"}`,
			`antspace_unknown_field_value{container="imm-002"}`,
			`ALERTS{alertname="AntspaceFanFault",container="imm-002",alertstate="firing"}`,
		} {
			res, err := s.prom.query(q)
			if err != nil {
				return false, err.Error()
			}
			if len(res) == 0 {
				return false, "no data yet for " + q
			}
		}
		return true, ""
	})

	var names []string
	for _, c := range s.fleet {
		names = append(names, c.Name)
	}
	qs, err := dashboards.CommittedQueries(map[string]string{"site": "demo", "container": strings.Join(names, "|")})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 30 {
		t.Fatalf("only %d dashboard queries", len(qs))
	}
	files := map[string]int{}
	for _, q := range qs {
		files[q.File]++
		var n int
		var err error
		if q.Instant {
			var res []promSample
			res, err = s.prom.query(q.Expr)
			n = len(res)
		} else {
			n, err = s.prom.queryRange(q.Expr, 2*time.Minute, 2*time.Second)
		}
		switch {
		case err != nil:
			t.Errorf("%s %q %s: %v", q.File, q.Panel, q.RefID, err)
		case n == 0:
			t.Errorf("%s %q %s: no data (optional: %q)\n  %s", q.File, q.Panel, q.RefID, q.Optional, q.Expr)
		}
	}
	if len(files) != 3 {
		t.Errorf("queries from %d dashboards, want 3: %v", len(files), files)
	}
	t.Logf("%d dashboard queries returned data: %v", len(qs), files)
	s.checkFaultSince(t, strings.Join(names, "|"))
}

// checkFaultSince: the fleet's Active faults "Since" for imm-002's fan_fault
// (the recording rule container:antspace_fault_active:since_timestamp_seconds)
// is the time of a faulty sample of the current streak, read from the raw
// samples: the first one, or a later one at most one evaluation interval
// after it (the rule takes the latest sample when it first sees the flag
// set; scrape and rule evaluation run every interval, not in lockstep).
func (s *stack) checkFaultSince(t *testing.T, containers string) {
	qs, err := dashboards.CommittedQueries(map[string]string{"site": "demo", "container": containers})
	if err != nil {
		t.Fatal(err)
	}
	var since string
	for _, q := range qs {
		if q.Dashboard == dashboards.FleetUID && q.Panel == "Active faults" && q.RefID == "B" {
			since = q.Expr
		}
	}
	if since == "" {
		t.Fatal("no Active faults query B")
	}
	res, err := s.prom.query(since)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, r := range res {
		if r.Metric["container"] == "imm-002" && r.Metric["fault"] == "fan_fault" {
			got = r.value()
		}
	}
	ts, vs, err := s.prom.rawSamples(`antspace_fault_active{container="imm-002",fault="fan_fault"}[1h]`)
	if err != nil {
		t.Fatal(err)
	}
	var want int64 = -1
	faulty := map[int64]bool{}
	for i, v := range vs {
		switch v {
		case "0":
			want = -1
			clear(faulty)
		case "1":
			if want < 0 {
				want = ts[i]
			}
			faulty[ts[i]] = true
		}
	}
	g, err := strconv.ParseFloat(got, 64)
	ms := int64(math.Round(g))
	if want < 0 || err != nil || !faulty[ms] || ms > want+interval.Milliseconds() {
		t.Errorf("Active faults since for imm-002 fan_fault = %q ms, want the first faulty sample %d ms or one at most %s after it (samples %v %v)", got, want, interval, ts, vs)
	} else {
		t.Logf("Active faults since for imm-002 fan_fault: %d ms, %d ms after its first faulty sample", ms, ms-want)
	}
}

// Scenario 6: a setpoint change through /control reaches the controller and
// shows up in antspace_supply_liquid_setpoint_celsius in Prometheus.
func (s *stack) scenarioSetpoint(t *testing.T) {
	for _, c := range []*fleetContainer{s.container("hk3-001"), s.container("imm-002")} {
		q := fmt.Sprintf(`antspace_supply_liquid_setpoint_celsius{container=%q}`, c.Name)
		res, err := s.prom.query(q)
		if err != nil || len(res) != 1 {
			t.Fatalf("%s: %v %v", q, res, err)
		}
		cur, err := strconv.ParseFloat(res[0].value(), 64)
		if err != nil {
			t.Fatal(err)
		}
		want := 33.5 // inside the default control range [20, 45]
		if cur == want {
			want = 34.5
		}
		ans := s.control(t, "setpoint", url.Values{"target": {c.Name}, "celsius": {strconv.FormatFloat(want, 'f', -1, 64)}})
		if !ans.OK || !ans.Verified {
			t.Fatalf("/control/setpoint %s %v: %+v", c.Name, want, ans)
		}
		testutil.Eventually(t, wait, fmt.Sprintf("%s setpoint %v -> %v in Prometheus", c.Name, cur, want), func() (bool, string) {
			res, err := s.prom.query(q)
			if err != nil {
				return false, err.Error()
			}
			return len(res) == 1 && res[0].value() == strconv.FormatFloat(want, 'f', -1, 64), fmt.Sprintf("%v", res)
		})
	}
	testutil.Eventually(t, wait, "control counter in Prometheus", func() (bool, string) {
		res, err := s.prom.query(`antspace_exporter_control_requests_total{job="antspace_exporter",action="setpoint",result="success"} >= 2`)
		if err != nil {
			return false, err.Error()
		}
		return len(res) == 1, fmt.Sprintf("%v", res)
	})
}

// controlAnswer is the part of a /control answer the suite reads.
type controlAnswer struct {
	Status   int    `json:"-"`
	OK       bool   `json:"ok"`
	Verified bool   `json:"verified"`
	Error    string `json:"error"`
	Results  []struct {
		Container   string `json:"container"`
		OK          bool   `json:"ok"`
		Verified    bool   `json:"verified"`
		Error       string `json:"error"`
		VerifyError string `json:"verify_error"`
	} `json:"results"`
}

// control sends POST /control/<action> with the suite's bearer token.
func (s *stack) control(t *testing.T, action string, params url.Values) controlAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.exporterAddr+"/control/"+action+"?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("/control/%s: %v", action, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	var ans controlAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		t.Fatalf("/control/%s: HTTP %d, %v: %s", action, resp.StatusCode, err, b)
	}
	ans.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/control/%s %s: HTTP %d: %s", action, params.Encode(), resp.StatusCode, b)
	}
	return ans
}

func (s *stack) promAlerts(sel map[string]string) ([]promAlert, error) {
	as, err := s.prom.alerts()
	if err != nil {
		return nil, err
	}
	var out []promAlert
	for _, a := range as {
		if match(a.Labels, sel) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *stack) amAlerts(sel map[string]string) ([]amAlert, error) {
	as, err := s.am.alerts()
	if err != nil {
		return nil, err
	}
	var out []amAlert
	for _, a := range as {
		if match(a.Labels, sel) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *stack) mustPromAlerts(t *testing.T, sel map[string]string) []promAlert {
	t.Helper()
	as, err := s.promAlerts(sel)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func (s *stack) mustAMAlerts(t *testing.T, sel map[string]string) []amAlert {
	t.Helper()
	as, err := s.amAlerts(sel)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// withMatchers adds label matchers to a selector such as `m` or `m{a="b"}`.
func withMatchers(sel, matchers string) string {
	if before, ok := strings.CutSuffix(sel, "}"); ok {
		return before + "," + matchers + "}"
	}
	return sel + "{" + matchers + "}"
}
