package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// The debug view of a failing and of a healthy target, over real HTTP.
func TestProbeDebugView(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"up-a": mock.HK3, "down-a": mock.HK3, "nulls-a": mock.Immersion, "notok-a": mock.HK3})
	down := env.mocks["down-a"]
	downAddr := down.Addr()
	down.Close() // connection refused from now on
	env.mocks["nulls-a"].Misbehave(mock.Misbehaviour{Kind: mock.WrongTypes, Operation: "coolerState"})
	env.mocks["notok-a"].Misbehave(mock.Misbehaviour{Kind: mock.NotOK, Operation: "minerInfo"})

	for _, tc := range []struct {
		target string
		want   []string
	}{
		{"down-a", []string{
			"Logs for the probe:\n",
			`level=info msg="beginning probe"`, `msg="beginning probe" target=down-a address=` + downAddr + ` module=hk3`,
			`msg="read failed" operation=coolerState url="http://` + downAddr + `/cooler?operation=coolerState" duration_seconds=`,
			`level=error msg="probe failed"`, `msg="probe failed" reason=`, "connection refused",
			"Metrics that would have been returned:\n", "antspace_up 0\n",
			"Module configuration (hk3):\n", "type: hk3",
		}},
		{"up-a", []string{
			`msg="read answered" operation=coolerState`,
			`msg="read answered" operation=minerInfo`,
			`msg="probe succeeded"`, "antspace_up 1\n", "antspace_container_info{",
		}},
		{"nulls-a", []string{
			`msg="field missing or unreadable" field=`,
		}},
		{"notok-a", []string{
			`msg="read failed" operation=minerInfo`, "ok:false",
		}},
	} {
		code, body := env.get(t, "/probe?debug=true&target="+tc.target, nil)
		if code != http.StatusOK {
			t.Errorf("%s: status %d\n%s", tc.target, code, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s debug view lacks %q:\n%s", tc.target, w, body)
			}
		}
	}
	// debug=false is the ordinary exposition.
	req, _ := http.NewRequest(http.MethodGet, env.server.URL+"/probe?target=up-a&debug=false", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=") {
		t.Errorf("debug=false: Content-Type %q, want the exposition format", ct)
	}
	for _, tc := range []struct{ path, want string }{
		{"/probe?target=up-a&debug=yes", `"debug": "yes" is neither true nor false`},
		{"/probe?target=up-a&debug=", `"debug": "" is neither true nor false`},
		{"/probe?target=up-a&debug=true&debug=true", `"debug" given 2 times`},
	} {
		if code, body := env.get(t, tc.path, nil); code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want 400 with %q", tc.path, code, body, tc.want)
		}
	}
}

// The landing page lists each container's last probe with its reason and a
// debug link, and the recent probes whose logs /logs serves.
func TestLandingPageProbeHistory(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"up-b": mock.HK3, "down-b": mock.HK3, "never-b": mock.Immersion})
	env.mocks["down-b"].Close()
	for _, target := range []string{"up-b", "down-b"} {
		env.get(t, "/probe?target="+target, nil)
	}
	code, page := env.get(t, "/", nil)
	if code != 200 {
		t.Fatalf("landing page: %d", code)
	}
	row := func(name string) string {
		m := regexp.MustCompile(`<tr><td><a href="/probe\?target=` + name + `">` + name + `</a>.*</tr>`).FindString(page)
		if m == "" {
			t.Fatalf("no row for %s in\n%s", name, page)
		}
		return m
	}
	for name, want := range map[string][]string{
		"down-b":  {"<td>down</td>", "coolerState: request failed", "connection refused", `href="/probe?target=down-b&amp;debug=true">debug</a>`, "ago)"},
		"up-b":    {"<td>up</td>", "ago)"},
		"never-b": {"<td>never</td>"},
	} {
		r := row(name)
		for _, w := range want {
			if !strings.Contains(r, w) {
				t.Errorf("row of %s lacks %q: %s", name, w, r)
			}
		}
	}
	for _, w := range []string{"<h2>Recent probes</h2>", "<h2>Recent failed probes</h2>"} {
		if !strings.Contains(page, w) {
			t.Errorf("landing page lacks %q", w)
		}
	}
	// The failed probe's logs, linked from the failed-probes table.
	failed := page[strings.Index(page, "Recent failed probes"):]
	m := regexp.MustCompile(`<a href="/logs\?id=(\d+)">logs</a>`).FindStringSubmatch(failed)
	if m == nil {
		t.Fatalf("no logs link among the failed probes:\n%s", failed)
	}
	code, logs := env.get(t, "/logs?id="+m[1], nil)
	if code != 200 || !strings.Contains(logs, `msg="probe failed"`) || !strings.Contains(logs, "connection refused") || !strings.Contains(logs, "of down-b") {
		t.Errorf("/logs?id=%s: %d\n%s", m[1], code, logs)
	}
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/logs", 400, `parameter "id" is missing`},
		{"/logs?id=abc", 400, "is not a probe id"},
		{"/logs?id=99999", 404, "no longer in the history"},
	} {
		if code, body := env.get(t, tc.path, nil); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want %d with %q", tc.path, code, body, tc.code, tc.want)
		}
	}
}

// The history stays bounded: 10,000 inventory containers each with a long
// reason, plus containers that left the inventory and ad-hoc targets.
func TestProbeHistoryBounded(t *testing.T) {
	const n = maxTrackedContainers
	inInventory := func(name string) bool { return strings.HasPrefix(name, "c-") }
	longReason := strings.Repeat("r", 10*maxReasonBytes)
	longLogs := strings.Repeat("l", 10*maxHistoryLogBytes)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h := newProbeHistory(defaultHistoryLimit)
	for range 2 {
		for i := range n {
			h.add(probeRecord{Container: fmt.Sprintf("c-%05d", i), Target: "t", Reason: longReason, Logs: longLogs}, inInventory)
		}
	}
	// Names that left the inventory make room for new ones; nothing grows past the bound.
	for i := range n {
		h.add(probeRecord{Container: fmt.Sprintf("gone-%05d", i), Reason: longReason, Logs: longLogs}, inInventory)
		h.add(probeRecord{Target: fmt.Sprintf("10.0.%d.%d:80", i/256, i%256), Reason: longReason, Logs: longLogs}, inInventory)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)

	if len(h.last) > n {
		t.Errorf("%d containers tracked, bound %d", len(h.last), n)
	}
	if p, ok := h.lastOf("c-00042"); !ok || len(p.Reason) > maxReasonBytes+len("…(cut)") || p.Logs != "" {
		t.Errorf("inventory container's record: ok=%v reason %d bytes, logs %d bytes", ok, len(p.Reason), len(p.Logs))
	}
	recent, failed := h.snapshot()
	if len(recent) != defaultHistoryLimit || len(failed) != defaultHistoryLimit {
		t.Errorf("rings hold %d and %d, want %d each", len(recent), len(failed), defaultHistoryLimit)
	}
	for _, p := range recent {
		if len(p.Logs) > maxHistoryLogBytes+len("…(cut)") {
			t.Fatalf("ring entry keeps %d bytes of logs", len(p.Logs))
		}
	}
	if recent[0].ID <= recent[1].ID {
		t.Errorf("recent probes not newest first: %d, %d", recent[0].ID, recent[1].ID)
	}
	// 10,000 records of ~0.6 KiB and 200 ring entries of 16 KiB: a few MiB.
	// The bound is loose; unbounded growth would be hundreds of MiB.
	if after.HeapAlloc > before.HeapAlloc+32<<20 {
		t.Errorf("history holds %d MiB after %d probes", (after.HeapAlloc-before.HeapAlloc)>>20, 4*n)
	}
}

// A target failing the same way is logged once, repeats once per interval
// with their count, a new reason at once, and the recovery once at info.
func TestProberLogRepeats(t *testing.T) {
	var buf bytes.Buffer
	logger := log.NewLogfmtLogger(&buf)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := newProberLog("error", time.Hour)
	p.now = func() time.Time { return now }
	fail := func(reason string) { p.problem(logger, "a", "probe", reason, "msg", "probe failed", "reason", reason) }
	lines := func() []string {
		s := strings.TrimSpace(buf.String())
		buf.Reset()
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}

	for range 100 { // a scrape every 15 s for 25 min
		fail("connection refused")
		now = now.Add(15 * time.Second)
	}
	if l := lines(); len(l) != 1 || !strings.HasPrefix(l[0], `level=error msg="probe failed" reason="connection refused"`) {
		t.Errorf("first 100 failures logged as %q, want one error line", l)
	}
	now = now.Add(time.Hour)
	fail("connection refused")
	if l := lines(); len(l) != 1 || !strings.Contains(l[0], "repeated=99 failing_since=2026-01-02T03:04:05Z") {
		t.Errorf("after the interval: %q, want the repeat count", l)
	}
	fail("timeout")
	if l := lines(); len(l) != 1 || !strings.Contains(l[0], `reason=timeout`) || strings.Contains(l[0], "repeated") {
		t.Errorf("a new reason: %q, want it logged at once", l)
	}
	p.resolved(logger, "a", "probe", "probe succeeded again")
	p.resolved(logger, "a", "probe", "probe succeeded again")
	if l := lines(); len(l) != 1 || !strings.HasPrefix(l[0], `level=info msg="probe succeeded again"`) {
		t.Errorf("recovery: %q, want one info line", l)
	}
	fail("connection refused")
	if l := lines(); len(l) != 1 {
		t.Errorf("failure after recovery: %q, want it logged", l)
	}

	// 0 logs every failure; the level follows --log.prober, so the
	// operator's --log.level can hide them.
	every := newProberLog("debug", 0)
	filtered := level.NewFilter(logger, level.AllowInfo())
	for range 3 {
		every.problem(logger, "b", "probe", "x", "msg", "probe failed")
		every.problem(filtered, "b", "probe", "x", "msg", "hidden")
	}
	if l := lines(); len(l) != 3 || !strings.HasPrefix(l[0], "level=debug") {
		t.Errorf("repeat interval 0: %q, want 3 debug lines and none through the info filter", l)
	}
}

// Through the probe handler: a container down for many scrapes is one log
// line until it recovers.
func TestProbeFailureLogRateLimited(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"flap": mock.HK3}, func(o *exporterOptions) { o.proberRepeat = time.Hour })
	env.mocks["flap"].Misbehave(mock.Misbehaviour{Kind: mock.HTTP500, Operation: "coolerState", Count: 5})
	for range 6 {
		env.get(t, "/probe?target=flap", nil)
	}
	logs := env.logs.String()
	if n := strings.Count(logs, `msg="probe failed"`); n != 1 {
		t.Errorf("%d failure lines for 5 identical failures, want 1:\n%s", n, logs)
	}
	if n := len(regexp.MustCompile(`level=info .*msg="probe succeeded again"`).FindAllString(logs, -1)); n != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", n, logs)
	}
	if !regexp.MustCompile(`level=warn .*msg="probe failed"`).MatchString(logs) {
		t.Errorf("failure not logged at the default --log.prober level warn:\n%s", logs)
	}
}

// A history entry keeps at most maxHistoryFieldErrors field errors of a
// hostile probe, and its log lines are still those of the whole probe cut at
// maxHistoryLogBytes; the debug view (the probe's own facts) keeps them all,
// up to maxProbeLogBytes.
func TestProbeLinesHistoryBounded(t *testing.T) {
	pl := newProbeLines("t", &config.Target{Address: "127.0.0.1:1", ModuleName: "hk3"}, time.Second)
	pl.read("coolerState", time.Millisecond, nil)
	pl.read("minerInfo", time.Millisecond, errors.New("refused"))
	res := &collector.Result{Type: "hk3", Duration: time.Millisecond}
	for i := range 5000 {
		res.FieldErrors = append(res.FieldErrors, collector.FieldError{Field: fmt.Sprintf("f%d", i), Reason: "missing"})
	}
	pl.outcome(res)
	kept := pl.forHistory()
	if kept == pl || len(kept.fieldErrors) != maxHistoryFieldErrors {
		t.Fatalf("history keeps %d field errors (shared: %v), want a copy of %d", len(kept.fieldErrors), kept == pl, maxHistoryFieldErrors)
	}
	full := pl.String()
	if !strings.Contains(full, "more lines not kept") || !strings.Contains(full, "read failed") {
		t.Errorf("debug view lines lack the read failure or the limit note:\n%.300s", full)
	}
	want := cut(full, maxHistoryLogBytes)
	rec := probeRecord{facts: kept}
	if got := rec.logs(); got != want {
		t.Errorf("history lines differ from the debug view's cut at %d bytes: %d vs %d bytes", maxHistoryLogBytes, len(got), len(want))
	}
	if !strings.HasSuffix(want, "…(cut)") {
		t.Errorf("the test's probe is too small to be cut: %d bytes", len(full))
	}
}

// The "probe succeeded" line is debug level: below --log.level=debug it is
// not even offered to the logger (whose level filter comes after go-kit's
// context), and the debug view shows it whatever the level. Failures and
// recoveries are logged at every level that lets them through.
func TestProbeSucceededLineOnlyAtDebugLevel(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  int // "probe succeeded" lines in the log after two successful probes
	}{{"info", 0}, {"warn", 0}, {"debug", 2}, {"", 2}} {
		t.Run("level="+tc.level, func(t *testing.T) {
			env := newTestEnv(t, false, map[string]mock.Type{"a": mock.HK3}, func(o *exporterOptions) {
				o.logLevel, o.proberRepeat = tc.level, time.Hour
			})
			env.mocks["a"].Misbehave(mock.Misbehaviour{Kind: mock.HTTP500, Operation: "coolerState", Count: 1})
			for range 3 { // failed, recovered, succeeded
				if code, _ := env.get(t, "/probe?target=a", nil); code != http.StatusOK {
					t.Fatalf("HTTP %d", code)
				}
			}
			logs := env.logs.String()
			if got := strings.Count(logs, `msg="probe succeeded"`); got != tc.want {
				t.Errorf("%d \"probe succeeded\" lines, want %d:\n%s", got, tc.want, logs)
			}
			if strings.Count(logs, `msg="probe failed"`) != 1 || strings.Count(logs, `msg="probe succeeded again"`) != 1 {
				t.Errorf("want one failure and one recovery line:\n%s", logs)
			}
			if _, body := env.get(t, "/probe?target=a&debug=true", nil); !strings.Contains(body, `msg="probe succeeded"`) {
				t.Errorf("debug view without the probe's success line:\n%s", body)
			}
		})
	}
}
