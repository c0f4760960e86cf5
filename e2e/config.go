// Package e2e holds the end-to-end suite (mock containers → exporter → a real
// Prometheus with the rule bundle → a real Alertmanager) and the config
// rendering it shares with scripts/demo.sh (through e2e/render).
//
// The files under test are examples/prometheus.yml, rules/*.yml and
// examples/alertmanager.yml. Rendering changes only:
//   - addresses: the exporter (127.0.0.1:9842), Alertmanager (127.0.0.1:9093)
//     and the webhook receivers (127.0.0.1:9095) become the running ones;
//   - paths: rule_files point at the rendered rule copies;
//   - intervals: scrape_interval, scrape_timeout, evaluation_interval and the
//     http_sd refresh_interval become short;
//   - rule timing: every `for:` and `keep_firing_for:` is divided by a speed-up
//     factor (at least 1s), keeping their ratios, so alerts fire in seconds.
//
// Nothing else is touched: labels, expressions, routes and inhibitions are
// tested as written.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// The addresses the example files are written for.
const (
	DefaultExporterAddr     = "127.0.0.1:9842"
	DefaultAlertmanagerAddr = "127.0.0.1:9093"
	DefaultWebhookAddr      = "127.0.0.1:9095"
)

// RenderOptions says what to substitute.
type RenderOptions struct {
	Root             string        // repository root (holds examples/ and rules/)
	OutDir           string        // where prometheus.yml, alertmanager.yml and rules/ are written
	ExporterAddr     string        // host:port of the running exporter
	AlertmanagerAddr string        // host:port of the running Alertmanager
	WebhookAddr      string        // host:port receiving Alertmanager's webhooks ("" keeps the placeholder)
	Interval         time.Duration // scrape, evaluation and SD refresh interval; also the scrape timeout
	Speedup          int           // divisor of every rule's for/keep_firing_for (1 = as written)
	// RulesDir holds the rule files (*.yml) to load; "" is Root/rules. A
	// site's bundle rendered by cmd/antspace_mixin goes here.
	RulesDir string
	// JobNames renames scrape jobs of examples/prometheus.yml (job_name and
	// the `job` relabelling), as a site with its own job names does.
	JobNames map[string]string
}

// Rendered names the files Render wrote.
type Rendered struct {
	Prometheus   string
	Alertmanager string
	Rules        []string
}

// Render writes the substituted copies of the example configuration.
func Render(o RenderOptions) (*Rendered, error) {
	if o.Speedup < 1 {
		return nil, fmt.Errorf("speed-up must be at least 1, got %d", o.Speedup)
	}
	ruleDir := filepath.Join(o.OutDir, "rules")
	if err := os.MkdirAll(ruleDir, 0o755); err != nil {
		return nil, err
	}
	out := &Rendered{
		Prometheus:   filepath.Join(o.OutDir, "prometheus.yml"),
		Alertmanager: filepath.Join(o.OutDir, "alertmanager.yml"),
	}

	rulesDir := o.RulesDir
	if rulesDir == "" {
		rulesDir = filepath.Join(o.Root, "rules")
	}
	srcRules, err := filepath.Glob(filepath.Join(rulesDir, "*.yml"))
	if err != nil {
		return nil, err
	}
	if len(srcRules) == 0 {
		return nil, fmt.Errorf("no rule files in %s", rulesDir)
	}
	sort.Strings(srcRules)
	for _, src := range srcRules {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		scaled, err := ScaleRuleDurations(b, o.Speedup)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		dst := filepath.Join(ruleDir, filepath.Base(src))
		if err := os.WriteFile(dst, scaled, 0o644); err != nil {
			return nil, err
		}
		out.Rules = append(out.Rules, dst)
	}

	b, err := os.ReadFile(filepath.Join(o.Root, "examples", "prometheus.yml"))
	if err != nil {
		return nil, err
	}
	prom, err := PrometheusConfig(b, o.ExporterAddr, o.AlertmanagerAddr, out.Rules, o.Interval)
	if err == nil && len(o.JobNames) > 0 {
		prom, err = RenameJobs(prom, o.JobNames)
	}
	if err != nil {
		return nil, fmt.Errorf("examples/prometheus.yml: %w", err)
	}
	if err := os.WriteFile(out.Prometheus, prom, 0o644); err != nil {
		return nil, err
	}

	b, err = os.ReadFile(filepath.Join(o.Root, "examples", "alertmanager.yml"))
	if err != nil {
		return nil, err
	}
	am := b
	if o.WebhookAddr != "" {
		if !bytes.Contains(am, []byte(DefaultWebhookAddr)) {
			return nil, fmt.Errorf("examples/alertmanager.yml: webhook address %s not found", DefaultWebhookAddr)
		}
		am = bytes.ReplaceAll(am, []byte(DefaultWebhookAddr), []byte(o.WebhookAddr))
	}
	if err := os.WriteFile(out.Alertmanager, am, 0o644); err != nil {
		return nil, err
	}
	return out, nil
}

// PrometheusConfig substitutes addresses, rule files and intervals in a
// Prometheus configuration. Every default address must occur in src, so a
// drifting example file fails loudly instead of pointing at nothing.
func PrometheusConfig(src []byte, exporterAddr, alertmanagerAddr string, ruleFiles []string, interval time.Duration) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a YAML mapping")
	}
	root := doc.Content[0]
	iv := model.Duration(interval).String()

	replaced := map[string]int{}
	walkScalars(root, func(n *yaml.Node) {
		for from, to := range map[string]string{DefaultExporterAddr: exporterAddr, DefaultAlertmanagerAddr: alertmanagerAddr} {
			if strings.Contains(n.Value, from) {
				n.Value = strings.ReplaceAll(n.Value, from, to)
				replaced[from]++
			}
		}
	})
	for _, a := range []string{DefaultExporterAddr, DefaultAlertmanagerAddr} {
		if replaced[a] == 0 {
			return nil, fmt.Errorf("address %s not found", a)
		}
	}

	global := mapValue(root, "global")
	if global == nil {
		return nil, fmt.Errorf("no global section")
	}
	for _, k := range []string{"scrape_interval", "scrape_timeout", "evaluation_interval"} {
		setScalar(global, k, iv)
	}
	if sc := mapValue(root, "scrape_configs"); sc != nil {
		for _, job := range sc.Content {
			for _, k := range []string{"scrape_interval", "scrape_timeout"} {
				if mapValue(job, k) != nil {
					setScalar(job, k, iv)
				}
			}
			if sd := mapValue(job, "http_sd_configs"); sd != nil {
				for _, c := range sd.Content {
					setScalar(c, "refresh_interval", iv)
				}
			}
		}
	}

	rf := mapValue(root, "rule_files")
	if rf == nil {
		return nil, fmt.Errorf("no rule_files")
	}
	rf.Kind, rf.Tag, rf.Content = yaml.SequenceNode, "!!seq", nil
	for _, f := range ruleFiles {
		rf.Content = append(rf.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f})
	}

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RenameJobs renames scrape jobs: each job_name in names, and every
// relabelling that sets the job label to one of them. Every name must occur.
func RenameJobs(src []byte, names map[string]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("not a YAML document")
	}
	sc := mapValue(doc.Content[0], "scrape_configs")
	if sc == nil {
		return nil, fmt.Errorf("no scrape_configs")
	}
	found := map[string]bool{}
	for _, job := range sc.Content {
		if n := mapValue(job, "job_name"); n != nil {
			if to, ok := names[n.Value]; ok {
				found[n.Value] = true
				n.Value = to
			}
		}
		if rc := mapValue(job, "relabel_configs"); rc != nil {
			for _, r := range rc.Content {
				tl, rep := mapValue(r, "target_label"), mapValue(r, "replacement")
				if tl == nil || tl.Value != "job" || rep == nil {
					continue
				}
				if to, ok := names[rep.Value]; ok {
					rep.Value = to
				}
			}
		}
	}
	for from := range names {
		if !found[from] {
			return nil, fmt.Errorf("no scrape job %q to rename", from)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var ruleDurationRE = regexp.MustCompile(`(?m)^(\s*(?:for|keep_firing_for):\s*)(\S+)(\s*(?:#.*)?)$`)

// ScaleRuleDurations divides every `for:` and `keep_firing_for:` of a rule
// file by speedup, rounded to whole seconds and at least 1s. The rest of the
// file is left byte for byte.
func ScaleRuleDurations(src []byte, speedup int) ([]byte, error) {
	if speedup < 1 {
		return nil, fmt.Errorf("speed-up must be at least 1, got %d", speedup)
	}
	var firstErr error
	n := 0
	out := ruleDurationRE.ReplaceAllFunc(src, func(m []byte) []byte {
		sub := ruleDurationRE.FindSubmatch(m)
		d, err := model.ParseDuration(strings.Trim(string(sub[2]), `"'`))
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("duration %q: %w", sub[2], err)
			}
			return m
		}
		n++
		s := time.Duration(d) / time.Duration(speedup)
		s = s.Round(time.Second)
		if s < time.Second && d > 0 {
			s = time.Second
		}
		return []byte(string(sub[1]) + model.Duration(s).String() + string(sub[3]))
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if n == 0 && bytes.Contains(src, []byte("alert:")) {
		return nil, fmt.Errorf("no for: durations found in a file with alerts")
	}
	return out, nil
}

func walkScalars(n *yaml.Node, f func(*yaml.Node)) {
	if n.Kind == yaml.ScalarNode {
		f(n)
	}
	for _, c := range n.Content {
		walkScalars(c, f)
	}
}

// mapValue returns the value node of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setScalar sets key in mapping m to value, adding the key when missing.
func setScalar(m *yaml.Node, key, value string) {
	if v := mapValue(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Content = yaml.ScalarNode, "!!str", value, nil
		return
	}
	m.Content = append(m.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
}
