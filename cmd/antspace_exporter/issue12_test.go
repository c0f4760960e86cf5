package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

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
	testutil.WaitFor(t, 10*time.Second, 5*time.Millisecond, "the first probe of the hanging container in flight", func() bool {
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
	testutil.WaitFor(t, 10*time.Second, 5*time.Millisecond, "the per-target slot released", func() bool {
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
