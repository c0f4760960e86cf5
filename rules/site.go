package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/thresholds"
)

// The built-in site settings: what the committed rules/ and dashboards/ are
// rendered with.
const (
	DefaultProbeSelector    = `job="antspace"`
	DefaultExporterSelector = `job="antspace_exporter"`
	DefaultRunbookURLBase   = "https://github.com/antspace-exporter/antspace_exporter/blob/main/docs/runbooks.md"
)

// Severities are the rule bundle's own severities, most urgent first.
var Severities = []string{"critical", "high", "medium"}

// Site is the site configuration of cmd/antspace_mixin (docs/alerting.md).
type Site struct {
	// ProbeSelector: label matchers added to every selector of a series
	// scraped through /probe (the container jobs), e.g. job="antspace".
	ProbeSelector string `yaml:"probe_selector"`
	// ExporterSelector: label matchers added to every selector of the
	// exporter's own /metrics series, e.g. job="antspace_exporter".
	ExporterSelector string `yaml:"exporter_selector"`
	// SeverityNames maps the bundle's severities (critical, high, medium)
	// to the names the site routes on (e.g. high: warning, medium: info).
	SeverityNames map[string]string `yaml:"severity_names"`
	// Thresholds are site-wide defaults by name (package thresholds); the
	// inventory can override the per-container ones.
	Thresholds map[string]float64 `yaml:"thresholds"`
	// RunbookURLBase is the runbook page; each alert links to
	// <base>#<lower-case alert name>.
	RunbookURLBase string `yaml:"runbook_url_base"`
	// ExtraAlertLabels are added to every alert (e.g. team: cooling).
	ExtraAlertLabels map[string]string `yaml:"extra_alert_labels"`
}

// DefaultSite is the configuration of the committed files.
func DefaultSite() *Site {
	s := &Site{}
	if err := s.complete(); err != nil {
		panic(err)
	}
	return s
}

// LoadSite reads a site configuration strictly: unknown keys, unknown
// threshold names and invalid values are errors. Unset fields keep their
// defaults.
func LoadSite(path string) (*Site, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the site configuration the operator names with --config
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	s, err := ParseSite(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSite decodes and validates a site configuration.
func ParseSite(r io.Reader) (*Site, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	s := &Site{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if err := s.complete(); err != nil {
		return nil, err
	}
	return s, nil
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Labels the bundle sets itself (or Prometheus does) on alerts.
var reservedAlertLabels = map[string]bool{"severity": true, "class": true, "fault": true, "alertname": true, "alertstate": true}

// complete fills defaults and validates.
func (s *Site) complete() error {
	if s.ProbeSelector == "" {
		s.ProbeSelector = DefaultProbeSelector
	}
	if s.ExporterSelector == "" {
		s.ExporterSelector = DefaultExporterSelector
	}
	var err error
	if s.ProbeSelector, err = normaliseSelector(s.ProbeSelector); err != nil {
		return fmt.Errorf("probe_selector: %w", err)
	}
	if s.ExporterSelector, err = normaliseSelector(s.ExporterSelector); err != nil {
		return fmt.Errorf("exporter_selector: %w", err)
	}
	if s.ProbeSelector == s.ExporterSelector {
		return fmt.Errorf("probe_selector and exporter_selector are both %s; the container jobs and the exporter's own job must be told apart", s.ProbeSelector)
	}

	names := map[string]string{}
	for _, sev := range Severities {
		names[sev] = sev
	}
	seen := map[string]string{}
	for k, v := range s.SeverityNames {
		if _, ok := names[k]; !ok {
			return fmt.Errorf("severity_names: unknown severity %q (the bundle's severities: %s)", k, strings.Join(Severities, ", "))
		}
		if v == "" || strings.ContainsAny(v, "{}\"\n") {
			return fmt.Errorf("severity_names.%s: %q is not a usable label value", k, v)
		}
		names[k] = v
	}
	for _, sev := range Severities {
		if prev, dup := seen[names[sev]]; dup {
			return fmt.Errorf("severity_names: %s and %s both map to %q; Alertmanager could not tell them apart", prev, sev, names[sev])
		}
		seen[names[sev]] = sev
	}
	s.SeverityNames = names

	th := thresholds.Defaults()
	keys := make([]string, 0, len(s.Thresholds))
	for k := range s.Thresholds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s.Thresholds[k]
		if _, ok := thresholds.Lookup(k); !ok {
			return fmt.Errorf("thresholds: unknown threshold %q (known: %s)", k, strings.Join(thresholds.Names(), ", "))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("thresholds.%s: %v is not a finite number", k, v)
		}
		th[k] = v
	}
	s.Thresholds = th

	if s.RunbookURLBase == "" {
		s.RunbookURLBase = DefaultRunbookURLBase
	}
	u, err := url.Parse(s.RunbookURLBase)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || strings.ContainsAny(s.RunbookURLBase, "{} \"") {
		return fmt.Errorf("runbook_url_base: %q is not an http(s) URL without a #fragment", s.RunbookURLBase)
	}

	for k, v := range s.ExtraAlertLabels {
		switch {
		case !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__"):
			return fmt.Errorf("extra_alert_labels: %q is not a valid label name", k)
		case reservedAlertLabels[k]:
			return fmt.Errorf("extra_alert_labels: %q is set by the rules themselves", k)
		case v == "" || strings.Contains(v, "{{"):
			return fmt.Errorf("extra_alert_labels.%s: value must be a non-empty static string", k)
		}
	}
	if s.ExtraAlertLabels == nil {
		s.ExtraAlertLabels = map[string]string{}
	}
	return nil
}

// normaliseSelector checks a list of label matchers (without braces) and
// prints it canonically: name="value" pairs joined by ", ".
func normaliseSelector(sel string) (string, error) {
	sel = strings.TrimSpace(sel)
	sel = strings.TrimSuffix(strings.TrimPrefix(sel, "{"), "}")
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + sel + "}")
	if err != nil {
		return "", fmt.Errorf("%q is not a list of label matchers: %w", sel, err)
	}
	if len(ms) == 0 {
		return "", fmt.Errorf("%q has no matcher", sel)
	}
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Name == model.MetricNameLabel {
			return "", fmt.Errorf("%q: matchers on the metric name are not allowed", sel)
		}
		parts = append(parts, m.String())
	}
	return strings.Join(parts, ", "), nil
}
