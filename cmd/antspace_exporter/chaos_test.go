package main

// Chaos matrix at the HTTP level: every way a container controller can
// misbehave, probed through the exporter's real /probe route with the scrape
// timeout header Prometheus sends. Then the same matrix thousands of times to
// show goroutines return to their baseline, and huge bodies to show memory
// stays bounded.
//
// No test here races the clock (docs/testing.md): in the matrix each probe's
// deadline passes when the test expires it (testutil.ManualDeadline), after
// the container has the requests in hand, so "the probe stops at its
// deadline" and "the body limit ends the probe, not the deadline" are checked
// by the reason the probe gives, whatever the machine's load.
// TestProbeAnswersBeforePrometheusGivesUp keeps one real-time check, with a
// 10x margin.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// chaosScrapeTimeout is what the probes claim Prometheus' scrape timeout is;
// with newTestEnv's 0.5 s offset the handler gives a probe 0.5 s, which the
// matrix checks in antspace_probe_timeout_seconds (the deadline itself is the
// test's, see probeDeadlines).
const chaosScrapeTimeout = 1.0

// chaosBodyLimit is the modules' max_body_bytes in the chaos tests: small, so
// that exceeding it takes no time even under -race on a loaded machine.
const chaosBodyLimit = 64 << 10

// hugeBodySize is far above chaosBodyLimit (and DefaultMaxBodyBytes): the
// mock streams it and stops when the exporter hangs up.
const hugeBodySize = 64 << 20

// forever is a Slow delay no probe waits out: the probe's deadline ends it.
const forever = time.Hour

type chaosCase struct {
	name string
	// m is applied to the container; refused closes the container instead.
	m       mock.Misbehaviour
	refused bool
	up      bool
	miners  bool
	// fieldErrors is the exact antspace_probe_field_errors, or with
	// fieldErrorsAtLeast a lower bound. -1 derives it from the payload:
	// the number of known fields the device sends as JSON booleans (wrong
	// types turns exactly those into objects; numbers become strings, which
	// parse).
	fieldErrors        int
	fieldErrorsAtLeast bool
	// logs are substrings of the log lines for this target.
	logs []string
	// body holds extra substrings of the exposition.
	body []string
	// expireWhen, when set, is the moment the test lets the probe's deadline
	// pass; the probe must not answer before. Unset: the deadline never
	// passes, so whatever ends the probe is not the clock.
	expireWhen func(env *testEnv, name string) (bool, string)
}

// requestsArrived: both read operations reached the container, which holds
// them (hang, or slow beyond any deadline).
func requestsArrived(env *testEnv, name string) (bool, string) {
	m := env.mocks[name]
	c, mi := m.Reads(payload.OpCoolerState), m.Reads(payload.OpMinerInfo)
	return c >= 1 && mi >= 1, fmt.Sprintf("coolerState %d, minerInfo %d requests at the container", c, mi)
}

// coolerReadMinerHeld: the exporter has read coolerState to the end while the
// container holds minerInfo.
func coolerReadMinerHeld(env *testEnv, name string) (bool, string) {
	mi := env.mocks[name].Reads(payload.OpMinerInfo)
	done := env.bodies.Closed(env.mocks[name].Addr(), payload.OpCoolerState)
	return mi >= 1 && done >= 1, fmt.Sprintf("minerInfo %d requests at the container, %d coolerState answers read", mi, done)
}

func chaosMatrix(typ mock.Type) []chaosCase {
	noSuchFields := "none of the " + string(typ) + " fields"
	return []chaosCase{
		{name: "connection-refused", refused: true, logs: []string{`msg="probe failed"`, "connection refused"}},
		{name: "hang", m: mock.Misbehaviour{Kind: mock.Hang}, expireWhen: requestsArrived,
			logs: []string{`msg="probe failed"`, "coolerState: no answer before the probe timeout"}},
		{name: "slow-beyond-timeout", m: mock.Misbehaviour{Kind: mock.Slow, Delay: forever}, expireWhen: requestsArrived,
			logs: []string{`msg="probe failed"`, "coolerState: no answer before the probe timeout"}},
		{name: "slow-within-timeout", m: mock.Misbehaviour{Kind: mock.Slow, Delay: 100 * time.Millisecond}, up: true, miners: true, logs: []string{`msg="probe succeeded"`}},
		{name: "http500", m: mock.Misbehaviour{Kind: mock.HTTP500}, logs: []string{`msg="probe failed"`, "HTTP status 500", "ERR_INTERNAL"}},
		{name: "http400", m: mock.Misbehaviour{Kind: mock.HTTP400}, logs: []string{`msg="probe failed"`, "HTTP status 400", "ERR_UNSUPPORTED"}},
		{name: "invalid-json", m: mock.Misbehaviour{Kind: mock.InvalidJSON}, logs: []string{`msg="probe failed"`, "invalid JSON"}},
		{name: "truncated-json", m: mock.Misbehaviour{Kind: mock.TruncatedJSON}, logs: []string{`msg="probe failed"`, "invalid JSON"}},
		{name: "wrong-types", m: mock.Misbehaviour{Kind: mock.WrongTypes}, up: true, miners: true, fieldErrors: -1,
			logs: []string{`msg="fields missing or unreadable"`, "object where a boolean is expected"}},
		{name: "nulls", m: mock.Misbehaviour{Kind: mock.Nulls}, fieldErrors: -1, fieldErrorsAtLeast: true,
			logs: []string{`msg="probe failed"`, noSuchFields, "null value", `msg="fields missing or unreadable"`}},
		{name: "huge-body", m: mock.Misbehaviour{Kind: mock.HugeBody, Size: hugeBodySize},
			logs: []string{`msg="probe failed"`, fmt.Sprintf("coolerState: body larger than the %d-byte limit", chaosBodyLimit)}},
		{name: "ok-false", m: mock.Misbehaviour{Kind: mock.NotOK}, logs: []string{`msg="probe failed"`, "ok:false"}},
		{name: "params-null", m: mock.Misbehaviour{Kind: mock.ParamsNull}, logs: []string{`msg="probe failed"`, "no params"}},
		// ok:false with params: exported, and flagged (issue #12).
		{name: "ok-false-params", m: mock.Misbehaviour{Kind: mock.NotOKParams}, up: true, miners: true,
			logs: []string{"answered ok:false", "coolerState,minerInfo"},
			body: []string{`antspace_controller_ok{operation="coolerState"} 0`, `antspace_controller_ok{operation="minerInfo"} 0`}},
		// A controller that breaks HTTP itself (issue #12, finding 1).
		{name: "header-flood", m: mock.Misbehaviour{Kind: mock.HeaderFlood}, logs: []string{`msg="probe failed"`, "controller response refused: more than 256 header lines"}},
		{name: "endless-header-line", m: mock.Misbehaviour{Kind: mock.EndlessHeaderLine}, logs: []string{`msg="probe failed"`, "header line longer than 16384 bytes"}},
		{name: "endless-status-line", m: mock.Misbehaviour{Kind: mock.EndlessStatusLine}, logs: []string{`msg="probe failed"`, "status line longer than 4096 bytes"}},
		{name: "informational-flood", m: mock.Misbehaviour{Kind: mock.InformationalFlood}, logs: []string{`msg="probe failed"`, "more than 5 informational (1xx) responses"}},
		{name: "switching-protocols", m: mock.Misbehaviour{Kind: mock.SwitchingProtocols}, logs: []string{`msg="probe failed"`, "101 Switching Protocols"}},
		{name: "huge-content-length", m: mock.Misbehaviour{Kind: mock.HugeContentLength}, logs: []string{`msg="probe failed"`, "byte limit (Content-Length 1099511627776)"}},
		{name: "trailer-flood", m: mock.Misbehaviour{Kind: mock.TrailerFlood}, logs: []string{`msg="probe failed"`, "trailer"}},
		{name: "minerinfo-fails", m: mock.Misbehaviour{Kind: mock.HTTP500, Operation: payload.OpMinerInfo}, up: true,
			logs: []string{`msg="minerInfo failed; cooling telemetry is still reported"`, "minerInfo: HTTP status 500"}},
		{name: "minerinfo-hangs", m: mock.Misbehaviour{Kind: mock.Hang, Operation: payload.OpMinerInfo}, up: true, expireWhen: coolerReadMinerHeld,
			logs: []string{`msg="minerInfo failed; cooling telemetry is still reported"`, "minerInfo: no answer before the probe timeout"}},
		{name: "extra-fields", m: mock.Misbehaviour{Kind: mock.ExtraFields}, up: true, miners: true, logs: []string{`msg="probe succeeded"`},
			body: []string{`antspace_unknown_field_value{field="` + mock.ExtraNumberField + `"} 42.5`, `antspace_unknown_field_value{field="` + mock.ExtraBoolField + `"} 1`}},
	}
}

// chaosEnv starts one mock container per (type, case), misbehaving as the
// case says, behind one exporter.
func chaosEnv(t *testing.T, maxBodyBytes int64) (*testEnv, map[string]chaosCase) {
	t.Helper()
	containers := map[string]mock.Type{}
	cases := map[string]chaosCase{}
	for _, typ := range []mock.Type{mock.HK3, mock.Immersion} {
		for _, c := range chaosMatrix(typ) {
			name := string(typ) + "-" + c.name
			containers[name] = typ
			cases[name] = c
		}
	}
	env := newTestEnv(t, false, containers)
	// Close the containers before the exporter's server: a probe that a
	// broken exporter would let hang on a container for good is then
	// released, and the test fails instead of waiting in Close.
	t.Cleanup(func() {
		for _, m := range env.mocks {
			m.Close()
		}
	})
	if maxBodyBytes > 0 {
		setBodyLimit(t, env, maxBodyBytes)
	}
	for name, c := range cases {
		if c.refused {
			// The port stays in the inventory and is held without a
			// listener: on a busy machine a freed port may be taken by
			// another process's server, which would answer.
			env.mocks[name].Close()
			testutil.RefuseConnections(t, env.mocks[name].Addr())
			continue
		}
		env.mocks[name].Misbehave(c.m)
	}
	return env, cases
}

// setBodyLimit sets max_body_bytes on newTestEnv's modules.
func setBodyLimit(t *testing.T, env *testEnv, maxBodyBytes int64) {
	t.Helper()
	inv, err := os.ReadFile(env.config)
	if err != nil {
		t.Fatal(err)
	}
	limited := strings.ReplaceAll(string(inv), "{timeout: "+testModuleTimeout+"}", fmt.Sprintf("{timeout: %s, max_body_bytes: %d}", testModuleTimeout, maxBodyBytes))
	if limited == string(inv) {
		t.Fatal("newTestEnv's modules changed; cannot set max_body_bytes")
	}
	if err := os.WriteFile(env.config, []byte(limited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := env.exp.reload(); err != nil {
		t.Fatal(err)
	}
}

// boolFieldsSent counts the known fields of a type that the mock sends as JSON
// booleans in coolerState, and the known coolerState fields it sends at all.
func boolFieldsSent(t *testing.T, typ mock.Type) (bools, known int) {
	t.Helper()
	c, err := mock.NewContainer(mock.Options{Type: typ, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cooler?operation="+payload.OpCoolerState, nil))
	var env struct {
		Params map[string]any `json:"params"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	required, optional := collector.FieldNames(collector.Type(typ))
	for _, f := range append(required, optional...) {
		v, ok := env.Params[f]
		if !ok {
			continue
		}
		known++
		if _, isBool := v.(bool); isBool {
			bools++
		}
	}
	return bools, known
}

type probeAnswer struct {
	code    int
	elapsed time.Duration
	values  map[string]float64 // unlabelled antspace_* gauges
	text    string
}

func chaosProbe(client *http.Client, base, target string, scrapeTimeout float64) (*probeAnswer, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/probe?target="+target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(scrapeTimeoutHeader, strconv.FormatFloat(scrapeTimeout, 'f', -1, 64))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	a := &probeAnswer{code: resp.StatusCode, elapsed: time.Since(start), text: string(body), values: map[string]float64{}}
	if err != nil {
		return a, err
	}
	if resp.StatusCode != http.StatusOK {
		return a, nil
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(a.text))
	if err != nil {
		return a, fmt.Errorf("exposition does not parse: %w", err)
	}
	for name, mf := range mfs {
		if len(mf.GetMetric()) == 1 && len(mf.GetMetric()[0].GetLabel()) == 0 {
			a.values[name] = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return a, nil
}

// logLinesFor returns the log lines about one target.
func logLinesFor(logs, target string) []string {
	var out []string
	for l := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(l, "target="+target+" ") {
			out = append(out, l)
		}
	}
	return out
}

// probeDeadlines replaces the probe handler's context.WithTimeout: every
// probe runs with a testutil.ManualDeadline, expired by the test. The timeout
// the handler derived from the scrape timeout header still shows in
// antspace_probe_timeout_seconds.
type probeDeadlines struct {
	mu     sync.Mutex
	expire map[string][]func() // by target
}

func installProbeDeadlines(h *probeHandler) *probeDeadlines {
	d := &probeDeadlines{expire: map[string][]func(){}}
	h.deadline = func(parent context.Context, r *http.Request, _ time.Duration) (context.Context, context.CancelFunc) {
		ctx, expire, cancel := testutil.ManualDeadline(parent)
		target := r.URL.Query().Get("target")
		d.mu.Lock()
		d.expire[target] = append(d.expire[target], expire)
		d.mu.Unlock()
		return ctx, cancel
	}
	return d
}

// expireFor lets the deadline of every probe of target started so far pass.
func (d *probeDeadlines) expireFor(t *testing.T, target string) {
	t.Helper()
	d.mu.Lock()
	expire := d.expire[target]
	d.mu.Unlock()
	if len(expire) == 0 {
		t.Fatalf("no probe of %s started", target)
	}
	for _, e := range expire {
		e()
	}
}

// TestChaosMatrix: every misbehaviour ends the probe with the right outcome
// and for the right reason. The deadline passes only where the case says so,
// after the container holds the requests; everywhere else it never passes,
// so a body limit or an error is what ended the probe, not the clock.
func TestChaosMatrix(t *testing.T) {
	env, cases := chaosEnv(t, chaosBodyLimit)
	deadlines := installProbeDeadlines(env.exp.probe)
	env.bodies = testutil.WatchBodies(env.exp.client.HTTP)
	client := &http.Client{Transport: &http.Transport{}, Timeout: testutil.Patience}
	t.Cleanup(client.CloseIdleConnections)
	derived := map[mock.Type][2]int{}
	for _, typ := range []mock.Type{mock.HK3, mock.Immersion} {
		b, k := boolFieldsSent(t, typ)
		if b == 0 {
			t.Fatalf("%s: the mock sends no boolean fields; the wrong-types case would test nothing", typ)
		}
		derived[typ] = [2]int{b, k}
	}

	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			typ := mock.HK3
			if strings.HasPrefix(name, string(mock.Immersion)) {
				typ = mock.Immersion
			}
			type result struct {
				a   *probeAnswer
				err error
			}
			answer := make(chan result, 1)
			go func() {
				a, err := chaosProbe(client, env.server.URL, name, chaosScrapeTimeout)
				answer <- result{a, err}
			}()
			if c.expireWhen != nil {
				testutil.Eventually(t, testutil.Patience, "the container to hold the probe", func() (bool, string) { return c.expireWhen(env, name) })
				select {
				case r := <-answer:
					t.Fatalf("the probe answered before its deadline passed: %v %+v", r.err, r.a)
				default:
				}
				deadlines.expireFor(t, name)
			}
			r := <-answer
			a, err := r.a, r.err
			if err != nil {
				t.Fatalf("probe: %v (a panic in the handler drops the connection)", err)
			}
			if a.code != http.StatusOK {
				t.Fatalf("status %d: %s", a.code, a.text)
			}
			want := map[string]float64{
				"antspace_up":                     b2f(c.up),
				"antspace_miner_info_success":     b2f(c.miners),
				"antspace_probe_timeout_seconds":  chaosScrapeTimeout - 0.5,
				"antspace_probe_field_errors":     float64(c.fieldErrors),
				"antspace_probe_duration_seconds": -1, // present; checked below
			}
			switch c.name {
			case "wrong-types":
				want["antspace_probe_field_errors"] = float64(derived[typ][0])
			case "nulls":
				want["antspace_probe_field_errors"] = float64(derived[typ][1])
			}
			for metric, v := range want {
				got, ok := a.values[metric]
				switch {
				case !ok:
					t.Errorf("%s missing", metric)
				case metric == "antspace_probe_duration_seconds":
					if got <= 0 {
						t.Errorf("%s = %v", metric, got)
					}
				case metric == "antspace_probe_field_errors" && c.fieldErrorsAtLeast:
					if got < v {
						t.Errorf("%s = %v, want at least %v (every known field sent is null)", metric, got, v)
					}
				case got != v:
					t.Errorf("%s = %v, want %v", metric, got, v)
				}
			}
			for _, s := range c.body {
				if !strings.Contains(a.text, s) {
					t.Errorf("exposition lacks %s", s)
				}
			}
			if c.up && !strings.Contains(a.text, `antspace_container_info{`) {
				t.Error("up but no antspace_container_info")
			}
			if !c.up && strings.Contains(a.text, "antspace_temperature_celsius{") {
				t.Error("down but device series exported")
			}
			if !c.miners && strings.Contains(a.text, "antspace_miner_hashrate_hashes_per_second{") {
				t.Error("minerInfo failed but per-miner series exported")
			}
			// The log line is written before the answer; no need to poll.
			lines := strings.Join(logLinesFor(env.logs.String(), name), "\n")
			for _, s := range c.logs {
				if !strings.Contains(lines, s) {
					t.Errorf("no log line with %q for target %s:\n%s", s, name, lines)
				}
			}
			if c.expireWhen == nil && strings.Contains(lines, "probe timeout") {
				t.Errorf("the probe of %s ended on its deadline, which never passed:\n%s", name, lines)
			}
		})
	}
}

// The real-time side of the deadline: a probe of a container that holds
// the requests answers before Prometheus gives up. The scrape timeout header
// says 5 s and the offset is 4.5 s, so the probe has 0.5 s: the answer has
// ten times what the code needs. TestChaosMatrix proves the same cases end on
// their deadline without a clock.
func TestProbeAnswersBeforePrometheusGivesUp(t *testing.T) {
	const scrape, offset = 5.0, 4.5
	cases := map[string]mock.Misbehaviour{
		"hang":                {Kind: mock.Hang},
		"slow-beyond-timeout": {Kind: mock.Slow, Delay: forever},
		"minerinfo-hangs":     {Kind: mock.Hang, Operation: payload.OpMinerInfo},
	}
	containers := map[string]mock.Type{}
	for name := range cases {
		containers[name] = mock.HK3
	}
	env := newTestEnv(t, false, containers, func(o *exporterOptions) { o.timeoutOffset = offset })
	client := &http.Client{Transport: &http.Transport{}, Timeout: testutil.Patience}
	t.Cleanup(client.CloseIdleConnections)
	for name, m := range cases {
		env.mocks[name].Misbehave(m)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, err := chaosProbe(client, env.server.URL, name, scrape)
			if err != nil || a.code != http.StatusOK {
				t.Fatalf("probe: %v %+v", err, a)
			}
			if got := a.values["antspace_probe_timeout_seconds"]; got != scrape-offset {
				t.Errorf("antspace_probe_timeout_seconds %v, want %v", got, scrape-offset)
			}
			if limit := time.Duration(scrape * float64(time.Second)); a.elapsed >= limit {
				t.Errorf("answered after %v; Prometheus gives up at %v", a.elapsed, limit)
			}
			if !strings.Contains(strings.Join(logLinesFor(env.logs.String(), name), "\n"), "no answer before the probe timeout") {
				t.Errorf("the log does not say the probe timeout ended it:\n%s", env.logs.String())
			}
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Thousands of probes across the matrix, many in parallel: every answer in
// time, and afterwards no goroutine more than before (the exporter's idle
// keep-alive connections closed first: they are goroutines by design).
// The mock containers stay up for the check, so a probe goroutine stuck on a
// device read would show here rather than be released by the mock closing.
func TestChaosNoGoroutineLeak(t *testing.T) {
	// A small body limit keeps the huge-body probes cheap; the limit
	// itself is TestChaosHugeBodyMemoryBounded's subject.
	env, cases := chaosEnv(t, chaosBodyLimit)
	// Patience turns a probe that never ends into an error instead of a hung
	// test; how long probes take is not this test's subject.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: testutil.Patience}
	defer client.CloseIdleConnections()
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}

	settle := func() {
		client.CloseIdleConnections()
		env.exp.client.HTTP.CloseIdleConnections()
	}
	settle()
	baseline := goleak.IgnoreCurrent()
	before := runtime.NumGoroutine()

	// The probes that wait out their timeout (or 100 ms) and the huge
	// bodies get fewer rounds than the quick failures, so that about 2000
	// probes fit in a few seconds under -race on two idle cores:
	// 8×10 + 2×20 + 22×85 = 1990.
	rounds := func(c chaosCase) int {
		switch c.m.Kind {
		case mock.Hang, mock.Slow:
			return 10
		case mock.HugeBody:
			return 20
		}
		return 85
	}
	if testing.Short() {
		rounds = func(chaosCase) int { return 5 }
	}
	var jobs []string // round-robin over the containers
	for round := 0; ; round++ {
		added := false
		for _, name := range names {
			if round < rounds(cases[name]) {
				jobs = append(jobs, name)
				added = true
			}
		}
		if !added {
			break
		}
	}
	const workers = 8
	const scrape = 0.25 // offset 0.5 > 0.25: the probe runs with the scrape timeout itself
	var (
		probes   atomic.Int64
		failures atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		errs     []string
	)
	start := time.Now()
	var next atomic.Int64
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				name := jobs[i]
				probes.Add(1)
				a, err := chaosProbe(client, env.server.URL, name, scrape)
				var problem string
				switch {
				case err != nil:
					problem = err.Error()
				case a.code != http.StatusOK:
					problem = fmt.Sprintf("status %d", a.code)
				case len(a.values) == 0 || a.values["antspace_up"] > b2f(cases[name].up):
					// Under this load any probe may time out (up 0),
					// but a misbehaving container is never up.
					problem = fmt.Sprintf("antspace_up %v", a.values["antspace_up"])
				}
				if problem != "" {
					failures.Add(1)
					mu.Lock()
					if len(errs) < 10 {
						errs = append(errs, name+": "+problem)
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d probes across %d misbehaving containers in %v; %d goroutines before, %d after the probes",
		probes.Load(), len(names), time.Since(start).Round(time.Millisecond), before, runtime.NumGoroutine())
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d probes failed, e.g.:\n%s", n, probes.Load(), strings.Join(errs, "\n"))
	}

	settle()
	// The goroutines of finished requests end as their connections close,
	// which on a loaded machine takes longer than goleak's own retries:
	// NoLeaks waits up to testutil.Patience for them.
	testutil.NoLeaks(t, baseline)
}

// A container streaming a body far beyond the limit costs the exporter about
// the limit per probe, not the body: the client stops reading at the limit.
// The limit is small (64 KiB against a 64 MiB body) so that reaching it takes
// no time under any load, and the probe's deadline never passes
// (probeDeadlines): the limit, not the clock, must end every probe.
func TestChaosHugeBodyMemoryBounded(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"huge": mock.HK3})
	setBodyLimit(t, env, chaosBodyLimit)
	installProbeDeadlines(env.exp.probe)
	env.mocks["huge"].Misbehave(mock.Misbehaviour{Kind: mock.HugeBody, Size: hugeBodySize})
	client := &http.Client{Transport: &http.Transport{}, Timeout: testutil.Patience}
	defer client.CloseIdleConnections()

	probeOnce := func() {
		a, err := chaosProbe(client, env.server.URL, "huge", 5)
		if err != nil || a.code != 200 || a.values["antspace_up"] != 0 {
			t.Fatalf("probe: %v %+v", err, a)
		}
	}
	probeOnce() // warm up pools and connections
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	const n = 10
	for range n {
		probeOnce()
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)

	perProbe := (m1.TotalAlloc - m0.TotalAlloc) / n
	// Two operations (coolerState, minerInfo), each reading at most limit+1
	// bytes into a growing buffer (a few times the limit in all, more under
	// -race), and the probe's own work; the mock in this process adds a
	// little. Reading the body would cost at least the body per operation.
	budget := uint64(hugeBodySize / 16)
	t.Logf("body %d MiB, limit %d KiB: %.2f MiB allocated per probe, heap in use %.1f -> %.1f MiB",
		hugeBodySize>>20, chaosBodyLimit>>10, float64(perProbe)/(1<<20),
		float64(m0.HeapInuse)/(1<<20), float64(m1.HeapInuse)/(1<<20))
	if perProbe > budget {
		t.Errorf("%d bytes allocated per probe, budget %d (body %d)", perProbe, budget, hugeBodySize)
	}
	if m1.HeapInuse > m0.HeapInuse+16<<20 {
		t.Errorf("heap in use grew by %d bytes over %d huge-body probes", m1.HeapInuse-m0.HeapInuse, n)
	}
	want := fmt.Sprintf("body larger than the %d-byte limit", chaosBodyLimit)
	if got := strings.Count(env.logs.String(), want); got != n+1 {
		t.Errorf("%d log lines say %q, want one per probe (%d):\n%s", got, want, n+1, env.logs.String())
	}
}
