package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/config"
)

// /config names every credential with its actions and scope (file ones
// included); the landing page lists them without names. No hash shows.
func TestControlScopesShown(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("scoped-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	credFile := filepath.Join(dir, "creds.yml")
	if err := os.WriteFile(credFile, []byte(fmt.Sprintf("users:\n  - {name: night-shift, hash: %q, actions: [reset], selector: \"type=hk3\"}\n", hash)), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "inv.yml")
	inv := fmt.Sprintf(`containers:
  - {name: hk3-a, address: "127.0.0.1:1", type: hk3, labels: {site: dc1}}
control:
  credentials_file: %q
  tokens:
    - {name: dc1-ops, hash: %q, selector: "site=dc1"}
    - {name: oncall, hash: %q, actions: [cooling]}
  approvals: {cooling: 2}
  max_batch: 20
`, credFile, hash, hash)
	if err := os.WriteFile(file, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	exp := newExporter(exporterOptions{logger: log.NewNopLogger(), configFile: file, telemetryPath: "/metrics", maxRequests: 10, maxConns: 2})
	if err := exp.reload(); err != nil {
		t.Fatal(err)
	}
	h := exp.routes()
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) string {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		code, body := do(t, req)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", path, code)
		}
		return body
	}
	dump := get("/config")
	var parsed struct {
		Control struct {
			Tokens []struct{ Selector string }
			Scopes []struct {
				Who, Kind, Containers string
				Actions               []string
			}
			Approvals map[string]int
			MaxBatch  int `yaml:"max_batch"`
		}
	}
	if err := yaml.Unmarshal([]byte(dump), &parsed); err != nil {
		t.Fatalf("/config is not YAML: %v", err)
	}
	var scopes []string
	for _, s := range parsed.Control.Scopes {
		scopes = append(scopes, fmt.Sprintf("%s %s %v %s", s.Who, s.Kind, s.Actions, s.Containers))
	}
	want := []string{
		"token:dc1-ops token [reset setpoint cooling] site=dc1",
		"token:oncall token [cooling] every container",
		"user:night-shift user [reset] type=hk3",
	}
	if fmt.Sprint(scopes) != fmt.Sprint(want) {
		t.Errorf("/config scopes %q, want %q:\n%s", scopes, want, dump)
	}
	if parsed.Control.Tokens[0].Selector != "site=dc1" || parsed.Control.Approvals["cooling"] != 2 || parsed.Control.MaxBatch != 20 {
		t.Errorf("/config: %+v", parsed.Control)
	}
	page := get("/")
	for _, want := range []string{
		"<li>token 1: reset, setpoint, cooling on site=dc1</li>",
		"<li>token 2: cooling on every container</li>",
		"<li>user 1: reset on type=hk3</li>",
		"cooling needs 2 approvals",
		"Batches: at most 20 containers",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	for _, secret := range []string{"dc1-ops", "night-shift", "oncall", string(hash), "$2a$"} {
		if strings.Contains(page, secret) {
			t.Errorf("landing page shows %q", secret)
		}
	}
	if strings.Contains(dump, string(hash)) || strings.Contains(dump, "$2a$") {
		t.Error("/config shows a hash")
	}
}

// A batch's answer must be written before the server's write timeout: the
// longest batch_timeout the config accepts leaves room for it.
func TestBatchTimeoutInsideWriteTimeout(t *testing.T) {
	if margin := defaultServerLimits.WriteTimeout - config.MaxBatchTimeout; margin < 20*time.Second {
		t.Errorf("write timeout %s leaves %s after the longest batch_timeout %s", defaultServerLimits.WriteTimeout, margin, config.MaxBatchTimeout)
	}
}
