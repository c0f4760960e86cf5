package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Regression tests for issue #12 (hostile controllers and clients), the
// probe and inventory side. docs/hardening.md lists them.

// zeroPadded spells a loopback address with a zero-padded port, another
// spelling of the same controller (finding 16).
func zeroPadded(t *testing.T, addr string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(host, "00"+port)
}

// Finding 15: probes of one hanging target take at most
// --web.max-requests-per-target of the global --web.max-requests; more are
// answered 503 at once (also under another spelling of the address), and a
// healthy container is still probed. No timing: the hanging probe is held
// until the test cancels it.
func TestProbePerTargetLimit(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hang": mock.HK3, "ok": mock.Immersion}, func(o *exporterOptions) {
		o.maxRequests, o.maxPerTarget = 2, 1
	})
	hang := env.mocks["hang"]
	hang.Misbehave(mock.Misbehaviour{Kind: mock.Hang})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	held := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.server.URL+"/probe?target=hang", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- 0
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	testutil.WaitFor(t, testutil.Patience, 5*time.Millisecond, "the first probe of the hanging container in flight", func() bool {
		return env.exp.probe.perTarget.count(hang.Addr()) == 1
	})
	for _, target := range []string{"hang", hang.Addr(), zeroPadded(t, hang.Addr()), "hang", "hang"} {
		code, body := env.get(t, "/probe?target="+target, nil)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "--web.max-requests-per-target") {
			t.Errorf("second probe of %s: %d %q, want 503 naming --web.max-requests-per-target", target, code, body)
		}
	}
	code, body := env.get(t, "/probe?target=ok", nil)
	if code != http.StatusOK || !strings.Contains(body, "antspace_up 1") {
		t.Errorf("healthy container while another hangs: %d\n%s", code, body)
	}
	cancel()
	<-held
	testutil.WaitFor(t, testutil.Patience, 5*time.Millisecond, "the per-target slot released", func() bool {
		return env.exp.probe.perTarget.count(hang.Addr()) == 0
	})
}

func TestTargetLimiter(t *testing.T) {
	l := newTargetLimiter(2)
	r1, ok1 := l.acquire("a")
	r2, ok2 := l.acquire("a")
	_, ok3 := l.acquire("a")
	rb, okb := l.acquire("b")
	if !ok1 || !ok2 || ok3 || !okb {
		t.Fatalf("acquire: %v %v %v %v, want true true false true", ok1, ok2, ok3, okb)
	}
	r1()
	if _, ok := l.acquire("a"); !ok {
		t.Error("slot not released")
	}
	r2()
	rb()
	if n := len(l.inFlight); n != 1 {
		t.Errorf("%d addresses tracked, want 1 (only a is in flight)", n)
	}
	unbounded := newTargetLimiter(0)
	for range 100 {
		if _, ok := unbounded.acquire("a"); !ok {
			t.Fatal("limit 0 refused a probe")
		}
	}
}

// Finding 6: a reload that would empty the inventory is refused and the last
// good inventory kept, so /probe never opens to every address; the log and
// antspace_exporter_config_last_reload_successful say so.
func TestReloadToEmptyInventoryKeepsProbeClosed(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3})
	stranger, err := mock.Start(mock.Options{Type: mock.Immersion}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	for _, empty := range []string{"", "# nothing here\n", "containers: []\n"} {
		if err := os.WriteFile(env.config, []byte(empty), 0o600); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, env.server.URL+"/-/reload", nil)
		code, body := do(t, req)
		if code != http.StatusInternalServerError || !strings.Contains(body, "refusing to empty") {
			t.Errorf("reload of %q: %d %q, want 500 refusing to empty", empty, code, body)
		}
		if code, body := env.get(t, "/probe?target="+stranger.Addr(), nil); code != http.StatusBadRequest || !strings.Contains(body, "not in the inventory") {
			t.Errorf("after reload of %q, a target outside the inventory: %d %q, want 400", empty, code, body)
		}
		if code, body := env.get(t, "/probe?target=hk3-a", nil); code != http.StatusOK || !strings.Contains(body, "antspace_up 1") {
			t.Errorf("after reload of %q, the last good inventory: %d\n%s", empty, code, body)
		}
		if _, metrics := env.get(t, "/metrics", nil); !strings.Contains(metrics, "antspace_exporter_config_last_reload_successful 0") {
			t.Errorf("after reload of %q: last_reload_successful is not 0", empty)
		}
	}
	if logs := env.logs.String(); !strings.Contains(logs, "keeping the last good one") || !strings.Contains(logs, "refusing to empty") {
		t.Errorf("log does not say the reload was refused:\n%s", logs)
	}
}

// Finding 6: open mode is a start-up choice. A file that lists no container
// opens nothing (and says so); no file, or --probe.allow-any-target, does.
func TestOpenModeIsAStartupChoice(t *testing.T) {
	stranger, err := mock.Start(mock.Options{Type: mock.Immersion}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	for _, tc := range []struct {
		name     string
		noFile   bool
		allowAny bool
		wantOpen bool
	}{
		{name: "file without containers", wantOpen: false},
		{name: "file without containers, --probe.allow-any-target", allowAny: true, wantOpen: true},
		{name: "no --config.file", noFile: true, wantOpen: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, tc.allowAny, nil, func(o *exporterOptions) {
				if tc.noFile {
					o.configFile = ""
				}
			})
			code, body := env.get(t, "/probe?target="+zeroPadded(t, stranger.Addr()), nil)
			if tc.wantOpen && (code != http.StatusOK || !strings.Contains(body, "antspace_up 1")) {
				t.Errorf("open: %d\n%s", code, body)
			}
			if !tc.wantOpen && (code != http.StatusBadRequest || !strings.Contains(body, "not in the inventory")) {
				t.Errorf("closed: %d %q, want 400 not in the inventory", code, body)
			}
			warned := strings.Contains(env.logs.String(), "/probe accepts no target")
			if warned == tc.wantOpen {
				t.Errorf("warning about an inventory without containers logged: %v, want %v\n%s", warned, !tc.wantOpen, env.logs.String())
			}
		})
	}
}

// Finding 1, on the built binary: controllers that flood headers, send an
// endless header or status line, or flood 1xx answers or trailers are probed
// through /probe, 8 at a time and again and again for the whole scrape
// timeout; every probe answers antspace_up 0 with the reason in the log, and
// the exporter's peak RSS (VmHWM) stays far below 64 MiB above its idle RSS.
// (Before the fix one such probe took the exporter to several GiB.)
func TestBinaryHostileHeadsMemoryBounded(t *testing.T) {
	bin := buildBinary(t)
	if _, err := harness.ReadMemory(os.Getpid()); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	kinds := map[string]mock.Kind{
		"header-flood": mock.HeaderFlood, "endless-header-line": mock.EndlessHeaderLine,
		"endless-status-line": mock.EndlessStatusLine, "informational-flood": mock.InformationalFlood,
		"trailer-flood": mock.TrailerFlood,
	}
	reasons := map[string]string{
		"header-flood": "more than 256 header lines", "endless-header-line": "header line longer than",
		"endless-status-line": "status line longer than", "informational-flood": "informational (1xx)",
		"trailer-flood": "trailer",
	}
	var inv strings.Builder
	inv.WriteString("containers:\n")
	healthy, err := mock.Start(mock.Options{Type: mock.HK3}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer healthy.Close()
	fmt.Fprintf(&inv, "  - {name: healthy, address: %q, type: hk3}\n", healthy.Addr())
	for name, kind := range kinds {
		s, err := mock.Start(mock.Options{Type: mock.HK3}, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.Misbehave(mock.Misbehaviour{Kind: kind})
		fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: hk3}\n", name, s.Addr())
	}
	file := filepath.Join(t.TempDir(), "inv.yml")
	if err := os.WriteFile(file, []byte(inv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testutil.MustFreeAddr(t)
	logs := &testutil.SyncBuffer{}
	cmd := exec.Command(bin, "--web.listen-address", addr, "--config.file", file)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "exporter up", func() bool { _, _, err := httpGet(base + "/-/healthy"); return err == nil })
	if code, body, err := httpGet(base + "/probe?target=healthy"); err != nil || code != 200 || !strings.Contains(body, "antspace_up 1") {
		t.Fatalf("healthy probe: %d %v", code, err)
	}
	idleMem, err := harness.ReadMemory(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	idle := float64(idleMem.RSS) / 1024 // KiB

	const scrapeTimeout = 3 * time.Second
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	names := make([]string, 0, len(kinds))
	for name := range kinds {
		names = append(names, name)
	}
	var probes, bad atomic.Int64
	var firstBad atomic.Value
	end := time.Now().Add(scrapeTimeout)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; time.Now().Before(end); i++ {
				name := names[i%len(names)]
				req, _ := http.NewRequest(http.MethodGet, base+"/probe?target="+name, nil)
				req.Header.Set(scrapeTimeoutHeader, strconv.FormatFloat(scrapeTimeout.Seconds(), 'f', -1, 64))
				resp, err := client.Do(req)
				if err != nil {
					bad.Add(1)
					firstBad.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				probes.Add(1)
				if resp.StatusCode != 200 || !strings.Contains(string(body), "antspace_up 0") {
					bad.Add(1)
					firstBad.CompareAndSwap(nil, fmt.Sprintf("%s: %d %.300s", name, resp.StatusCode, body))
				}
			}
		})
	}
	wg.Wait()
	peakMem, err := harness.ReadMemory(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	peak := float64(peakMem.PeakRSS) / 1024 // KiB
	growth := (peak - idle) / 1024
	t.Logf("%d probes of hostile controllers in %v: idle RSS %.1f MiB, peak %.1f MiB (+%.1f MiB)", probes.Load(), scrapeTimeout, idle/1024, peak/1024, growth)
	if bad.Load() > 0 {
		t.Errorf("%d of %d probes did not answer 200 with antspace_up 0; first: %v", bad.Load(), probes.Load(), firstBad.Load())
	}
	if probes.Load() < int64(len(kinds)) {
		t.Errorf("only %d probes", probes.Load())
	}
	if growth >= 64 {
		t.Errorf("peak RSS %.1f MiB above idle, want far below 64 MiB", growth)
	}
	for name, reason := range reasons {
		if !strings.Contains(logs.String(), "target="+name+" ") || !strings.Contains(logs.String(), reason) {
			t.Errorf("no log line for %s naming %q", name, reason)
		}
	}
}

// Finding 14 on the binary: --config.check of an inventory over 64 MiB fails
// with the reason instead of validating the first 64 MiB.
func TestBinaryConfigCheckRefusesOversizedInventory(t *testing.T) {
	bin := buildBinary(t)
	file := filepath.Join(t.TempDir(), "huge.yml")
	head := "containers:\n  - {name: a, address: \"127.0.0.1:8001\", type: hk3}\n"
	tail := "  - {name: z, address: \"127.0.0.1:8002\", type: hk3}\n"
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	line := "#" + strings.Repeat(" ", 1022) + "\n"
	_, err = f.WriteString(head)
	for written := len(head); err == nil && written < 64<<20; written += len(line) {
		_, err = f.WriteString(line)
	}
	if err == nil {
		_, err = f.WriteString(tail)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--config.check", "--config.file", file).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "larger than 64 MiB") {
		t.Errorf("--config.check of a 64 MiB+ inventory: %v %s", err, out)
	}
}

// Finding 16: spellings of one address are one target, so probes of them
// share reads (coalescing) like probes of one spelling do; in open mode too.
func TestAddressSpellingsAreOneTarget(t *testing.T) {
	env := newTestEnv(t, true, map[string]mock.Type{"hk3-a": mock.HK3}, func(o *exporterOptions) {
		o.coalesceWindow = time.Hour
	})
	other, err := mock.Start(mock.Options{Type: mock.Immersion}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, c := range []struct {
		m         *mock.Server
		spellings []string
	}{
		{env.mocks["hk3-a"], []string{"hk3-a", env.mocks["hk3-a"].Addr(), zeroPadded(t, env.mocks["hk3-a"].Addr())}},
		{other, []string{other.Addr(), zeroPadded(t, other.Addr()), "[::ffff:" + strings.TrimSuffix(other.Addr(), ":"+port(t, other.Addr())) + "]:" + port(t, other.Addr())}},
	} {
		for _, target := range c.spellings {
			if code, body := env.get(t, "/probe?target="+target, nil); code != http.StatusOK || !strings.Contains(body, "antspace_up 1") {
				t.Fatalf("%s: %d\n%s", target, code, body)
			}
		}
		if n := c.m.Reads("coolerState"); n != 1 {
			t.Errorf("%v: the device was read %d times, want 1 (one target, one shared read)", c.spellings, n)
		}
	}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
