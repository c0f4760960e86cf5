package collector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Benchmarks of one probe's work, each beside its floor: the same two
// answers decoded into map[string]any, which any client must at least do.
//
//	go test ./collector -run '^$' -bench . -benchmem

type answers struct {
	cooler, miners []byte
}

// recordedMiners returns the mock's coolerState and minerInfo answers for a
// type with miners miners (0 = the mock's default, 12).
func recordedMiners(b *testing.B, typ mock.Type, miners int) answers {
	b.Helper()
	c, err := mock.NewContainer(mock.Options{Name: "bench", Type: typ, Seed: 42, Miners: miners, Clock: mock.NewManualClock(epoch)})
	if err != nil {
		b.Fatal(err)
	}
	get := func(op string) []byte {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, device.URL("dev", op, nil), nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d", op, rec.Code)
		}
		return rec.Body.Bytes()
	}
	return answers{cooler: get(payload.OpCoolerState), miners: get(payload.OpMinerInfo)}
}

var benchTypes = []struct {
	name     string
	typ      mock.Type
	settings collector.Settings
	miners   int // 0 = the mock's default (12)
}{
	{"hk3", mock.HK3, collector.Settings{Module: "hk3", Type: collector.TypeHK3}, 0},
	{"immersion", mock.Immersion, collector.Settings{Module: "immersion", Type: collector.TypeImmersion}, 0},
	{"hk3-120-miners", mock.HK3, collector.Settings{Module: "hk3", Type: collector.TypeHK3}, 120},
}

// Parse + convert of both answers into const metrics.
func BenchmarkConvert(b *testing.B) {
	for _, tc := range benchTypes {
		p := recordedMiners(b, tc.typ, tc.miners)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(p.cooler) + len(p.miners)))
			b.ReportAllocs()
			for b.Loop() {
				r := collector.Convert(p.cooler, p.miners, tc.settings)
				if !r.Up() || r.MinerErr != nil {
					b.Fatal(r.Err, r.MinerErr)
				}
			}
		})
	}
}

// The floor of BenchmarkConvert: both answers into map[string]any.
func BenchmarkFloorDecode(b *testing.B) {
	for _, tc := range benchTypes {
		p := recordedMiners(b, tc.typ, tc.miners)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(p.cooler) + len(p.miners)))
			b.ReportAllocs()
			for b.Loop() {
				var c, m map[string]any
				if err := json.Unmarshal(p.cooler, &c); err != nil {
					b.Fatal(err)
				}
				if err := json.Unmarshal(p.miners, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Parse + convert + what the /probe handler adds for a text answer:
// WriteText (gzip, which the handler adds at BestSpeed, is not included).
func BenchmarkConvertAndExpose(b *testing.B) {
	for _, tc := range benchTypes {
		p := recordedMiners(b, tc.typ, tc.miners)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				r := collector.Convert(p.cooler, p.miners, tc.settings)
				buf.Reset()
				if err := r.WriteText(&buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The same through a Registry and expfmt, as promhttp would do it.
func BenchmarkConvertAndExposeRegistry(b *testing.B) {
	for _, tc := range benchTypes {
		p := recordedMiners(b, tc.typ, tc.miners)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				r := collector.Convert(p.cooler, p.miners, tc.settings)
				reg := prometheus.NewRegistry()
				reg.MustRegister(r)
				mfs, err := reg.Gather()
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
				for _, mf := range mfs {
					if err := enc.Encode(mf); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// staticDevice answers recorded bodies, so the server side costs little.
func staticDevice(b *testing.B, p answers) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("operation") == payload.OpMinerInfo {
			w.Write(p.miners)
			return
		}
		w.Write(p.cooler)
	}))
	b.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// A whole probe over loopback HTTP (client and server side in this process).
func BenchmarkProbeHTTP(b *testing.B) {
	for _, tc := range benchTypes {
		addr := staticDevice(b, recordedMiners(b, tc.typ, tc.miners))
		c := device.NewClient("bench", 2)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r := collector.Probe(ctx, c, addr, tc.settings)
				cancel()
				if !r.Up() || r.MinerErr != nil {
					b.Fatal(r.Err, r.MinerErr)
				}
			}
		})
	}
}

// The floor of BenchmarkProbeHTTP: the two GETs, concurrently like a probe,
// each body decoded into map[string]any.
func BenchmarkFloorHTTP(b *testing.B) {
	for _, tc := range benchTypes {
		addr := staticDevice(b, recordedMiners(b, tc.typ, tc.miners))
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
		get := func(op string) error {
			resp, err := hc.Get(device.URL(addr, op, nil))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			var v map[string]any
			return json.Unmarshal(body, &v)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				errc := make(chan error, 1)
				go func() { errc <- get(payload.OpMinerInfo) }()
				if err := get(payload.OpCoolerState); err != nil {
					b.Fatal(err)
				}
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
