package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/bcrypt"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

// runStderr runs the exporter's run() and returns its exit code and what it
// wrote to stderr (only for arguments that make it exit at once).
func runStderr(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = saved }()
	code := run(args)
	w.Close()
	out, _ := io.ReadAll(r)
	return code, string(out)
}

// Flag errors name the program and the flag, say what is wrong with the
// value, and point to --help.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--timeout-offset=abc"}, `antspace_exporter: error: --timeout-offset: "abc" is not a number, try --help`},
		{[]string{"--web.max-requests", "many"}, `antspace_exporter: error: --web.max-requests: "many" is not a number, try --help`},
		{[]string{"--upstream.coalesce-window=5"}, `antspace_exporter: error: --upstream.coalesce-window: "5" is not a duration; write a number with a unit, like 30s, 1m or 500ms, try --help`},
		{[]string{"--log.level=loud"}, `antspace_exporter: error: --log.level: "loud": enum value must be one of debug,info,warn,error, got 'loud', try --help`},
		{[]string{"--log.prober=loud"}, `antspace_exporter: error: --log.prober: "loud"`},
		{[]string{"--no-such-flag"}, `antspace_exporter: error: unknown long flag '--no-such-flag', try --help`},
		{[]string{"--config.file"}, `antspace_exporter: error: expected argument for flag '--config.file', try --help`},
	} {
		code, out := runStderr(t, tc.args...)
		if code != 2 || !strings.HasPrefix(out, tc.want) {
			t.Errorf("%q: exit %d, stderr %q\nwant exit 2 and %q", tc.args, code, out, tc.want)
		}
		if strings.Contains(out, "strconv.") {
			t.Errorf("%q: Go parser error leaks through: %q", tc.args, out)
		}
	}
}

type fakeTerminal struct {
	tty     bool
	entries [][]byte
	reads   int
}

func (f *fakeTerminal) IsTerminal(int) bool { return f.tty }
func (f *fakeTerminal) ReadPassword(int) ([]byte, error) {
	if f.reads >= len(f.entries) {
		return nil, io.EOF
	}
	f.reads++
	return f.entries[f.reads-1], nil
}

// From a pipe the secret is read as it is; in a terminal it is read twice
// through the no-echo call, prompts going to stderr.
func TestSecretInput(t *testing.T) {
	stdin, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()

	var prompt bytes.Buffer
	in, err := secretInput(stdin, &prompt, &fakeTerminal{})
	if err != nil || in != io.Reader(stdin) || prompt.Len() != 0 {
		t.Errorf("pipe: reader %v err %v prompt %q; want stdin itself, no prompt", in, err, prompt.String())
	}

	ft := &fakeTerminal{tty: true, entries: [][]byte{[]byte("s3cret"), []byte("s3cret")}}
	in, err = secretInput(stdin, &prompt, ft)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(in)
	if string(got) != "s3cret\n" || ft.reads != 2 {
		t.Errorf("terminal: read %q after %d no-echo reads", got, ft.reads)
	}
	if p := prompt.String(); !strings.Contains(p, "(not shown)") || !strings.Contains(p, "Again, to confirm") || strings.Contains(p, "s3cret") {
		t.Errorf("prompts %q", p)
	}

	_, err = secretInput(stdin, io.Discard, &fakeTerminal{tty: true, entries: [][]byte{[]byte("a"), []byte("b")}})
	if err == nil || !strings.Contains(err.Error(), "the two entries differ") {
		t.Errorf("mismatch: %v", err)
	}
	_, err = secretInput(stdin, io.Discard, &fakeTerminal{tty: true})
	if err == nil || !strings.Contains(err.Error(), "reading the secret") {
		t.Errorf("closed terminal: %v", err)
	}
}

// The built binary in a real pseudo-terminal: the secret is not echoed and
// stdout carries only its hash.
func TestHashSecretInTerminal(t *testing.T) {
	bin := buildBinary(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var stdout bytes.Buffer
	cmd := exec.Command(bin, "--control.hash-secret")
	cmd.Stdin, cmd.Stderr, cmd.Stdout = tty, tty, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	screen := &testutil.SyncBuffer{}
	go func() { _, _ = io.Copy(screen, ptmx) }()
	const secret = "tty-s3cret-7781"
	testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "first prompt", func() bool { return strings.Contains(screen.String(), "(not shown)") })
	if _, err := ptmx.Write([]byte(secret + "\r")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, testutil.Patience, 20*time.Millisecond, "second prompt", func() bool { return strings.Contains(screen.String(), "Again") })
	if _, err := ptmx.Write([]byte(secret + "\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; screen %q", err, screen.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit; screen %q", screen.String())
	}
	if strings.Contains(screen.String(), secret) {
		t.Errorf("secret echoed on the terminal: %q", screen.String())
	}
	hash := strings.TrimSpace(stdout.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)); err != nil {
		t.Errorf("stdout %q is not the secret's hash: %v", stdout.String(), err)
	}
}
