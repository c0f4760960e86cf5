package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestScaleRuleDurations(t *testing.T) {
	in := "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0  # for: 9m stays\n        for: 2m\n        keep_firing_for: 5m # why\n      - alert: B\n        expr: x\n        for: 10s\n"
	got, err := ScaleRuleDurations([]byte(in), 20)
	if err != nil {
		t.Fatal(err)
	}
	want := "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0  # for: 9m stays\n        for: 6s\n        keep_firing_for: 15s # why\n      - alert: B\n        expr: x\n        for: 1s\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := ScaleRuleDurations([]byte("      - alert: A\n        for: soon\n"), 2); err == nil {
		t.Error("bad duration accepted")
	}
	same, err := ScaleRuleDurations([]byte(in), 1)
	if err != nil || string(same) != in {
		t.Errorf("speed-up 1 changed the file: %v\n%s", err, same)
	}
}

// TestRenderExample renders the real example files and checks that only
// addresses, paths and intervals changed.
func TestRenderExample(t *testing.T) {
	out := t.TempDir()
	r, err := Render(RenderOptions{
		Root: repoRoot(t), OutDir: out,
		ExporterAddr: "127.0.0.2:1111", AlertmanagerAddr: "127.0.0.2:2222", WebhookAddr: "127.0.0.2:3333",
		Interval: 2 * time.Second, Speedup: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	prom, err := os.ReadFile(r.Prometheus)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(prom, &doc); err != nil {
		t.Fatal(err)
	}
	walkScalars(&doc, func(n *yaml.Node) { // comments may still name the defaults; values must not
		for _, gone := range []string{DefaultExporterAddr, DefaultAlertmanagerAddr, "../rules"} {
			if strings.Contains(n.Value, gone) {
				t.Errorf("rendered prometheus.yml still has %s in %q", gone, n.Value)
			}
		}
	})
	var cfg struct {
		Global        map[string]string `yaml:"global"`
		RuleFiles     []string          `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			HTTPSDConfigs []struct {
				URL             string `yaml:"url"`
				RefreshInterval string `yaml:"refresh_interval"`
			} `yaml:"http_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(prom, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scrape_interval", "scrape_timeout", "evaluation_interval"} {
		if cfg.Global[k] != "2s" {
			t.Errorf("global.%s = %q, want 2s", k, cfg.Global[k])
		}
	}
	if len(cfg.RuleFiles) != len(r.Rules) || len(r.Rules) == 0 || cfg.RuleFiles[0] != filepath.Join(out, "rules", filepath.Base(r.Rules[0])) {
		t.Errorf("rule_files %v, rendered rules %v", cfg.RuleFiles, r.Rules)
	}
	jobs := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		jobs[sc.JobName] = true
		for _, sd := range sc.HTTPSDConfigs {
			if sd.URL != "http://127.0.0.2:1111/sd" || sd.RefreshInterval != "2s" {
				t.Errorf("job %s: http_sd %+v", sc.JobName, sd)
			}
		}
	}
	for _, j := range []string{"antspace", "antspace_static", "antspace_exporter"} {
		if !jobs[j] {
			t.Errorf("no job %s in examples/prometheus.yml", j)
		}
	}
	am, err := os.ReadFile(r.Alertmanager)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(am) != strings.ReplaceAll(string(orig), DefaultWebhookAddr, "127.0.0.2:3333") {
		t.Error("alertmanager.yml changed beyond the webhook address")
	}
}

func TestRenameJobs(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "examples", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := RenameJobs(src, map[string]string{"antspace": "cooling_containers", "antspace_exporter": "cooling_exporter"})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName        string `yaml:"job_name"`
			RelabelConfigs []struct {
				TargetLabel string `yaml:"target_label"`
				Replacement string `yaml:"replacement"`
			} `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var jobs, relabelled []string
	for _, sc := range cfg.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
		for _, r := range sc.RelabelConfigs {
			if r.TargetLabel == "job" {
				relabelled = append(relabelled, r.Replacement)
			}
		}
	}
	if want := []string{"cooling_containers", "antspace_static", "cooling_exporter"}; !slices.Equal(jobs, want) {
		t.Errorf("jobs %v, want %v", jobs, want)
	}
	// The static job labels its series like the /sd job.
	if want := []string{"cooling_containers"}; !slices.Equal(relabelled, want) {
		t.Errorf("job relabelling to %v, want %v", relabelled, want)
	}
	if _, err := RenameJobs(src, map[string]string{"nope": "x"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("renaming a missing job: %v", err)
	}
}
