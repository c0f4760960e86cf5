package control

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
	tu "github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Every action reaches the device (the mock records the write), changes its
// state and is verified by reading coolerState back.
func TestActionsReachDeviceAndVerify(t *testing.T) {
	for _, tc := range []struct {
		name      string
		setup     func(*mock.Server)
		path      string
		wantWrite string // as testEnv.writes formats it
		check     func(t *testing.T, state map[string]any)
		observed  string // key in the result's "observed"
	}{
		{
			name:      "reset hk3 clears latched faults",
			setup:     func(s *mock.Server) { s.SetAllFaults(true) },
			path:      "/control/reset?target=hk3-a",
			wantWrite: "hk3-a:reset",
			check: func(t *testing.T, st map[string]any) {
				if st["leakage_fault"] != false || st["circulating_pump_fault"] != false {
					t.Errorf("faults still set: %v %v", st["leakage_fault"], st["circulating_pump_fault"])
				}
			},
			observed: "faults_active",
		},
		{
			name:      "reset immersion",
			setup:     func(s *mock.Server) { s.SetAllFaults(true) },
			path:      "/control/reset?target=imm-a",
			wantWrite: "imm-a:reset",
			check: func(t *testing.T, st map[string]any) {
				if st["lever_low"] != false {
					t.Errorf("lever_low still set")
				}
			},
			observed: "faults_active",
		},
		{
			name:      "setpoint hk3",
			path:      "/control/setpoint?target=hk3-a&celsius=31.5",
			wantWrite: "hk3-a:setTemp=31.5",
			check: func(t *testing.T, st map[string]any) {
				if st["supply_liquid_set_temp"] != 31.5 {
					t.Errorf("setpoint %v", st["supply_liquid_set_temp"])
				}
			},
			observed: "supply_liquid_set_temp",
		},
		{
			name:      "setpoint immersion by address",
			path:      "/control/setpoint?celsius=40&target=", // address appended below
			wantWrite: "imm-a:setTemp=40",
			check: func(t *testing.T, st map[string]any) {
				if st["supply_liquid_set_temp"] != 40.0 {
					t.Errorf("setpoint %v", st["supply_liquid_set_temp"])
				}
			},
			observed: "supply_liquid_set_temp",
		},
		{
			name:      "setpoint mode=pid",
			path:      "/control/setpoint?target=hk3-b&mode=pid",
			wantWrite: "hk3-b:setTemp=pid",
			check: func(t *testing.T, st map[string]any) {
				if st["pid_mode"] != true {
					t.Errorf("pid_mode %v", st["pid_mode"])
				}
			},
			observed: "pid_mode",
		},
		{
			name:      "cooling off hk3",
			path:      "/control/cooling?target=hk3-a&state=off",
			wantWrite: "hk3-a:close",
			check: func(t *testing.T, st map[string]any) {
				if st["circulating_pump"] != false {
					t.Errorf("circulating_pump %v", st["circulating_pump"])
				}
			},
			observed: "circulating_pump",
		},
		{
			name:      "cooling on immersion",
			setup:     func(s *mock.Server) { s.SetCooling(false) },
			path:      "/control/cooling?target=imm-a&state=on",
			wantWrite: "imm-a:open",
			check: func(t *testing.T, st map[string]any) {
				if st["one_pump"] != true {
					t.Errorf("one_pump %v", st["one_pump"])
				}
			},
			observed: "one_pump",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, envOptions{dangerous: true})
			target, _, _ := strings.Cut(tc.wantWrite, ":")
			s := env.mocks[target]
			if tc.setup != nil {
				tc.setup(s)
			}
			path := tc.path
			if strings.HasSuffix(path, "target=") {
				path += s.Addr()
			}
			r := env.do(t, call{path: path, bearer: adminToken})
			if r.status != http.StatusOK || r.json["ok"] != true || r.json["verified"] != true {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			res := r.results(t)[target]
			if res == nil || res["ok"] != true || res["verified"] != true {
				t.Fatalf("result: %v", res)
			}
			if dev, _ := res["device"].(map[string]any); dev["ok"] != true {
				t.Errorf("device answer: %v", res["device"])
			}
			if obs, _ := res["observed"].(map[string]any); obs == nil || obs[tc.observed] == nil {
				t.Errorf("observed lacks %s: %v", tc.observed, res["observed"])
			}
			if got := env.writes(); !slices.Equal(got, []string{tc.wantWrite}) {
				t.Errorf("writes %v, want [%s]", got, tc.wantWrite)
			}
			tc.check(t, s.State())
			if n := testutil.ToFloat64(env.h.requests.WithLabelValues(strings.Split(strings.TrimPrefix(tc.path, Prefix), "?")[0], "success")); n != 1 {
				t.Errorf("control_requests_total{result=success} = %v", n)
			}
		})
	}
}

// Parameters may come from the query, a form body or a JSON body.
func TestParameterSources(t *testing.T) {
	for _, tc := range []struct {
		name, path, body, contentType string
		credentials                   call
		want                          string
	}{
		{name: "query", path: "/control/setpoint?target=hk3-a&celsius=30", want: "hk3-a:setTemp=30"},
		{name: "form", path: "/control/setpoint", body: "target=hk3-a&celsius=29", contentType: "application/x-www-form-urlencoded", want: "hk3-a:setTemp=29"},
		{name: "json number", path: "/control/setpoint", body: `{"target":"hk3-a","celsius":28.5}`, contentType: "application/json", want: "hk3-a:setTemp=28.5"},
		{name: "json string", path: "/control/setpoint", body: `{"target":"hk3-a","celsius":"27"}`, contentType: "application/json; charset=utf-8", want: "hk3-a:setTemp=27"},
		{name: "query and body share the parameters", path: "/control/setpoint?target=hk3-a", body: `{"celsius":26}`, contentType: "application/json", want: "hk3-a:setTemp=26"},
		{name: "basic auth user", path: "/control/setpoint?target=hk3-a&celsius=25", credentials: call{user: "alice", pass: alicePass}, want: "hk3-a:setTemp=25"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, envOptions{})
			c := tc.credentials
			if c.user == "" {
				c.bearer = adminToken
			}
			c.path, c.body, c.contentType = tc.path, tc.body, tc.contentType
			r := env.do(t, c)
			if r.status != http.StatusOK || r.json["verified"] != true {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := env.writes(); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("writes %v, want [%s]", got, tc.want)
			}
		})
	}
}

// Every refusal: status, a message that says what is wrong, a JSON error
// answer, and nothing written to any container.
func TestRejections(t *testing.T) {
	outsider := startMock(t, "outsider", mock.HK3) // a real controller that is not in the inventory
	big := strings.Repeat("x", MaxBodyBytes+1)
	for _, tc := range []struct {
		name   string
		opts   envOptions
		c      call
		status int
		msg    string
		header [2]string // a header the answer must carry
	}{
		{name: "no credentials configured", opts: envOptions{noCredentials: true}, c: call{path: "/control/reset?target=hk3-a", bearer: adminToken},
			status: 403, msg: "no credentials are configured"},
		{name: "no credentials configured, dangerous", opts: envOptions{noCredentials: true, dangerous: true}, c: call{path: "/control/cooling?target=hk3-a&state=off"},
			status: 403, msg: "docs/control.md"},
		{name: "no authorization header", c: call{path: "/control/reset?target=hk3-a"},
			status: 401, msg: "no credentials", header: [2]string{"WWW-Authenticate", "Bearer"}},
		{name: "bad token", c: call{path: "/control/reset?target=hk3-a", bearer: wrongSecret}, status: 401, msg: "invalid credentials"},
		{name: "bad token in the token header", c: call{path: "/control/reset?target=hk3-a", header: map[string]string{TokenHeader: wrongSecret}}, status: 401, msg: "invalid credentials"},
		{name: "empty token header", c: call{path: "/control/reset?target=hk3-a", bearer: adminToken, header: map[string]string{TokenHeader: " "}}, status: 401, msg: "no credentials"},
		{name: "token header scope", c: call{path: "/control/setpoint?target=hk3-a&celsius=30", header: map[string]string{TokenHeader: resetToken}}, status: 403, msg: "token:resetter may not setpoint"},
		{name: "empty bearer", c: call{path: "/control/reset?target=hk3-a", header: map[string]string{"Authorization": "Bearer "}}, status: 401, msg: "no credentials"},
		{name: "unknown user", c: call{path: "/control/reset?target=hk3-a", user: "mallory", pass: bobPass}, status: 401, msg: "invalid credentials"},
		{name: "wrong password", c: call{path: "/control/reset?target=hk3-a", user: "bob", pass: alicePass}, status: 401, msg: "invalid credentials"},
		{name: "token as basic password", c: call{path: "/control/reset?target=hk3-a", user: "admin", pass: adminToken}, status: 401, msg: "invalid credentials"},
		{name: "unsupported scheme", c: call{path: "/control/reset?target=hk3-a", header: map[string]string{"Authorization": "Digest x"}}, status: 401, msg: "use 'Bearer <token>' or Basic"},
		{name: "token scope", c: call{path: "/control/setpoint?target=hk3-a&celsius=30", bearer: resetToken}, status: 403, msg: "token:resetter may not setpoint (allowed actions: reset)"},
		{name: "user scope", c: call{path: "/control/reset?target=hk3-a", user: "alice", pass: alicePass}, status: 403, msg: "user:alice may not reset"},
		{name: "dangerous without flag", c: call{path: "/control/cooling?target=hk3-a&state=off", bearer: adminToken}, status: 403, msg: "--control.enable-dangerous-actions"},
		{name: "dangerous dry run without flag", c: call{path: "/control/cooling?target=hk3-a&state=on&dry_run=true", bearer: adminToken}, status: 403, msg: "--control.enable-dangerous-actions"},
		{name: "unknown target", c: call{path: "/control/reset?target=hk3-zz", bearer: adminToken}, status: 404, msg: `target "hk3-zz" is not in the inventory`},
		{name: "non-inventory address", c: call{path: "/control/reset?target=" + outsider.Addr(), bearer: adminToken}, status: 404, msg: "only inventory containers can be controlled"},
		{name: "url as target", c: call{path: "/control/reset?target=http://" + outsider.Addr() + "/cooler", bearer: adminToken}, status: 404, msg: "not in the inventory"},
		{name: "selector matches nothing", c: call{path: "/control/reset?selector=site=dc9", bearer: adminToken}, status: 404, msg: "matches no inventory container"},
		{name: "bad selector", c: call{path: "/control/reset?selector=site!=dc1", bearer: adminToken}, status: 400, msg: "label=value pairs"},
		{name: "target and selector", c: call{path: "/control/reset?target=hk3-a&selector=site=dc1", bearer: adminToken}, status: 400, msg: "either target or selector"},
		{name: "no target", c: call{path: "/control/reset", bearer: adminToken}, status: 400, msg: "missing target"},
		{name: "setpoint NaN", c: call{path: "/control/setpoint?target=hk3-a&celsius=NaN", bearer: adminToken}, status: 400, msg: "finite"},
		{name: "setpoint Inf", c: call{path: "/control/setpoint?target=hk3-a&celsius=%2BInf", bearer: adminToken}, status: 400, msg: "finite"},
		{name: "setpoint above max", c: call{path: "/control/setpoint?target=hk3-a&celsius=45.1", bearer: adminToken}, status: 400, msg: "outside the allowed range 20 to 45"},
		{name: "setpoint below min", c: call{path: "/control/setpoint?target=hk3-a&celsius=19.9", bearer: adminToken}, status: 400, msg: "outside the allowed range"},
		{name: "setpoint outside configured bounds", opts: envOptions{controlYAML: "  setpoint_min: 25\n  setpoint_max: 35\n"},
			c: call{path: "/control/setpoint?target=hk3-a&celsius=36", bearer: adminToken}, status: 400, msg: "range 25 to 35"},
		{name: "setpoint not a number", c: call{path: "/control/setpoint?target=hk3-a&celsius=warm", bearer: adminToken}, status: 400, msg: "celsius must be a number"},
		{name: "setpoint hex", c: call{path: "/control/setpoint?target=hk3-a&celsius=0x1E", bearer: adminToken}, status: 400, msg: "celsius must be a number"},
		{name: "setpoint empty", c: call{path: "/control/setpoint?target=hk3-a&celsius=", bearer: adminToken}, status: 400, msg: "celsius must be a number"},
		{name: "setpoint missing", c: call{path: "/control/setpoint?target=hk3-a", bearer: adminToken}, status: 400, msg: "missing celsius"},
		{name: "setpoint JSON bool", c: call{path: "/control/setpoint", body: `{"target":"hk3-a","celsius":true}`, contentType: "application/json", bearer: adminToken}, status: 400, msg: "celsius must be a number"},
		{name: "celsius and mode", c: call{path: "/control/setpoint?target=hk3-a&celsius=30&mode=pid", bearer: adminToken}, status: 400, msg: "not both"},
		{name: "bad mode", c: call{path: "/control/setpoint?target=hk3-a&mode=auto", bearer: adminToken}, status: 400, msg: "mode must be pid"},
		{name: "bad state", opts: envOptions{dangerous: true}, c: call{path: "/control/cooling?target=hk3-a&state=maybe", bearer: adminToken}, status: 400, msg: "state must be on or off"},
		{name: "missing state", opts: envOptions{dangerous: true}, c: call{path: "/control/cooling?target=hk3-a", bearer: adminToken}, status: 400, msg: "missing state"},
		{name: "typo parameter", c: call{path: "/control/setpoint?target=hk3-a&celcius=30", bearer: adminToken}, status: 400, msg: `unknown parameter "celcius"`},
		{name: "parameter of another action", c: call{path: "/control/reset?target=hk3-a&celsius=30", bearer: adminToken}, status: 400, msg: `"celsius" does not apply to reset`},
		{name: "conflicting query and body", c: call{path: "/control/setpoint?target=hk3-a&celsius=30", body: "celsius=31", contentType: "application/x-www-form-urlencoded", bearer: adminToken},
			status: 400, msg: `"celsius" given in both the query string and the form body`},
		{name: "repeated parameter", c: call{path: "/control/setpoint?target=hk3-a&target=hk3-b&celsius=30", bearer: adminToken}, status: 400, msg: `"target" given more than once in the query string`},
		{name: "bad dry_run", c: call{path: "/control/reset?target=hk3-a&dry_run=perhaps", bearer: adminToken}, status: 400, msg: "dry_run must be true or false"},
		{name: "bad JSON", c: call{path: "/control/reset", body: `{"target":`, contentType: "application/json", bearer: adminToken}, status: 400, msg: "JSON body"},
		{name: "JSON array", c: call{path: "/control/reset", body: `["hk3-a"]`, contentType: "application/json", bearer: adminToken}, status: 400, msg: "JSON body"},
		{name: "unsupported content type", c: call{path: "/control/reset", body: "target=hk3-a", contentType: "text/plain", bearer: adminToken}, status: 415, msg: "unsupported body content type"},
		{name: "oversized body", c: call{path: "/control/reset?target=hk3-a", body: `{"target":"` + big + `"}`, contentType: "application/json", bearer: adminToken}, status: 413, msg: "larger than 4096 bytes"},
		{name: "GET", c: call{method: http.MethodGet, path: "/control/reset?target=hk3-a", bearer: adminToken}, status: 405, msg: "use POST /control/reset", header: [2]string{"Allow", "POST"}},
		{name: "PUT", c: call{method: http.MethodPut, path: "/control/setpoint?target=hk3-a&celsius=30", bearer: adminToken}, status: 405, msg: "use POST", header: [2]string{"Allow", "POST"}},
		{name: "unknown action", c: call{path: "/control/explode?target=hk3-a", bearer: adminToken}, status: 404, msg: "unknown control action"},
		{name: "bare prefix", c: call{path: "/control/", bearer: adminToken}, status: 404, msg: "use POST /control/{reset,setpoint,cooling}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A high failure limit so the 401 cases don't turn into 429s.
			tc.opts.controlYAML += "  auth_failures_per_minute: 1000\n"
			env := newEnv(t, tc.opts)
			r := env.do(t, tc.c)
			if r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			msg, _ := r.json["error"].(string)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q does not contain %q", msg, tc.msg)
			}
			if tc.header[0] != "" && !strings.Contains(r.header.Get(tc.header[0]), tc.header[1]) {
				t.Errorf("header %s = %q, want it to contain %q", tc.header[0], r.header.Get(tc.header[0]), tc.header[1])
			}
			if w := env.writes(); len(w) > 0 {
				t.Errorf("a refused request wrote: %v", w)
			}
			if w := outsider.Writes(); len(w) > 0 {
				t.Errorf("the non-inventory controller was written to: %v", w)
			}
		})
	}
}

// A body without Content-Length (chunked) is cut at the limit too.
func TestOversizedChunkedBody(t *testing.T) {
	env := newEnv(t, envOptions{})
	body := `{"target":"hk3-a","x":"` + strings.Repeat("y", 2*MaxBodyBytes) + `"}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, env.server.URL+"/control/reset", struct{ *strings.Reader }{strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if req.ContentLength != 0 {
		t.Fatalf("expected an unknown length, got %d", req.ContentLength)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

// Failed authentications are limited per client address; another address
// is not affected, and the bucket refills with time.
func TestAuthFailureRateLimit(t *testing.T) {
	env := newEnv(t, envOptions{controlYAML: "  auth_failures_per_minute: 3\n"})
	var mu sync.Mutex
	now := time.Now()
	env.h.gate.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }

	bad := call{path: "/control/reset?target=hk3-a&dry_run=true", bearer: wrongSecret, from: "127.0.0.1"}
	good := call{path: "/control/reset?target=hk3-a&dry_run=true", bearer: adminToken, from: "127.0.0.1"}
	for i := range 3 {
		if r := env.do(t, bad); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, r.status)
		}
	}
	r := env.do(t, bad)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("4th failure: status %d, want 429: %s", r.status, r.body)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
		t.Errorf("Retry-After %q, want 1..20 s (3/min refills one every 20 s)", r.header.Get("Retry-After"))
	}
	if msg, _ := r.json["error"].(string); !strings.Contains(msg, "too many failed authentications") {
		t.Errorf("message %q", msg)
	}
	// Even the right token is refused while the address is blocked.
	if r := env.do(t, good); r.status != http.StatusTooManyRequests {
		t.Errorf("good token from a blocked address: %d, want 429", r.status)
	}

	// Another address is not affected.
	other := good
	other.from = "127.0.0.2"
	if r := env.do(t, other); r.status != http.StatusOK {
		t.Errorf("good token from another address: %d: %s", r.status, r.body)
	}
	otherBad := bad
	otherBad.from = "127.0.0.2"
	if r := env.do(t, otherBad); r.status != http.StatusUnauthorized {
		t.Errorf("bad token from another address: %d, want 401", r.status)
	}

	// One failure's worth of time later, the first address may try again.
	advance(21 * time.Second)
	if r := env.do(t, good); r.status != http.StatusOK {
		t.Errorf("after the refill: %d: %s", r.status, r.body)
	}
	if n := testutil.ToFloat64(env.h.requests.WithLabelValues("reset", "rate_limited")); n != 2 {
		t.Errorf("rate_limited count %v, want 2", n)
	}
	if n := testutil.ToFloat64(env.h.requests.WithLabelValues("reset", "unauthorized")); n != 4 {
		t.Errorf("unauthorized count %v, want 4", n)
	}
}

// Scopes: each credential may do exactly its actions (dry runs, so nothing
// is written).
func TestCredentialScopes(t *testing.T) {
	env := newEnv(t, envOptions{dangerous: true})
	creds := map[string]call{
		"admin token":   {bearer: adminToken},
		"reset token":   {bearer: resetToken},
		"alice (basic)": {user: "alice", pass: alicePass},
		"bob (basic)":   {user: "bob", pass: bobPass},
	}
	paths := map[string]string{
		"reset":    "/control/reset?target=hk3-a&dry_run=true",
		"setpoint": "/control/setpoint?target=hk3-a&celsius=30&dry_run=true",
		"cooling":  "/control/cooling?target=hk3-a&state=on&dry_run=true",
	}
	allowed := map[string][]string{
		"admin token":   {"reset", "setpoint", "cooling"},
		"reset token":   {"reset"},
		"alice (basic)": {"setpoint"},
		"bob (basic)":   {"reset", "setpoint", "cooling"},
	}
	for who, c := range creds {
		for action, path := range paths {
			c.path = path
			r := env.do(t, c)
			want := http.StatusForbidden
			if slices.Contains(allowed[who], action) {
				want = http.StatusOK
			}
			if r.status != want {
				t.Errorf("%s %s: status %d, want %d: %s", who, action, r.status, want, r.body)
			}
		}
	}
	if w := env.writes(); len(w) > 0 {
		t.Errorf("dry runs wrote: %v", w)
	}
}

// A dry run validates and authorises, reads and writes nothing.
func TestDryRun(t *testing.T) {
	env := newEnv(t, envOptions{dangerous: true})
	for _, path := range []string{
		"/control/reset?target=hk3-a&dry_run=true",
		"/control/setpoint?selector=site=dc1&celsius=33&dry_run=1",
		"/control/cooling?target=imm-a&state=off&dry_run=true",
	} {
		r := env.do(t, call{path: path, bearer: adminToken})
		if r.status != http.StatusOK || r.json["dry_run"] != true || r.json["ok"] != true {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
		for name, res := range r.results(t) {
			if res["device"] != nil || res["verified"] != false {
				t.Errorf("%s: %s: dry-run result claims a device answer: %v", path, name, res)
			}
		}
	}
	// Invalid parameters are still refused in a dry run.
	if r := env.do(t, call{path: "/control/setpoint?target=hk3-a&celsius=99&dry_run=true", bearer: adminToken}); r.status != http.StatusBadRequest {
		t.Errorf("invalid dry run: %d", r.status)
	}
	if w := env.writes(); len(w) > 0 {
		t.Errorf("dry runs wrote: %v", w)
	}
	for _, c := range inventory {
		if n := env.mocks[c.name].Reads("coolerState"); n != 0 {
			t.Errorf("%s: dry run read coolerState %d times", c.name, n)
		}
	}
	if n := testutil.ToFloat64(env.h.requests.WithLabelValues("setpoint", "dry_run")); n != 1 {
		t.Errorf("dry_run count %v", n)
	}
}

// A selector batch writes every matching container, answers one result per
// container, and reports partial failure as 207, total failure as 502.
func TestBatch(t *testing.T) {
	t.Run("all ok", func(t *testing.T) {
		env := newEnv(t, envOptions{})
		r := env.do(t, call{path: "/control/setpoint?selector=site=dc1,type=hk3&celsius=32", bearer: adminToken})
		if r.status != http.StatusOK || r.json["ok"] != true || r.json["verified"] != true {
			t.Fatalf("%d %s", r.status, r.body)
		}
		res := r.results(t)
		if len(res) != 2 || res["hk3-a"]["verified"] != true || res["hk3-b"]["verified"] != true {
			t.Errorf("results: %v", res)
		}
		want := []string{"hk3-a:setTemp=32", "hk3-b:setTemp=32"}
		if got := env.writes(); !slices.Equal(got, want) {
			t.Errorf("writes %v, want %v", got, want)
		}
	})
	t.Run("selector on name, label and type", func(t *testing.T) {
		env := newEnv(t, envOptions{})
		for sel, want := range map[string][]string{
			"name=imm-a":              {"imm-a:reset"},
			"container=hk3-b":         {"hk3-b:reset"},
			"row=1":                   {"hk3-a:reset", "imm-a:reset"},
			"site=dc1, row=2":         {"hk3-b:reset"},
			"type=immersion,site=dc2": {"imm-a:reset"},
		} {
			before := map[string]int{}
			for _, c := range inventory {
				before[c.name] = len(env.mocks[c.name].Writes())
			}
			r := env.do(t, call{path: "/control/reset?selector=" + strings.ReplaceAll(sel, " ", "%20"), bearer: adminToken})
			if r.status != http.StatusOK {
				t.Errorf("%s: %d %s", sel, r.status, r.body)
				continue
			}
			var got []string
			for _, c := range inventory {
				for _, w := range env.mocks[c.name].Writes()[before[c.name]:] {
					got = append(got, c.name+":"+w.Operation)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: writes %v, want %v", sel, got, want)
			}
		}
	})
	t.Run("one container fails", func(t *testing.T) {
		env := newEnv(t, envOptions{})
		env.mocks["hk3-b"].Misbehave(mock.Misbehaviour{Kind: mock.HTTP500, Operation: "setTemp"})
		r := env.do(t, call{path: "/control/setpoint?selector=site=dc1&celsius=30", bearer: adminToken})
		if r.status != http.StatusMultiStatus || r.json["ok"] != false {
			t.Fatalf("%d %s", r.status, r.body)
		}
		res := r.results(t)
		if res["hk3-a"]["ok"] != true || res["hk3-a"]["verified"] != true {
			t.Errorf("hk3-a: %v", res["hk3-a"])
		}
		if res["hk3-b"]["ok"] != false || !strings.Contains(fmt.Sprint(res["hk3-b"]["error"]), "HTTP status 500") {
			t.Errorf("hk3-b: %v", res["hk3-b"])
		}
		if msg, _ := r.json["error"].(string); msg != "1 of 2 containers failed" {
			t.Errorf("error %q", msg)
		}
		if n := testutil.ToFloat64(env.h.requests.WithLabelValues("setpoint", "partial")); n != 1 {
			t.Errorf("partial count %v", n)
		}
		if !strings.Contains(env.logs.String(), `hk3-b=error: setTemp: HTTP status 500`) {
			t.Errorf("audit line lacks the device error:\n%s", env.logs)
		}
	})
	t.Run("device answers ok:false", func(t *testing.T) {
		env := newEnv(t, envOptions{})
		env.mocks["hk3-a"].Misbehave(mock.Misbehaviour{Kind: mock.NotOK, Operation: "reset"})
		r := env.do(t, call{path: "/control/reset?target=hk3-a", bearer: adminToken})
		if r.status != http.StatusBadGateway || !strings.Contains(fmt.Sprint(r.json["error"]), "ok:false") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		res := r.results(t)["hk3-a"]
		if dev, _ := res["device"].(map[string]any); dev["ok"] != false {
			t.Errorf("device answer: %v", res["device"])
		}
	})
	t.Run("every container down", func(t *testing.T) {
		env := newEnv(t, envOptions{})
		for _, name := range []string{"hk3-a", "hk3-b"} {
			if err := env.mocks[name].Close(); err != nil {
				t.Fatal(err)
			}
			// Keep the freed port refused: on a busy machine another
			// process's server could take it and answer the write.
			tu.RefuseConnections(t, env.mocks[name].Addr())
		}
		r := env.do(t, call{path: "/control/reset?selector=site=dc1", bearer: adminToken})
		if r.status != http.StatusBadGateway || r.json["error"] != "all 2 containers failed" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for name, res := range r.results(t) {
			if res["ok"] != false || !strings.Contains(fmt.Sprint(res["error"]), "request failed") {
				t.Errorf("%s: %v", name, res)
			}
		}
		if w := env.mocks["imm-a"].Writes(); len(w) != 0 {
			t.Errorf("imm-a is not selected but was written: %v", w)
		}
	})
	t.Run("concurrency is bounded", func(t *testing.T) {
		env := newEnv(t, envOptions{controlYAML: "  batch_concurrency: 1\n"})
		counter := &inFlight{next: env.client.HTTP.Transport}
		env.client.HTTP.Transport = counter
		for _, name := range []string{"hk3-a", "hk3-b"} {
			// Slow writes make an overlap certain if the bound did not hold.
			env.mocks[name].Misbehave(mock.Misbehaviour{Kind: mock.Slow, Operation: "reset", Delay: 50 * time.Millisecond})
		}
		r := env.do(t, call{path: "/control/reset?selector=site=dc1", bearer: adminToken})
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if m := counter.peak(); m != 1 {
			t.Errorf("%d device requests in flight at once, want 1", m)
		}
	})
}

// When the read-back does not show the change within verify_timeout, the
// answer says verified:false with the reason; the write itself succeeded.
// verify_timeout passes when the test says, after the second read-back (see
// expireVerifyAfterReads): the reason is what that read showed, never a read
// cut off by the clock.
func TestNotVerified(t *testing.T) {
	env := newEnv(t, envOptions{controlYAML: "  verify_timeout: 7s\n"})
	deadlines := env.expireVerifyAfterReads(2)
	// The controller accepts setTemp but keeps reporting 25 (a pinned string).
	if err := env.mocks["hk3-a"].Set("supply_liquid_set_temp", "25"); err != nil {
		t.Fatal(err)
	}
	// A fault flag sent as a number is pinned too: reset cannot clear it.
	if err := env.mocks["imm-a"].Set("leakage_fault", 1); err != nil {
		t.Fatal(err)
	}
	r := env.do(t, call{path: "/control/setpoint?target=hk3-a&celsius=30", bearer: adminToken})
	if r.status != http.StatusOK || r.json["ok"] != true || r.json["verified"] != false {
		t.Fatalf("%d %s", r.status, r.body)
	}
	res := r.results(t)["hk3-a"]
	if !strings.Contains(fmt.Sprint(res["verify_error"]), "supply_liquid_set_temp is 25, requested 30") {
		t.Errorf("verify_error: %v", res["verify_error"])
	}
	if n := env.mocks["hk3-a"].Reads("coolerState"); n < 2 {
		t.Errorf("verification read coolerState %d times; want it to poll", n)
	}
	r = env.do(t, call{path: "/control/reset?target=imm-a", bearer: adminToken})
	if r.status != http.StatusOK || r.json["verified"] != false {
		t.Fatalf("%d %s", r.status, r.body)
	}
	res = r.results(t)["imm-a"]
	if !strings.Contains(fmt.Sprint(res["verify_error"]), "leakage_fault") {
		t.Errorf("verify_error: %v", res["verify_error"])
	}
	if n := testutil.ToFloat64(env.h.requests.WithLabelValues("setpoint", "unverified")); n != 1 {
		t.Errorf("unverified count %v", n)
	}
	if got := deadlines.timeouts(); !slices.Equal(got, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Errorf("verify timeouts %v, want control.verify_timeout (7s) for each write", got)
	}
}

// Verification keeps polling when a read-back fails and succeeds once the
// controller answers again.
func TestVerifyRetriesFailedRead(t *testing.T) {
	env := newEnv(t, envOptions{})
	env.mocks["hk3-a"].Misbehave(mock.Misbehaviour{Kind: mock.HTTP500, Operation: "coolerState", Count: 2})
	r := env.do(t, call{path: "/control/setpoint?target=hk3-a&celsius=30", bearer: adminToken})
	if r.status != http.StatusOK || r.json["verified"] != true {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if n := env.mocks["hk3-a"].Reads("coolerState"); n != 3 {
		t.Errorf("coolerState read %d times, want 3 (two failures, then the check)", n)
	}
}

// No secret reaches the log or an answer, whatever the outcome.
func TestNoSecretInLogsOrAnswers(t *testing.T) {
	env := newEnv(t, envOptions{controlYAML: "  auth_failures_per_minute: 1000\n"})
	var answers bytes.Buffer
	for _, c := range []call{
		{path: "/control/reset?target=hk3-a", bearer: adminToken},
		{path: "/control/setpoint?target=hk3-a&celsius=30", bearer: resetToken},
		{path: "/control/reset?target=hk3-a", bearer: wrongSecret},
		{path: "/control/setpoint?target=hk3-a&celsius=30", user: "alice", pass: alicePass},
		{path: "/control/reset?target=hk3-a", user: "bob", pass: wrongSecret},
		{path: "/control/reset?target=hk3-a", user: wrongSecret, pass: bobPass}, // a password typed as the user name
		{path: "/control/setpoint", body: `{"target":"hk3-a","celsius":"` + wrongSecret + `"}`, contentType: "application/json", bearer: adminToken},
		{path: "/control/reset?target=hk3-a", header: map[string]string{"Authorization": wrongSecret}},
	} {
		r := env.do(t, c)
		answers.Write(r.body)
	}
	logs := env.logs.String()
	for _, secret := range []string{adminToken, resetToken, alicePass, bobPass} {
		if strings.Contains(logs, secret[:10]) {
			t.Errorf("log contains a secret %q:\n%s", secret, logs)
		}
		if strings.Contains(answers.String(), secret[:10]) {
			t.Errorf("an answer contains a secret %q", secret)
		}
		if strings.Contains(logs, hashOf(t, secret)) {
			t.Errorf("log contains a hash")
		}
	}
	// The wrong secret may appear only where it was sent as a parameter
	// value (celsius), never from a credential.
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, wrongSecret[:10]) && !strings.Contains(line, "celsius must be a number") {
			t.Errorf("log line contains the wrong secret outside a parameter: %s", line)
		}
	}
	// The audit names who acted.
	for _, want := range []string{`who=token:admin`, `who=token:resetter`, `who=user:alice`, `attempted=user:bob`,
		`result=unauthorized`, `result=forbidden`, `action=reset`, `client=127.0.0.1`, `target=hk3-a`, `params="celsius=30"`, `device="hk3-a=ok verified"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, `msg="control request"`); n != 8 {
		t.Errorf("%d audit lines for 8 requests", n)
	}
}

// The landing-page summary says whether control is on, never a secret.
func TestSummary(t *testing.T) {
	off := Summary(config.Empty(), false)
	if !strings.Contains(off, "Control is off") || !strings.Contains(off, "docs/control.md") {
		t.Errorf("off: %q", off)
	}
	env := newEnv(t, envOptions{})
	on := Summary(env.h.config.Get(), false)
	if !strings.Contains(on, "Control is on") || !strings.Contains(on, "2 bearer token(s) and 2 basic-auth user(s)") || !strings.Contains(on, DangerousFlag+" not set") {
		t.Errorf("on: %q", on)
	}
	if strings.Contains(on, "$2a$") || strings.Contains(on, "admin") {
		t.Errorf("summary shows credential details: %q", on)
	}
	if s := Summary(env.h.config.Get(), true); !strings.Contains(s, "cooling on/off enabled") {
		t.Errorf("dangerous: %q", s)
	}
}

func TestHashSecret(t *testing.T) {
	var out bytes.Buffer
	if err := HashSecret(strings.NewReader("demo-reset-token\n"), &out); err != nil {
		t.Fatal(err)
	}
	hash := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("demo-reset-token")); err != nil {
		t.Errorf("hash does not verify: %v", err)
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcrypt.DefaultCost {
		t.Errorf("cost %d", cost)
	}
	for _, in := range []string{"", "\n", strings.Repeat("x", 73)} {
		if err := HashSecret(strings.NewReader(in), &out); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// A type that lacks an action is refused before anything is sent, for a
// single target and for a batch that includes it.
func TestActionMissingOnType(t *testing.T) {
	// A table in which immersion containers lack setpoint.
	var table []config.ControlAction
	for _, a := range config.ControlActionTable {
		if a.Name == config.ActionSetpoint {
			a.Types = []collector.Type{collector.TypeHK3}
		}
		table = append(table, a)
	}
	env := newEnv(t, envOptions{setup: func(h *Handler) { h.actions = table }})
	for _, path := range []string{
		"/control/setpoint?target=imm-a&celsius=30",
		"/control/setpoint?selector=row=1&celsius=30", // hk3-a and imm-a
	} {
		r := env.do(t, call{path: path, bearer: adminToken})
		if msg, _ := r.json["error"].(string); r.status != http.StatusBadRequest || !strings.Contains(msg, "setpoint is not available on: imm-a (immersion)") {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	if w := env.writes(); len(w) > 0 {
		t.Errorf("writes: %v", w)
	}
	if r := env.do(t, call{path: "/control/reset?target=imm-a", bearer: adminToken}); r.status != http.StatusOK {
		t.Errorf("reset: %d %s", r.status, r.body)
	}
}

func TestDryRunJSONBoolean(t *testing.T) {
	env := newEnv(t, envOptions{})
	r := env.do(t, call{path: "/control/reset", body: `{"target":"hk3-b","dry_run":true}`, contentType: "application/json", bearer: adminToken})
	if r.status != http.StatusOK || r.json["dry_run"] != true {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if w := env.writes(); len(w) > 0 {
		t.Errorf("writes: %v", w)
	}
}

// Behind basic auth on every endpoint (--web.config.file) the Authorization
// header carries the web user; the control token travels in TokenHeader.
func TestTokenHeaderBesideWebBasicAuth(t *testing.T) {
	env := newEnv(t, envOptions{})
	r := env.do(t, call{
		path: "/control/reset?target=hk3-a", user: "web-user", pass: "web-password",
		header: map[string]string{TokenHeader: adminToken},
	})
	if r.status != http.StatusOK || r.json["ok"] != true {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := env.writes(); len(got) != 1 || got[0] != "hk3-a:reset" {
		t.Errorf("writes = %v, want one reset", got)
	}
}
