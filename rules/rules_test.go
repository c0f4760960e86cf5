package rules

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

const (
	rulesFile          = "antspace.rules.yml"
	testsGlob          = "tests/*.yml"
	runbooksFile       = "../docs/runbooks.md"
	alertmanagerFile   = "../examples/alertmanager.yml"
	runbookBase        = "https://github.com/antspace-exporter/antspace_exporter/blob/main/docs/runbooks.md#"
	unreachableAlert   = "AntspaceContainerUnreachable"
	maxScrapeInterval  = 30 * time.Second
	classDevice        = "device"
	classReachability  = "reachability"
	classExporter      = "exporter"
	typeHK3, typeImmer = "hk3", "immersion"
)

var (
	allowedSeverities = []string{"critical", "high", "medium"}
	allowedClasses    = []string{classDevice, classReachability, classExporter}
	containerTypes    = []string{typeHK3, typeImmer}
	// Labels every device series carries in Prometheus (scrape config / service discovery).
	targetLabels = []string{"container", "type", "site", "instance", "job"}
	// Series Prometheus itself produces; not in the exporter's metric table.
	prometheusMetrics = []string{"up"}
)

// documentedFault is one row of the MiningOS alert table
// (shared/antspace-protocol.md, "The documented alerts and their severities").
type documentedFault struct {
	Type     string
	Device   string // name in the documented table (device spelling)
	Fault    string // the exporter's normalised fault label value (antspace_fault_active{fault})
	Severity string
}

// Transcribed from the protocol page: HK3 16 + Immersion 16.
var documented = []documentedFault{
	{typeHK3, "power_fault", "power_fault", "medium"},
	{typeHK3, "liquid_level_low", "liquid_level_low", "medium"},
	{typeHK3, "circulating_pump_fault", "circulating_pump_fault", "critical"},
	{typeHK3, "fan_fault", "fan_fault", "high"},
	{typeHK3, "fluid_infusion_pump_fault", "fluid_infusion_pump_fault", "high"},
	{typeHK3, "spray_pump_fault", "spray_pump_fault", "high"},
	{typeHK3, "cooling_tower_fan_fault", "cooling_tower_fan_fault", "high"},
	{typeHK3, "leakage_fault", "leakage_fault", "critical"},
	{typeHK3, "supply_liquid_temp_low", "supply_liquid_temp_low", "high"},
	{typeHK3, "supply_liquid_temp_high", "supply_liquid_temp_high", "high"},
	{typeHK3, "supply_liquid_temp_too_high", "supply_liquid_temp_too_high", "critical"},
	{typeHK3, "supply_liquid_pressure_high", "supply_liquid_pressure_high", "critical"},
	{typeHK3, "return_liquid_pressure_low", "return_liquid_pressure_low", "critical"},
	{typeHK3, "supply_liquid_flow_low", "supply_liquid_flow_low", "critical"},
	{typeHK3, "freezing_alarm", "freezing_alarm", "medium"},
	{typeHK3, "cooling_tower_liquid_level_low", "cooling_tower_liquid_level_low", "high"},

	{typeImmer, "circulating_pump_fault", "circulating_pump_fault", "critical"},
	{typeImmer, "fan_fault", "fan_fault", "high"},
	{typeImmer, "dry_cooler_power_fre_fault", "dry_cooler_power_frequency_fault", "high"},
	{typeImmer, "dry_cooler_fre_conv", "dry_cooler_frequency_converter_fault", "high"},
	{typeImmer, "secondary_pump_fault", "secondary_pump_fault", "critical"},
	{typeImmer, "phase_failure", "phase_failure", "high"},
	{typeImmer, "supply_liquid_temp_fault", "supply_liquid_temp_fault", "critical"},
	{typeImmer, "return_liquid_temp_fault", "return_liquid_temp_fault", "critical"},
	{typeImmer, "power_distribution_fault", "power_distribution_fault", "high"},
	{typeImmer, "lever_sensor_fault", "level_sensor_fault", "critical"},
	{typeImmer, "smoke_sensor_fault", "smoke_sensor_fault", "high"},
	{typeImmer, "return_liquid_temp_high", "return_liquid_temp_high", "high"},
	{typeImmer, "return_liquid_temp_too_high", "return_liquid_temp_too_high", "critical"},
	{typeImmer, "power_distribution_temp_high", "power_distribution_temp_high", "high"},
	{typeImmer, "lever_high", "level_high", "high"},
	{typeImmer, "lever_low", "level_low", "critical"},
}

// Faults the old worker never alerted on; they must have an alert too.
var undocumentedButRequired = []struct{ Type, Fault string }{
	{typeImmer, "leakage_fault"},
	{typeImmer, "supply_liquid_temp_high"},
	{typeImmer, "supply_liquid_temp_too_high"},
	{typeImmer, "pump_alarm"},
}

// Alerts for what the old worker missed beyond fault flags.
var requiredAlerts = []string{
	"AntspacePLCDisconnected",
	unreachableAlert,
	"AntspaceScrapeFailing",
	"AntspaceDataFrozen",
	"AntspaceContainerDataAbsent",
	"AntspaceExporterDown",
	"AntspaceExporterAbsent",
	"AntspaceMinerInfoFailing",
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert         string            `yaml:"alert"`
	Record        string            `yaml:"record"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

func loadAlerts(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var out []rule
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue // recording rules: TestRecordingRules
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		t.Fatal("no alerts found")
	}
	return out
}

func parseExpr(t *testing.T, r rule) parser.Expr {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
	if err != nil {
		t.Fatalf("%s: expr: %v", r.Alert, err)
	}
	return e
}

func selectors(e parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

func selectorName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// alertTypes tells which container types an alert can fire for, from the
// `type` matchers of its selectors: none means both.
func alertTypes(t *testing.T, r rule) []string {
	t.Helper()
	types := slices.Clone(containerTypes)
	for _, vs := range selectors(parseExpr(t, r)) {
		for _, m := range vs.LabelMatchers {
			if m.Name != "type" {
				continue
			}
			types = slices.DeleteFunc(types, func(ty string) bool { return !m.Matches(ty) })
		}
	}
	return types
}

// faultAlerts indexes alerts by (type, fault label).
func faultAlerts(t *testing.T, alerts []rule) map[[2]string][]string {
	t.Helper()
	idx := map[[2]string][]string{}
	for _, r := range alerts {
		f := r.Labels["fault"]
		if f == "" {
			continue
		}
		for _, ty := range alertTypes(t, r) {
			idx[[2]string{ty, f}] = append(idx[[2]string{ty, f}], r.Alert)
		}
	}
	return idx
}

func alertByName(alerts []rule) map[string]rule {
	m := map[string]rule{}
	for _, r := range alerts {
		m[r.Alert] = r
	}
	return m
}

func TestDocumentedFaultsHaveExactlyOneAlert(t *testing.T) {
	alerts := loadAlerts(t)
	byName := alertByName(alerts)
	idx := faultAlerts(t, alerts)
	count := map[string]int{}
	for _, d := range documented {
		count[d.Type]++
		got := idx[[2]string{d.Type, d.Fault}]
		if len(got) != 1 {
			t.Errorf("%s %s (fault=%q): want exactly one alert, got %v", d.Type, d.Device, d.Fault, got)
			continue
		}
		if sev := byName[got[0]].Labels["severity"]; sev != d.Severity {
			t.Errorf("%s %s: alert %s has severity %q, documented %q", d.Type, d.Device, got[0], sev, d.Severity)
		}
	}
	if count[typeHK3] != 16 || count[typeImmer] != 16 {
		t.Errorf("transcribed table has %v rows, want 16 per type", count)
	}
	for _, u := range undocumentedButRequired {
		if got := idx[[2]string{u.Type, u.Fault}]; len(got) != 1 {
			t.Errorf("%s %s: want exactly one alert, got %v", u.Type, u.Fault, got)
		}
	}
	for _, name := range requiredAlerts {
		if _, ok := byName[name]; !ok {
			t.Errorf("missing alert %s", name)
		}
	}
}

// A fault alert's `fault` label must be the fault its expression selects, so
// the label is a truthful machine-readable mapping.
func TestFaultLabelMatchesExpression(t *testing.T) {
	for _, r := range loadAlerts(t) {
		f := r.Labels["fault"]
		for _, vs := range selectors(parseExpr(t, r)) {
			if selectorName(vs) != "antspace_fault_active" {
				continue
			}
			var sel []string
			for _, m := range vs.LabelMatchers {
				if m.Name == "fault" {
					if m.Type != labels.MatchEqual {
						t.Errorf("%s: fault matcher %s: use equality, one fault per alert", r.Alert, m)
					}
					sel = append(sel, m.Value)
				}
			}
			if len(sel) != 1 || sel[0] != f {
				t.Errorf("%s: selects fault %v, labelled fault=%q", r.Alert, sel, f)
			}
		}
	}
}

// Every fault flag the real collector emits (all fields of each type set)
// must be covered by exactly one alert of that type.
func TestEveryCollectorFaultHasExactlyOneAlert(t *testing.T) {
	idx := faultAlerts(t, loadAlerts(t))
	for _, ty := range collector.Types {
		t.Run(string(ty), func(t *testing.T) {
			faults := collectorFaults(t, ty)
			if len(faults) < 16 {
				t.Fatalf("collector emitted only %d fault series: %v", len(faults), faults)
			}
			for _, f := range faults {
				if got := idx[[2]string{string(ty), f}]; len(got) != 1 {
					t.Errorf("collector fault %s/%s: want exactly one alert, got %v", ty, f, got)
				}
			}
		})
	}
}

// collectorFaults probes a loopback device that sends every field of the type
// as 1 and returns the distinct fault label values of antspace_fault_active.
func collectorFaults(t *testing.T, ty collector.Type) []string {
	t.Helper()
	required, optional := collector.FieldNames(ty)
	params := map[string]any{}
	for _, f := range append(required, optional...) {
		params[f] = 1
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.URL.Query().Get("operation")
		if op != "coolerState" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"status":"error","error":"ERR_UNSUPPORTED"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "method": op, "params": params})
	}))
	t.Cleanup(srv.Close)

	ctx := testutil.Context(t)
	res := collector.Probe(ctx, device.NewClient("rules-test", 1), srv.URL, collector.Settings{Type: ty, SkipMinerInfo: true})
	if !res.Up() {
		t.Fatalf("probe failed: %v", res.Err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(res); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "antspace_fault_active" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "fault" {
					seen[lp.GetValue()] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

var alertNameRE = regexp.MustCompile(`^Antspace[A-Z][A-Za-z0-9]*$`)

func TestAlertConventions(t *testing.T) {
	alerts := loadAlerts(t)
	anchors := runbookAnchors(t)
	unreachableFor := time.Duration(0)
	for _, r := range alerts {
		if r.Alert == unreachableAlert {
			unreachableFor = mustDuration(t, r.Alert, r.For)
		}
	}
	if unreachableFor == 0 {
		t.Fatalf("no %s alert with a `for`", unreachableAlert)
	}
	seen := map[string]bool{}
	for _, r := range alerts {
		name := r.Alert
		if seen[name] {
			t.Errorf("%s: duplicate alert name", name)
		}
		seen[name] = true
		if !alertNameRE.MatchString(name) {
			t.Errorf("%s: name must be CamelCase with the Antspace prefix", name)
		}
		if !slices.Contains(allowedSeverities, r.Labels["severity"]) {
			t.Errorf("%s: severity %q not in %v", name, r.Labels["severity"], allowedSeverities)
		}
		class := r.Labels["class"]
		if !slices.Contains(allowedClasses, class) {
			t.Errorf("%s: class %q not in %v", name, class, allowedClasses)
		}
		for k, v := range r.Labels {
			if strings.Contains(v, "{{") {
				t.Errorf("%s: label %s is templated; labels must be static", name, k)
			}
		}

		if len(r.Annotations) != 3 {
			t.Errorf("%s: want exactly the annotations summary, description, runbook_url; got %v", name, keys(r.Annotations))
		}
		summary, desc, url := r.Annotations["summary"], r.Annotations["description"], r.Annotations["runbook_url"]
		if summary == "" || strings.Contains(summary, "{{") {
			t.Errorf("%s: summary must be a static sentence, got %q", name, summary)
		}
		if !strings.Contains(desc, "$value") {
			t.Errorf("%s: description must show {{ $value }}: %q", name, desc)
		}
		if class != classExporter {
			for _, l := range []string{"$labels.container", "$labels.site"} {
				if !strings.Contains(desc, l) {
					t.Errorf("%s: description must name %s: %q", name, l, desc)
				}
			}
		}
		if !strings.HasPrefix(url, runbookBase) {
			t.Errorf("%s: runbook_url %q must start with %s", name, url, runbookBase)
		} else if a := strings.TrimPrefix(url, runbookBase); !anchors[a] {
			t.Errorf("%s: runbook anchor #%s has no heading in %s", name, a, runbooksFile)
		}

		// Flapping: `for` at least two scrape intervals.
		if f := mustDuration(t, name, r.For); f < 2*maxScrapeInterval {
			t.Errorf("%s: for %s is shorter than 2 x %s", name, r.For, maxScrapeInterval)
		}
		// Device alerts must outlive a container going unreachable until the
		// unreachable alert fires and inhibits them.
		if class == classDevice {
			k := mustDuration(t, name, r.KeepFiringFor)
			if k <= unreachableFor {
				t.Errorf("%s: keep_firing_for %q must exceed %s's for (%s)", name, r.KeepFiringFor, unreachableAlert, unreachableFor)
			}
		}
	}
}

func mustDuration(t *testing.T, alert, s string) time.Duration {
	t.Helper()
	if s == "" {
		return 0
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		t.Errorf("%s: duration %q: %v", alert, s, err)
	}
	return time.Duration(d)
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// runbookAnchors returns the GitHub anchors of the headings in the runbooks.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(runbooksFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	inFence := false
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		out[githubSlug(strings.TrimLeft(line, "# "))] = true
	}
	return out
}

// githubSlug approximates GitHub's heading anchors: lower case, punctuation
// dropped, spaces to hyphens.
func githubSlug(h string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			sb.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

func TestGithubSlug(t *testing.T) {
	for in, want := range map[string]string{
		"AntspaceLeakage":             "antspaceleakage",
		"Device faults on both types": "device-faults-on-both-types",
		"HK3 (cooling tower)":         "hk3-cooling-tower",
	} {
		if got := githubSlug(in); got != want {
			t.Errorf("githubSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every metric an expression selects exists in the exporter's metric table,
// and every label it matches on is one the metric (or the target) carries.
func TestExpressionsUseExporterMetrics(t *testing.T) {
	table := map[string][]string{}
	for _, m := range collector.Metrics() {
		table[m.Name] = m.Labels
	}
	for _, name := range prometheusMetrics {
		table[name] = nil
	}
	for _, r := range loadAlerts(t) {
		for _, vs := range selectors(parseExpr(t, r)) {
			name := selectorName(vs)
			lbls, ok := table[name]
			if !ok {
				t.Errorf("%s: metric %q is not in the exporter's metric table", r.Alert, name)
				continue
			}
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					continue
				}
				if !slices.Contains(lbls, m.Name) && !slices.Contains(targetLabels, m.Name) {
					t.Errorf("%s: %s has no label %q (has %v plus target labels %v)", r.Alert, name, m.Name, lbls, targetLabels)
				}
			}
		}
	}
}

type promtoolTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// Every alert is expected to fire somewhere in the promtool tests.
func TestEveryAlertHasPromtoolTest(t *testing.T) {
	files := testFiles(t)
	firing := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var pt promtoolTests
		if err := yaml.Unmarshal(b, &pt); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range pt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					firing[a.Alertname] = true
				}
			}
		}
	}
	for _, r := range loadAlerts(t) {
		if !firing[r.Alert] {
			t.Errorf("%s: no promtool test expects it to fire", r.Alert)
		}
	}
}

func testFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(testsGlob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool test files (%s): %v", testsGlob, err)
	}
	return files
}

// tool finds a binary; without it the test is skipped, except in CI.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found in CI: %v", name, err)
		}
		t.Skipf("%s not installed (Debian: apt-get install --no-install-recommends prometheus prometheus-alertmanager)", name)
	}
	return p
}

// run runs a tool (promtool, amtool) bounded by the test's own deadline
// (testutil.Context), not by a fixed budget a loaded machine may exceed.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(testutil.Context(t), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The rules and their unit tests on Debian's promtool (2.42) and on
// Prometheus 3's (testutil.Prom3Version): range selectors, regex and
// template behaviour changed between them.
func TestPromtoolCheckRules(t *testing.T) {
	for _, b := range testutil.PromBuilds() {
		t.Run(b.Name, func(t *testing.T) {
			b.Require(t)
			run(t, b.Promtool, "check", "rules", "--lint=all", "--lint-fatal", rulesFile)
		})
	}
}

func TestPromtoolUnitTests(t *testing.T) {
	for _, b := range testutil.PromBuilds() {
		t.Run(b.Name, func(t *testing.T) {
			b.Require(t)
			run(t, b.Promtool, append([]string{"test", "rules"}, testFiles(t)...)...)
		})
	}
}

func TestAlertmanagerConfig(t *testing.T) {
	amtool := tool(t, "amtool")
	run(t, amtool, "check-config", alertmanagerFile)
	for severity, receiver := range map[string]string{
		"critical": "pager",
		"high":     "chat",
		"medium":   "ticket",
	} {
		t.Run(severity, func(t *testing.T) {
			out := run(t, amtool, "config", "routes", "test", "--config.file="+alertmanagerFile,
				"--verify.receivers="+receiver,
				"alertname=AntspaceLeakage", "severity="+severity, "site=alpha", "container=hk3-a")
			if got := lastLine(out); got != receiver {
				t.Errorf("severity=%s routed to %q, want %q", severity, got, receiver)
			}
		})
	}
}

// lastLine returns the last non-warning line of amtool's output.
func lastLine(out string) string {
	var last string
	for l := range strings.SplitSeq(out, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "Warning:") {
			last = l
		}
	}
	return last
}
