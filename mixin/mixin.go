// Package mixin renders the whole monitoring bundle of a site: the rule file
// (package rules) and the Grafana dashboards (package dashboards), from one
// site configuration. cmd/antspace_mixin is its command line;
// mixin.libsonnet is a thin jsonnet mixin over the same rendered files.
package mixin

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/antspace-exporter/antspace_exporter/dashboards"
	"github.com/antspace-exporter/antspace_exporter/rules"
)

// DashboardDir is where the dashboards go under the output directory.
const DashboardDir = "dashboards"

// LoadSite reads a site configuration; an empty path is the built-in
// default (the committed files).
func LoadSite(path string) (*rules.Site, error) {
	if path == "" {
		return rules.DefaultSite(), nil
	}
	return rules.LoadSite(path)
}

// Render returns every file of the bundle by path relative to the output
// directory: antspace.rules.yml and dashboards/<name>.json.
func Render(site *rules.Site) (map[string][]byte, error) {
	out := map[string][]byte{}
	r, err := rules.Build(site)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	out[rules.FileName] = r
	ds, err := dashboards.BuildFor(dashboards.Options{ProbeSelector: site.ProbeSelector, SeverityNames: site.SeverityNames})
	if err != nil {
		return nil, fmt.Errorf("dashboards: %w", err)
	}
	for name, b := range ds {
		out[filepath.Join(DashboardDir, name)] = b
	}
	return out, nil
}

// Write renders the bundle into dir and returns the files written, sorted.
func Write(site *rules.Site, dir string) ([]string, error) {
	files, err := Render(site)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var written []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		// Rules and dashboards are configuration Prometheus and Grafana read,
		// often under other accounts: readable like any config file.
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil { //nolint:gosec // G301: see above
			return written, err
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil { //nolint:gosec // G306: see above
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}
