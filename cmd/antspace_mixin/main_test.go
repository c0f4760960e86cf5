package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("probe_selektor: 'job=\"x\"'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args    []string
		code    int
		out     []string // files that must exist afterwards
		stderr  string
		noFiles bool
	}{
		"defaults":         {args: []string{"--output-dir", filepath.Join(dir, "a")}, out: []string{"a/antspace.rules.yml", "a/dashboards/antspace-fleet.json"}},
		"example site":     {args: []string{"--config", "../../examples/site.yml", "--output-dir", filepath.Join(dir, "b")}, out: []string{"b/antspace.rules.yml", "b/dashboards/antspace-hk3.json"}},
		"no output dir":    {args: nil, code: 2, stderr: "output-dir"},
		"unknown key":      {args: []string{"--config", bad, "--output-dir", filepath.Join(dir, "c")}, code: 2, stderr: "probe_selektor", noFiles: true},
		"missing config":   {args: []string{"--config", filepath.Join(dir, "nope.yml"), "--output-dir", filepath.Join(dir, "d")}, code: 2, stderr: "nope.yml", noFiles: true},
		"output is a file": {args: []string{"--output-dir", bad}, code: 1, stderr: "antspace_mixin:"},
		"unknown flag":     {args: []string{"--output-dir", dir, "--severity", "x"}, code: 2, stderr: "severity"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.stderr)
			}
			for _, f := range tc.out {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
				if !strings.Contains(stdout.String(), filepath.Join(dir, f)) {
					t.Errorf("stdout does not list %s: %s", f, stdout.String())
				}
			}
			if tc.noFiles && stdout.Len() > 0 {
				t.Errorf("wrote files: %s", stdout.String())
			}
		})
	}
	// The example site renames the jobs in the rules.
	b, err := os.ReadFile(filepath.Join(dir, "b", "antspace.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `job="antspace"`) || !strings.Contains(string(b), `job="cooling_containers"`) {
		t.Error("examples/site.yml's probe selector is not rendered")
	}
}
