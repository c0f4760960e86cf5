package device_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// The two upstream exchanges of a probe against a canned device (which
// costs next to nothing), beside their floors: net/http's client reading
// the same two answers, without and with json.Valid over each.
//
//	go test ./device -run '^$' -bench ReadPair -benchmem

func cannedPair(b *testing.B, miners int) string {
	c, err := mock.NewContainer(mock.Options{Name: "bench", Type: mock.HK3, Seed: 42, Miners: miners, Clock: mock.NewManualClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))})
	if err != nil {
		b.Fatal(err)
	}
	answers := map[string][]byte{}
	for _, op := range []string{payload.OpCoolerState, payload.OpMinerInfo} {
		rec := &recorder{header: http.Header{}}
		req, _ := http.NewRequest(http.MethodGet, device.URL("dev", op, nil), nil)
		c.ServeHTTP(rec, req)
		answers[op] = rec.body
	}
	return testutil.CannedHTTP(b, func(line string) []byte {
		if strings.Contains(line, payload.OpMinerInfo) {
			return answers[payload.OpMinerInfo]
		}
		return answers[payload.OpCoolerState]
	})
}

type recorder struct {
	header http.Header
	body   []byte
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }
func (r *recorder) WriteHeader(int)             {}

func BenchmarkReadPair(b *testing.B) {
	addr := cannedPair(b, 0)
	ctx := context.Background()
	readPair := func(addr string) func(b *testing.B) {
		return func(b *testing.B) {
			c := device.NewClient("bench", 2)
			b.ReportAllocs()
			for b.Loop() {
				for _, op := range []string{payload.OpCoolerState, payload.OpMinerInfo} {
					if _, err := c.Read(ctx, addr, op, 0); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	b.Run("device", readPair(addr))
	b.Run("device-120-miners", readPair(cannedPair(b, 120)))
	for _, valid := range []bool{false, true} {
		name := "floor-net-http"
		if valid {
			name += "+json.Valid"
		}
		b.Run(name, func(b *testing.B) {
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}
			b.ReportAllocs()
			for b.Loop() {
				for _, op := range []string{payload.OpCoolerState, payload.OpMinerInfo} {
					resp, err := hc.Get(device.URL(addr, op, nil))
					if err != nil {
						b.Fatal(err)
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || (valid && !json.Valid(body)) {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
