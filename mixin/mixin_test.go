package mixin

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-jsonnet"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/rules"
)

const exampleSite = "../examples/site.yml"

// Without a site configuration the bundle is exactly the committed files.
func TestCommittedFilesAreRendered(t *testing.T) {
	site, err := LoadSite("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	written, err := Write(site, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) < 4 {
		t.Fatalf("wrote %v, want the rule file and three dashboards", written)
	}
	for _, p := range written {
		rel, _ := filepath.Rel(dir, p)
		committed := filepath.Join("..", "rules", rel)
		if strings.HasPrefix(rel, DashboardDir+string(filepath.Separator)) {
			committed = filepath.Join("..", rel)
		}
		want, err := os.ReadFile(committed)
		if err != nil {
			t.Errorf("%s: no committed counterpart %s: %v", rel, committed, err)
			continue
		}
		got, _ := os.ReadFile(p)
		if string(got) != string(want) {
			t.Errorf("%s differs from the committed %s: regenerate (go generate ./rules ./dashboards)", rel, committed)
		}
	}
}

type alertFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// The acceptance: renamed jobs, mapped severities, a team label, a
// moved runbook base.
func TestExampleSite(t *testing.T) {
	site, err := LoadSite(exampleSite)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Render(site)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		for _, bad := range []string{`job="antspace"`, `job=\"antspace\"`, `job="antspace_exporter"`, `job=\"antspace_exporter\"`, "github.com/antspace-exporter"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s still names %s", name, bad)
			}
		}
	}
	var f alertFile
	if err := yaml.Unmarshal(files[rules.FileName], &f); err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if r.Labels["team"] != "cooling" {
				t.Errorf("%s: team label %q, want cooling", r.Alert, r.Labels["team"])
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("%s: severity %q is not a mapped one", r.Alert, r.Labels["severity"])
			}
			if !strings.HasPrefix(r.Annotations["runbook_url"], "https://wiki.example.com/ops/antspace-runbooks#antspace") {
				t.Errorf("%s: runbook_url %q", r.Alert, r.Annotations["runbook_url"])
			}
		}
	}
	if alerts < 50 {
		t.Errorf("only %d alerts rendered", alerts)
	}
	if !strings.Contains(string(files[rules.FileName]), `antspace_up{job="cooling_containers"} * 0 + 22)`) {
		t.Error("the site's hk3_supply_liquid_temp_low_celsius default (22) is not rendered")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, rules.FileName)
	if err := os.WriteFile(p, files[rules.FileName], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, pt := range testutil.PromBuilds() {
		t.Run(pt.Name, func(t *testing.T) {
			pt.Require(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, pt.Promtool, "check", "rules", "--lint=all", "--lint-fatal", p).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool check rules: %v\n%s", err, out)
			}
		})
	}
}

// The jsonnet mixin evaluates (go-jsonnet) and, for the same settings, gives
// what cmd/antspace_mixin renders.
func TestJsonnetMixin(t *testing.T) {
	for name, tc := range map[string]struct {
		config string // jsonnet _config
		site   string // the same as a site configuration
	}{
		"defaults": {"{}", ""},
		"renamed": {`{
			probeSelector: 'job="cooling_containers"',
			exporterSelector: 'job="cooling_exporter"',
			severityNames: { high: 'warning', medium: 'info' },
			runbookURLBase: 'https://wiki.example.com/ops/antspace-runbooks',
			extraAlertLabels: { team: 'cooling' },
		}`, `
probe_selector: 'job="cooling_containers"'
exporter_selector: 'job="cooling_exporter"'
severity_names: {high: warning, medium: info}
runbook_url_base: https://wiki.example.com/ops/antspace-runbooks
extra_alert_labels: {team: cooling}
`},
		"shifted severities": {`{ severityNames: { critical: 'page', high: 'critical', medium: 'high' } }`,
			`severity_names: {critical: page, high: critical, medium: high}`},
	} {
		t.Run(name, func(t *testing.T) {
			vm := jsonnet.MakeVM()
			vm.Importer(&jsonnet.FileImporter{})
			out, err := vm.EvaluateAnonymousSnippet("test.jsonnet", `
local m = (import 'mixin.libsonnet') + { _config+:: `+tc.config+` };
{ alerts: m.prometheusAlerts, rules: m.prometheusRules, dashboards: m.grafanaDashboards, config: m._config }`)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Alerts, Rules struct {
					Groups []any `json:"groups"`
				}
				Dashboards map[string]any
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}

			site, err := rules.ParseSite(strings.NewReader(tc.site))
			if err != nil {
				t.Fatal(err)
			}
			files, err := Render(site)
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Groups []map[string]any `yaml:"groups"`
			}
			if err := yaml.Unmarshal(files[rules.FileName], &want); err != nil {
				t.Fatal(err)
			}
			var wantAlerts, wantRules []any
			for _, g := range want.Groups {
				if strings.Contains(g["name"].(string), "recording") {
					wantRules = append(wantRules, g)
				} else {
					wantAlerts = append(wantAlerts, g)
				}
			}
			if len(got.Rules.Groups) == 0 || len(got.Alerts.Groups) < 5 {
				t.Fatalf("mixin has %d recording and %d alert groups", len(got.Rules.Groups), len(got.Alerts.Groups))
			}
			sameJSON(t, "prometheusAlerts", got.Alerts.Groups, wantAlerts)
			sameJSON(t, "prometheusRules", got.Rules.Groups, wantRules)
			if len(got.Dashboards) != 3 {
				t.Errorf("grafanaDashboards has %d dashboards, want 3", len(got.Dashboards))
			}
			for n, d := range got.Dashboards {
				var w any
				if err := json.Unmarshal(files[filepath.Join(DashboardDir, n)], &w); err != nil {
					t.Fatalf("%s: %v", n, err)
				}
				sameJSON(t, n, d, w)
			}
		})
	}
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) {
		gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Errorf("%s: jsonnet and cmd/antspace_mixin differ at line %d:\n jsonnet: %s\n     go: %s", what, i+1, gl[i], wl[i])
				return
			}
		}
		t.Errorf("%s: jsonnet has %d lines, cmd/antspace_mixin %d", what, len(gl), len(wl))
	}
}
