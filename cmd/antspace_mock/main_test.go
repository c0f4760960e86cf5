package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func mustSpecs(t *testing.T, args ...string) []spec {
	t.Helper()
	f, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := buildSpecs(f)
	if err != nil {
		t.Fatal(err)
	}
	return specs
}

func TestSingleContainer(t *testing.T) {
	specs := mustSpecs(t, "--type", "IMMERSION", "--error", "--seed", "5", "--name", "c1")
	if len(specs) != 1 {
		t.Fatalf("%d specs", len(specs))
	}
	o := specs[0].opts
	if specs[0].addr != "127.0.0.1:8000" || o.Type != mock.Immersion || !o.AllFaults || o.Seed != 5 || o.Name != "c1" {
		t.Errorf("spec %+v at %s", o, specs[0].addr)
	}
}

func TestFleetLayout(t *testing.T) {
	addrs := func(specs []spec) []string {
		var out []string
		for _, s := range specs {
			out = append(out, s.addr)
		}
		return out
	}
	ports := mustSpecs(t, "--fleet", "3", "--fleet.start", "127.0.0.1:9100")
	if got := strings.Join(addrs(ports), " "); got != "127.0.0.1:9100 127.0.0.1:9101 127.0.0.1:9102" {
		t.Errorf("ports mode: %s", got)
	}
	hosts := mustSpecs(t, "--fleet", "3", "--fleet.mode", "addresses", "--fleet.start", "127.0.0.254:9100")
	if got := strings.Join(addrs(hosts), " "); got != "127.0.0.254:9100 127.0.0.255:9100 127.0.1.0:9100" {
		t.Errorf("addresses mode: %s", got)
	}
	share := mustSpecs(t, "--fleet", "10", "--fleet.hk3-share", "0.3")
	hk3 := 0
	for i, s := range share {
		if s.opts.Type == mock.HK3 {
			hk3++
		}
		if s.opts.Seed != 1+int64(i) || s.opts.Name == "" {
			t.Errorf("fleet member %d: %+v", i, s.opts)
		}
	}
	if hk3 != 3 {
		t.Errorf("%d of 10 hk3 with share 0.3", hk3)
	}
	for _, s := range mustSpecs(t, "--fleet", "4", "--type", "immersion") {
		if s.opts.Type != mock.Immersion {
			t.Error("fleet without hk3-share ignores --type")
		}
	}
	for _, args := range [][]string{
		{"--fleet", "3", "--fleet.start", "127.0.0.1:65534"},
		{"--fleet", "3", "--fleet.mode", "addresses", "--fleet.start", "10.0.0.1:9100"},
		{"--fleet", "3", "--fleet.start", "localhost:9100"},
		{"--fleet", "3", "--fleet.hk3-share", "1.5"},
		{"--fleet", "3", "--fleet.mode", "diagonal"},
		{"--type", "hk4"},
	} {
		f, err := parseFlags(args, io.Discard)
		if err == nil {
			_, err = buildSpecs(f)
		}
		if err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBulkFile(t *testing.T) {
	yml := writeFile(t, "bulk.yml", `containers:
  - name: a
    type: HK3
    address: 127.0.0.1:0
    seed: 42
    overrides: {supply_liquid_set_temp: 30, disconnect: true}
  - type: immersion
    address: 127.0.0.1:0
    error: true
`)
	specs := mustSpecs(t, "--bulk", yml)
	if len(specs) != 2 {
		t.Fatalf("%d specs", len(specs))
	}
	a, b := specs[0].opts, specs[1].opts
	if a.Name != "a" || a.Type != mock.HK3 || a.Seed != 42 || a.Overrides["disconnect"] != true || a.AllFaults {
		t.Errorf("a: %+v", a)
	}
	if b.Name != "antspace-mock-2" || b.Type != mock.Immersion || !b.AllFaults || b.Seed != 2 {
		t.Errorf("b: %+v", b)
	}
	js := writeFile(t, "bulk.json", `{"containers":[{"name":"j","type":"immersion","address":"127.0.0.1:0","overrides":{"pid_mode":true}}]}`)
	if specs := mustSpecs(t, "--bulk", js); len(specs) != 1 || specs[0].opts.Overrides["pid_mode"] != true {
		t.Errorf("json bulk: %+v", specs)
	}
	for name, content := range map[string]string{
		"unknown field": "containers: [{name: a, address: 127.0.0.1:1, colour: red}]",
		"duplicate":     "containers: [{name: a, address: 127.0.0.1:1}, {name: a, address: 127.0.0.1:2}]",
		"bad type":      "containers: [{name: a, type: hk4, address: 127.0.0.1:1}]",
		"no address":    "containers: [{name: a}]",
		"empty":         "containers: []",
		"bad override":  "containers: [{name: a, address: 127.0.0.1:1, overrides: {'': 1}}]",
	} {
		f, err := parseFlags([]string{"--bulk", writeFile(t, "bad.yml", content)}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := buildSpecs(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// waitInventory polls for the inventory file run writes once everything listens.
func waitInventory(t *testing.T, path string, exited <-chan int) inventory {
	t.Helper()
	var b []byte
	testutil.WaitFor(t, testutil.Patience, 5*time.Millisecond, "the inventory file", func() bool {
		select {
		case code := <-exited:
			t.Fatalf("exited with %d before writing the inventory", code)
		default:
		}
		var err error
		b, err = os.ReadFile(path)
		return err == nil
	})
	var inv inventory
	if err := yaml.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	return inv
}

func getState(t *testing.T, addr string) map[string]any {
	t.Helper()
	res, err := http.Get("http://" + addr + "/cooler?operation=coolerState")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env struct {
		OK     bool           `json:"ok"`
		Params map[string]any `json:"params"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil || !env.OK {
		t.Fatalf("%s: %v %+v", addr, err, env)
	}
	return env.Params
}

func TestRunFleetAndBulk(t *testing.T) {
	bulk := writeFile(t, "bulk.yml", `containers:
  - {name: hot, type: immersion, address: "127.0.0.1:0", error: true}
  - {name: cold, type: hk3, address: "127.0.0.1:0", overrides: {supply_liquid_set_temp: 25}}
`)
	inv := filepath.Join(t.TempDir(), "inventory.yml")
	var logs testutil.SyncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"--bulk", bulk, "--fleet", "200", "--fleet.start", "127.0.0.1:0",
			"--fleet.hk3-share", "0.5", "--inventory.out", inv, "--log.level", "debug"}, &logs)
	}()
	got := waitInventory(t, inv, exited)
	if len(got.Containers) != 202 {
		t.Fatalf("%d containers in the inventory", len(got.Containers))
	}
	types := map[string]int{}
	for _, c := range got.Containers {
		types[c.Type]++
		if c.Labels["site"] != "demo" || c.Name == "" || !strings.HasPrefix(c.Address, "127.0.0.1:") {
			t.Errorf("inventory entry %+v", c)
		}
		st := getState(t, c.Address)
		_, isHK3 := st["colding_tower_inlet_temp"]
		if isHK3 != (c.Type == "hk3") {
			t.Errorf("%s: type %s but payload hk3=%v", c.Name, c.Type, isHK3)
		}
	}
	if types["hk3"] != 101 || types["immersion"] != 101 {
		t.Errorf("types %v", types)
	}
	if st := getState(t, got.Containers[0].Address); st["leakage_fault"] != true {
		t.Error("bulk error: true not applied")
	}
	if st := getState(t, got.Containers[1].Address); st["supply_liquid_set_temp"] != 25.0 {
		t.Error("bulk overrides not applied")
	}
	cancel()
	if code := <-exited; code != 0 {
		t.Errorf("exit code %d", code)
	}
	for _, want := range []string{`msg="serving container" container=hot type=immersion address=127.0.0.1:`, "level=debug msg=request container=hot operation=coolerState", `msg="shutting down"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// The exporter's line format (internal/logging): ts, level, then msg.
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		if !regexp.MustCompile(`^ts=\S+Z level=(debug|info|warn|error) msg=`).MatchString(line) {
			t.Errorf("log line not in the common format: %q", line)
			break
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestRunFailsOnBusyAddress(t *testing.T) {
	s, err := mock.Start(mock.Options{Type: mock.HK3}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var logs testutil.SyncBuffer
	if code := run(t.Context(), []string{"--listen", s.Addr()}, &logs); code != 1 {
		t.Errorf("exit code %d, want 1; log %s", code, logs.String())
	}
	if code := run(t.Context(), []string{"--type", "hk4"}, &logs); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
}

func TestBinaryExitsCleanlyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "antspace_mock")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	inv := filepath.Join(dir, "inventory.yml")
	cmd := exec.Command(bin, "--type", "Immersion", "--listen", "127.0.0.1:0", "--inventory.out", inv)
	var logs testutil.SyncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan int, 1)
	go func() { _ = cmd.Wait(); exited <- cmd.ProcessState.ExitCode() }()
	got := waitInventory(t, inv, exited)
	if len(got.Containers) != 1 || got.Containers[0].Type != "immersion" {
		t.Fatalf("inventory %+v", got)
	}
	if st := getState(t, got.Containers[0].Address); len(st) != 33+18+21 {
		t.Errorf("%d immersion fields", len(st))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-exited; code != 0 {
		t.Errorf("exit code %d after SIGTERM; log:\n%s", code, logs.String())
	}
	http.DefaultClient.CloseIdleConnections()
}
