package config

import (
	"errors"
	"io"
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

	"github.com/antspace-exporter/antspace_exporter/collector"
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
		"unknown_key.yml":                `line 5: unknown key "lables" in a container (containers:); valid keys: address, labels, module, name, thresholds, type`,
		"unknown_top_key.yml":            `line 1: unknown key "targets" at the top level; valid keys: containers, control, modules`,
		"unknown_module_key.yml":         `line 3: unknown key "timout" in a module (modules:); valid keys: max_body_bytes, max_miners, miner_info, scales, thresholds, timeout, type`,
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
		"negative_timeout.yml":           `line 2: modules.hk3.timeout: "-1s" is not a duration; write a positive number with a unit, like 10s`,
		"not_yaml.yml":                   "parsing YAML",
		"scale_nan.yml":                  "scales.distribution_box1_power: factor NaN is not a positive finite number",
		"scale_inf.yml":                  "scales.distribution_box1_power: factor -Inf is not a positive finite number",
		"scale_zero.yml":                 "scales.distribution_box1_power: factor 0 is not a positive finite number",
		"scale_negative.yml":             "scales.distribution_box1_power: factor -1000 is not a positive finite number",
		"name_is_other_address.yml":      `container "127.0.0.1:08001" (line 3): the name is the address of container "hk3-001" (line 2)`,
		"duplicate_address_spelling.yml": `container "hk3-002" (line 3): duplicate address controller-1.site:8001, also used by "hk3-001" (line 2)`,
		"negative_max_miners.yml":        "modules.hk3: max_miners must not be negative",
		"legacy_ipv4_host.yml":           `host "127.1" is neither an IP address in standard notation nor a host name`,
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
		open           bool
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
		{target: "127.0.0.1:9999", open: true, wantAddr: "127.0.0.1:9999", wantModule: "auto"},
		{target: "nohost", open: true, wantErr: "neither an inventory name nor host:port"},
		// Other spellings of an inventory address find the container; in
		// open mode an ad-hoc target is normalised.
		{target: "127.0.0.1:08001", wantAddr: "127.0.0.1:8001", wantModule: "hk3"},
		{target: "[::ffff:127.0.0.1]:8002", wantAddr: "127.0.0.1:8002", wantModule: "hk3_w"},
		{target: "127.0.0.1:09999", open: true, wantAddr: "127.0.0.1:9999", wantModule: "auto"},
		{target: "Controller.Site.:0080", open: true, wantAddr: "controller.site:80", wantModule: "auto"},
		{target: "127.1:8001", open: true, wantErr: "neither an IP address in standard notation"},
	} {
		got, err := c.Resolve(tc.target, tc.module, tc.open)
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
	if s.Type != "hk3" || s.Scales["distribution_box1_power"] != 1 || s.MaxMiners != collector.DefaultMaxMiners {
		t.Errorf("settings = %+v", s)
	}
	if got := c.Modules["immersion"].Settings("immersion").MaxMiners; got != collector.DefaultMaxMiners {
		t.Errorf("built-in module max_miners = %d, want the default", got)
	}
}

// In open mode (no inventory file, or --probe.allow-any-target) any
// host:port is probed with auto detection; otherwise an empty inventory
// accepts no target at all (issue #12, finding 6).
func TestEmptyConfigOpenOnlyWhenAsked(t *testing.T) {
	got, err := Empty().Resolve("127.0.0.1:8000", "", true)
	if err != nil || got.ModuleName != "auto" {
		t.Fatalf("open: got %+v, %v", got, err)
	}
	for _, file := range []string{"", "# comment only\n", "containers: []\n", "modules:\n  hk3: {timeout: 2s}\n"} {
		c, err := Parse(strings.NewReader(file))
		if err != nil {
			t.Fatalf("%q: %v", file, err)
		}
		if _, err := c.Resolve("127.0.0.1:8000", "", false); err == nil || !strings.Contains(err.Error(), "not in the inventory") {
			t.Errorf("%q: empty inventory, not open: Resolve error = %v, want not in the inventory", file, err)
		}
	}
}

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8001":            "127.0.0.1:8001",
		"127.0.0.1:008001":          "127.0.0.1:8001",
		"[::ffff:127.0.0.1]:80":     "127.0.0.1:80",
		"[0:0:0:0:0:0:0:1]:80":      "[::1]:80",
		"[FE80::1%eth0]:80":         "[fe80::1%eth0]:80",
		"Controller-1.Site.Local:9": "controller-1.site.local:9",
		"controller.:9":             "controller:9",
		"localhost:65535":           "localhost:65535",
	} {
		got, err := NormalizeAddress(in)
		if err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
		if again, err := NormalizeAddress(got); err != nil || again != got {
			t.Errorf("NormalizeAddress(%q) = %q, %v; not idempotent", got, again, err)
		}
	}
	for in, want := range map[string]string{
		"":                            "empty",
		"host":                        "not host:port",
		":80":                         "has no host",
		"host:0":                      "between 1 and 65535",
		"host:65536":                  "between 1 and 65535",
		"host:+80":                    "between 1 and 65535",
		"host:-1":                     "between 1 and 65535",
		"127.1:80":                    "standard notation",
		"0x7f000001:80":               "standard notation",
		"2130706433:80":               "standard notation",
		"127.0.0.01:80":               "standard notation",
		"0177.0.0.1:80":               "standard notation",
		"[host]:80":                   "not an IPv6 address",
		"a/b:80":                      "not allowed in a host name",
		"a b:80":                      "not allowed in a host name",
		"user@host:80":                "not allowed in a host name",
		"a..b:80":                     "empty label",
		"ho\r\nst:80":                 "not allowed in a host name",
		"host%2f:80":                  "not allowed in a host name",
		"\u0445\u043e\u0441\u0442:80": "not allowed in a host name",
	} {
		if got, err := NormalizeAddress(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want error containing %q", in, got, err, want)
		}
	}
}

// A file over MaxInventoryBytes is an error, never read in part (issue #12,
// finding 14): the container after the limit would silently vanish. Tested
// with the limit lowered (the binary test TestBinaryConfigCheckRefuses…
// uses the real 64 MiB), for a reader and for a file (Load, which
// --config.check uses, also refuses by the file's size before reading).
func TestParseRefusesOversizedInventory(t *testing.T) {
	if MaxInventoryBytes != 64<<20 {
		t.Fatalf("MaxInventoryBytes = %d, documented as 64 MiB", MaxInventoryBytes)
	}
	defer func(n int64) { maxInventoryBytes = n }(maxInventoryBytes)
	maxInventoryBytes = 4 << 10
	head := "containers:\n  - {name: a, address: \"127.0.0.1:8001\", type: hk3}\n"
	tail := "  - {name: z, address: \"127.0.0.1:8002\", type: hk3}\n"
	atLimit := head + commentPad{}.of(int(maxInventoryBytes)-len(head)-len(tail)) + tail
	if len(atLimit) != int(maxInventoryBytes) {
		t.Fatalf("test inventory is %d bytes", len(atLimit))
	}
	over := head + commentPad{}.of(int(maxInventoryBytes)-len(head)) + tail
	c, err := Parse(strings.NewReader(atLimit))
	if err != nil || len(c.Containers) != 2 {
		t.Fatalf("inventory of exactly the limit: %v", err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "inv.yml")
	if err := os.WriteFile(file, []byte(over), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, parse := range map[string]func() (*Config, error){
		"Parse": func() (*Config, error) { return Parse(strings.NewReader(over)) },
		"Load":  func() (*Config, error) { return Load(file) },
		"Parse of a stream": func() (*Config, error) {
			return Parse(io.MultiReader(strings.NewReader(over[:100]), strings.NewReader(over[100:])))
		},
	} {
		if c, err := parse(); err == nil || !strings.Contains(err.Error(), "inventory larger than 4096 bytes") {
			t.Errorf("%s of a %d-byte inventory: %v, %v; want larger than the limit", name, len(over), c, err)
		}
	}
}

// commentPad makes YAML comment lines.
type commentPad struct{}

func (commentPad) of(n int) string {
	line := strings.Repeat("#", 63) + "\n"
	s := strings.Repeat(line, n/64+1)
	return s[len(s)-n:]
}

// A reload that would empty a non-empty inventory is refused and the last
// good one kept (issue #12, finding 6); one that finds an inventory empty
// that was empty is fine.
func TestReloadRefusesToEmptyInventory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inv.yml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("modules:\n  hk3: {timeout: 2s}\n")
	sc := NewSafeConfig(path, prometheus.NewRegistry())
	if _, err := sc.Reload(); err != nil {
		t.Fatalf("empty to empty: %v", err)
	}
	write("containers:\n  - {name: a, address: \"127.0.0.1:8001\", type: hk3}\n")
	if _, err := sc.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, empty := range []string{"", "# all commented out\n", "containers: []\n", "containers:\n"} {
		write(empty)
		inUse, err := sc.Reload()
		if !errors.Is(err, ErrInventoryEmptied) {
			t.Errorf("reload of %q: error = %v, want ErrInventoryEmptied", empty, err)
		}
		if inUse != sc.Get() || len(inUse.Containers) != 1 {
			t.Errorf("reload of %q: returned config is not the one in use", empty)
		}
		if _, ok := sc.Get().Lookup("a"); !ok {
			t.Errorf("reload of %q: last good inventory lost", empty)
		}
		if got := testutil.ToFloat64(sc.reloadSuccess); got != 0 {
			t.Errorf("reload of %q: last_reload_successful = %v, want 0", empty, got)
		}
		if got := testutil.ToFloat64(sc.containers); got != 1 {
			t.Errorf("reload of %q: containers = %v, want 1", empty, got)
		}
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
