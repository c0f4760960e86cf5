package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Prom3Version is the Prometheus 3 release the suite also runs on, built
// from the Go module proxy (Prometheus' Go module versions are v0.<major
// minor>.<patch>: v0.316.0 is Prometheus 3.16.0).
const Prom3Version = "v0.316.0"

// Prom3Dir is where prometheus and promtool of Prom3Version are installed:
// $ANTSPACE_PROM3_DIR, else $HOME/.cache/antspace/prom3 (.ci/run and
// scripts/prom3.sh install them there).
func Prom3Dir() string {
	if d := os.Getenv("ANTSPACE_PROM3_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "antspace-prom3")
	}
	return filepath.Join(home, ".cache", "antspace", "prom3")
}

// PromBuild is one Prometheus installation the rule and end-to-end tests run
// on: Debian's (on PATH; 2.42 on Debian 12) and Prometheus 3 (Prom3Dir).
type PromBuild struct {
	Name       string // "path" or "prom3"
	Prometheus string // binary paths; empty when missing
	Promtool   string
	missing    string
}

// PromBuilds lists both installations; call Require in a subtest before
// using one.
func PromBuilds() []PromBuild {
	var out []PromBuild
	path := PromBuild{Name: "path"}
	path.Prometheus, _ = exec.LookPath("prometheus")
	path.Promtool, _ = exec.LookPath("promtool")
	if path.Prometheus == "" || path.Promtool == "" {
		path.missing = "prometheus/promtool not on PATH (Debian: apt-get install --no-install-recommends prometheus)"
	}
	out = append(out, path)

	dir := Prom3Dir()
	p3 := PromBuild{Name: "prom3", Prometheus: filepath.Join(dir, "prometheus"), Promtool: filepath.Join(dir, "promtool")}
	for _, p := range []string{p3.Prometheus, p3.Promtool} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			p3.missing = "Prometheus 3 not installed in " + dir + " (scripts/prom3.sh builds " + Prom3Version + " from the module proxy; .ci/run does)"
		}
	}
	out = append(out, p3)
	return out
}

// Require skips the test when the installation is missing, or fails it
// when the environment variable CI is set.
func (b PromBuild) Require(t testing.TB) {
	t.Helper()
	if b.missing == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(b.missing)
	}
	t.Skip(b.missing)
}
