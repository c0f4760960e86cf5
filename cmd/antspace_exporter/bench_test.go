package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/logging"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Benchmarks of a whole /probe as Prometheus sends it, the device a canned
// server that costs next to nothing, and of the inbound server alone (the
// floor: the same answer bytes from a handler that does nothing else).
//
//	go test ./cmd/antspace_exporter -run '^$' -bench . -benchmem -cpuprofile cpu.prof

var benchEpoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// recordedAnswers are the mock's coolerState and minerInfo answers.
func recordedAnswers(tb testing.TB, typ mock.Type, miners int) (cooler, minerInfo []byte) {
	tb.Helper()
	c, err := mock.NewContainer(mock.Options{Name: "bench", Type: typ, Seed: 42, Miners: miners, Clock: mock.NewManualClock(benchEpoch)})
	if err != nil {
		tb.Fatal(err)
	}
	get := func(op string) []byte {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, device.URL("dev", op, nil), nil))
		if rec.Code != http.StatusOK {
			tb.Fatalf("%s: %d", op, rec.Code)
		}
		return rec.Body.Bytes()
	}
	return get(payload.OpCoolerState), get(payload.OpMinerInfo)
}

// cannedDevice serves the recorded answers of typ.
func cannedDevice(tb testing.TB, typ mock.Type, miners int) string {
	cooler, minerInfo := recordedAnswers(tb, typ, miners)
	return testutil.CannedHTTP(tb, func(line string) []byte {
		if strings.Contains(line, "operation="+payload.OpMinerInfo) {
			return minerInfo
		}
		return cooler
	})
}

// benchExporter is the exporter's handler with an inventory of one canned
// container of typ named "c", coalescing off (every probe pays its reads).
func benchExporter(tb testing.TB, typ mock.Type, miners int, opts ...func(*exporterOptions)) http.Handler {
	tb.Helper()
	addr := cannedDevice(tb, typ, miners)
	inv := fmt.Sprintf("containers:\n  - {name: c, address: %q, type: %s}\n", addr, typ)
	file := filepath.Join(tb.TempDir(), "inventory.yml")
	if err := os.WriteFile(file, []byte(inv), 0o600); err != nil {
		tb.Fatal(err)
	}
	o := exporterOptions{logger: log.NewNopLogger(), configFile: file, telemetryPath: "/metrics",
		timeoutOffset: 0.5, maxRequests: 1000, maxConns: 2, maxUpstream: 1024}
	for _, opt := range opts {
		opt(&o)
	}
	e := newExporter(o)
	if err := e.reload(); err != nil {
		tb.Fatal(err)
	}
	return e.routes()
}

const promAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// prometheusRequest is /probe as Prometheus 2.x sends it.
func prometheusRequest(tb testing.TB, base string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, base+"/probe?target=c", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", promAccept)
	req.Header.Set("Accept-Encoding", "gzip") // set by hand: the client keeps the body compressed, as Prometheus reads it
	req.Header.Set(scrapeTimeoutHeader, "10")
	req.Header.Set("User-Agent", "Prometheus/2.42.0")
	return req
}

var benchTypes = []struct {
	name string
	typ  mock.Type
}{{"hk3", mock.HK3}, {"immersion", mock.Immersion}}

// probeLoop sends /probe as Prometheus does to base over one keep-alive
// client for each benchmark iteration, reads the whole answer (only the
// server side is measured) and fails on an answer other than 200 or shorter
// than minBytes.
func probeLoop(b *testing.B, base string, minBytes int64) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	req := prometheusRequest(b, base)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n < minBytes {
			b.Fatalf("HTTP %d, %d bytes", resp.StatusCode, n)
		}
	}
}

// BenchmarkProbeServed is one whole probe over loopback: the client's
// request, the exporter's server, two upstream reads from the canned device,
// conversion, text exposition and gzip. Client and device are in this
// process too; the CPU profile tells them apart.
func BenchmarkProbeServed(b *testing.B) {
	for _, tc := range []struct {
		name  string
		typ   mock.Type
		miner int
		none  bool
	}{
		{"hk3", mock.HK3, 0, false}, {"immersion", mock.Immersion, 0, false},
		{"hk3-uncompressed", mock.HK3, 0, true}, // --web.probe-compression=none
		{"hk3-120-miners", mock.HK3, 120, false},
		{"hk3-production-logger", mock.HK3, 0, false}, // main's logger and defaults, see productionLogging
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := httptest.NewServer(benchExporter(b, tc.typ, tc.miner, func(o *exporterOptions) {
				o.noCompression = tc.none
				if strings.HasSuffix(tc.name, "-production-logger") {
					productionLogging(b, o)
				}
			}))
			defer srv.Close()
			probeLoop(b, srv.URL, 1000)
		})
	}
}

// productionLogging gives the exporter the logger main builds with the
// default flags (logfmt, --log.level=info, ts and caller on every line,
// --log.prober.repeat-interval=1h), writing to io.Discard: the other
// benchmarks use a logger that does nothing at all.
func productionLogging(tb testing.TB, o *exporterOptions) {
	logger, _, err := logging.New(io.Discard, "logfmt", "info", true)
	if err != nil {
		tb.Fatal(err)
	}
	o.logger, o.logLevel, o.proberLevel, o.proberRepeat = logger, "info", "warn", time.Hour
}

// BenchmarkServeFloor is the floor of the inbound side: the same client and
// server, a handler that writes a ready gzipped answer of the same size.
func BenchmarkServeFloor(b *testing.B) {
	for _, tc := range benchTypes {
		b.Run(tc.name, func(b *testing.B) {
			h := benchExporter(b, tc.typ, 0)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, prometheusRequest(b, ""))
			answer := rec.Body.Bytes()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(answer)
			}))
			defer srv.Close()
			probeLoop(b, srv.URL, 0)
		})
	}
}

// BenchmarkProbeHandler is the exporter's handler without any socket on the
// inbound side (httptest.ResponseRecorder), the device still over loopback.
func BenchmarkProbeHandler(b *testing.B) {
	for _, tc := range benchTypes {
		b.Run(tc.name, func(b *testing.B) {
			h := benchExporter(b, tc.typ, 0)
			req := prometheusRequest(b, "")
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// BenchmarkGzip is the compression of a probe's text answer with the
// standard library's compress/gzip and with github.com/klauspost/compress/gzip
// (which /probe uses, see expose.go) at the levels in question, each with one
// writer reused across operations as the probe pool does; the bytes out are
// reported as bytes-out.
func BenchmarkGzip(b *testing.B) {
	h := benchExporter(b, mock.HK3, 0)
	req := prometheusRequest(b, "")
	req.Header.Del("Accept-Encoding")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	text := rec.Body.Bytes()
	type gzWriter interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	stdlib := func(level int) gzWriter { w, _ := gzip.NewWriterLevel(nil, level); return w }
	klaus := func(level int) gzWriter { w, _ := kgzip.NewWriterLevel(nil, level); return w }
	for _, lv := range []struct {
		name string
		w    gzWriter
	}{
		{"stdlib/huffman-only", stdlib(gzip.HuffmanOnly)},
		{"stdlib/best-speed", stdlib(gzip.BestSpeed)},
		{"stdlib/default", stdlib(gzip.DefaultCompression)},
		{"klauspost/huffman-only", klaus(kgzip.HuffmanOnly)},
		{"klauspost/stateless", klaus(kgzip.StatelessCompression)},
		{"klauspost/level-1", klaus(1)},
		{"klauspost/level-2", klaus(2)},
		{"klauspost/level-3", klaus(3)},
		{"klauspost/level-4", klaus(4)},
		{"klauspost/level-5", klaus(5)},
		{"klauspost/default", klaus(kgzip.DefaultCompression)},
	} {
		b.Run(lv.name, func(b *testing.B) {
			var out bytes.Buffer
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				lv.w.Reset(&out)
				_, _ = lv.w.Write(text) // into a bytes.Buffer: cannot fail
				_ = lv.w.Close()
			}
			b.ReportMetric(float64(out.Len()), "bytes-out")
		})
	}
}

// BenchmarkProbeTransport is BenchmarkProbeServed for each transport of the
// A/B (docs/performance.md): the device transport and net/http's Transport
// with keep-alive on and off.
func BenchmarkProbeTransport(b *testing.B) {
	for _, tr := range device.Transports {
		b.Run(string(tr), func(b *testing.B) {
			srv := httptest.NewServer(benchExporter(b, mock.HK3, 0, func(o *exporterOptions) { o.transport = tr }))
			defer srv.Close()
			probeLoop(b, srv.URL, 0)
		})
	}
}

// BenchmarkIdleConnections holds one idle keep-alive connection to each of
// 500 canned devices and reports what each costs the client: goroutines and
// bytes of heap and stacks (the canned servers' share is the same for every
// transport). Run with -benchtime=1x.
func BenchmarkIdleConnections(b *testing.B) {
	const devices = 500
	for _, tr := range []device.Transport{device.TransportDevice, device.TransportStdlib} {
		b.Run(string(tr), func(b *testing.B) {
			addrs := make([]string, devices)
			for i := range addrs {
				addrs[i] = testutil.CannedHTTP(b, func(string) []byte { return []byte(`{"ok":true,"method":"coolerState","params":{}}`) })
			}
			for b.Loop() {
				c := device.NewClient("bench", 1)
				c.UseTransport(tr, 1)
				g0, m0 := runtimeUse()
				for _, a := range addrs {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					if _, err := c.Read(ctx, a, payload.OpCoolerState, 0); err != nil {
						b.Fatal(err)
					}
					cancel()
				}
				g1, m1 := runtimeUse()
				b.ReportMetric(float64(g1-g0)/devices, "goroutines/conn")
				b.ReportMetric((m1-m0)/devices, "bytes/conn")
				c.HTTP.CloseIdleConnections()
			}
		})
	}
}

// runtimeUse is the goroutines and the heap and stack bytes in use after a
// collection.
func runtimeUse() (int, float64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), float64(ms.HeapInuse + ms.StackInuse)
}
