// Package install tests what an operator installs: the release archives
// (make release), the systemd unit and the container image's defaults.
package install

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

const root = "../.."

// make release's script: both archives, static stripped binaries with the
// version filled in, the files an operator needs, and checksums that verify.
func TestReleaseArchives(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles two binaries")
	}
	// Two cold cross-compiles take minutes on a loaded machine: CI runs
	// this, elsewhere ask for it.
	if os.Getenv("CI") != "true" && os.Getenv("ANTSPACE_TEST_RELEASE") != "1" {
		t.Skip("set ANTSPACE_TEST_RELEASE=1 (CI=true runs it) to build the release archives")
	}
	for _, tool := range []string{"tar", "gzip", "sha256sum", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dist := t.TempDir()
	const version = "9.9.9-test"
	revision := ""
	if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
		revision = strings.TrimSpace(string(out))
	}
	cmd := exec.Command("./scripts/release.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION="+version)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}

	sums := readSums(t, filepath.Join(dist, "sha256sums.txt"))
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		name := fmt.Sprintf("antspace_exporter-%s.linux-%s", version, arch)
		archive := filepath.Join(dist, name+".tar.gz")
		data, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if sums[name+".tar.gz"] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: sha256sums.txt says %q, the file is %x", name, sums[name+".tar.gz"], sum)
		}
		files := untar(t, data)
		for _, want := range []string{"antspace_exporter", "LICENSE", "README.md", "examples/targets.example.yml",
			"examples/prometheus.yml", "examples/alertmanager.yml", "rules/antspace.rules.yml",
			"systemd/antspace_exporter.service", "systemd/antspace_exporter.default"} {
			if _, ok := files[name+"/"+want]; !ok {
				t.Errorf("%s lacks %s", name, want)
			}
		}
		bin := files[name+"/antspace_exporter"]
		checkStaticStripped(t, arch, bin, machine)
		if arch == runtime.GOARCH {
			path := filepath.Join(t.TempDir(), "antspace_exporter")
			if err := os.WriteFile(path, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			checkBuildInfoMetric(t, path, version, revision)
		}
	}
}

func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[fields[1]] = fields[0]
		}
	}
	if len(sums) != 2 {
		t.Errorf("sha256sums.txt lists %d files, want 2: %v", len(sums), sums)
	}
	return sums
}

func untar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = b
		}
	}
	return files
}

func checkStaticStripped(t *testing.T, arch string, bin []byte, machine elf.Machine) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: not an ELF binary: %v", arch, err)
	}
	if f.Machine != machine {
		t.Errorf("%s: machine %v, want %v", arch, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: dynamically linked (program header %v)", arch, p.Type)
		}
	}
	for _, name := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(name) != nil {
			t.Errorf("%s: not stripped (has %s)", arch, name)
		}
	}
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s: no Go build info: %v", arch, err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// -ldflags is not recorded with -trimpath; the version is checked
	// through --version and build_info instead.
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" || settings["GOARCH"] != arch || settings["GOOS"] != "linux" {
		t.Errorf("%s: build settings %v", arch, settings)
	}
}

// The version reaches --version and antspace_exporter_build_info.
func checkBuildInfoMetric(t *testing.T, bin, version, revision string) {
	t.Helper()
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "version "+version) {
		t.Errorf("--version: %v %s", err, out)
	}
	addr := testutil.MustFreeAddr(t)
	cmd := exec.Command(bin, "--web.listen-address="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var body string
	testutil.WaitFor(t, testutil.Patience, 50*time.Millisecond, "exporter /metrics", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err == nil && resp.StatusCode == 200
	})
	line := regexp.MustCompile(`(?m)^antspace_exporter_build_info\{.*\} 1$`).FindString(body)
	if !strings.Contains(line, `version="`+version+`"`) || (revision != "" && !strings.Contains(line, `revision="`+revision+`"`)) {
		t.Errorf("build_info %q, want version %s revision %s", line, version, revision)
	}
}

// The systemd unit verifies with systemd-analyze (with the binary path
// pointed at an existing file) and keeps its hardening.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join(root, "packaging", "antspace_exporter.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nUser=antspace_exporter\n", "\nExecReload=/bin/kill -HUP $MAINPID\n", "\nNoNewPrivileges=yes\n",
		"\nProtectSystem=strict\n", "\nProtectHome=yes\n", "\nCapabilityBoundingSet=\n", "\nPrivateTmp=yes\n",
		"\nRestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n", "\nSystemCallFilter=@system-service\n",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %q", strings.TrimSpace(want))
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not installed (CI installs the systemd package)")
		}
		t.Skip("systemd-analyze not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "antspace_exporter.service")
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/antspace_exporter"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 on unknown keys and bad values, only warning: any
	// output is a failure.
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=yes", path).CombinedOutput()
	if err != nil {
		t.Logf("systemd-analyze security --offline unavailable: %v", err)
		return
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([\d.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2 {
		t.Errorf("exposure level %s, want at most 2 (OK):\n%s", m[1], out)
	}
}

// The container image: pinned bases, a small build context, and no demo
// inventory or control tokens built in.
func TestDockerImageDefaults(t *testing.T) {
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("%d FROM lines", len(froms))
	}
	for _, f := range froms {
		if !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).Match(f[1]) {
			t.Errorf("base image %s not pinned by digest", f[1])
		}
	}
	for _, bad := range []string{"targets.example.yml", "demo-", "control:", "COPY . .\nRUN go mod download"} {
		if bytes.Contains(df, []byte(bad)) {
			t.Errorf("Dockerfile contains %q", bad)
		}
	}
	for _, want := range []string{"USER nonroot", "CGO_ENABLED=0", "CMD []"} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "bin/", "dist/"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).Match(ignore) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}
