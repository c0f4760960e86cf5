package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

// make demo as a user runs it: every link it prints answers 200 (with the
// Prometheus and Alertmanager the README installs: Debian's 2.42 has only
// the classic UI and Alertmanager has no web UI), the amtool command works,
// Prometheus' external URL is the loopback address, a second demo names the
// addresses in use without claiming to stop anything, and Ctrl-C stops it.
func TestDemoPrintsWorkingLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole demo")
	}
	testutil.RequireBinary(t, "prometheus")
	testutil.RequireBinary(t, "prometheus-alertmanager", "alertmanager")
	testutil.RequireBinary(t, "curl")
	root := repoRoot(t)
	bin := t.TempDir()
	buildBinary(t, root, "./cmd/antspace_exporter", bin)
	buildBinary(t, root, "./cmd/antspace_mock", bin)

	mockHost := freeMockHost(t)
	exporterAddr, promAddr, amAddr := testutil.MustFreeAddr(t), testutil.MustFreeAddr(t), testutil.MustFreeAddr(t)
	env := append(os.Environ(), "BIN="+bin, "DEMO_MOCK_HOST="+mockHost,
		"EXPORTER_ADDR="+exporterAddr, "PROMETHEUS_ADDR="+promAddr, "ALERTMANAGER_ADDR="+amAddr)
	start := func(out io.Writer) *exec.Cmd {
		cmd := exec.Command("bash", "scripts/demo.sh")
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = root, env, out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, so cleanup reaches its children
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var out testutil.SyncBuffer
	demo := start(&out)
	exited := make(chan error, 1)
	go func() { exited <- demo.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-demo.Process.Pid, syscall.SIGKILL) // the group this test started
		select {
		case err := <-exited:
			_ = err // killed or already gone: either way it is stopped
		case <-time.After(30 * time.Second):
		}
	})
	testutil.WaitFor(t, 5*time.Minute, 200*time.Millisecond, "demo running", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("demo exited: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), "Ctrl-C stops everything.")
	}, out.String)
	printed := out.String()

	links := regexp.MustCompile(`(?m)^  ([A-Za-z][^:\n]*):\s+(http://\S+)$`).FindAllStringSubmatch(printed, -1)
	labels := map[string]string{}
	for _, l := range links {
		labels[l[1]] = l[2]
		code, err := get(l[2])
		if err != nil || code != http.StatusOK {
			t.Errorf("printed link %s %s: %d %v", l[1], l[2], code, err)
		}
	}
	for _, want := range []string{"Exporter landing page", "Exporter own metrics", "HTTP SD (inventory)", "Probe HK3", "Why a probe fails", "Prometheus alerts", "Prometheus targets"} {
		if labels[want] == "" {
			t.Errorf("no %q link in\n%s", want, printed)
		}
	}
	if labels["Alertmanager"] == "" && labels["Alertmanager API"] == "" {
		t.Errorf("no Alertmanager link in\n%s", printed)
	}
	if m := regexp.MustCompile(`(?m)^  Alerts in Alertmanager: (amtool .*)$`).FindStringSubmatch(printed); m == nil {
		t.Errorf("no amtool command in\n%s", printed)
	} else if b, err := exec.Command("sh", "-c", m[1]).CombinedOutput(); err != nil {
		t.Errorf("%s: %v\n%s", m[1], err, b)
	}

	// Prometheus' external URL (the generatorURL of its alerts) is loopback.
	code, body := getBody(t, "http://"+promAddr+"/api/v1/status/flags")
	if code != 200 || !strings.Contains(body, `"web.external-url":"http://`+promAddr+`/"`) {
		t.Errorf("Prometheus flags: %d %s", code, body)
	}

	// A second demo on the same addresses names them and stops nothing.
	var second testutil.SyncBuffer
	again := start(&second)
	err := again.Wait()
	if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != 1 {
		t.Errorf("second demo: %v, want exit 1", err)
	}
	for _, want := range []string{"these addresses are in use:", mockHost + ":8001", mockHost + ":8012", exporterAddr, promAddr, amAddr} {
		if !strings.Contains(second.String(), want) {
			t.Errorf("second demo's message lacks %q:\n%s", want, second.String())
		}
	}
	if strings.Contains(second.String(), "demo stopped") {
		t.Errorf("second demo says it stopped a demo it never started:\n%s", second.String())
	}

	// Ctrl-C stops it all.
	if err := demo.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		t.Logf("demo exited after Ctrl-C: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatalf("demo did not stop on SIGINT:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "demo stopped") {
		t.Errorf("no \"demo stopped\" after Ctrl-C:\n%s", out.String())
	}
}

// freeMockHost picks a loopback address whose demo mock ports are free, so
// the test never meets a demo a person is running on 127.0.0.1.
func freeMockHost(t *testing.T) string {
	t.Helper()
	for i := range 50 {
		host := fmt.Sprintf("127.0.%d.%d", 100+os.Getpid()%100, 2+i)
		free := true
		for _, port := range []string{"8001", "8002", "8011", "8012"} {
			l, err := net.Listen("tcp", net.JoinHostPort(host, port))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return host
		}
	}
	t.Skip("no loopback address with the demo's mock ports free")
	return ""
}

func get(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
