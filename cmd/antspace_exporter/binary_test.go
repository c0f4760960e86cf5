package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

// buildBinary builds the exporter with version ldflags, as the Makefile does.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "antspace_exporter")
	const pkg = "github.com/prometheus/common/version"
	ldflags := fmt.Sprintf("-X %s.Version=9.8.7-test -X %s.Revision=abc123 -X %s.Branch=testbranch", pkg, pkg, pkg)
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)

	t.Run("config.check", func(t *testing.T) {
		out, err := exec.Command(bin, "--config.check", "--config.file", "../../targets.example.yml").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "valid") {
			t.Errorf("valid file: %v %s", err, out)
		}
		bad := filepath.Join(t.TempDir(), "bad.yml")
		if err := os.WriteFile(bad, []byte("containers:\n  - {name: a, address: x, type: hk3}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err = exec.Command(bin, "--config.check", "--config.file", bad).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "is not host:port") {
			t.Errorf("invalid file: %v %s", err, out)
		}
	})

	t.Run("serve, SIGHUP reload, SIGTERM", func(t *testing.T) {
		inv := filepath.Join(t.TempDir(), "inv.yml")
		if err := os.WriteFile(inv, []byte("containers:\n  - {name: a, address: \"127.0.0.1:1\", type: hk3}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		addr := testutil.MustFreeAddr(t)
		var logs bytes.Buffer
		cmd := exec.Command(bin, "--web.listen-address", addr, "--config.file", inv, "--log.format", "json")
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "exporter up", func() bool { _, _, err := httpGet("http://" + addr + "/-/healthy"); return err == nil })

		_, body, _ := httpGet("http://" + addr + "/metrics")
		if !strings.Contains(body, `antspace_exporter_build_info{branch="testbranch"`) || !strings.Contains(body, `revision="abc123"`) || !strings.Contains(body, `version="9.8.7-test"`) {
			t.Errorf("build_info lacks version and revision:\n%s", grep(body, "build_info"))
		}

		if err := os.WriteFile(inv, []byte("containers:\n  - {name: b, address: \"127.0.0.1:2\", type: immersion}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "reload on SIGHUP", func() bool {
			_, sd, _ := httpGet("http://" + addr + "/sd")
			return strings.Contains(sd, `"targets":["b"]`)
		})

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
		if !strings.Contains(logs.String(), `"msg":"starting antspace_exporter"`) {
			t.Errorf("json logs expected:\n%s", logs.String())
		}
	})
}

func grep(text, substr string) string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
