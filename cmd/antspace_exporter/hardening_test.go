package main

// The exporter's own server against hostile or careless clients, and secrets
// kept out of every page and log.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// serveLimited serves the real routes of env's exporter with short limits.
func serveLimited(t *testing.T, env *testEnv, l serverLimits) string {
	t.Helper()
	h := env.exp.routes()
	srv := newHTTPServer(h, l)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes conn within d, reading (and
// discarding) whatever it sends; err says how it ended.
func closedWithin(conn net.Conn, d time.Duration) (bool, string) {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, "still open"
	}
	return true, strings.SplitN(string(b), "\r\n", 2)[0]
}

func TestServerLimitsDefaults(t *testing.T) {
	l := defaultServerLimits
	if l.ReadHeaderTimeout <= 0 || l.ReadTimeout < l.ReadHeaderTimeout || l.IdleTimeout <= 0 || l.MaxHeaderBytes <= 0 {
		t.Errorf("defaults leave the server open to slow clients: %+v", l)
	}
	// A probe runs at most its module's timeout (10 s by default) or the
	// scrape timeout; the answer must not be cut off before.
	if l.WriteTimeout < time.Minute {
		t.Errorf("write timeout %v would cut off long probes", l.WriteTimeout)
	}
}

// Clients that trickle their headers (slowloris) or body are cut off by
// ReadHeaderTimeout and ReadTimeout while other clients are served as usual.
// What is checked is that the server closes them at all: without the limits
// it never would, and the clients keep trickling until the test ends them.
// How soon after the limit the server gets to it depends on the machine's
// load; testutil.Patience (a minute, 100 times the limits) bounds the wait.
func TestSlowClientsCutOff(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"hk3-a": mock.HK3})
	// MaxHeaderBytes is large enough that a slowloris client (about 300
	// bytes a second) cannot reach it within Patience: only
	// ReadHeaderTimeout may cut it off.
	l := serverLimits{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond,
		WriteTimeout: 5 * time.Second, IdleTimeout: 400 * time.Millisecond, MaxHeaderBytes: 32 << 10}
	addr := serveLimited(t, env, l)

	// A crowd of slowloris clients: a header line every 50 ms, forever.
	const slow = 40
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	trickle := func(c net.Conn, line func(i int) string) {
		wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := io.WriteString(c, line(i)); err != nil {
						return // cut off
					}
				}
			}
		})
	}
	conns := make([]net.Conn, slow)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		if _, err := fmt.Fprintf(c, "GET /probe?target=hk3-a HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		trickle(c, func(i int) string { return fmt.Sprintf("X-Slow-%d: 1\r\n", i) })
	}
	start := time.Now()
	// Meanwhile a normal scrape is answered.
	resp, err := http.Get("http://" + addr + "/probe?target=hk3-a")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "antspace_up 1") {
		t.Errorf("normal client during the slowloris: %d", resp.StatusCode)
	}
	for i, c := range conns {
		closed, how := closedWithin(c, testutil.Patience-time.Since(start))
		if !closed {
			t.Fatalf("slowloris client %d not cut off after %v (%s)", i, time.Since(start), how)
		}
		// A timeout closes the connection without an answer; the header
		// size limit would have answered 431.
		if how != "" {
			t.Errorf("slowloris client %d cut off with %q, not by ReadHeaderTimeout", i, how)
		}
	}
	t.Logf("%d slowloris clients cut off within %v (ReadHeaderTimeout %v)", slow, time.Since(start).Round(time.Millisecond), l.ReadHeaderTimeout)

	// A body trickled byte by byte, forever: cut off at ReadTimeout.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	trickle(c, func(int) string { return "x" })
	if closed, how := closedWithin(c, testutil.Patience); !closed {
		t.Errorf("slow body not cut off (%s)", how)
	}
	c.Close()

	// Oversized headers: 431, not memory.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := fmt.Fprintf(c2, "GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 64<<10)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c2).ReadString('\n')
	if err != nil || !strings.Contains(line, "431") {
		t.Errorf("oversized headers: %q %v", line, err)
	}

	// An idle keep-alive connection is closed after IdleTimeout.
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if _, err := fmt.Fprintf(c3, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c3)
	resp3, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp3.Body); err != nil {
		t.Fatal(err)
	}
	resp3.Body.Close()
	idleStart := time.Now()
	_ = c3.SetReadDeadline(time.Now().Add(testutil.Patience))
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: %v after %v, want EOF", err, time.Since(idleStart))
	}
}

// Beyond --web.max-requests, /probe answers 503 at once through the real
// routes while the other endpoints stay available; the probes in flight
// still finish. The two probes in flight end only when the test lets their
// deadline pass (probeDeadlines), so the third request meets them however
// slow the machine, and "at once" is checked without a clock: a third probe
// that queued would wait for a slot that is not freed until it is answered.
func TestMaxRequestsThroughRoutes(t *testing.T) {
	hung, err := mock.Start(mock.Options{Type: mock.HK3}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	hung.Misbehave(mock.Misbehaviour{Kind: mock.Hang})
	file := filepath.Join(t.TempDir(), "inv.yml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf("containers:\n  - {name: hung, address: %q, type: hk3}\n", hung.Addr())), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	exp := newExporter(exporterOptions{logger: log.NewLogfmtLogger(logs), configFile: file, telemetryPath: "/metrics",
		timeoutOffset: 0, maxRequests: 2, maxConns: 4})
	if err := exp.reload(); err != nil {
		t.Fatal(err)
	}
	deadlines := installProbeDeadlines(exp.probe)
	env := &testEnv{exp: exp, logs: logs}
	addr := serveLimited(t, env, defaultServerLimits)
	defer exp.client.HTTP.CloseIdleConnections()
	client := &http.Client{Timeout: testutil.Patience}

	get := func(path, timeout string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if timeout != "" {
			req.Header.Set(scrapeTimeoutHeader, timeout)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	type answer struct {
		code int
		body string
	}
	inFlight := make(chan answer, 2)
	for range 2 {
		go func() {
			c, b := get("/probe?target=hung", "1.5")
			inFlight <- answer{c, b}
		}()
	}
	testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "two probes waiting on the hung container", func() bool {
		return hung.Reads("coolerState") >= 2
	})
	code, body := get("/probe?target=hung", "1.5")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "--web.max-requests") {
		t.Errorf("third probe: %d %s", code, body)
	}
	if code, _ := get("/metrics", ""); code != 200 {
		t.Errorf("/metrics while /probe is saturated: %d", code)
	}
	select {
	case a := <-inFlight:
		t.Fatalf("a probe in flight ended before its deadline: %d %s", a.code, a.body)
	default:
	}
	deadlines.expireFor(t, "hung")
	for range 2 {
		a := <-inFlight
		if a.code != 200 || !strings.Contains(a.body, "antspace_up 0") || !strings.Contains(a.body, "antspace_probe_timeout_seconds 1.5") {
			t.Errorf("probe in flight: %d %s", a.code, a.body)
		}
	}
}

// Test secrets: none may appear on any page or in the log.
const (
	testToken    = "tok-8c1d5e0f-secret"
	testPassword = "pw-4a7b2c9e-secret"
)

func TestConfigDumpAndPagesHideSecrets(t *testing.T) {
	mk := func(s string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	tokenHash, passHash := mk(testToken), mk(testPassword)
	credFile := filepath.Join(t.TempDir(), "creds.yml")
	fileHash := mk("file-secret")
	if err := os.WriteFile(credFile, []byte("tokens:\n  - {name: from-file, hash: \""+fileHash+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, _ := mock.Start(mock.Options{Type: mock.HK3}, "127.0.0.1:0")
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "inv.yml")
	inv := fmt.Sprintf(`containers:
  - {name: hk3-a, address: %q, type: hk3, labels: {site: s1}}
control:
  credentials_file: %q
  tokens:
    - {name: ops-token, hash: %q, actions: [reset]}
  users:
    - {name: alice, hash: %q}
`, srv.Addr(), credFile, tokenHash, passHash)
	if err := os.WriteFile(file, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	exp := newExporter(exporterOptions{logger: log.NewLogfmtLogger(logs), configFile: file, telemetryPath: "/metrics", maxRequests: 10, maxConns: 2})
	if err := exp.reload(); err != nil {
		t.Fatal(err)
	}
	env := &testEnv{exp: exp, logs: logs}
	addr := serveLimited(t, env, defaultServerLimits)
	defer exp.client.HTTP.CloseIdleConnections()
	base := "http://" + addr

	code, dump, err := httpGet(base + "/config")
	if err != nil || code != 200 {
		t.Fatalf("/config: %d %v", code, err)
	}
	for _, want := range []string{"hk3-a", "ops-token", "alice", "credentials_file: " + credFile, "hash: <secret>", "timeout: 10s"} {
		if !strings.Contains(dump, want) {
			t.Errorf("/config lacks %q:\n%s", want, dump)
		}
	}
	if n := strings.Count(dump, "<secret>"); n != 2 {
		t.Errorf("/config shows %d <secret>, want 2 (the inline token and user):\n%s", n, dump)
	}

	// Exercise everything that logs: probes, reloads, control with right,
	// wrong and malformed credentials.
	if _, _, err := httpGet(base + "/probe?target=hk3-a"); err != nil {
		t.Fatal(err)
	}
	// send makes a request whose answer does not matter, only what it logs.
	send := func(req *http.Request) {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	post := func(path, authz string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		send(req)
	}
	post("/-/reload", "")
	post("/control/reset?target=hk3-a&dry_run=true", "Bearer "+testToken)
	post("/control/reset?target=hk3-a&dry_run=true", "Bearer "+testPassword)
	post("/control/reset?target=hk3-a&dry_run=true", testToken) // no scheme
	req, _ := http.NewRequest(http.MethodPost, base+"/control/reset?target=hk3-a&dry_run=true", nil)
	req.SetBasicAuth("alice", testToken)
	send(req)
	req, _ = http.NewRequest(http.MethodPost, base+"/control/reset?target=hk3-a&dry_run=true", nil)
	req.SetBasicAuth(testPassword, testPassword) // a password typed as the user name
	send(req)

	_, landing, _ := httpGet(base + "/")
	_, metrics, _ := httpGet(base + "/metrics")
	_, sd, _ := httpGet(base + "/sd")
	for where, text := range map[string]string{"/config": dump, "landing page": landing, "/metrics": metrics, "/sd": sd, "log": logs.String()} {
		for _, secret := range []string{testToken, testPassword, tokenHash, passHash, fileHash, "file-secret", "$2a$", "$2b$"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows a secret (%.12s…)", where, secret)
			}
		}
	}
	if !strings.Contains(logs.String(), "control request") {
		t.Errorf("the control requests were not logged at all:\n%s", logs.String())
	}
}
