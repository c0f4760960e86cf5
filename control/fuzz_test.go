package control

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device"
)

var fuzzContentTypes = []string{"", "application/json", "application/x-www-form-urlencoded", "application/json; charset=utf-8", "text/plain", "multipart/form-data; boundary=x"}

func fuzzRequest(action, query string, ct uint8, body []byte) *http.Request {
	r := &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: Prefix + action, RawQuery: query},
		Header:        http.Header{},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		RemoteAddr:    "127.0.0.1:1234",
	}
	if c := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]; c != "" {
		r.Header.Set("Content-Type", c)
	}
	return r
}

func addControlSeeds(f *testing.F) {
	for _, s := range []struct {
		action, query string
		ct            uint8
		body          string
	}{
		{"reset", "target=hk3-a", 0, ""},
		{"reset", "selector=site%3Ddc1,type%3Dhk3&dry_run=true", 0, ""},
		{"setpoint", "target=hk3-a&celsius=30", 0, ""},
		{"setpoint", "", 1, `{"target":"hk3-a","celsius":30.5,"dry_run":true}`},
		{"setpoint", "", 2, "target=hk3-a&mode=pid"},
		{"setpoint", "target=hk3-a", 1, `{"celsius":"1e400"}`},
		{"setpoint", "target=hk3-a&celsius=NaN", 0, ""},
		{"setpoint", "target=hk3-a&celsius=30", 1, `{"celsius":31}`},
		{"cooling", "target=imm-a&state=off", 0, ""},
		{"cooling", "", 1, `{"target":"imm-a","state":"ON"}{}`},
		{"cooling", "", 1, `{"target":{"a":1}}`},
		{"reset", "target=hk3-a", 4, "x"},
		{"reset", "selector=%21%3D,&target=", 3, "\x00"},
		{"reset", "target=hk3-a&dry_run", 0, ""},
		{"reset", "target=hk3-a&dry_run=%zz", 0, ""},
		{"reset", "target=hk3-a;dry_run=true", 0, ""},
		{"reset", "", 1, `{"target":"hk3-a","dry_run":true,"dry_run":false}`},
		{"reset", "", 1, `{"target":"hk3-a","dry_run":""}`},
		{"reset", "", 2, "target=hk3-a&dry_run=true&dry_run=true"},
	} {
		f.Add(s.action, s.query, s.ct, []byte(s.body))
	}
}

// FuzzControlParams drives the /control parameter reader and validator with
// arbitrary query strings, content types and bodies. Never a panic; a
// refusal is a 4xx with a message; an accepted request is within the
// configured limits and names exactly one of target or selector.
func FuzzControlParams(f *testing.F) {
	addControlSeeds(f)
	lim := (*config.Control)(nil).Limits()
	f.Fuzz(func(t *testing.T, action, query string, ct uint8, body []byte) {
		raw, herr := readParams(fuzzRequest(action, query, ct, body))
		if herr != nil {
			checkRefusal(t, herr)
			return
		}
		// A query string that does not parse cleanly is never read in part.
		if _, err := url.ParseQuery(query); err != nil {
			t.Fatalf("malformed query %q accepted: %v", query, err)
		}
		for k := range raw {
			if !knownParams[k] {
				t.Fatalf("unknown parameter %q accepted", k)
			}
		}
		for _, a := range config.ControlActions {
			q, herr := parseRequest(a, raw, lim)
			if herr != nil {
				checkRefusal(t, herr)
				continue
			}
			checkRequest(t, a, q, lim)
			// dry_run=false (a write) only from an explicit false.
			if v, ok := raw["dry_run"]; ok && !q.dryRun {
				if w := strings.ToLower(strings.TrimSpace(v)); w != "false" && w != "0" && w != "no" {
					t.Fatalf("dry_run=%q read as false", v)
				}
			}
		}
	})
}

func checkRefusal(t *testing.T, e *httpError) {
	t.Helper()
	if e.status < 400 || e.status > 499 || e.msg == "" || e.result == "" {
		t.Fatalf("refusal %+v", e)
	}
}

func checkRequest(t *testing.T, action string, q *request, lim config.ControlLimits) {
	t.Helper()
	if (q.target == "") == (q.selector == "") {
		t.Fatalf("%s: target %q and selector %q: want exactly one", action, q.target, q.selector)
	}
	if q.selector != "" {
		sel, herr := parseSelector(q.selector)
		if herr == nil {
			for _, m := range sel {
				if m.Key == "" || m.Value == "" || strings.ContainsAny(m.Key, "!~") {
					t.Fatalf("selector %q accepted with %+v", q.selector, m)
				}
			}
		}
	}
	switch action {
	case config.ActionReset:
		if q.operation != opReset || len(q.extra) != 0 {
			t.Fatalf("reset: operation %q extra %v", q.operation, q.extra)
		}
	case config.ActionSetpoint:
		if q.operation != opSetTemp {
			t.Fatalf("setpoint: operation %q", q.operation)
		}
		temp := q.extra.Get("temp")
		if q.pid {
			if temp != "pid" {
				t.Fatalf("pid mode sends temp=%q", temp)
			}
			break
		}
		if math.IsNaN(q.celsius) || q.celsius < lim.SetpointMin || q.celsius > lim.SetpointMax {
			t.Fatalf("setpoint %v accepted outside %v..%v", q.celsius, lim.SetpointMin, lim.SetpointMax)
		}
		if v, err := strconv.ParseFloat(temp, 64); err != nil || v != q.celsius {
			t.Fatalf("device gets temp=%q for %v", temp, q.celsius)
		}
	case config.ActionCooling:
		if (q.on && q.operation != opOpen) || (!q.on && q.operation != opClose) {
			t.Fatalf("cooling on=%v sends %q", q.on, q.operation)
		}
	}
}

// FuzzControlHandler sends arbitrary requests, authenticated with a valid
// token, through the whole /control handler against an inventory whose
// controllers refuse connections. Never a panic; every answer is JSON with a
// status the documentation lists.
func FuzzControlHandler(f *testing.F) {
	addControlSeeds(f)
	f.Add("nope", "", uint8(0), []byte(nil))
	f.Add("cooling", "target=imm-a&state=on", uint8(0), []byte(nil))

	const token = "fuzz-token-5e1f"
	hash, err := bcrypt.GenerateFromPassword([]byte(token), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	cfg, err := config.Parse(strings.NewReader(`containers:
  - {name: hk3-a, address: "127.0.0.1:1", type: hk3, labels: {site: dc1}}
  - {name: imm-a, address: "127.0.0.1:2", type: immersion, labels: {site: dc2}}
control:
  timeout: 1s
  verify_timeout: 1s
  auth_failures_per_minute: 1000
  tokens:
    - {name: fuzz, hash: "` + string(hash) + `"}
    - {name: fuzz-approver, hash: "` + string(hash) + `", selector: "site=dc1"}
  approvals: {cooling: 2}
`))
	if err != nil {
		f.Fatal(err)
	}
	h := New(Options{Config: staticConfig{cfg}, Client: device.NewClient("fuzz", 2), Logger: log.NewNopLogger(), EnableDangerous: true})
	// The statuses docs/control.md lists; 500 is not one of them.
	documented := map[int]bool{200: true, 202: true, 207: true, 409: true, 400: true, 401: true, 403: true, 404: true, 405: true, 413: true, 415: true, 429: true, 502: true, 503: true}

	f.Fuzz(func(t *testing.T, action, query string, ct uint8, body []byte) {
		r := fuzzRequest(action, query, ct, body)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !documented[w.Code] {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", w.Body)
		}
		if strings.Contains(w.Body.String(), token) || strings.Contains(w.Body.String(), string(hash)) {
			t.Fatalf("answer shows the credential: %s", w.Body)
		}
	})
}
