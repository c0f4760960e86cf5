package collector_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// bodyTransport answers every device request in memory with the body given
// for its operation, so the fuzzer drives the real Client.Call and Probe
// without a network.
type bodyTransport struct {
	status int
	bodies map[string][]byte
}

func (t bodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body := t.bodies[req.URL.Query().Get("operation")]
	return &http.Response{
		StatusCode:    t.status,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// mockAnswer returns the mock's answer to a read operation, misbehaving as m
// says (Hang and Slow cannot be recorded).
func mockAnswer(tb testing.TB, typ mock.Type, op string, m *mock.Misbehaviour) []byte {
	tb.Helper()
	c, err := mock.NewContainer(mock.Options{Type: typ, Seed: 3, Miners: 3, Clock: mock.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		tb.Fatal(err)
	}
	if m != nil {
		c.Misbehave(*m)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cooler?operation="+op, nil))
	return rec.Body.Bytes()
}

var fuzzModes = []collector.Type{"", collector.TypeHK3, collector.TypeImmersion}

// FuzzProbePayload feeds arbitrary coolerState and minerInfo answers through
// the real client and converter. A probe never panics, and whatever it makes
// of the answers is a valid set of metrics: a pedantic registry gathers it
// without error, every value is finite, up is 0 or 1 with a reason when 0.
func FuzzProbePayload(f *testing.F) {
	for _, typ := range []mock.Type{mock.HK3, mock.Immersion} {
		cooler := mockAnswer(f, typ, payload.OpCoolerState, nil)
		miners := mockAnswer(f, typ, payload.OpMinerInfo, nil)
		for mode := range fuzzModes {
			f.Add(uint8(mode), cooler, miners)
		}
		for _, k := range mock.Kinds {
			if k == mock.Hang || k == mock.Slow {
				continue
			}
			m := &mock.Misbehaviour{Kind: k, Size: 8 << 10}
			f.Add(uint8(0), mockAnswer(f, typ, payload.OpCoolerState, m), mockAnswer(f, typ, payload.OpMinerInfo, m))
			f.Add(uint8(1), cooler, mockAnswer(f, typ, payload.OpMinerInfo, m))
		}
	}
	f.Add(uint8(0), []byte(`{"ok":"yes","params":{"supply_liquid_temp":"1e308","return_liquid_temp":"-0"}}`), []byte(`{"ok":1,"params":{"miner_info":{"\xff":{"miner_type":"\xfe"}}}}`))
	f.Add(uint8(2), []byte(`{"ok":true,"params":{"OK":false}}`), []byte(`[]`))

	client := device.NewClient("fuzz", 2)
	client.MaxBodyBytes = 1 << 20
	f.Fuzz(func(t *testing.T, mode uint8, cooler, miners []byte) {
		c := *client
		c.HTTP = &http.Client{Transport: bodyTransport{status: http.StatusOK, bodies: map[string][]byte{
			payload.OpCoolerState: cooler, payload.OpMinerInfo: miners,
		}}}
		s := collector.Settings{Type: fuzzModes[int(mode)%len(fuzzModes)]}
		// Converting a body in memory is CPU work only, milliseconds: a probe
		// that is still running after testutil.Patience is a parser stuck in
		// a loop, whatever the machine's load. (While fuzzing, Go's own
		// 10 s limit per input reports such an input first.)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan *collector.Result, 1)
		go func() { done <- collector.Probe(ctx, &c, "fuzz:1", s) }()
		stuck := time.NewTimer(testutil.Patience)
		defer stuck.Stop()
		select {
		case res := <-done:
			checkResult(t, res)
		case <-stuck.C:
			t.Fatalf("probe of in-memory answers still running after %v (mode %d)\ncooler: %q\nminers: %q", testutil.Patience, mode, cooler, miners)
		}
	})
}

// checkResult holds the invariants of any probe result.
func checkResult(t *testing.T, res *collector.Result) {
	t.Helper()
	if !res.Up() && res.Err.Error() == "" {
		t.Error("down without a reason")
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(res); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v\n(up %v, err %v, miner err %v)", err, res.Up(), res.Err, res.MinerErr)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "antspace_") {
			t.Errorf("metric %s outside the antspace_ namespace", name)
		}
		seen[name] = true
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s%v = %v: device values must be finite", name, m.GetLabel(), v)
			}
		}
	}
	for _, name := range []string{"antspace_up", "antspace_probe_field_errors", "antspace_miner_info_success"} {
		if !seen[name] {
			t.Errorf("%s missing", name)
		}
	}
	if up := gaugeValue(mfs, "antspace_up"); up != 0 && up != 1 || (up == 1) != res.Up() {
		t.Errorf("antspace_up = %v, Up() = %v", up, res.Up())
	}
	if !res.Up() && seen["antspace_container_info"] {
		t.Error("container_info exported while down")
	}
	// On any input, what /probe serves is what a registry gives.
	checkServedMatchesRegistry(t, res)
}

func gaugeValue(mfs []*dto.MetricFamily, name string) float64 {
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return math.NaN()
}
