package harness

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a fake exporter (the helper-process pattern):
// with HARNESS_FAKE set it serves /-/ready and /metrics on
// --web.listen-address, or exits at once with HARNESS_FAKE=exit.
func TestMain(m *testing.M) {
	switch os.Getenv("HARNESS_FAKE") {
	case "":
		os.Exit(m.Run())
	case "exit":
		fmt.Println("boom: refusing to start")
		os.Exit(3)
	default:
		fakeExporter()
	}
}

func fakeExporter() {
	fs := flag.NewFlagSet("fake", flag.ExitOnError)
	addr := fs.String("web.listen-address", "", "")
	_ = fs.Parse(os.Args[1:])
	mux := http.NewServeMux()
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "Ready") })
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprint(w, "# TYPE up_total counter\nup_total{op=\"a\"} 2\nup_total{op=\"b\"} 3\n# TYPE go_goroutines gauge\ngo_goroutines 7\n")
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Println(srv.ListenAndServe())
	os.Exit(1)
}

func requireLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
}

func TestStartExporterAndReadIt(t *testing.T) {
	requireLinux(t)
	e, err := StartExporter(ExporterOptions{Bin: os.Args[0], Env: []string{"HARNESS_FAKE=serve"}, LogFile: filepath.Join(t.TempDir(), "log")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	m, err := e.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Get("up_total"); err != nil || got != 5 {
		t.Errorf("up_total = %v, %v; want the sum of both series, 5", got, err)
	}
	if got, _ := m.Get("go_goroutines"); got != 7 {
		t.Errorf("go_goroutines = %v, want 7", got)
	}
	if _, err := m.Get("absent"); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("missing family: err %v, want one naming it", err)
	}
	if _, err := CPUSeconds(e.PID()); err != nil {
		t.Error(err)
	}
	mem, err := ReadMemory(e.PID())
	if err != nil {
		t.Fatal(err)
	}
	if mem.RSS == 0 || mem.PeakRSS < mem.RSS {
		t.Errorf("memory %+v: want RSS > 0 and peak >= RSS", mem)
	}
	if err := e.Alive(); err != nil {
		t.Fatal(err)
	}
	e.Stop()
	if err := e.Alive(); err == nil {
		t.Error("Alive after Stop: nil, want an error")
	}
}

func TestStartExporterReportsAnEarlyExit(t *testing.T) {
	_, err := StartExporter(ExporterOptions{Bin: os.Args[0], Env: []string{"HARNESS_FAKE=exit"}, LogFile: filepath.Join(t.TempDir(), "log")})
	if err == nil {
		t.Fatal("no error for an exporter that exited")
	}
	if errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "boom: refusing to start") {
		t.Errorf("err = %v; want the exit with the log's tail, not a timeout", err)
	}
}

func TestStartNeedsTheBinary(t *testing.T) {
	_, err := Start(filepath.Join(t.TempDir(), "nope"), nil, filepath.Join(t.TempDir(), "log"))
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("err = %v, want a hint to run make build", err)
	}
}

func TestScrapeRejectsBadPages(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"status", "x 1\n", http.StatusInternalServerError},
		{"syntax", "not a metric line {\n", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.code)
				_, _ = fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			if m, err := Scrape(srv.URL); err == nil {
				t.Errorf("Scrape = %v, nil; want an error", m)
			}
		})
	}
}

func TestSelfCPUSeconds(t *testing.T) {
	if v := SelfCPUSeconds(); v <= 0 {
		t.Errorf("SelfCPUSeconds = %v, want > 0 for a running test binary", v)
	}
}

func TestAgentFlagFollowsTheVersion(t *testing.T) {
	requireLinux(t)
	dir := t.TempDir()
	for _, c := range []struct{ name, help, want string }{
		// Prometheus 3: a boolean flag, the feature flag gone.
		{"prom3", "      --[no-]agent               Run Prometheus in 'Agent mode'.\n", "--agent"},
		// Prometheus 2.x: only the feature flag.
		{"prom2", "      --enable-feature= ...      Comma separated feature names\n                                 to enable. Valid options: agent,\n      --storage.agent.path=\"data-agent/\"\n", "--enable-feature=agent"},
	} {
		bin := filepath.Join(dir, c.name)
		if err := os.WriteFile(bin, []byte("#!/bin/sh\ncat <<'X' >&2\nusage: prometheus [<flags>]\n"+c.help+"X\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := AgentFlag(bin)
		if err != nil || got != c.want {
			t.Errorf("%s: AgentFlag = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := AgentFlag(filepath.Join(dir, "missing")); err == nil {
		t.Error("AgentFlag of a missing binary: no error")
	}
}
