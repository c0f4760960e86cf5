package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// demoEnv serves targets.example.yml with its containers replaced by mocks,
// so the README's curl lines (with the example's demo tokens) run as written.
func demoEnv(t *testing.T, dangerous bool) (*httptest.Server, map[string]*mock.Server, *testutil.SyncBuffer) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "targets.example.yml"))
	if err != nil {
		t.Fatal(err)
	}
	inv := string(raw)
	mocks := map[string]*mock.Server{}
	for name, spec := range map[string]struct {
		addr string
		typ  mock.Type
	}{
		"hk3-001": {"127.0.0.1:8001", mock.HK3}, "hk3-002": {"127.0.0.1:8002", mock.HK3},
		"imm-001": {"127.0.0.1:8011", mock.Immersion}, "imm-002": {"127.0.0.1:8012", mock.Immersion},
	} {
		s, err := mock.Start(mock.Options{Name: name, Type: spec.typ, Seed: 1}, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		mocks[name] = s
		if !strings.Contains(inv, `"`+spec.addr+`"`) {
			t.Fatalf("targets.example.yml no longer lists %s at %s", name, spec.addr)
		}
		inv = strings.Replace(inv, `"`+spec.addr+`"`, `"`+s.Addr()+`"`, 1)
	}
	file := filepath.Join(t.TempDir(), "targets.yml")
	if err := os.WriteFile(file, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	exp := newExporter(exporterOptions{
		logger: log.NewLogfmtLogger(logs), configFile: file, telemetryPath: "/metrics",
		timeoutOffset: 0.5, maxRequests: 100, maxConns: 2, dangerous: dangerous,
		coalesceWindow: time.Minute, // verification must not be fooled by a shared probe read
	})
	if err := exp.reload(); err != nil {
		t.Fatal(err)
	}
	h := exp.routes()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(exp.client.HTTP.CloseIdleConnections)
	return srv, mocks, logs
}

func controlPost(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// The README/docs curl lines work against the example config.
func TestControlDemoCurlLines(t *testing.T) {
	srv, mocks, logs := demoEnv(t, false)
	// A probe first, so a coalesced coolerState from before the writes exists.
	if code, body := do(t, getRequest(t, srv.URL+"/probe?target=hk3-001")); code != http.StatusOK || !strings.Contains(body, "antspace_up 1") {
		t.Fatalf("probe: %d", code)
	}
	code, body := controlPost(t, srv.URL+"/control/reset?target=hk3-001", "demo-reset-token")
	if code != http.StatusOK || !strings.Contains(body, `"verified": true`) {
		t.Errorf("reset: %d %s", code, body)
	}
	code, body = controlPost(t, srv.URL+"/control/setpoint?target=hk3-001&celsius=30", "demo-operator-token")
	if code != http.StatusOK || !strings.Contains(body, `"verified": true`) {
		t.Errorf("setpoint: %d %s", code, body)
	}
	if st := mocks["hk3-001"].State(); st["supply_liquid_set_temp"] != 30.0 {
		t.Errorf("setpoint on the device: %v", st["supply_liquid_set_temp"])
	}
	code, body = controlPost(t, srv.URL+"/control/setpoint?target=hk3-001&celsius=30", "demo-reset-token")
	if code != http.StatusForbidden {
		t.Errorf("reset-only token may set the setpoint: %d %s", code, body)
	}
	code, body = controlPost(t, srv.URL+"/control/cooling?target=hk3-001&state=off", "demo-operator-token")
	if code != http.StatusForbidden || !strings.Contains(body, "--control.enable-dangerous-actions") {
		t.Errorf("cooling without the flag: %d %s", code, body)
	}
	if w := mocks["hk3-001"].Writes(); len(w) != 2 {
		t.Errorf("writes %v, want reset and setTemp", w)
	}
	_, metrics := do(t, getRequest(t, srv.URL+"/metrics"))
	for _, want := range []string{
		`antspace_exporter_control_requests_total{action="reset",result="success"} 1`,
		`antspace_exporter_control_requests_total{action="setpoint",result="success"} 1`,
		`antspace_exporter_control_requests_total{action="setpoint",result="forbidden"} 1`,
		`antspace_exporter_control_requests_total{action="cooling",result="dangerous_disabled"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	_, page := do(t, getRequest(t, srv.URL+"/"))
	if !strings.Contains(page, "Control is on") || !strings.Contains(page, "enable-dangerous-actions not set") {
		t.Errorf("landing page lacks the control line")
	}
	for _, secret := range []string{"demo-operator-token", "demo-reset-token", "$2a$"} {
		if strings.Contains(page, secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("landing page or log shows %q", secret)
		}
	}
}

func TestControlDangerousFlag(t *testing.T) {
	srv, mocks, _ := demoEnv(t, true)
	// The example gates cooling behind a second credential's approval.
	code, body := controlPost(t, srv.URL+"/control/cooling?target=imm-001&state=off", "demo-operator-token")
	if code != http.StatusAccepted || mocks["imm-001"].State()["one_pump"] != true {
		t.Fatalf("cooling off before approval: %d %s", code, body)
	}
	id := regexp.MustCompile(`"approval_id": "([0-9a-f]{32})"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("no approval_id: %s", body)
	}
	code, body = controlPost(t, srv.URL+"/control/approve?id="+id[1], "demo-approver-token")
	if code != http.StatusOK || !strings.Contains(body, `"verified": true`) {
		t.Fatalf("cooling off: %d %s", code, body)
	}
	if st := mocks["imm-001"].State(); st["one_pump"] != false {
		t.Errorf("one_pump still on")
	}
	_, page := do(t, getRequest(t, srv.URL+"/"))
	if !strings.Contains(page, "cooling on/off enabled") {
		t.Errorf("landing page does not say dangerous actions are on")
	}
}

// Without credentials the landing page says control is off and /control refuses.
func TestControlOffByDefault(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3})
	_, page := env.get(t, "/", nil)
	if !strings.Contains(page, "Control is off") {
		t.Errorf("landing page lacks 'Control is off'")
	}
	code, body := controlPost(t, env.server.URL+"/control/reset?target=hk3-a", "anything")
	if code != http.StatusForbidden || !strings.Contains(body, "no credentials are configured") {
		t.Errorf("%d %s", code, body)
	}
	if w := env.mocks["hk3-a"].Writes(); len(w) != 0 {
		t.Errorf("writes: %v", w)
	}
}

func getRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// POST /control without an action names the actions instead of redirecting.
func TestControlWithoutAction(t *testing.T) {
	srv, _, _ := demoEnv(t, false)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/control?target=hk3-001", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer demo-operator-token")
	// Like curl -X POST: a redirect is not followed.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "/control/{reset,setpoint,cooling}") {
		t.Errorf("POST /control: %d %s", resp.StatusCode, body)
	}
}

// A control hash below cost 10 loads with a loud warning naming the
// credential, never the hash.
func TestWeakControlHashWarnedAtLoad(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("weak-token"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "targets.yml")
	inv := "containers:\n  - {name: hk3-001, address: \"127.0.0.1:8001\", type: hk3}\ncontrol:\n  tokens:\n    - {name: weakling, hash: \"" + string(hash) + "\"}\n"
	if err := os.WriteFile(file, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	exp := newExporter(exporterOptions{logger: log.NewLogfmtLogger(logs), configFile: file, telemetryPath: "/metrics",
		timeoutOffset: 0.5, maxRequests: 10, maxConns: 2})
	if err := exp.reload(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, `level=warn msg="config warning"`) || !strings.Contains(out, `weakling`) || !strings.Contains(out, "cost 4, below 10") {
		t.Errorf("no warning about the weak hash:\n%s", out)
	}
	if strings.Contains(out, string(hash)) {
		t.Errorf("the log shows the hash:\n%s", out)
	}
}
