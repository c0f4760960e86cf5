package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestExampleInventoryIsValid(t *testing.T) {
	c, err := Load(filepath.Join("..", "targets.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Containers) == 0 {
		t.Fatal("example inventory lists no containers")
	}
	for _, ct := range c.Containers {
		if !strings.HasPrefix(ct.Address, "127.") {
			t.Errorf("%s: example addresses must be the demo's loopback mocks, got %s", ct.Name, ct.Address)
		}
	}
}

// One file per kind of mistake; each error names what is wrong (and the
// line where the YAML decoder or the entry knows it).
func TestInvalidFiles(t *testing.T) {
	want := map[string]string{
		"unknown_key.yml":                "line 5: field lables not found in type Container",
		"unknown_top_key.yml":            "line 1: field targets not found",
		"unknown_module_key.yml":         "line 3: field timout not found in type Module",
		"duplicate_name.yml":             `container "hk3-001" (line 3): duplicate name, first defined on line 2`,
		"duplicate_address.yml":          `container "hk3-002" (line 3): duplicate address 127.0.0.1:8001, also used by "hk3-001" (line 2)`,
		"bad_address.yml":                `is not host:port`,
		"bad_port.yml":                   `port "99999" is not a number between 1 and 65535`,
		"unknown_type.yml":               `unknown container type "hk4"`,
		"missing_name.yml":               "containers[0] (line 2): name is required",
		"unknown_module.yml":             `unknown module "fancy" (known: auto, hk3, immersion)`,
		"module_type_mismatch.yml":       `module "immersion" is for type immersion, the container is hk3`,
		"reserved_label.yml":             `label "container" is set by the exporter itself`,
		"bad_label_name.yml":             `label name "my-site" is not a valid Prometheus label name`,
		"unknown_scale_field.yml":        `"distribution_box1_power" is not a numeric field of immersion containers`,
		"custom_module_without_type.yml": "modules.fast: type is required",
		"negative_timeout.yml":           `not a valid duration string: "-1s"`,
		"not_yaml.yml":                   "parsing YAML",
	}
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("%d files in testdata/invalid, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := Load(f)
			exp, ok := want[filepath.Base(f)]
			if !ok {
				t.Fatalf("no expectation for %s", f)
			}
			if err == nil {
				t.Fatalf("loaded without error, want %q", exp)
			}
			if !strings.Contains(err.Error(), exp) || !strings.Contains(err.Error(), filepath.Base(f)) {
				t.Errorf("error %q\nwant it to name the file and contain %q", err, exp)
			}
		})
	}
}

func TestModulesAndResolve(t *testing.T) {
	c, err := Parse(strings.NewReader(`
modules:
  hk3: {timeout: 3s}
  hk3_w: {type: hk3, scales: {distribution_box1_power: 1}}
containers:
  - {name: a, address: "127.0.0.1:8001", type: hk3, labels: {site: s1}}
  - {name: b, address: "127.0.0.1:8002", type: hk3, module: hk3_w}
  - {name: c, address: "127.0.0.1:8003", type: immersion}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, module string
		allowAny       bool
		wantAddr       string
		wantModule     string
		wantErr        string
	}{
		{target: "a", wantAddr: "127.0.0.1:8001", wantModule: "hk3"},
		{target: "127.0.0.1:8001", wantAddr: "127.0.0.1:8001", wantModule: "hk3"},
		{target: "b", wantAddr: "127.0.0.1:8002", wantModule: "hk3_w"},
		{target: "c", module: "auto", wantAddr: "127.0.0.1:8003", wantModule: "auto"},
		{target: "c", module: "hk3", wantErr: `module "hk3" is for hk3 containers but "c" is immersion`},
		{target: "a", module: "nope", wantErr: `unknown module "nope"; known modules: auto, hk3, hk3_w, immersion`},
		{target: "127.0.0.1:9999", wantErr: "not in the inventory"},
		{target: "127.0.0.1:9999", allowAny: true, wantAddr: "127.0.0.1:9999", wantModule: "auto"},
		{target: "nohost", allowAny: true, wantErr: "neither an inventory name nor host:port"},
	} {
		got, err := c.Resolve(tc.target, tc.module, tc.allowAny)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Resolve(%q,%q) error = %v, want %q", tc.target, tc.module, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q,%q): %v", tc.target, tc.module, err)
			continue
		}
		if got.Address != tc.wantAddr || got.ModuleName != tc.wantModule || got.Module == nil {
			t.Errorf("Resolve(%q,%q) = %s %s, want %s %s", tc.target, tc.module, got.Address, got.ModuleName, tc.wantAddr, tc.wantModule)
		}
	}
	if got := time.Duration(c.Modules["hk3"].Timeout); got != 3*time.Second {
		t.Errorf("hk3 timeout = %v", got)
	}
	if got := time.Duration(c.Modules["immersion"].Timeout); got != DefaultTimeout {
		t.Errorf("immersion timeout = %v, want default", got)
	}
	s := c.Modules["hk3_w"].Settings("hk3_w")
	if s.Type != "hk3" || s.Scales["distribution_box1_power"] != 1 {
		t.Errorf("settings = %+v", s)
	}
}

// Without an inventory any host:port is probed with auto detection.
func TestEmptyConfigAcceptsAnyAddress(t *testing.T) {
	got, err := Empty().Resolve("127.0.0.1:8000", "", false)
	if err != nil || got.ModuleName != "auto" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// A bad file on reload keeps the last good config and reports failure.
func TestReloadKeepsLastGoodConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inv.yml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("containers:\n  - {name: a, address: \"127.0.0.1:8001\", type: hk3}\n")
	reg := prometheus.NewRegistry()
	sc := NewSafeConfig(path, reg)
	if _, err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(sc.reloadSuccess); got != 1 {
		t.Errorf("reload success = %v", got)
	}
	ts := testutil.ToFloat64(sc.reloadTimestamp)
	if ts <= 0 {
		t.Errorf("timestamp = %v", ts)
	}

	write("containers:\n  - {name: a, address: nope, type: hk3}\n")
	if _, err := sc.Reload(); err == nil {
		t.Fatal("bad file reloaded without error")
	}
	if _, ok := sc.Get().Lookup("a"); !ok {
		t.Error("last good config lost")
	}
	if got := testutil.ToFloat64(sc.reloadSuccess); got != 0 {
		t.Errorf("reload success after failure = %v", got)
	}
	if got := testutil.ToFloat64(sc.reloadTimestamp); got != ts {
		t.Errorf("success timestamp moved on a failed reload")
	}

	write("containers:\n  - {name: b, address: \"127.0.0.1:8002\", type: immersion}\n")
	if _, err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, ok := sc.Get().Lookup("b"); !ok {
		t.Error("new config not active")
	}
	if got := testutil.ToFloat64(sc.containers); got != 1 {
		t.Errorf("containers = %v", got)
	}
}

// Reloads run one at a time: concurrent ones (SIGHUP and /-/reload) never
// overlap, and each leaves the metrics of the configuration it installed.
func TestReloadsSerialised(t *testing.T) {
	sc := NewSafeConfig("inventory.yml", prometheus.NewRegistry())
	var active, overlaps, calls atomic.Int32
	sc.load = func(string) (*Config, error) {
		if active.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer active.Add(-1)
		n := calls.Add(1)
		for range 50 {
			runtime.Gosched() // give a concurrent reload every chance to enter
		}
		if n%2 == 0 {
			return nil, errors.New("bad file")
		}
		return Empty(), nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				_, _ = sc.Reload()
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d reloads ran while another was loading", n)
	}
	if n := calls.Load(); n != 200 {
		t.Errorf("%d loads, want 200", n)
	}
}
