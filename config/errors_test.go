package config

import (
	"strings"
	"testing"
)

// One run reports every problem of the file, each with its line, in the
// file's words: no Go type names.
func TestParseReportsAllErrorsWithLines(t *testing.T) {
	in := `modules:
  fast: {timout: 3s}
  odd: {type: hk4}
containers:
  - {name: a, address: "127.0.0.1:8001", type: hk3, lables: {site: x}}
  - {name: b, address: nope, type: hk3}
  - {name: c, address: "127.0.0.1:99999", type: hk3}
  - {name: d, address: "127.0.0.1:8004", type: hk3, labels: "site"}
  - {name: e, address: "127.0.0.1:8005", type: immersion, module: hk3}
control:
  setpoint_min: low
  batch_concurrency: -1
`
	_, err := Parse(strings.NewReader(in))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"errors:\n",
		`line 2: unknown key "timout" in a module (modules:); valid keys: max_body_bytes, max_miners, miner_info, scales, thresholds, timeout, type`,
		`line 5: unknown key "lables" in a container (containers:); valid keys: address, labels, module, name, thresholds, type`,
		`line 8: got text site, want a mapping of names to text`,
		`line 11: got text low, want a number`,
		"line 10: control.batch_concurrency must not be negative",
		`line 3: modules.odd: unknown container type "hk4"`,
		`container "b" (line 6): address: "nope" is not host:port`,
		`container "c" (line 7): address: "127.0.0.1:99999": port "99999" is not a number between 1 and 65535`,
		`container "e" (line 9): module "hk3" is for type hk3, the container is immersion`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, goName := range []string{"config.", "type Container", "type Module", "float64", "map[string]", "not found in type"} {
		if strings.Contains(msg, goName) {
			t.Errorf("error names the Go type %q:\n%s", goName, msg)
		}
	}
}

// A bad duration names its line; every bad duration of the file is listed.
func TestBadDurationsNameTheirLines(t *testing.T) {
	in := "modules:\n  hk3: {timeout: 5x}\n  immersion:\n    timeout: fast\ncontrol:\n  verify_timeout: 10\n"
	_, err := Parse(strings.NewReader(in))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`line 2: modules.hk3.timeout: "5x" is not a duration; write a positive number with a unit, like 10s, 1m30s or 500ms`,
		`line 4: modules.immersion.timeout: "fast" is not a duration`,
		`line 6: control.verify_timeout: "10" is not a duration`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}
