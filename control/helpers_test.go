package control

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Test secrets. They must never appear in a log line.
const (
	adminToken  = "admin-secret-token-7f3a9c"
	resetToken  = "reset-secret-token-b81e44"
	alicePass   = "alice-password-c0ffee"
	bobPass     = "bob-password-d15ea5e"
	wrongSecret = "wrong-secret-9d8c7b6a"
)

// hashes are made once at the minimum cost so tests stay fast; the code
// under test does not depend on the cost.
var (
	hashOnce sync.Once
	hashes   map[string]string
)

func hashOf(t *testing.T, secret string) string {
	t.Helper()
	hashOnce.Do(func() {
		hashes = map[string]string{}
		for _, s := range []string{adminToken, resetToken, alicePass, bobPass} {
			h, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			hashes[s] = string(h)
		}
	})
	h, ok := hashes[secret]
	if !ok {
		t.Fatalf("no hash for test secret")
	}
	return h
}

type staticConfig struct{ c *config.Config }

func (s staticConfig) Get() *config.Config { return s.c }

type envOptions struct {
	noCredentials bool
	dangerous     bool
	controlYAML   string // extra lines inside control:
	// setup adjusts the handler before the server starts (hooks, capacity).
	setup func(*Handler)
}

type testEnv struct {
	server *httptest.Server
	h      *Handler
	reg    *prometheus.Registry
	logs   *testutil.SyncBuffer
	mocks  map[string]*mock.Server
	client *device.Client
}

// The inventory every test uses: two HK3 in dc1, one immersion in dc2.
var inventory = []struct {
	name  string
	typ   mock.Type
	site  string
	extra string
}{
	{"hk3-a", mock.HK3, "dc1", "row: \"1\""},
	{"hk3-b", mock.HK3, "dc1", "row: \"2\""},
	{"imm-a", mock.Immersion, "dc2", "row: \"1\""},
}

func startMock(t *testing.T, name string, typ mock.Type) *mock.Server {
	t.Helper()
	s, err := mock.Start(mock.Options{Name: name, Type: typ, Seed: 3, Clock: mock.NewManualClock(epoch)}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing mock %s: %v", name, err)
		}
	})
	return s
}

func newEnv(t *testing.T, o envOptions) *testEnv {
	t.Helper()
	env := &testEnv{logs: &testutil.SyncBuffer{}, mocks: map[string]*mock.Server{}, reg: prometheus.NewRegistry()}
	var y strings.Builder
	y.WriteString("containers:\n")
	for _, c := range inventory {
		s := startMock(t, c.name, c.typ)
		env.mocks[c.name] = s
		fmt.Fprintf(&y, "  - {name: %s, address: %q, type: %s, labels: {site: %s, %s}}\n", c.name, s.Addr(), c.typ, c.site, c.extra)
	}
	y.WriteString("control:\n")
	if !o.noCredentials {
		fmt.Fprintf(&y, "  tokens:\n    - {name: admin, hash: %q}\n    - {name: resetter, hash: %q, actions: [reset]}\n",
			hashOf(t, adminToken), hashOf(t, resetToken))
		fmt.Fprintf(&y, "  users:\n    - {name: alice, hash: %q, actions: [setpoint]}\n    - {name: bob, hash: %q}\n",
			hashOf(t, alicePass), hashOf(t, bobPass))
	}
	y.WriteString(o.controlYAML)
	// Timeouts far beyond what a write and its read-back need on a loaded
	// machine: no test here means to hit them by the clock (TestNotVerified
	// lets verify_timeout pass itself, see expireVerifyAfterReads).
	if !strings.Contains(o.controlYAML, "verify_timeout:") {
		y.WriteString("  verify_timeout: 1m\n")
	}
	y.WriteString("  timeout: 1m\n")
	cfg, err := config.Parse(strings.NewReader(y.String()))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, y.String())
	}
	env.client = device.NewClient("control-test", 2)
	t.Cleanup(env.client.HTTP.CloseIdleConnections)
	env.h = New(Options{
		Config:          staticConfig{cfg},
		Client:          env.client,
		Logger:          log.NewLogfmtLogger(env.logs),
		Registerer:      env.reg,
		EnableDangerous: o.dangerous,
	})
	if o.setup != nil {
		o.setup(env.h)
	}
	mux := http.NewServeMux()
	mux.Handle(Prefix, env.h)
	mux.Handle(strings.TrimSuffix(Prefix, "/"), env.h) // as the exporter mounts it
	env.server = httptest.NewServer(mux)
	t.Cleanup(env.server.Close)
	return env
}

// call describes one request to the handler.
type call struct {
	method      string // default POST
	path        string // e.g. /control/reset?target=hk3-a
	bearer      string
	user, pass  string
	header      map[string]string
	body        string
	contentType string
	from        string // source IP (127.x), default 127.0.0.1
}

type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (e *testEnv) do(t *testing.T, c call) reply {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodPost
	}
	ctx, cancel := context.WithTimeout(t.Context(), testutil.Patience)
	defer cancel()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, e.server.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	client := http.DefaultClient
	if c.from != "" {
		tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.from)}}).DialContext}
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	if err := json.Unmarshal(b, &r.json); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object (%v): %s", c.method, c.path, err, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
	}
	return r
}

// results returns the answer's per-container results keyed by container.
func (r reply) results(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	list, _ := r.json["results"].([]any)
	for _, x := range list {
		m := x.(map[string]any)
		out[m["container"].(string)] = m
	}
	return out
}

// writes returns every write any mock received, as "container:operation[=temp]".
func (e *testEnv) writes() []string {
	var out []string
	for _, c := range inventory {
		for _, w := range e.mocks[c.name].Writes() {
			s := c.name + ":" + w.Operation
			if w.Temp != "" {
				s += "=" + w.Temp
			}
			out = append(out, s)
		}
	}
	return out
}

// inFlight counts concurrent device requests.
type inFlight struct {
	next     http.RoundTripper
	mu       sync.Mutex
	cur, max int
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.cur++
	f.max = max(f.max, f.cur)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.cur--; f.mu.Unlock() }()
	return f.next.RoundTrip(r)
}

func (f *inFlight) peak() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.max
}

// verifyDeadlines makes verify_timeout pass for each write when the
// read-back has read coolerState n times: right after the n-th answer was
// read to the end, so that its outcome is the last the verification saw,
// whatever the machine's load. asked records the verify timeouts the handler
// would have waited.
type verifyDeadlines struct {
	n      int
	mu     sync.Mutex
	expire func()
	reads  int
	asked  []time.Duration
}

func (e *testEnv) expireVerifyAfterReads(n int) *verifyDeadlines {
	v := &verifyDeadlines{n: n}
	testutil.WatchBodies(e.client.HTTP).OnClose = func(r *http.Request) {
		if r.URL.Query().Get("operation") != payload.OpCoolerState {
			return
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.expire == nil {
			return // not a read-back
		}
		if v.reads++; v.reads == v.n {
			v.expire()
			v.expire = nil
		}
	}
	e.h.verifyDeadline = func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
		vctx, expire, cancel := testutil.ManualDeadline(ctx)
		v.mu.Lock()
		v.expire, v.reads = expire, 0
		v.asked = append(v.asked, d)
		v.mu.Unlock()
		return vctx, cancel
	}
	return v
}

func (v *verifyDeadlines) timeouts() []time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.asked)
}

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }
