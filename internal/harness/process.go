package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is a child process whose output goes to a log file.
type Process struct {
	Name string // base name of the binary, for messages
	Log  string // path of the log file

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts path with args; stdout and stderr go to logFile, env is added
// to this process's environment. On Linux the child is killed when the
// harness dies (it never outlives it).
func Start(path string, args []string, logFile string, env ...string) (*Process, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %w (run make build first)", path, err)
	}
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttrs()
	if err := cmd.Start(); err != nil {
		_ = f.Close() // nothing was written; the start error is the one to report
		return nil, err
	}
	p := &Process{Name: filepath.Base(path), Log: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close() // the child wrote through its own descriptor; this one only kept the file open
		close(p.done)
	}()
	return p, nil
}

// PID is the child's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Alive returns nil while the process runs, else an error with how it ended
// and the tail of its log.
func (p *Process) Alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %w; log %s:\n%s", p.Name, p.err, p.Log, p.Tail(2000))
	default:
		return nil
	}
}

// Stop sends SIGTERM and waits up to 30 s, then kills.
func (p *Process) Stop() {
	if p.Alive() != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Kill kills the process at once (no SIGTERM: a machine or site going
// away) and waits for it to end. A process that already ended is left as it
// is.
func (p *Process) Kill() {
	if p.Alive() != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Tail returns the last n bytes of the log.
func (p *Process) Tail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// ErrTimeout is wrapped by WaitUntil when cond stayed false.
var ErrTimeout = errors.New("timed out")

// WaitUntil polls cond every 50 ms until it holds, the process exits, or
// limit passes.
func (p *Process) WaitUntil(limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if err := p.Alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s waiting for %s; log %s:\n%s", ErrTimeout, limit, what, p.Log, p.Tail(2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
