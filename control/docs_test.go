package control

import (
	"github.com/antspace-exporter/antspace_exporter/config"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every result the code counts and every outcome it reports is documented
// in docs/control.md's tables, and the tables list nothing the code does not
// produce.
func TestResultsAndOutcomesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "control.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	found := func(re string, text string) []string {
		var out []string
		for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(text, -1) {
			for _, g := range m[1:] {
				if g != "" && !slices.Contains(out, g) {
					out = append(out, g)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	// result: "x", a.result = "x", a.status, a.result[, a.y] = status, "x"[, ...] and WithLabelValues(..., "x").
	code := found(`result:\s+"(\w+)"|a\.result = "(\w+)"|a\.status, a\.result(?:, a\.\w+)* = [^,\n]+, "(\w+)"|WithLabelValues\([^,]+, "(\w+)"\)`, src.String())
	code = slices.DeleteFunc(code, func(s string) bool { return s == "internal_error" })
	table := section(t, string(doc), "| result | meaning |")
	documented := found("(?m)^\\| `(\\w+)` \\|", table)
	if !slices.Equal(code, documented) {
		t.Errorf("results in code %v\ndocumented        %v", code, documented)
	}
	if initialised := slices.Sorted(slices.Values(countedResults)); !slices.Equal(initialised, documented) {
		t.Errorf("results started at 0 %v\ndocumented           %v", initialised, documented)
	}

	outcomes := found(`outcome\w+\s+= "(\w+)"`, src.String())
	table = section(t, string(doc), "| outcome | meaning |")
	if got := found("(?m)^\\| `(\\w+)` \\|", table); !slices.Equal(outcomes, got) || len(outcomes) != 6 {
		t.Errorf("outcomes in code %v\ndocumented         %v", outcomes, got)
	}
}

// section returns the markdown table that starts with header.
func section(t *testing.T, doc, header string) string {
	t.Helper()
	i := strings.Index(doc, header)
	if i < 0 {
		t.Fatalf("docs/control.md has no table %q", header)
	}
	rest := doc[i:]
	if j := strings.Index(rest, "\n\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// Every action and result has its counter series before the first request.
func TestRequestCountersStartAtZero(t *testing.T) {
	h := New(Options{})
	want := len(config.ControlActionTable) * len(countedResults)
	if n := promtest.CollectAndCount(h.requests); n != want {
		t.Errorf("%d control_requests_total series at start, want %d (actions × results)", n, want)
	}
	if v := promtest.ToFloat64(h.requests.WithLabelValues(config.ActionReset, "success")); v != 0 {
		t.Errorf("reset/success starts at %v", v)
	}
}
