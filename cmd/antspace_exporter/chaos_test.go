package main

// Chaos matrix at the HTTP level: every way a container controller can
// misbehave, probed through the exporter's real /probe route with the scrape
// timeout header Prometheus sends. Then the same matrix thousands of times to
// show goroutines return to their baseline, and huge bodies to show memory
// stays bounded.

import (
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
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// chaosScrapeTimeout is what the probes claim Prometheus' scrape timeout is;
// with newTestEnv's 0.5 s offset a probe may take 0.5 s.
const chaosScrapeTimeout = 1.0

// hugeBodySize is far above the client's body limit (DefaultMaxBodyBytes):
// the mock streams it and stops when the exporter hangs up.
const hugeBodySize = 256 << 20

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
}

func chaosMatrix(typ mock.Type) []chaosCase {
	noSuchFields := "none of the " + string(typ) + " fields"
	return []chaosCase{
		{name: "connection-refused", refused: true, logs: []string{`msg="probe failed"`, "connection refused"}},
		{name: "hang", m: mock.Misbehaviour{Kind: mock.Hang}, logs: []string{`msg="probe failed"`, "no answer before the probe timeout"}},
		{name: "slow-beyond-timeout", m: mock.Misbehaviour{Kind: mock.Slow, Delay: 5 * time.Second}, logs: []string{`msg="probe failed"`, "before the probe timeout"}},
		{name: "slow-within-timeout", m: mock.Misbehaviour{Kind: mock.Slow, Delay: 100 * time.Millisecond}, up: true, miners: true, logs: []string{`msg="probe succeeded"`}},
		{name: "http500", m: mock.Misbehaviour{Kind: mock.HTTP500}, logs: []string{`msg="probe failed"`, "HTTP status 500", "ERR_INTERNAL"}},
		{name: "http400", m: mock.Misbehaviour{Kind: mock.HTTP400}, logs: []string{`msg="probe failed"`, "HTTP status 400", "ERR_UNSUPPORTED"}},
		{name: "invalid-json", m: mock.Misbehaviour{Kind: mock.InvalidJSON}, logs: []string{`msg="probe failed"`, "invalid JSON"}},
		{name: "truncated-json", m: mock.Misbehaviour{Kind: mock.TruncatedJSON}, logs: []string{`msg="probe failed"`, "invalid JSON"}},
		{name: "wrong-types", m: mock.Misbehaviour{Kind: mock.WrongTypes}, up: true, miners: true, fieldErrors: -1,
			logs: []string{`msg="fields missing or unreadable"`, "object where a boolean is expected"}},
		{name: "nulls", m: mock.Misbehaviour{Kind: mock.Nulls}, fieldErrors: -1, fieldErrorsAtLeast: true,
			logs: []string{`msg="probe failed"`, noSuchFields, "null value", `msg="fields missing or unreadable"`}},
		{name: "huge-body", m: mock.Misbehaviour{Kind: mock.HugeBody, Size: hugeBodySize}, logs: []string{`msg="probe failed"`, "byte limit"}},
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
		{name: "minerinfo-hangs", m: mock.Misbehaviour{Kind: mock.Hang, Operation: payload.OpMinerInfo}, up: true,
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
	if maxBodyBytes > 0 {
		inv, err := os.ReadFile(env.config)
		if err != nil {
			t.Fatal(err)
		}
		limited := strings.ReplaceAll(string(inv), "{timeout: 2s}", fmt.Sprintf("{timeout: 2s, max_body_bytes: %d}", maxBodyBytes))
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
	for name, c := range cases {
		if c.refused {
			env.mocks[name].Close() // the port stays in the inventory, nobody listens
			continue
		}
		env.mocks[name].Misbehave(c.m)
	}
	return env, cases
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

func TestChaosMatrix(t *testing.T) {
	env, cases := chaosEnv(t, 0)
	client := &http.Client{Transport: &http.Transport{}}
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
			a, err := chaosProbe(client, env.server.URL, name, chaosScrapeTimeout)
			if err != nil {
				t.Fatalf("probe: %v (a panic in the handler drops the connection)", err)
			}
			if a.code != http.StatusOK {
				t.Fatalf("status %d: %s", a.code, a.text)
			}
			if limit := time.Duration(chaosScrapeTimeout * float64(time.Second)); a.elapsed >= limit {
				t.Errorf("answered after %v; Prometheus gives up at %v", a.elapsed, limit)
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
					if got <= 0 || got >= chaosScrapeTimeout {
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
	// A smaller body limit keeps the huge-body probes cheap; the limit
	// itself is TestChaosHugeBodyMemoryBounded's subject.
	env, cases := chaosEnv(t, 256<<10)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
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
	// probes fit in a few seconds even under -race on two cores:
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
				// Only catches a probe that outlives its timeout for good:
				// 8 concurrent probes on a 2-core CI machine under -race,
				// beside the rest of the suite, queue for CPU for seconds.
				// TestChaosMatrix checks the timeout itself.
				case a.elapsed > time.Duration(scrape*float64(time.Second))+5*time.Second:
					problem = fmt.Sprintf("took %v", a.elapsed)
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
	// Find retries until the goroutines of finished requests are gone.
	if err := goleak.Find(baseline); err != nil {
		t.Errorf("goroutines left after %d probes: %v", probes.Load(), err)
	}
}

// A container streaming a body far beyond the limit costs the exporter about
// the limit per probe, not the body: the client stops reading at the limit.
func TestChaosHugeBodyMemoryBounded(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"huge": mock.HK3})
	env.mocks["huge"].Misbehave(mock.Misbehaviour{Kind: mock.HugeBody, Size: hugeBodySize})
	client := &http.Client{Transport: &http.Transport{}}
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
	// -race); the mock in this process adds a little. Reading the body
	// would cost at least the body per operation.
	budget := uint64(hugeBodySize / 4)
	t.Logf("body %d MiB, limit %d MiB: %.1f MiB allocated per probe, heap in use %.1f -> %.1f MiB",
		hugeBodySize>>20, device.DefaultMaxBodyBytes>>20, float64(perProbe)/(1<<20),
		float64(m0.HeapInuse)/(1<<20), float64(m1.HeapInuse)/(1<<20))
	if perProbe > budget {
		t.Errorf("%d bytes allocated per probe, budget %d (body %d)", perProbe, budget, hugeBodySize)
	}
	if m1.HeapInuse > m0.HeapInuse+16<<20 {
		t.Errorf("heap in use grew by %d bytes over %d huge-body probes", m1.HeapInuse-m0.HeapInuse, n)
	}
	if !strings.Contains(env.logs.String(), "byte limit") {
		t.Errorf("no log line names the body limit:\n%s", env.logs.String())
	}
}
