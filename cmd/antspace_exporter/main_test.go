package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

type testEnv struct {
	server *httptest.Server
	exp    *exporter
	logs   *testutil.SyncBuffer
	mocks  map[string]*mock.Server
	config string
	bodies *testutil.BodyWatch // set by TestChaosMatrix
}

// testModuleTimeout is the modules' timeout in newTestEnv: far beyond what a
// probe needs on a loaded machine, so that only tests that mean to hit a
// deadline do (by the scrape timeout header or testutil.ManualDeadline).
const testModuleTimeout = "30s"

// newTestEnv starts mock containers and an exporter whose inventory lists
// them; opts adjust the exporter's options.
func newTestEnv(t *testing.T, allowAny bool, containers map[string]mock.Type, opts ...func(*exporterOptions)) *testEnv {
	t.Helper()
	env := &testEnv{logs: &testutil.SyncBuffer{}, mocks: map[string]*mock.Server{}}
	var inv strings.Builder
	fmt.Fprintf(&inv, "modules:\n  hk3: {timeout: %s}\n  immersion: {timeout: %s}\n", testModuleTimeout, testModuleTimeout)
	if len(containers) > 0 {
		inv.WriteString("containers:\n")
	}
	for name, typ := range containers {
		s, err := mock.Start(mock.Options{Name: name, Type: typ, Seed: 7}, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		env.mocks[name] = s
		fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: %s, labels: {site: test}}\n", name, s.Addr(), typ)
	}
	env.config = filepath.Join(t.TempDir(), "inventory.yml")
	if err := os.WriteFile(env.config, []byte(inv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	o := exporterOptions{
		logger: log.NewLogfmtLogger(env.logs), configFile: env.config, telemetryPath: "/metrics",
		timeoutOffset: 0.5, allowAny: allowAny, maxRequests: 100, maxConns: 2,
	}
	for _, opt := range opts {
		opt(&o)
	}
	env.exp = newExporter(o)
	if err := env.exp.reload(); err != nil {
		t.Fatal(err)
	}
	h := env.exp.routes()
	env.server = httptest.NewServer(h)
	t.Cleanup(env.server.Close)
	return env
}

func (e *testEnv) get(t *testing.T, path string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestProbeBothTypesByName(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3, "imm-a": mock.Immersion})
	for _, tc := range []struct{ target, want string }{
		{"hk3-a", `antspace_container_info{latitude_direction="1",longitude_direction="1",module="hk3",type="hk3"} 1`},
		{"imm-a", `antspace_container_info{latitude_direction="1",longitude_direction="1",module="immersion",type="immersion"} 1`},
		{"imm-a&module=auto", `module="auto",type="immersion"`},
		{env.mocks["hk3-a"].Addr(), `type="hk3"`}, // inventory address works like the name
	} {
		code, body := env.get(t, "/probe?target="+tc.target, nil)
		if code != http.StatusOK || !strings.Contains(body, "antspace_up 1") || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d\n%s", tc.target, code, body)
		}
	}
}

func TestProbeBadRequests(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3})
	for _, tc := range []struct {
		path   string
		header http.Header
		code   int
		want   string
	}{
		{path: "/probe", code: 400, want: `parameter "target" is missing`},
		{path: "/probe?target=", code: 400, want: `parameter "target" is missing`},
		{path: "/probe?target=hk3-a&target=hk3-a", code: 400, want: `"target" given 2 times`},
		{path: "/probe?target=hk3-a&module=hk4", code: 400, want: `unknown module "hk4"`},
		{path: "/probe?target=hk3-a&module=immersion&module=hk3", code: 400, want: `"module" given 2 times`},
		{path: "/probe?target=127.0.0.1:1", code: 400, want: "not in the inventory"},
		{path: "/probe?target=hk3-a", header: http.Header{scrapeTimeoutHeader: {"abc"}}, code: 400, want: "not a positive number"},
		{path: "/probe?target=hk3-a", header: http.Header{scrapeTimeoutHeader: {"-1"}}, code: 400, want: "not a positive number"},
	} {
		code, body := env.get(t, tc.path, tc.header)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.path, code, body, tc.code, tc.want)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, env.server.URL+"/probe?target=hk3-a", nil)
	if code, _ := do(t, req); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /probe: %d", code)
	}
}

func TestProbeAllowAnyTarget(t *testing.T) {
	env := newTestEnv(t, true, map[string]mock.Type{"hk3-a": mock.HK3})
	other, err := mock.Start(mock.Options{Type: mock.Immersion}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	code, body := env.get(t, "/probe?target="+other.Addr(), nil)
	if code != 200 || !strings.Contains(body, "antspace_up 1") || !strings.Contains(body, `module="auto",type="immersion"`) {
		t.Errorf("%d\n%s", code, body)
	}
}

func TestProbeTimeout(t *testing.T) {
	for _, tc := range []struct {
		header string
		offset time.Duration
		module time.Duration
		want   time.Duration
		err    bool
	}{
		{header: "", offset: 500 * time.Millisecond, module: 5 * time.Second, want: 5 * time.Second},
		{header: "10", offset: 500 * time.Millisecond, module: 20 * time.Second, want: 9500 * time.Millisecond},
		{header: "10", offset: 500 * time.Millisecond, module: 5 * time.Second, want: 5 * time.Second},
		{header: "0.4", offset: 500 * time.Millisecond, module: 5 * time.Second, want: 400 * time.Millisecond},
		{header: "1.5", offset: 0, module: 5 * time.Second, want: 1500 * time.Millisecond},
		{header: "3", offset: 500 * time.Millisecond, module: 0, want: 2500 * time.Millisecond},
		{header: "0", err: true},
		{header: "-2", err: true},
		{header: "NaN", err: true},
		{header: "Inf", err: true},
		{header: "ten", err: true},
	} {
		got, err := probeTimeout(tc.header, tc.offset, tc.module)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("probeTimeout(%q, %v, %v) = %v, %v; want %v (error %v)", tc.header, tc.offset, tc.module, got, err, tc.want, tc.err)
		}
	}
}

// When only minerInfo fails the cooling telemetry is still answered.
func TestProbePartialMinerInfoFailure(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"imm-a": mock.Immersion})
	env.mocks["imm-a"].Misbehave(mock.Misbehaviour{Kind: mock.InvalidJSON, Operation: "minerInfo"})
	code, body := env.get(t, "/probe?target=imm-a", nil)
	for _, want := range []string{"antspace_up 1", "antspace_miner_info_success 0", `antspace_temperature_celsius{sensor="primary_supply"}`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("missing %q (status %d)", want, code)
		}
	}
	if strings.Contains(body, "antspace_miner_hashrate") {
		t.Error("miner series exported although minerInfo failed")
	}
	if !strings.Contains(env.logs.String(), "minerInfo failed") {
		t.Errorf("no log line for the minerInfo failure:\n%s", env.logs.String())
	}
}

func TestSD(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3, "imm-a": mock.Immersion})
	code, body := env.get(t, "/sd", nil)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var groups []targetGroup
	if err := json.Unmarshal([]byte(body), &groups); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, g := range groups {
		if len(g.Targets) != 1 {
			t.Fatalf("group %+v", g)
		}
		got[g.Targets[0]] = g.Labels
	}
	want := map[string]map[string]string{
		"hk3-a": {"container": "hk3-a", "type": "hk3", "site": "test", "__param_module": "hk3", "__meta_antspace_address": env.mocks["hk3-a"].Addr()},
		"imm-a": {"container": "imm-a", "type": "immersion", "site": "test", "__param_module": "immersion", "__meta_antspace_address": env.mocks["imm-a"].Addr()},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sd = %v\nwant %v", got, want)
	}
}

func TestReloadEndpoint(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3})
	post := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, env.server.URL+"/-/reload", nil)
		return do(t, req)
	}
	if err := os.WriteFile(env.config, []byte("containers:\n  - {name: x, address: bad, type: hk3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := post(); code != 500 || !strings.Contains(body, "failed to reload config") {
		t.Errorf("bad reload: %d %s", code, body)
	}
	if code, body := env.get(t, "/probe?target=hk3-a", nil); code != 200 || !strings.Contains(body, "antspace_up 1") {
		t.Errorf("last good config lost: %d", code)
	}
	if _, body := env.get(t, "/metrics", nil); !strings.Contains(body, "antspace_exporter_config_last_reload_successful 0") {
		t.Error("reload failure not in metrics")
	}
	if err := os.WriteFile(env.config, []byte("containers:\n  - {name: y, address: \"127.0.0.1:1\", type: hk3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(); code != 200 {
		t.Errorf("good reload: %d", code)
	}
	if code, body := env.get(t, "/probe?target=hk3-a", nil); code != 400 {
		t.Errorf("removed container still probed: %d %s", code, body)
	}
	if code, _ := env.get(t, "/-/reload", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d", code)
	}
}

// /metrics carries the exporter's own metrics, never device metrics.
func TestMetricsEndpoint(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3})
	env.get(t, "/probe?target=hk3-a", nil)
	_, body := env.get(t, "/metrics", nil)
	for _, want := range []string{
		`antspace_exporter_probes_total{module="hk3",result="success"} 1`,
		`antspace_exporter_upstream_requests_total{operation="coolerState",result="success"} 1`,
		"antspace_exporter_config_last_reload_successful 1",
		"antspace_exporter_config_containers 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, "antspace_") && !strings.HasPrefix(line, "antspace_exporter_") {
			t.Errorf("device metric on /metrics: %s", line)
		}
	}
}

func TestLandingAndHealth(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3})
	code, body := env.get(t, "/", nil)
	if code != 200 || !strings.Contains(body, `href="/probe?target=hk3-a"`) || !strings.Contains(body, `action="/probe"`) {
		t.Errorf("landing page: %d\n%s", code, body)
	}
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		if code, _ := env.get(t, p, nil); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
	if code, _ := env.get(t, "/nope", nil); code != 404 {
		t.Errorf("/nope: %d", code)
	}
}

// Beyond --web.max-requests concurrent probes the exporter answers 503 at
// once instead of queueing.
func TestMaxRequests(t *testing.T) {
	l := newRequestLimiter(1)
	release := make(chan struct{})
	entered := make(chan struct{})
	h := l.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(entered)
		<-release
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	done := make(chan int)
	go func() {
		resp, err := http.Get(srv.URL)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "--web.max-requests") {
		t.Errorf("second request: %d %s", resp.StatusCode, body)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Errorf("first request: %d", code)
	}
}
