package main

import (
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's flag table lists every flag of the built binary, and no other,
// with the default the binary shows in --help (booleans: off).
func TestReadmeFlagTableMatchesHelp(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	// "      --[no-]config.check", "      --web.max-requests=1000",
	// "      --web.listen-address=:9842 ...", "      --config.file=\"\"".
	helpRE := regexp.MustCompile(`(?m)^ {2,6}(?:-\w, )?--(\[no-\])?([a-z0-9.-]+)(?:=(\S*))?`)
	help := map[string]string{}
	for _, m := range helpRE.FindAllStringSubmatch(string(out), -1) {
		if m[2] == "help" {
			continue
		}
		def := strings.Trim(m[3], `"`)
		if m[1] != "" {
			def = "off"
		}
		help[m[2]] = def
	}
	if len(help) < 10 {
		t.Fatalf("found only %d flags in --help; has its layout changed?\n%s", len(help), out)
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// "| `--web.max-requests` | `1000` | ...", "| `--config.file` | | ...",
	// "| `--probe.allow-any-target` | off | ...".
	rowRE := regexp.MustCompile("(?m)^\\| `--([a-z0-9.-]+)` \\| *([^|]*?) *\\|")
	table := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(string(readme), -1) {
		table[m[1]] = strings.Trim(m[2], "`")
	}

	for _, name := range slices.Sorted(maps.Keys(help)) {
		def, ok := table[name]
		switch {
		case !ok:
			t.Errorf("--%s is not in the README's flag table", name)
		case name == "version":
			// Not a setting: the table leaves its default empty.
		case def != help[name] && (def != "" || help[name] != "off"):
			t.Errorf("README gives --%s the default %q, --help %q", name, def, help[name])
		}
	}
	for name := range table {
		if _, ok := help[name]; !ok {
			t.Errorf("README's flag table lists --%s, which the binary does not have", name)
		}
	}
}
