package mock

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

// TestMain fails the package when a handler goroutine is left behind,
// waiting for slow teardown first (testutil.VerifyTestMain).
func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// start serves a container on a free loopback port with a manual clock.
func start(t *testing.T, o Options) (*Server, *ManualClock) {
	t.Helper()
	clk := NewManualClock(epoch)
	if o.Clock == nil {
		o.Clock = clk
	}
	if o.Type == "" {
		o.Type = HK3
	}
	s, err := Start(o, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, clk
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body io.Reader) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func get(t *testing.T, url string) response { t.Helper(); return do(t, http.MethodGet, url, nil) }

// op sends a device operation and returns the decoded envelope; it fails on anything but 200.
func op(t *testing.T, s *Server, query string) map[string]any {
	t.Helper()
	r := get(t, s.URL()+"/cooler?operation="+query)
	if r.status != http.StatusOK {
		t.Fatalf("%s: status %d, body %s", query, r.status, r.body)
	}
	var env map[string]any
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("%s: %v in %s", query, err, r.body)
	}
	return env
}

// params reads coolerState (or another read op) and returns its params.
func params(t *testing.T, s *Server, operation string) map[string]any {
	t.Helper()
	env := op(t, s, operation)
	p, ok := env["params"].(map[string]any)
	if !ok {
		t.Fatalf("%s: params is %T", operation, env["params"])
	}
	return p
}

func num(t *testing.T, p map[string]any, field string) float64 {
	t.Helper()
	f, ok := p[field].(float64)
	if !ok {
		t.Fatalf("%s is %T (%v), want a number", field, p[field], p[field])
	}
	return f
}

func boolean(t *testing.T, p map[string]any, field string) bool {
	t.Helper()
	b, ok := p[field].(bool)
	if !ok {
		t.Fatalf("%s is %T (%v), want a bool", field, p[field], p[field])
	}
	return b
}
