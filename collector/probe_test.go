package collector_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
	"github.com/antspace-exporter/antspace_exporter/mock/mocktest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var epoch = mocktest.Epoch

// startMock starts a mock container on loopback for the test's lifetime.
func startMock(t *testing.T, o mock.Options) *mock.Server {
	t.Helper()
	return mocktest.Start(t, o)
}

func newClient() *device.Client { return device.NewClient("antspace_exporter/test", 2) }

// probe reads a healthy or failing (not hanging) device. timeout is what the
// result reports (the golden files show it); the probe itself gets
// testutil.Patience, so that a loaded machine never turns it into a timeout.
func probe(t *testing.T, addr string, s collector.Settings, timeout time.Duration) *collector.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	res := collector.Probe(ctx, newClient(), addr, s)
	res.Duration, res.Timeout = 1500*time.Millisecond, timeout // fixed for the golden files
	return res
}

func exposition(t *testing.T, c prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return gatherTextFrom(t, reg)
}

// gatherTextFrom renders what g gathers in the text format.
func gatherTextFrom(t *testing.T, g prometheus.Gatherer) []byte {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// A full probe of each type against the mock matches the golden exposition
// and is lint-clean.
func TestProbeGolden(t *testing.T) {
	for _, tc := range []struct {
		golden   string
		typ      mock.Type
		settings collector.Settings
	}{
		{"hk3.prom", mock.HK3, collector.Settings{Module: "hk3", Type: collector.TypeHK3}},
		{"immersion.prom", mock.Immersion, collector.Settings{Module: "immersion", Type: collector.TypeImmersion}},
		{"immersion_auto.prom", mock.Immersion, collector.Settings{}},
		{"hk3_auto.prom", mock.HK3, collector.Settings{}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			srv := startMock(t, mock.Options{Name: "golden", Type: tc.typ})
			res := probe(t, srv.Addr(), tc.settings, 5*time.Second)
			if !res.Up() || res.MinerErr != nil || len(res.FieldErrors) > 0 {
				t.Fatalf("probe: err=%v minerErr=%v fieldErrors=%v", res.Err, res.MinerErr, res.FieldErrors)
			}
			if res.Type != collector.Type(tc.typ) {
				t.Errorf("type = %q, want %q", res.Type, tc.typ)
			}
			got := exposition(t, res)
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./collector -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("exposition differs from %s (go test ./collector -update rewrites it):\n%s", path, diffLines(string(want), string(got)))
			}
			problems, err := promtestutil.CollectAndLint(res)
			if err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %v", err, problems)
			}
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for _, l := range g {
		if !slices.Contains(w, l) {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range w {
		if !slices.Contains(g, l) {
			out = append(out, "- "+l)
		}
	}
	if len(out) > 40 {
		out = append(out[:40], "…")
	}
	return strings.Join(out, "\n")
}

// Every field the device sends is consumed by the table: a normal probe has
// no unknown fields and no field errors, and the table lists exactly the
// fields of the protocol (as the mock, checked against the protocol page,
// sends them).
func TestFieldTableMatchesDevice(t *testing.T) {
	for _, typ := range []mock.Type{mock.HK3, mock.Immersion} {
		fs := mock.Fields(typ)
		required, optional := collector.FieldNames(collector.Type(typ))
		want := slices.Sorted(slices.Values(fs.All()))
		if !slices.Equal(required, want) {
			t.Errorf("%s: table fields %v\nprotocol fields %v", typ, required, want)
		}
		for _, f := range fs.OptionalFaults {
			if !slices.Contains(optional, f) {
				t.Errorf("%s: optional field %s not in the table", typ, f)
			}
		}
	}
}

// Optional fields (power_relay_fault, cumulative energy) are exported when a
// unit sends them.
func TestOptionalFieldsExported(t *testing.T) {
	srv := startMock(t, mock.Options{Type: mock.HK3, Overrides: map[string]any{
		"power_relay_fault": true, "liquid_level_high": false, "power_a_distribution": 1234.5, "power_b_distribution": 10,
	}})
	res := probe(t, srv.Addr(), collector.Settings{Type: collector.TypeHK3}, 5*time.Second)
	if !res.Up() {
		t.Fatal(res.Err)
	}
	text := string(exposition(t, res))
	for _, want := range []string{
		`antspace_fault_active{component="power_relay",fault="power_relay_fault"} 1`,
		`antspace_fault_active{component="tank",fault="liquid_level_high"} 0`,
		`antspace_energy_joules_total{source="distribution_a"} 4.4442e+09`,
		`antspace_energy_joules_total{source="distribution_b"} 3.6e+07`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
}

// Module scales override the default conversion factor of a field.
func TestScalesOverride(t *testing.T) {
	srv := startMock(t, mock.Options{Type: mock.Immersion, Overrides: map[string]any{"distribution_box_power": 2500.0, "power_distribution": 7.7}})
	res := probe(t, srv.Addr(), collector.Settings{Type: collector.TypeImmersion, Scales: map[string]float64{"distribution_box_power": 1}}, 5*time.Second)
	text := string(exposition(t, res))
	for _, want := range []string{
		`antspace_power_watts{source="distribution_box"} 2500`,
		`antspace_power_watts{source="power_distribution"} 7700`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, grepLines(text, "power_watts"))
		}
	}
}

// Tolerant parsing: words and numbers for flags; one unparseable field is
// reported and the rest of the container still is.
func TestTolerantFieldsAndFieldErrors(t *testing.T) {
	srv := startMock(t, mock.Options{Type: mock.HK3, Overrides: map[string]any{
		"running_mode": "auto", "pid_mode": "enabled", "fan1": 1, "supply_liquid_temp": "31.5",
		"spray_pump": map[string]any{"x": 1}, "latitude_direction": "N",
	}})
	res := probe(t, srv.Addr(), collector.Settings{Type: collector.TypeHK3}, 5*time.Second)
	if !res.Up() {
		t.Fatal(res.Err)
	}
	text := string(exposition(t, res))
	for _, want := range []string{
		"antspace_running_mode_enabled 1",
		"antspace_pid_mode_enabled 1",
		`antspace_component_running{component="fan1"} 1`,
		`antspace_temperature_celsius{sensor="supply_liquid"} 31.5`,
		`latitude_direction="N"`,
		"antspace_probe_field_errors 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(text, `antspace_component_running{component="spray_pump"}`) {
		t.Error("unparseable spray_pump must not be exported")
	}
	if len(res.FieldErrors) != 1 || res.FieldErrors[0].Field != "spray_pump" || !strings.Contains(res.FieldErrors[0].Reason, "object") {
		t.Errorf("field errors = %v, want one for spray_pump naming the object", res.FieldErrors)
	}
}

func grepLines(text, substr string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// readsDone is a collector.Reader that counts the reads of each operation
// that have returned.
type readsDone struct {
	collector.Reader
	mu sync.Mutex
	n  map[string]int
}

func (r *readsDone) Read(ctx context.Context, address, operation string, maxBodyBytes int64) (*payload.Envelope, error) {
	env, err := r.Reader.Read(ctx, address, operation, maxBodyBytes)
	r.mu.Lock()
	r.n[operation]++
	r.mu.Unlock()
	return env, err
}

func (r *readsDone) done(operation string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[operation]
}

// Each misbehaviour of the device gives the documented outcome for the
// documented reason. The probe's deadline passes only where the case says,
// when the test expires it (testutil.ManualDeadline) after the device holds
// the requests; the probe must not have returned before. Everywhere else the
// deadline never passes, so it cannot be what ended the probe. The body
// limit is 64 KiB against a 64 MiB body: exceeding it takes no time.
func TestProbeMisbehaviour(t *testing.T) {
	const limit = 64 << 10
	bothHeld := func(srv *mock.Server, _ *readsDone) bool {
		return srv.Reads(payload.OpCoolerState) >= 1 && srv.Reads(payload.OpMinerInfo) >= 1
	}
	coolerDoneMinerHeld := func(srv *mock.Server, rd *readsDone) bool {
		return rd.done(payload.OpCoolerState) >= 1 && srv.Reads(payload.OpMinerInfo) >= 1
	}
	for _, tc := range []struct {
		name       string
		m          mock.Misbehaviour
		up, miners bool
		reason     string // in Err (or MinerErr when up)
		fieldErrs  bool
		// expireWhen: the moment the deadline passes; nil: never.
		expireWhen func(*mock.Server, *readsDone) bool
	}{
		{name: "hang", m: mock.Misbehaviour{Kind: mock.Hang}, reason: "coolerState: no answer before the probe timeout", expireWhen: bothHeld},
		{name: "slow beyond timeout", m: mock.Misbehaviour{Kind: mock.Slow, Delay: time.Hour}, reason: "coolerState: no answer before the probe timeout", expireWhen: bothHeld},
		{name: "slow within timeout", m: mock.Misbehaviour{Kind: mock.Slow, Delay: 50 * time.Millisecond}, up: true, miners: true},
		{name: "http 500", m: mock.Misbehaviour{Kind: mock.HTTP500}, reason: "HTTP status 500"},
		{name: "http 400", m: mock.Misbehaviour{Kind: mock.HTTP400}, reason: "HTTP status 400"},
		{name: "invalid json", m: mock.Misbehaviour{Kind: mock.InvalidJSON}, reason: "invalid JSON"},
		{name: "truncated json", m: mock.Misbehaviour{Kind: mock.TruncatedJSON}, reason: "invalid JSON"},
		{name: "ok false", m: mock.Misbehaviour{Kind: mock.NotOK}, reason: "ok:false"},
		{name: "params null", m: mock.Misbehaviour{Kind: mock.ParamsNull}, reason: "no params"},
		{name: "nulls", m: mock.Misbehaviour{Kind: mock.Nulls}, reason: "none of the hk3 fields", fieldErrs: true},
		{name: "huge body", m: mock.Misbehaviour{Kind: mock.HugeBody, Size: 64 << 20}, reason: "coolerState: body larger than the 65536-byte limit"},
		{name: "wrong types", m: mock.Misbehaviour{Kind: mock.WrongTypes}, up: true, miners: true, fieldErrs: true},
		{name: "extra fields", m: mock.Misbehaviour{Kind: mock.ExtraFields}, up: true, miners: true},
		{name: "minerInfo only fails", m: mock.Misbehaviour{Kind: mock.HTTP500, Operation: "minerInfo"}, up: true, reason: "minerInfo: HTTP status 500"},
		{name: "minerInfo hangs", m: mock.Misbehaviour{Kind: mock.Hang, Operation: "minerInfo"}, up: true, reason: "minerInfo: no answer before the probe timeout", expireWhen: coolerDoneMinerHeld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startMock(t, mock.Options{Type: mock.HK3})
			srv.Misbehave(tc.m)
			client := newClient()
			t.Cleanup(client.HTTP.CloseIdleConnections)
			rd := &readsDone{Reader: client, n: map[string]int{}}
			ctx, expire, cancel := testutil.ManualDeadline(context.Background())
			defer cancel()
			done := make(chan *collector.Result, 1)
			go func() {
				done <- collector.Probe(ctx, rd, srv.Addr(), collector.Settings{Type: collector.TypeHK3, MaxBodyBytes: limit})
			}()
			var res *collector.Result
			if tc.expireWhen != nil {
				testutil.WaitFor(t, testutil.Patience, 2*time.Millisecond, "the device to hold the probe", func() bool { return tc.expireWhen(srv, rd) })
				select {
				case r := <-done:
					t.Fatalf("the probe returned before its deadline passed: %v / %v", r.Err, r.MinerErr)
				default:
				}
				expire()
			}
			select {
			case res = <-done:
			case <-time.After(testutil.Patience):
				t.Fatalf("the probe did not return within %v", testutil.Patience)
			}
			res.Duration, res.Timeout = 1500*time.Millisecond, time.Second
			if res.Up() != tc.up {
				t.Errorf("up = %v (err %v), want %v", res.Up(), res.Err, tc.up)
			}
			if (res.MinerErr == nil) != tc.miners {
				t.Errorf("minerInfo success = %v (err %v), want %v", res.MinerErr == nil, res.MinerErr, tc.miners)
			}
			if tc.reason != "" {
				err := res.Err
				if tc.up {
					err = res.MinerErr
				}
				if err == nil || !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("reason = %v, want containing %q", err, tc.reason)
				}
			}
			// Which reason ended it, by type: the deadline only where the
			// test let it pass, the body limit where the body is too big.
			for _, err := range []error{res.Err, res.MinerErr} {
				if errors.Is(err, context.DeadlineExceeded) && tc.expireWhen == nil {
					t.Errorf("ended by the deadline, which never passed: %v", err)
				}
			}
			if tc.expireWhen != nil {
				err := res.Err
				if tc.up {
					err = res.MinerErr
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err %v, want one wrapping context.DeadlineExceeded", err)
				}
			}
			var bl *device.BodyLimitError
			if got := errors.As(res.Err, &bl); got != (tc.m.Kind == mock.HugeBody) || (got && bl.Limit != limit) {
				t.Errorf("err %v: BodyLimitError %v (%+v), want it exactly for the huge body, with limit %d", res.Err, got, bl, limit)
			}
			if (len(res.FieldErrors) > 0) != tc.fieldErrs {
				t.Errorf("field errors = %v, want some: %v", res.FieldErrors, tc.fieldErrs)
			}
			text := string(exposition(t, res))
			wantUp := "antspace_up 0"
			if tc.up {
				wantUp = "antspace_up 1"
			}
			if !strings.Contains(text, wantUp) {
				t.Errorf("exposition lacks %q", wantUp)
			}
			if tc.name == "extra fields" && !strings.Contains(text, `antspace_unknown_field_value{field="`+mock.ExtraNumberField+`"} 42.5`) {
				t.Errorf("unknown numeric field not exported generically:\n%s", grepLines(text, "unknown"))
			}
		})
	}
}

func TestProbeConnectionRefused(t *testing.T) {
	addr := testutil.RefusedAddr(t) // not a closed server's port: another process may take it
	res := probe(t, addr, collector.Settings{}, time.Second)
	if res.Up() || !strings.Contains(res.Err.Error(), "connection refused") {
		t.Errorf("err = %v, want connection refused", res.Err)
	}
}

// A forced module that does not match the container fails with a hint.
func TestProbeWrongModule(t *testing.T) {
	srv := startMock(t, mock.Options{Type: mock.Immersion})
	res := probe(t, srv.Addr(), collector.Settings{Type: collector.TypeHK3}, time.Second)
	if res.Up() || !strings.Contains(res.Err.Error(), "try module=immersion") {
		t.Errorf("err = %v", res.Err)
	}
}
