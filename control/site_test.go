package control

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Site tests: scoped credentials, approvals and bounded batches, over real
// HTTP against mock controllers whose recorded writes prove what was sent.

// More test secrets (scoped and extra cooling holders).
const (
	dc1Token   = "dc1-secret-token-1a2b3c" // every action, selector site=dc1
	dc2Token   = "dc2-secret-token-4d5e6f" // cooling and reset, selector site=dc2
	carolToken = "carol-secret-token-77aa" // cooling, every container
	daveToken  = "dave-secret-token-88bb"  // cooling, selector site=dc1
)

var (
	siteHashOnce sync.Once
	siteHashes   map[string]string
)

func siteHash(t *testing.T, secret string) string {
	t.Helper()
	siteHashOnce.Do(func() {
		siteHashes = map[string]string{}
		for _, s := range []string{dc1Token, dc2Token, carolToken, daveToken} {
			h, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			siteHashes[s] = string(h)
		}
	})
	return siteHashes[secret]
}

// swapConfig is a config source a test can reload.
type swapConfig struct{ p atomic.Pointer[config.Config] }

func (s *swapConfig) Get() *config.Config { return s.p.Load() }

// fakeClock is the handler's injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type siteOptions struct {
	control      string // extra lines inside control:
	bulk         int    // extra HK3 mocks bulk-000... with labels {site: bulk}
	dangerous    bool
	writeTimeout time.Duration // the test server's WriteTimeout (0: none)
}

type siteEnv struct {
	*testEnv
	cfg   *swapConfig
	clock *fakeClock
	addrs map[string]string
	o     siteOptions
	// resetterActions are the resetter token's actions (default [reset]).
	resetterActions string
	// site overrides a container's site label.
	site map[string]string
}

func newSiteEnv(t *testing.T, o siteOptions) *siteEnv {
	t.Helper()
	env := &siteEnv{
		testEnv: &testEnv{logs: &testutil.SyncBuffer{}, mocks: map[string]*mock.Server{}, reg: prometheus.NewRegistry()},
		cfg:     &swapConfig{}, clock: &fakeClock{t: epoch}, addrs: map[string]string{}, o: o,
	}
	for _, c := range inventory {
		s := startMock(t, c.name, c.typ)
		env.mocks[c.name], env.addrs[c.name] = s, s.Addr()
	}
	for i := range o.bulk {
		name := fmt.Sprintf("bulk-%03d", i)
		s := startMock(t, name, mock.HK3)
		env.mocks[name], env.addrs[name] = s, s.Addr()
	}
	env.reload(t, o.control)
	env.client = device.NewClient("control-site-test", 4)
	t.Cleanup(env.client.HTTP.CloseIdleConnections)
	env.h = New(Options{
		Config: env.cfg, Client: env.client, Logger: log.NewLogfmtLogger(env.logs),
		Registerer: env.reg, EnableDangerous: o.dangerous, Now: env.clock.Now,
	})
	mux := http.NewServeMux()
	mux.Handle(Prefix, env.h)
	env.server = httptest.NewUnstartedServer(mux)
	env.server.Config.WriteTimeout = o.writeTimeout
	env.server.Start()
	t.Cleanup(env.server.Close)
	return env
}

// reload swaps in the inventory without the dropped containers and with
// control lines extra.
func (e *siteEnv) reload(t *testing.T, extra string, drop ...string) {
	t.Helper()
	var y strings.Builder
	y.WriteString("containers:\n")
	for _, c := range inventory {
		if !slices.Contains(drop, c.name) {
			fmt.Fprintf(&y, "  - {name: %s, address: %q, type: %s, labels: {site: %s, %s}}\n", c.name, e.addrs[c.name], c.typ, cmp.Or(e.site[c.name], c.site), c.extra)
		}
	}
	for i := range e.o.bulk {
		name := fmt.Sprintf("bulk-%03d", i)
		fmt.Fprintf(&y, "  - {name: %s, address: %q, type: hk3, labels: {site: bulk}}\n", name, e.addrs[name])
	}
	fmt.Fprintf(&y, `control:
  tokens:
    - {name: admin, hash: %q}
    - {name: resetter, hash: %q, actions: %s}
    - {name: dc1-ops, hash: %q, selector: "site=dc1"}
    - {name: dc2-cool, hash: %q, actions: [cooling, reset], selector: "site=dc2"}
    - {name: carol, hash: %q, actions: [cooling]}
    - {name: dave, hash: %q, actions: [cooling], selector: "site=dc1"}
  users:
    - {name: alice, hash: %q, actions: [setpoint]}
    - {name: bob, hash: %q}
`, hashOf(t, adminToken), hashOf(t, resetToken), cmp.Or(e.resetterActions, "[reset]"), siteHash(t, dc1Token), siteHash(t, dc2Token),
		siteHash(t, carolToken), siteHash(t, daveToken), hashOf(t, alicePass), hashOf(t, bobPass))
	y.WriteString(extra)
	for _, def := range []string{"  timeout: 2s\n", "  verify_timeout: 2s\n"} {
		if key, _, _ := strings.Cut(def, ":"); !strings.Contains(extra, key+":") {
			y.WriteString(def)
		}
	}
	cfg, err := config.Parse(strings.NewReader(y.String()))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, y.String())
	}
	e.cfg.p.Store(cfg)
}

func (e *siteEnv) count(action, result string) float64 {
	return promtest.ToFloat64(e.h.requests.WithLabelValues(action, result))
}

// sameAnswer fails unless a and b are the same answer byte for byte: status,
// headers (but Date) and body.
func sameAnswer(t *testing.T, what string, a, b reply) {
	t.Helper()
	if a.status != b.status || !bytes.Equal(a.body, b.body) {
		t.Errorf("%s: answers differ:\n%d %s\n%d %s", what, a.status, a.body, b.status, b.body)
	}
	for _, h := range []http.Header{a.header, b.header} {
		h.Del("Date")
	}
	if fmt.Sprint(a.header) != fmt.Sprint(b.header) {
		t.Errorf("%s: headers differ:\n%v\n%v", what, a.header, b.header)
	}
}

// A scoped credential sees and touches only its containers: outside its
// scope a target is answered exactly like one that is not in the inventory,
// even for a dry run, and a selector is intersected with the scope.
func TestScopedCredential(t *testing.T) {
	env := newSiteEnv(t, siteOptions{})
	outside := map[string]reply{}
	paths := map[string]string{
		"reset":          "/control/reset?target=imm-a",
		"reset dry run":  "/control/reset?target=imm-a&dry_run=true",
		"setpoint":       "/control/setpoint?target=imm-a&celsius=30",
		"by address":     "/control/reset?target=" + env.addrs["imm-a"],
		"selector":       "/control/reset?selector=site=dc2",
		"selector dry":   "/control/reset?selector=type=immersion&dry_run=true",
		"selector empty": "/control/reset?selector=site=dc1,type=immersion",
	}
	for what, path := range paths {
		outside[what] = env.do(t, call{path: path, bearer: dc1Token})
		if outside[what].status != http.StatusNotFound {
			t.Errorf("%s: %d %s", what, outside[what].status, outside[what].body)
		}
	}
	if w := env.mocks["imm-a"].Writes(); len(w) != 0 {
		t.Fatalf("out-of-scope container written: %v", w)
	}
	if n := env.mocks["imm-a"].Reads(payload.OpCoolerState) + env.mocks["imm-a"].Reads("reset"); n != 0 {
		t.Errorf("out-of-scope container was contacted %d times", n)
	}
	// The same requests once imm-a is gone from the inventory: not a byte differs.
	env.reload(t, "", "imm-a")
	for what, path := range paths {
		sameAnswer(t, what, outside[what], env.do(t, call{path: path, bearer: dc1Token}))
	}
	if !strings.Contains(env.logs.String(), "detail=\"imm-a is outside the credential's scope (site=dc1)\"") {
		t.Errorf("the audit log does not say why:\n%s", env.logs)
	}
	if got := env.count("reset", "not_found"); got != 12 {
		t.Errorf("reset not_found %v, want 12", got)
	}
	env.reload(t, "")

	// A selector is intersected with the scope: row=1 is hk3-a (dc1) and imm-a (dc2).
	r := env.do(t, call{path: "/control/reset?selector=row=1", bearer: dc1Token})
	if r.status != http.StatusOK || len(r.results(t)) != 1 || r.results(t)["hk3-a"] == nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// The unscoped admin token reaches both; the dc2 token only imm-a.
	r = env.do(t, call{path: "/control/reset?selector=row=1", bearer: dc2Token})
	if r.status != http.StatusOK || len(r.results(t)) != 1 || r.results(t)["imm-a"] == nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = env.do(t, call{path: "/control/reset?selector=row=1&dry_run=true", bearer: adminToken})
	if r.status != http.StatusOK || len(r.results(t)) != 2 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got, want := env.writes(), []string{"hk3-a:reset", "imm-a:reset"}; !slices.Equal(got, want) {
		t.Errorf("writes %v, want %v", got, want)
	}
}

// Batches are capped by control.max_batch: a larger one is refused whole.
func TestBatchCap(t *testing.T) {
	env := newSiteEnv(t, siteOptions{control: "  max_batch: 1\n"})
	r := env.do(t, call{path: "/control/reset?selector=site=dc1", bearer: adminToken})
	if r.status != http.StatusBadRequest {
		t.Fatalf("%d %s", r.status, r.body)
	}
	msg := fmt.Sprint(r.json["error"])
	for _, want := range []string{"matches 2 containers", "control.max_batch (1)", "nothing was written"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if r := env.do(t, call{path: "/control/reset?selector=site=dc2", bearer: adminToken}); r.status != http.StatusOK {
		t.Errorf("one container: %d %s", r.status, r.body)
	}
	// The cap counts the containers within the credential's scope.
	if r := env.do(t, call{path: "/control/reset?selector=row=1", bearer: dc1Token}); r.status != http.StatusOK {
		t.Errorf("scoped: %d %s", r.status, r.body)
	}
	if got, want := env.writes(), []string{"hk3-a:reset", "imm-a:reset"}; !slices.Equal(got, want) {
		t.Errorf("writes %v, want %v", got, want)
	}
}

// A batch against hanging controllers answers before the server's write
// timeout, with an outcome for every container: the ones tried time out,
// the ones whose turn came after batch_timeout are not sent at all.
func TestBatchAgainstHangingDevices(t *testing.T) {
	const n = 200
	const perTarget, batch = 200 * time.Millisecond, time.Second
	env := newSiteEnv(t, siteOptions{
		bulk:    n,
		control: fmt.Sprintf("  max_batch: %d\n  batch_timeout: %s\n  batch_concurrency: 8\n  timeout: %s\n", n, batch, perTarget),
		// 10x the batch timeout: without batch_timeout, 200 hanging writes
		// 8 at a time take 25 rounds of the per-target timeout.
		writeTimeout: 10 * batch,
	})
	for i := range n {
		env.mocks[fmt.Sprintf("bulk-%03d", i)].Misbehave(mock.Misbehaviour{Kind: mock.Hang, Operation: "reset"})
	}
	start := time.Now()
	r := env.do(t, call{path: "/control/reset?selector=site=bulk", bearer: adminToken})
	took := time.Since(start)
	if r.status != http.StatusBadGateway {
		t.Fatalf("%d %s", r.status, r.body)
	}
	res := r.results(t)
	if len(res) != n {
		t.Fatalf("%d results, want %d", len(res), n)
	}
	counts := map[string]int{}
	for name, x := range res {
		o := fmt.Sprint(x["outcome"])
		counts[o]++
		writes := len(env.mocks[name].Writes())
		switch o {
		case outcomeNotSent:
			if writes != 0 || env.mocks[name].Reads("reset") != 0 {
				t.Errorf("%s: not sent, but the device got %d writes", name, writes)
			}
		case outcomeTimeout:
			if writes > 1 {
				t.Errorf("%s: %d writes", name, writes)
			}
		default:
			t.Errorf("%s: outcome %q: %v", name, o, x)
		}
	}
	// Every write hangs for the per-target timeout, so at most 8 start per
	// 200 ms of the 1 s batch: however loaded the machine, most are not sent.
	if maxSent := 8 * (int(batch/perTarget) + 1); counts[outcomeNotSent] < n-maxSent || counts[outcomeTimeout] == 0 {
		t.Errorf("outcomes %v", counts)
	}
	if oc, _ := r.json["outcomes"].(map[string]any); fmt.Sprint(oc[outcomeNotSent]) != fmt.Sprint(counts[outcomeNotSent]) {
		t.Errorf("answer outcomes %v, counted %v", oc, counts)
	}
	if msg := fmt.Sprint(r.json["error"]); !strings.Contains(msg, "not sent: control.batch_timeout") {
		t.Errorf("error %q", msg)
	}
	// The write timeout would have cut the answer off; this bound has a 5x margin.
	if took > 5*batch+5*time.Second {
		t.Errorf("answer took %s", took)
	}
}
