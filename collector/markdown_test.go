package collector

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/metrics.md is generated from the table; this fails when it drifts.
func TestMetricsDocUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "docs", "metrics.md"))
	if err != nil {
		t.Fatalf("%v (run make docs)", err)
	}
	if !bytes.Equal(buf.Bytes(), committed) {
		t.Error("docs/metrics.md is out of date with the metric table: run `make docs` and commit it")
	}
	for _, m := range Metrics() {
		if !strings.Contains(buf.String(), "`"+m.Name+"`") {
			t.Errorf("%s missing from the doc", m.Name)
		}
	}
}

// Every name follows the conventions: the antspace_ prefix, a help text, and
// a unit suffix matching the declared unit.
func TestMetricTableConventions(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Metrics() {
		if seen[m.Name] {
			t.Errorf("duplicate metric %s", m.Name)
		}
		seen[m.Name] = true
		if !strings.HasPrefix(m.Name, "antspace_") {
			t.Errorf("%s lacks the antspace_ prefix", m.Name)
		}
		if m.Help == "" {
			t.Errorf("%s has no help", m.Name)
		}
		base := strings.TrimSuffix(m.Name, "_total")
		if m.Unit != "" && !strings.HasSuffix(base, "_"+m.Unit) {
			t.Errorf("%s: unit %s is not its suffix", m.Name, m.Unit)
		}
		if (m.Type == "counter") != strings.HasSuffix(m.Name, "_total") {
			t.Errorf("%s: counters and only counters end in _total", m.Name)
		}
	}
}
