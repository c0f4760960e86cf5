package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// repoRoot is the module root: the test runs in e2e/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	return root
}

// buildBinary builds a main package of this tree into dir.
func buildBinary(t *testing.T, root, pkg, dir string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// process is a child process the harness started; its output goes to a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // valid after done is closed

	stopOnce sync.Once
}

// startProcess starts bin with args, logging to a file in logDir. t.Cleanup
// stops it by its PID and, when the test failed, prints the log.
func startProcess(t *testing.T, logDir, name, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fmt.Fprintf(f, "### %s %s\n", bin, strings.Join(args, " ")) // a log header; the log is a debugging aid
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Logf("started %s (pid %d), log %s", name, cmd.Process.Pid, logPath)
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			p.dumpLog(t, 150)
		}
	})
	return p
}

// stop sends SIGTERM to the process the harness started and waits for it,
// killing it when it does not exit in time.
func (p *process) stop(t *testing.T) {
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(testutil.Patience):
			t.Logf("%s (pid %d) ignored SIGTERM for %v; killing it", p.name, p.cmd.Process.Pid, testutil.Patience)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) dumpLog(t *testing.T, lines int) {
	f, err := os.Open(p.logPath)
	if err != nil {
		t.Logf("%s log: %v", p.name, err)
		return
	}
	defer f.Close()
	var all []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	t.Logf("---- last %d lines of %s (%s) ----\n%s\n---- end of %s log ----", len(all), p.name, p.logPath, strings.Join(all, "\n"), p.name)
}

// waitHTTP waits until url answers 200, failing early when the process exits.
func (p *process) waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	ready := func() bool {
		if p.exited() {
			return true // reported below
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		return false
	}
	testutil.WaitFor(t, timeout, 50*time.Millisecond, p.name+" ready at "+url, ready, func() string {
		p.dumpLog(t, 50)
		return fmt.Sprint("last: ", last)
	})
	if p.exited() {
		p.dumpLog(t, 50)
		t.Fatalf("%s exited before it was ready: %v", p.name, p.err)
	}
}

// fleetContainer is one in-process mock container and its inventory entry.
type fleetContainer struct {
	Name string
	Type mock.Type
	Seed int64
	Site string
	Row  string
	Addr string
	// Thresholds is the inventory's thresholds: flow map, e.g.
	// {hk3_supply_liquid_temp_low_celsius: 30}; "" for none.
	Thresholds string

	mu  sync.Mutex
	srv *mock.Server
}

func (c *fleetContainer) server() *mock.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srv
}

// start serves the container on addr ("127.0.0.1:0" for a new port); a
// restart on the container's old address retries while the port is busy.
func (c *fleetContainer) start(t *testing.T, addr string) {
	t.Helper()
	var err error
	testutil.WaitFor(t, testutil.Patience, 50*time.Millisecond, "mock "+c.Name+" listening on "+addr, func() bool {
		var s *mock.Server
		s, err = mock.Start(mock.Options{Name: c.Name, Type: c.Type, Seed: c.Seed}, addr)
		if err == nil {
			c.mu.Lock()
			c.srv, c.Addr = s, s.Addr()
			c.mu.Unlock()
			return true
		}
		return !errors.Is(err, syscall.EADDRINUSE) // only a busy port is worth a retry
	}, func() string { return fmt.Sprint("last: ", err) })
	if err != nil {
		t.Fatalf("starting mock %s on %s: %v", c.Name, addr, err)
	}
}

// stop closes the container's server: it becomes unreachable.
func (c *fleetContainer) stop(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	s := c.srv
	c.srv = nil
	c.mu.Unlock()
	if s != nil {
		if err := s.Close(); err != nil {
			t.Errorf("closing mock %s: %v", c.Name, err)
		}
	}
}

// inventory renders the exporter's inventory for the fleet; extra is
// appended verbatim (e.g. a control: section).
func inventory(fleet []*fleetContainer, extra string) string {
	var b strings.Builder
	b.WriteString("modules:\n  hk3: {timeout: 5s}\n  immersion: {timeout: 5s}\ncontainers:\n")
	for _, c := range fleet {
		fmt.Fprintf(&b, "  - name: %s\n    address: %q\n    type: %s\n    labels: {site: %s, row: %q}\n", c.Name, c.Addr, c.Type, c.Site, c.Row)
		if c.Thresholds != "" {
			fmt.Fprintf(&b, "    thresholds: %s\n", c.Thresholds)
		}
	}
	b.WriteString(extra)
	return b.String()
}
