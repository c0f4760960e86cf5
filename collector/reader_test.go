package collector_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// fakeReader answers reads from memory: no socket, no HTTP client.
type fakeReader struct {
	answers map[string][]byte // operation → body
	errs    map[string]error  // operation → read error

	mu    sync.Mutex
	limit map[string]int64 // operation → maxBodyBytes it was asked with
}

func (f *fakeReader) Read(_ context.Context, _, operation string, maxBodyBytes int64) (*payload.Envelope, error) {
	f.mu.Lock()
	if f.limit == nil {
		f.limit = map[string]int64{}
	}
	f.limit[operation] = maxBodyBytes
	f.mu.Unlock()
	if err := f.errs[operation]; err != nil {
		return nil, err
	}
	var env payload.Envelope
	if err := payload.DecodeEnvelope(f.answers[operation], &env); err != nil {
		return nil, err
	}
	return &env, nil
}

// mockReader answers with what the golden files' mock container would send.
func mockReader(t *testing.T, typ mock.Type) *fakeReader {
	t.Helper()
	c, err := mock.NewContainer(mock.Options{Name: "golden", Type: typ, Seed: 42, Clock: mock.NewManualClock(epoch)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeReader{answers: map[string][]byte{}}
	for _, op := range []string{payload.OpCoolerState, payload.OpMinerInfo} {
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cooler?operation="+op, nil))
		f.answers[op] = rec.Body.Bytes()
	}
	return f
}

// Probe depends on the Reader interface only: a fake reader gives the same
// exposition as the real client against the mock over loopback.
func TestProbeWithFakeReader(t *testing.T) {
	for _, tc := range []struct {
		golden   string
		typ      mock.Type
		settings collector.Settings
	}{
		{"hk3.prom", mock.HK3, collector.Settings{Module: "hk3", Type: collector.TypeHK3}},
		{"immersion_auto.prom", mock.Immersion, collector.Settings{}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			res := collector.Probe(context.Background(), mockReader(t, tc.typ), "fake:1", tc.settings)
			res.Duration, res.Timeout = 1500*time.Millisecond, 5*time.Second // as in the golden files
			want, err := os.ReadFile(filepath.Join("testdata", tc.golden))
			if err != nil {
				t.Fatal(err)
			}
			if got := exposition(t, res); !bytes.Equal(got, want) {
				t.Errorf("exposition differs from %s:\n%s", tc.golden, diffLines(string(want), string(got)))
			}
		})
	}
}

func TestProbeReaderErrorsAndLimit(t *testing.T) {
	f := mockReader(t, mock.HK3)
	f.errs = map[string]error{payload.OpMinerInfo: errors.New("minerInfo: request failed: boom")}
	res := collector.Probe(context.Background(), f, "fake:1", collector.Settings{Type: collector.TypeHK3, MaxBodyBytes: 1234})
	if !res.Up() || res.MinerErr == nil || !strings.Contains(res.MinerErr.Error(), "boom") {
		t.Errorf("minerInfo failure: up=%v minerErr=%v; want up with the reader's error", res.Up(), res.MinerErr)
	}
	for _, op := range []string{payload.OpCoolerState, payload.OpMinerInfo} {
		if got := f.limit[op]; got != 1234 {
			t.Errorf("%s read with body limit %d, want the module's 1234", op, got)
		}
	}

	f.errs = map[string]error{payload.OpCoolerState: errors.New("coolerState: no answer")}
	res = collector.Probe(context.Background(), f, "fake:1", collector.Settings{SkipMinerInfo: true})
	if res.Up() || !strings.Contains(res.Err.Error(), "no answer") {
		t.Errorf("coolerState failure: up=%v err=%v; want down with the reader's error", res.Up(), res.Err)
	}
}

// collector converts payloads into metrics and nothing else: neither it nor
// any package of this module it depends on imports a net package (the
// device client lives in package device). Third-party dependencies are
// not checked: client_golang imports net/http for its own handlers.
func TestCollectorImportsNoNet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}} {{join .Imports " "}}{{end}}`, ".").Output()
	if err != nil {
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/antspace-exporter/antspace_exporter/"
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], module) {
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			if imp == "net" || strings.HasPrefix(imp, "net/") {
				t.Errorf("%s imports %s; device access belongs in package device", fields[0], imp)
			}
		}
	}
	if checked == 0 {
		t.Fatalf("go list named no package of this module:\n%s", out)
	}
}
