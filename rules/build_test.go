package rules

import (
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/thresholds"
)

// The committed rule file is exactly what Build renders for the default
// site (regenerate: go run ./cmd/antspace_mixin --output-dir . and move, or
// go generate ./rules).
func TestCommittedRulesAreGenerated(t *testing.T) {
	want, err := Build(DefaultSite())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from Build(DefaultSite()); regenerate it with `go generate ./rules`", rulesFile)
	}
}

// The hand-written YAML emitter round-trips: what Prometheus reads is what
// Groups holds.
func TestBuildRoundTrip(t *testing.T) {
	_, err := ParseSite(strings.NewReader(`
probe_selector: 'job="x", env=~"prod|staging"'
severity_names: {high: warning, medium: info}
extra_alert_labels: {team: "cooling: #1", quoted: "it's \"fine\""}
runbook_url_base: https://wiki.example.com/run books?x=1
`))
	if err == nil {
		t.Fatal("a runbook base with a space must be refused")
	}
	site, err := ParseSite(strings.NewReader(`
probe_selector: 'job="x", env=~"prod|staging"'
severity_names: {high: warning, medium: info}
extra_alert_labels: {team: "cooling: #1", quoted: "it's \"fine\""}
`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(site)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	groups := Groups(site)
	if len(f.Groups) != len(groups) {
		t.Fatalf("%d groups, want %d", len(f.Groups), len(groups))
	}
	for i, g := range groups {
		if f.Groups[i].Name != g.Name || len(f.Groups[i].Rules) != len(g.Rules) {
			t.Fatalf("group %d: %s with %d rules, want %s with %d", i, f.Groups[i].Name, len(f.Groups[i].Rules), g.Name, len(g.Rules))
		}
		for j, r := range g.Rules {
			got := f.Groups[i].Rules[j]
			if got.Alert != r.Alert || got.Record != r.Record || strings.TrimRight(got.Expr, "\n") != r.Expr ||
				got.For != r.For || got.KeepFiringFor != r.KeepFiringFor || !sameMap(got.Labels, r.Labels) || !sameMap(got.Annotations, r.Annotations) {
				t.Errorf("rule %s%s does not round-trip:\n got %+v\nwant %+v", r.Alert, r.Record, got, r)
			}
		}
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestParseSiteInvalid(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"unknown key":         {"probe_selektor: 'job=\"a\"'", "field probe_selektor not found"},
		"bad selector":        {"probe_selector: 'job=antspace'", "probe_selector"},
		"name matcher":        {"probe_selector: '__name__=\"up\"'", "metric name"},
		"same selectors":      {"probe_selector: 'job=\"a\"'\nexporter_selector: 'job=\"a\"'", "told apart"},
		"unknown severity":    {"severity_names: {low: info}", `unknown severity "low"`},
		"severity collision":  {"severity_names: {high: warning, medium: warning}", "both map to"},
		"unknown threshold":   {"thresholds: {hk3_nope_low_celsius: 1}", "unknown threshold"},
		"nan threshold":       {"thresholds: {hk3_supply_liquid_temp_low_celsius: .nan}", "not a finite number"},
		"threshold not num":   {"thresholds: {hk3_supply_liquid_temp_low_celsius: cold}", "cannot unmarshal"},
		"runbook not url":     {"runbook_url_base: docs/runbooks.md", "runbook_url_base"},
		"runbook fragment":    {"runbook_url_base: https://x.example/r#a", "runbook_url_base"},
		"reserved label":      {"extra_alert_labels: {severity: x}", "set by the rules"},
		"bad label name":      {"extra_alert_labels: {team-name: x}", "not a valid label name"},
		"templated label":     {"extra_alert_labels: {team: '{{ $labels.site }}'}", "static"},
		"two documents":       {"probe_selector: 'job=\"a\"'\n---\nprobe_selector: 'job=\"b\"'", "more than one"},
		"wrong type of value": {"severity_names: [critical]", "cannot unmarshal"},
	} {
		_, err := ParseSite(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	s, err := ParseSite(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if s.ProbeSelector != DefaultProbeSelector || s.Thresholds["hk3_supply_liquid_temp_low_celsius"] != 20 || s.SeverityNames["high"] != "high" {
		t.Errorf("empty config: want the defaults, got %+v", s)
	}
}

// Every threshold of the table is used by the alerts it names, and every
// alert comparing against a threshold names it in the table.
func TestThresholdTableMatchesRules(t *testing.T) {
	byName := map[string]Rule{}
	for _, g := range Groups(DefaultSite()) {
		for _, r := range g.Rules {
			if r.Alert != "" {
				byName[r.Alert] = r
			}
		}
	}
	nameRE := regexp.MustCompile(`(hk3|immersion)_[a-z0-9_]+_(low|high)_[a-z0-9_]+`)
	for _, th := range thresholds.All() {
		for _, a := range th.Alerts {
			r, ok := byName[a]
			if !ok {
				t.Errorf("%s: alert %s does not exist", th.Name, a)
				continue
			}
			if !strings.Contains(r.Expr, th.Name) && !strings.Contains(r.Expr, ">= "+num(th.Default)) {
				t.Errorf("%s: alert %s does not use it", th.Name, a)
			}
		}
	}
	for _, r := range byName {
		for _, n := range nameRE.FindAllString(r.Expr+" "+r.Annotations["description"], -1) {
			th, ok := thresholds.Lookup(n)
			if !ok {
				t.Errorf("%s: uses %s, which is not in the threshold table", r.Alert, n)
				continue
			}
			found := false
			for _, a := range th.Alerts {
				found = found || a == r.Alert
			}
			if !found {
				t.Errorf("%s: uses %s, whose table entry does not list it", r.Alert, n)
			}
		}
	}
	// A changed site default reaches the rules.
	s, err := ParseSite(strings.NewReader("thresholds: {hk3_supply_liquid_temp_low_celsius: 17.5, hk3_site_peers_low_containers: 5}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Build(s)
	for _, want := range []string{`* 0 + 17.5)`, `>= 5`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("site thresholds not rendered: no %q", want)
		}
	}
	if math.IsNaN(s.Thresholds["hk3_supply_liquid_temp_high_celsius"]) {
		t.Error("unset thresholds must keep their default")
	}
}

var recordNameRE = regexp.MustCompile(`^(site|container):antspace_[a-z0-9_]+:[a-z0-9_]+$`)

// Recording rules follow level:metric:operations, read only exporter
// metrics, earlier recording rules or their own previous value, and are at
// least six.
func TestRecordingRules(t *testing.T) {
	table := map[string]bool{"up": true}
	for _, m := range collector.Metrics() {
		table[m.Name] = true
	}
	n := 0
	for _, g := range Groups(DefaultSite()) {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			n++
			if !recordNameRE.MatchString(r.Record) {
				t.Errorf("%s: not level:metric:operations", r.Record)
			}
			level, _, _ := strings.Cut(r.Record, ":")
			rr := rule{Alert: r.Record, Expr: r.Expr}
			for _, vs := range selectors(parseExpr(t, rr)) {
				name := selectorName(vs)
				// A rule may read its own previous value (the fault
				// since-timestamp keeps its value while the flag stays set).
				if !table[name] && name != r.Record {
					t.Errorf("%s: reads %s, neither an exporter metric nor an earlier recording rule", r.Record, name)
				}
			}
			if level == "site" && !strings.Contains(r.Expr, "by (site") {
				t.Errorf("%s: a site-level rule must aggregate by site", r.Record)
			}
			table[r.Record] = true
		}
	}
	if n < 6 {
		t.Errorf("%d recording rules, want at least 6", n)
	}
}

// docs/alerting.md lists every threshold with its default.
func TestAlertingDocListsThresholds(t *testing.T) {
	b, err := os.ReadFile("../docs/alerting.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range thresholds.All() {
		row := "| `" + th.Name + "` | " + num(th.Default) + " " + th.Unit + " |"
		if !strings.Contains(string(b), row) {
			t.Errorf("docs/alerting.md has no row starting %q", row)
		}
	}
}
