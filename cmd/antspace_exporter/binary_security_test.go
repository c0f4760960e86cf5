package main

// The built binary: graceful shutdown with requests in flight, and TLS with
// basic auth through --web.config.file (exporter-toolkit).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/control"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

func bcryptHash(t *testing.T, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func startBinary(t *testing.T, bin string, args ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd, logs
}

func TestBinaryHardening(t *testing.T) {
	bin := buildBinary(t)
	t.Run("SIGTERM lets a probe and a control write in flight finish", func(t *testing.T) { testGracefulShutdown(t, bin) })
	t.Run("TLS and basic auth on every endpoint", func(t *testing.T) { testTLSBasicAuth(t, bin) })
}

// gatedMock serves a mock container whose answers to the gated operations
// wait until release is called; arrived counts the requests of an operation
// that reached it.
type gatedMock struct {
	*mock.Container
	addr    string
	gate    chan struct{}
	mu      sync.Mutex
	arrived map[string]int
}

func startGatedMock(t *testing.T, typ mock.Type, gated ...string) *gatedMock {
	t.Helper()
	c, err := mock.NewContainer(mock.Options{Type: typ, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedMock{Container: c, gate: make(chan struct{}), arrived: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.URL.Query().Get("operation")
		g.mu.Lock()
		g.arrived[op]++
		g.mu.Unlock()
		if slices.Contains(gated, op) {
			select {
			case <-g.gate:
			case <-r.Context().Done():
				return
			}
		}
		c.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.addr = srv.Listener.Addr().String()
	return g
}

func (g *gatedMock) release() { close(g.gate) }

func (g *gatedMock) requests(op string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.arrived[op]
}

// SIGTERM while a probe and a control write are held by the container: the
// listener closes, both still finish once the container answers, then the
// process exits 0. The container answers when the test says so, after the
// signal, so the requests are in flight at SIGTERM however slow the machine;
// the probe and write timeouts (2 minutes) are never what ends them.
func testGracefulShutdown(t *testing.T, bin string) {
	slow := startGatedMock(t, mock.HK3, "coolerState", "reset")

	const token = "shutdown-test-token"
	inv := filepath.Join(t.TempDir(), "inv.yml")
	if err := os.WriteFile(inv, []byte(fmt.Sprintf(`modules:
  hk3: {timeout: 2m}
containers:
  - {name: slow, address: %q, type: hk3}
control:
  timeout: 2m
  verify_timeout: 2m
  tokens:
    - {name: t, hash: %q}
`, slow.addr, bcryptHash(t, token))), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testutil.MustFreeAddr(t)
	cmd, logs := startBinary(t, bin, "--web.listen-address="+addr, "--config.file="+inv, "--upstream.coalesce-window=0")
	base := "http://" + addr
	testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "exporter up", func() bool { _, _, err := httpGet(base + "/-/healthy"); return err == nil })

	type answer struct {
		code int
		body string
		err  error
	}
	probe, write := make(chan answer, 1), make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"/probe?target=slow", nil)
		req.Header.Set(scrapeTimeoutHeader, "120")
		probe <- doAnswer(req)
	}()
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base+"/control/reset?target=slow", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		write <- doAnswer(req)
	}()
	testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "both requests at the container", func() bool {
		return slow.requests("coolerState") >= 1 && slow.requests("reset") >= 1
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused while the old ones finish.
	testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "listener closed", func() bool { _, _, err := httpGet(base + "/-/healthy"); return err != nil })
	select {
	case p := <-probe:
		t.Fatalf("the probe ended before the container answered: %d %v\n%s", p.code, p.err, p.body)
	case w := <-write:
		t.Fatalf("the write ended before the container answered: %d %v\n%s", w.code, w.err, w.body)
	default:
	}
	slow.release()

	p, w := <-probe, <-write
	if p.err != nil || p.code != 200 || !strings.Contains(p.body, "antspace_up 1") {
		t.Errorf("probe in flight at SIGTERM: %d %v\n%s", p.code, p.err, p.body)
	}
	if w.err != nil || w.code != 200 || !strings.Contains(w.body, `"verified": true`) {
		t.Errorf("control write in flight at SIGTERM: %d %v\n%s", w.code, w.err, w.body)
	}
	if n := len(slow.Writes()); n != 1 {
		t.Errorf("container saw %d writes, want 1", n)
	}
	exit := make(chan error, 1)
	go func() { exit <- cmd.Wait() }()
	select {
	case err := <-exit:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(testutil.Patience):
		t.Fatalf("exporter still running %v after its requests finished\n%s", testutil.Patience, logs.String())
	}
	if !strings.Contains(logs.String(), "letting in-flight requests finish") {
		t.Errorf("no shutdown log line:\n%s", logs.String())
	}
}

func doAnswer(req *http.Request) (a struct {
	code int
	body string
	err  error
}) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a.code, a.body, a.err = resp.StatusCode, string(b), err
	return a
}

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns the
// paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "antspace_exporter test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func testTLSBasicAuth(t *testing.T, bin string) {
	const (
		user         = "prometheus"
		password     = "web-pw-2f9e81c4"
		controlToken = "control-token-77ab31"
	)
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	webHash := bcryptHash(t, password)
	webConfig := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webConfig, []byte(fmt.Sprintf(`tls_server_config:
  cert_file: %s
  key_file: %s
basic_auth_users:
  %s: %q
`, certFile, keyFile, user, webHash)), 0o600); err != nil {
		t.Fatal(err)
	}
	dev, err := mock.Start(mock.Options{Type: mock.Immersion}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	tokenHash := bcryptHash(t, controlToken)
	inv := filepath.Join(dir, "inv.yml")
	if err := os.WriteFile(inv, []byte(fmt.Sprintf(`containers:
  - {name: imm, address: %q, type: immersion}
control:
  tokens:
    - {name: ops, hash: %q}
  users:
    - {name: %s, hash: %q}
`, dev.Addr(), tokenHash, user, webHash)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testutil.MustFreeAddr(t)
	cmd, logs := startBinary(t, bin, "--web.listen-address="+addr, "--config.file="+inv, "--web.config.file="+webConfig)
	base := "https://" + addr
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	do := func(method, path string, auth func(*http.Request)) (int, string, error) {
		req, _ := http.NewRequest(method, base+path, nil)
		if auth != nil {
			auth(req)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	basic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "exporter up (TLS)", func() bool {
		code, _, err := do(http.MethodGet, "/-/healthy", basic(user, password))
		return err == nil && code == 200
	})

	for _, path := range []string{"/probe?target=imm", "/probe?target=imm&debug=true", "/logs?id=1", "/metrics", "/sd", "/config", "/", "/-/healthy"} {
		for name, auth := range map[string]func(*http.Request){
			"no credentials": nil, "wrong password": basic(user, "nope"), "unknown user": basic("nobody", password),
			"bearer token": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+controlToken) },
		} {
			if code, body, err := do(http.MethodGet, path, auth); err != nil || code != http.StatusUnauthorized {
				t.Errorf("%s with %s: %d %v (want 401)\n%.200s", path, name, code, err, body)
			}
		}
		code, body, err := do(http.MethodGet, path, basic(user, password))
		if err != nil || code != 200 {
			t.Errorf("%s with the right credentials: %d %v\n%.300s", path, code, err, body)
		}
		if path == "/probe?target=imm" && !strings.Contains(body, "antspace_up 1") {
			t.Errorf("probe over TLS:\n%s", body)
		}
	}

	// /control sits behind the same basic auth. A bearer token in the
	// Authorization header is refused above, by the web layer; the control
	// token travels in its own header beside the web user's basic auth.
	code, body, err := do(http.MethodPost, "/control/reset?target=imm&dry_run=true", func(r *http.Request) {
		r.SetBasicAuth(user, password)
		r.Header.Set(control.TokenHeader, controlToken)
	})
	if err != nil || code != 200 {
		t.Errorf("/control with web basic auth and the token header: %d %v\n%s", code, err, body)
	}
	code, body, err = do(http.MethodPost, "/control/reset?target=imm&dry_run=true", func(r *http.Request) {
		r.SetBasicAuth(user, password)
		r.Header.Set(control.TokenHeader, "not-the-token")
	})
	if err != nil || code != http.StatusUnauthorized {
		t.Errorf("/control with a wrong token header: %d %v (want 401)\n%s", code, err, body)
	}
	// A control user with the web user's name and password also gets through.
	code, body, err = do(http.MethodPost, "/control/reset?target=imm&dry_run=true", basic(user, password))
	if err != nil || code != 200 {
		t.Errorf("/control with the shared basic-auth user: %d %v\n%s", code, err, body)
	}

	// Plain HTTP on the TLS port gets nothing but an error.
	code, body, err = httpGet("http://" + addr + "/metrics")
	if err == nil && (code == 200 || strings.Contains(body, "antspace_exporter_build_info")) {
		t.Errorf("plain HTTP served: %d\n%.200s", code, body)
	}
	// A client that does not trust the certificate does not connect.
	if _, err := http.Get(base + "/-/healthy"); err == nil {
		t.Error("TLS handshake with an untrusted certificate succeeded")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	text := logs.String()
	for _, secret := range []string{password, webHash, controlToken, tokenHash} {
		if strings.Contains(text, secret) {
			t.Errorf("log shows a secret (%.10s…)", secret)
		}
	}
	if !strings.Contains(text, "TLS is enabled") {
		t.Errorf("exporter-toolkit did not report TLS:\n%s", text)
	}
}
