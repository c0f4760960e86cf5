package control

// Regression tests for the /control findings of the hostile-client review
// (issue #12: 2, 3, 4, 5, 7, 9, 10; issue #13: 6). Concurrency is made
// deterministic with the handler's compare hook: comparisons are held until
// the test releases them, and the test counts them instead of timing them.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

// A present dry_run without a clean value is a refusal, never a write.
func TestDryRunWithoutAValueIsRefused(t *testing.T) {
	env := newEnv(t, envOptions{})
	for _, c := range []call{
		{path: "/control/reset?target=hk3-a&dry_run"},
		{path: "/control/reset?target=hk3-a&dry_run="},
		{path: "/control/reset?target=hk3-a&dry_run=%20"},
		{path: "/control/reset", body: `{"target":"hk3-a","dry_run":""}`, contentType: "application/json"},
		{path: "/control/reset", body: `{"target":"hk3-a","dry_run":null}`, contentType: "application/json"},
		{path: "/control/reset", body: "target=hk3-a&dry_run=", contentType: "application/x-www-form-urlencoded"},
	} {
		c.bearer = adminToken
		r := env.do(t, c)
		if msg, _ := r.json["error"].(string); r.status != http.StatusBadRequest || !strings.Contains(msg, "dry_run") {
			t.Errorf("%s %s: %d %s", c.path, c.body, r.status, r.body)
		}
	}
	if w := env.writes(); len(w) > 0 {
		t.Errorf("an ambiguous dry_run wrote: %v", w)
	}
	// Absent means a write; explicit false too.
	if r := env.do(t, call{path: "/control/reset?target=hk3-a&dry_run=false", bearer: adminToken}); r.status != http.StatusOK {
		t.Errorf("dry_run=false: %d %s", r.status, r.body)
	}
	if w := env.writes(); len(w) != 1 {
		t.Errorf("dry_run=false: writes %v, want one", w)
	}
}

// A query string or form body with a malformed piece is refused as a whole:
// r.URL.Query() would drop the piece and the write would go out without it.
func TestMalformedQueryIsRefused(t *testing.T) {
	env := newEnv(t, envOptions{})
	for _, c := range []call{
		{path: "/control/reset?target=hk3-a&dry_run=%zz"},
		{path: "/control/reset?target=hk3-a&dry_run=true;"},
		{path: "/control/reset?target=hk3-a;dry_run=true"},
		{path: "/control/reset?dry_run=true;&target=hk3-a"},
		{path: "/control/reset?target=hk3-a", body: "dry_run=%zz", contentType: "application/x-www-form-urlencoded"},
		{path: "/control/reset?target=hk3-a", body: "dry_run=true;", contentType: "application/x-www-form-urlencoded"},
	} {
		c.bearer = adminToken
		r := env.do(t, c)
		if msg, _ := r.json["error"].(string); r.status != http.StatusBadRequest || !strings.Contains(msg, "malformed") {
			t.Errorf("%s %s: %d %s", c.path, c.body, r.status, r.body)
		}
	}
	if w := env.writes(); len(w) > 0 {
		t.Errorf("a malformed request wrote: %v", w)
	}
}

// Every parameter is given once: a JSON key twice, a repeated query or form
// parameter (even with the same value) and a parameter in both query and
// body are refused, never "last one wins".
func TestRepeatedParametersAreRefused(t *testing.T) {
	env := newEnv(t, envOptions{})
	const js = "application/json"
	for _, tc := range []struct {
		c   call
		msg string
	}{
		{call{path: "/control/reset", body: `{"target":"hk3-a","dry_run":true,"dry_run":false}`, contentType: js}, `key "dry_run" given twice`},
		{call{path: "/control/reset", body: `{"target":"hk3-a","target":"hk3-b"}`, contentType: js}, `key "target" given twice`},
		{call{path: "/control/reset", body: `{"target":"hk3-a","dry_run":true,"dry\u005frun":false}`, contentType: js}, `key "dry_run" given twice`},
		{call{path: "/control/reset", body: `{"target":"hk3-a","dry_run":true}{"dry_run":false}`, contentType: js}, "more than one value"},
		{call{path: "/control/reset?target=hk3-a&target=hk3-a"}, `"target" given more than once in the query string`},
		{call{path: "/control/reset?target=hk3-a&dry_run=true&dry_run=true"}, `"dry_run" given more than once`},
		{call{path: "/control/reset", body: "target=hk3-a&target=hk3-a", contentType: "application/x-www-form-urlencoded"}, "more than once in the form body"},
		{call{path: "/control/reset?target=hk3-a", body: `{"target":"hk3-a"}`, contentType: js}, `"target" given in both the query string and the JSON body`},
	} {
		tc.c.bearer = adminToken
		r := env.do(t, tc.c)
		if msg, _ := r.json["error"].(string); r.status != http.StatusBadRequest || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s %s: %d %s, want 400 with %q", tc.c.path, tc.c.body, r.status, r.body, tc.msg)
		}
	}
	if w := env.writes(); len(w) > 0 {
		t.Errorf("a repeated parameter wrote: %v", w)
	}
}

// A browser request that another site's page made (CSRF: the browser adds
// cached basic-auth credentials) is refused before authentication; scripts
// and same-origin requests pass.
func TestCrossOriginRequestsAreRefused(t *testing.T) {
	env := newEnv(t, envOptions{})
	host := strings.TrimPrefix(env.server.URL, "http://")
	form := func(h map[string]string) call {
		return call{path: "/control/setpoint", body: "target=hk3-a&celsius=30", contentType: "application/x-www-form-urlencoded",
			user: "bob", pass: bobPass, header: h}
	}
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "http://evil.example"},
		{"Origin": "null"},
	} {
		r := env.do(t, form(h))
		if msg, _ := r.json["error"].(string); r.status != http.StatusForbidden || !strings.Contains(msg, "cross-origin") {
			t.Errorf("%v: %d %s", h, r.status, r.body)
		}
	}
	if w := env.writes(); len(w) > 0 {
		t.Fatalf("a cross-origin request wrote: %v", w)
	}
	if !strings.Contains(env.logs.String(), "result=cross_origin") {
		t.Errorf("audit lacks result=cross_origin:\n%s", env.logs)
	}
	for _, h := range []map[string]string{
		nil, // curl, scripts
		{"Sec-Fetch-Site": "same-origin"},
		{"Sec-Fetch-Site": "none"}, // typed into the address bar
		{"Origin": "http://" + host},
	} {
		if r := env.do(t, form(h)); r.status != http.StatusOK {
			t.Errorf("%v: %d %s", h, r.status, r.body)
		}
	}
	if w := env.writes(); len(w) != 4 {
		t.Errorf("writes %v, want 4", w)
	}
}

// POST /control without an action names the actions, not "/control".
func TestControlWithoutActionNamesTheActions(t *testing.T) {
	env := newEnv(t, envOptions{})
	for _, path := range []string{"/control", "/control?target=hk3-a", "/control/"} {
		r := env.do(t, call{path: path, bearer: adminToken})
		msg, _ := r.json["error"].(string)
		if r.status != http.StatusNotFound || !strings.Contains(msg, "no control action in the path; use POST /control/{reset,setpoint,cooling}") ||
			strings.Contains(msg, `"/control"`) {
			t.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
	}
}

// send is testEnv.do for concurrent use: no testing.T, a status and header.
func (e *testEnv) send(c call) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.server.URL+c.path, nil)
	if err != nil {
		return 0, nil, err
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.from)}}).DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header, nil
}

// heldCompare holds every comparison of the secret held until release is
// closed, counting them; other secrets are compared at once.
type heldCompare struct {
	held     string
	release  chan struct{}
	waiting  atomic.Int64 // comparisons of held being held now
	compared atomic.Int64 // comparisons of held, in all
}

func newHeldCompare(secret string) *heldCompare {
	return &heldCompare{held: secret, release: make(chan struct{})}
}

func (hc *heldCompare) compare(hash, secret []byte) error {
	if string(secret) == hc.held {
		hc.compared.Add(1)
		hc.waiting.Add(1)
		<-hc.release
		hc.waiting.Add(-1)
	}
	return bcrypt.CompareHashAndPassword(hash, secret)
}

// burst sends n copies of c at once and returns their statuses and headers
// through the channels, and a counter of answers.
func (e *testEnv) burst(t *testing.T, n int, c call) (answered *atomic.Int64, wait func() ([]int, []http.Header)) {
	t.Helper()
	answered = &atomic.Int64{}
	statuses, headers := make([]int, n), make([]http.Header, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i], headers[i], errs[i] = e.send(c)
			answered.Add(1)
		})
	}
	return answered, func() ([]int, []http.Header) {
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return statuses, headers
	}
}

// Each attempt reserves its failure before the bcrypt comparison: of many
// parallel wrong tokens from one address, only auth_failures_per_minute are
// compared; the rest are 429 at once. A right credential gives its
// reservation back.
func TestConcurrentGuessesAreCountedBeforeComparing(t *testing.T) {
	const budget, guesses = 3, 40
	hc := newHeldCompare(wrongSecret)
	env := newEnv(t, envOptions{controlYAML: fmt.Sprintf("  auth_failures_per_minute: %d\n", budget), setup: func(h *Handler) {
		// Capacity and share far above the burst: only the reservation limits.
		h.setAuthCapacity(4 * guesses)
		h.compare = hc.compare
	}})
	if env.h.authShare < guesses {
		t.Fatalf("share %d: the test needs it above %d", env.h.authShare, guesses)
	}
	answered, wait := env.burst(t, guesses, call{path: "/control/reset?target=hk3-a&dry_run=true", bearer: wrongSecret, from: "127.0.0.1"})
	// Every guess is either answered or held in its comparison; then release.
	testutil.WaitFor(t, 30*time.Second, 5*time.Millisecond, "every guess answered or being compared",
		func() bool { return answered.Load()+hc.waiting.Load() == guesses },
		func() string { return fmt.Sprintf("%d answered, %d comparing", answered.Load(), hc.waiting.Load()) })
	close(hc.release)
	statuses, headers := wait()

	count := map[int]int{}
	for i, s := range statuses {
		count[s]++
		if s == http.StatusTooManyRequests && headers[i].Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	if count[http.StatusUnauthorized] != budget || count[http.StatusTooManyRequests] != guesses-budget {
		t.Errorf("statuses %v, want %d × 401 and %d × 429", count, budget, guesses-budget)
	}
	// checkToken compares a token with both configured token hashes.
	if n := hc.compared.Load(); n != 2*budget {
		t.Errorf("%d bcrypt comparisons of the wrong token, want %d (%d attempts × 2 tokens)", n, 2*budget, budget)
	}

	t.Run("a right credential gives its reservation back", func(t *testing.T) {
		env := newEnv(t, envOptions{controlYAML: fmt.Sprintf("  auth_failures_per_minute: %d\n", budget)})
		env.h.gate.now = func() time.Time { return epoch } // no refill during the test
		bad := call{path: "/control/reset?target=hk3-a&dry_run=true", bearer: wrongSecret, from: "127.0.0.1"}
		good := bad
		good.bearer = adminToken
		for _, step := range []struct {
			c    call
			want int
		}{
			{bad, 401}, {bad, 401}, {good, 200}, {good, 200}, {good, 200}, {good, 200}, {bad, 401}, {bad, 429}, {good, 429},
		} {
			if r := env.do(t, step.c); r.status != step.want {
				t.Fatalf("status %d, want %d: %s", r.status, step.want, r.body)
			}
		}
	})
}

// One address cannot hold the comparison capacity: beyond its share it gets
// 429 at once, and an operator at another address is answered while the
// guesses are still being compared.
func TestGuessingDoesNotStarveOtherClients(t *testing.T) {
	const guesses = 8
	hc := newHeldCompare(wrongSecret)
	env := newEnv(t, envOptions{controlYAML: "  auth_failures_per_minute: 1000\n", setup: func(h *Handler) {
		h.setAuthCapacity(2) // share 1
		h.compare = hc.compare
	}})
	answered, wait := env.burst(t, guesses, call{path: "/control/reset?target=hk3-a&dry_run=true", bearer: wrongSecret, from: "127.0.0.1"})
	testutil.WaitFor(t, 30*time.Second, 5*time.Millisecond, "every guess answered or being compared",
		func() bool { return answered.Load()+hc.waiting.Load() == guesses },
		func() string { return fmt.Sprintf("%d answered, %d comparing", answered.Load(), hc.waiting.Load()) })
	if n := hc.waiting.Load(); n != int64(env.h.authShare) {
		t.Errorf("%d of the guesser's attempts comparing at once, want its share %d", n, env.h.authShare)
	}
	// The guesser still holds its comparison; the operator gets through.
	r := env.do(t, call{path: "/control/reset?target=hk3-a&dry_run=true", bearer: adminToken, from: "127.0.0.2"})
	if r.status != http.StatusOK {
		t.Errorf("operator at another address while guessing: %d %s", r.status, r.body)
	}
	if hc.waiting.Load() == 0 {
		t.Errorf("the guesses were released before the operator's answer; the test proves nothing")
	}
	close(hc.release)
	statuses, headers := wait()
	busy := 0
	for i, s := range statuses {
		if s == http.StatusTooManyRequests {
			busy++
			if headers[i].Get("Retry-After") != "1" {
				t.Errorf("busy 429 with Retry-After %q, want 1", headers[i].Get("Retry-After"))
			}
		}
	}
	if busy != guesses-env.h.authShare {
		t.Errorf("%d guesses refused as busy, want %d: %v", busy, guesses-env.h.authShare, statuses)
	}
	if !strings.Contains(env.logs.String(), "authentication(s) in progress") {
		t.Errorf("the busy refusal does not say why:\n%s", env.logs)
	}
}

// The share is a quarter of the capacity, at least one.
func TestAuthShare(t *testing.T) {
	h := New(Options{Config: staticConfig{config.Empty()}, Logger: log.NewNopLogger()})
	for n, want := range map[int]int{1: 1, 2: 1, 4: 1, 8: 2, 16: 4} {
		h.setAuthCapacity(n)
		if h.authShare != want || cap(h.authSlots) != n {
			t.Errorf("capacity %d: share %d, want %d", n, h.authShare, want)
		}
	}
}

// Every failed basic-auth comparison costs the same bcrypt work whichever
// user was named: an unknown user, a user with a cheap hash, a user with the
// most expensive one. Work is counted (2^cost per comparison), not timed.
func TestFailedComparisonsCostTheSame(t *testing.T) {
	cheap := hashOf(t, alicePass) // cost 4
	dear, err := bcrypt.GenerateFromPassword([]byte(bobPass), 6)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(strings.NewReader(fmt.Sprintf(`control:
  tokens:
    - {name: admin, hash: %q}
  users:
    - {name: alice, hash: %q}
    - {name: bob, hash: %q}
`, hashOf(t, adminToken), cheap, dear)))
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Config: staticConfig{cfg}, Client: device.NewClient("t", 1), Logger: log.NewNopLogger()})
	var work int
	h.compare = func(hash, secret []byte) error {
		cost, err := bcrypt.Cost(hash)
		if err != nil {
			t.Fatalf("compared with a non-hash: %v", err)
		}
		work += 1 << cost
		return bcrypt.CompareHashAndPassword(hash, secret)
	}
	measure := func(user, pass string) (int, error) {
		work = 0
		r, _ := http.NewRequest(http.MethodPost, "/control/reset", nil)
		r.SetBasicAuth(user, pass)
		_, _, err := h.authenticate(r, cfg.Control.Credentials())
		return work, err
	}
	for _, c := range []struct{ user, pass string }{
		{"mallory", wrongSecret}, {"alice", wrongSecret}, {"bob", wrongSecret}, {"alice", bobPass}, {"ALICE", alicePass},
	} {
		w, err := measure(c.user, c.pass)
		if err == nil {
			t.Fatalf("%s: authenticated with a wrong password", c.user)
		}
		if w != 1<<6 {
			t.Errorf("failed attempt as %q costs %d units of bcrypt work, want %d (one cost-6 comparison)", c.user, w, 1<<6)
		}
	}
	// The right passwords still work.
	for user, pass := range map[string]string{"alice": alicePass, "bob": bobPass} {
		if _, err := measure(user, pass); err != nil {
			t.Errorf("%s: %v", user, err)
		}
	}
}

// The limits count an IPv6 client by its /64: one host commonly holds the
// whole network.
func TestLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":            "127.0.0.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"::ffff:10.0.0.1":      "::ffff:10.0.0.1",
		"::1":                  "::/64",
		"not-an-address":       "not-an-address",
	} {
		if got := limitKey(in); got != want {
			t.Errorf("limitKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// Two Authorization headers are refused, whichever of them is right.
func TestRepeatedAuthorizationHeader(t *testing.T) {
	env := newEnv(t, envOptions{})
	for _, order := range [][]string{{adminToken, wrongSecret}, {wrongSecret, adminToken}, {adminToken, adminToken}} {
		req := httptest.NewRequest(http.MethodPost, "/control/reset?target=hk3-a", nil)
		for _, tok := range order {
			req.Header.Add("Authorization", "Bearer "+tok)
		}
		w := httptest.NewRecorder()
		env.h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "more than one Authorization header") {
			t.Errorf("%d %s", w.Code, w.Body)
		}
	}
	if w := env.writes(); len(w) > 0 {
		t.Errorf("writes: %v", w)
	}
}
