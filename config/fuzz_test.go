package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// FuzzParse feeds arbitrary inventories to the loader. It never panics; an
// accepted inventory is consistent: every container resolves by name and by
// address to itself with a module of its type and a positive timeout, and
// the accepted config written back as YAML loads again to the same
// containers.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/invalid/*.yml")
	seeds = append(seeds, "../targets.example.yml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("modules:\n  fast: {type: auto, timeout: 1s, max_body_bytes: 1024, miner_info: false, scales: {supply_liquid_temp: 0.1}}\ncontainers:\n  - {name: a, address: \"[::1]:80\", type: hk3, module: fast, labels: {x: y}}\n"))
	f.Add([]byte("containers: &a [*a]\n"))
	f.Add([]byte("control:\n  setpoint_min: 25\n  setpoint_max: 30\n  tokens:\n    - {name: ops, hash: \"$2a$04$abcdefghijklmnopqrstuuJ8vJ0cQy4LZP1x5d9u3Wm2o5cFQ9Z4K\", actions: [reset]}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		// Parse reads no file, so inputs naming credentials_file need no
		// special care.
		c, err := config.Parse(bytes.NewReader(data))
		if err != nil {
			if c != nil {
				t.Error("config returned with an error")
			}
			return
		}
		checkConfig(t, c)

		// Hashes are Secrets and marshal as <secret>; write the config back
		// without them (the round trip checks the containers).
		back := *c
		if c.Control != nil {
			ctl := *c.Control
			ctl.ControlCredentials = config.ControlCredentials{}
			back.Control = &ctl
		}
		out, err := yaml.Marshal(&back)
		if err != nil {
			t.Fatalf("accepted config does not marshal: %v", err)
		}
		again, err := config.Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("accepted config, written back, is rejected: %v\n%s", err, out)
		}
		if len(again.Containers) != len(c.Containers) {
			t.Fatalf("round trip: %d containers, was %d", len(again.Containers), len(c.Containers))
		}
		for i, ct := range c.Containers {
			if got := again.Containers[i]; got.Name != ct.Name || got.Address != ct.Address || got.Type != ct.Type || got.ModuleName() != ct.ModuleName() {
				t.Errorf("round trip changed container %d: %+v -> %+v", i, ct, got)
			}
		}
	})
}

func checkConfig(t *testing.T, c *config.Config) {
	t.Helper()
	for _, name := range c.ModuleNames() {
		m := c.Modules[name]
		if m == nil || m.Timeout <= 0 {
			t.Errorf("module %q: %+v", name, m)
		}
	}
	for _, ct := range c.Containers {
		for _, key := range []string{ct.Name, ct.Address} {
			got, ok := c.Lookup(key)
			if !ok {
				t.Errorf("container %q not found by %q", ct.Name, key)
				continue
			}
			// A name that is another container's address is refused at load.
			if got != ct {
				t.Errorf("lookup %q found %q, want %q", key, got.Name, ct.Name)
			}
		}
		tg, err := c.Resolve(ct.Name, "", false)
		if err != nil {
			t.Errorf("container %q does not resolve: %v", ct.Name, err)
			continue
		}
		if tg.Module == nil || tg.Module.Timeout <= 0 {
			t.Errorf("container %q resolves to module %q without a timeout", ct.Name, tg.ModuleName)
			continue
		}
		if tg.Module.Type != config.ModuleAuto && tg.Module.Type != ct.Type {
			t.Errorf("container %q (%s) resolves to module %q of type %s", ct.Name, ct.Type, tg.ModuleName, tg.Module.Type)
		}
		if norm, err := config.NormalizeAddress(ct.Address); err != nil || norm != ct.Address {
			t.Errorf("accepted address %q is not in normal form (%q, %v)", ct.Address, norm, err)
		}
		for k, v := range ct.Labels {
			if k == "" || v == "" || strings.HasPrefix(k, "__") {
				t.Errorf("accepted label %q=%q", k, v)
			}
		}
	}
	l := c.Control.Limits()
	if !(l.SetpointMin < l.SetpointMax) {
		t.Errorf("setpoint limits %v..%v", l.SetpointMin, l.SetpointMax)
	}
}
