package device

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Regression tests for issue #12, finding 1: the hand-written transport
// enforces limits on the answer's head as net/http's client would (and per
// line), for reads and writes alike.

// endless yields prefix and then fill without end.
type endless struct {
	prefix []byte
	fill   byte
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.prefix)
	e.prefix = e.prefix[n:]
	for i := n; i < len(p); i++ {
		p[i] = e.fill
	}
	return len(p), nil
}

func TestReadHeadLimits(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
	cont := "HTTP/1.1 100 Continue\r\n\r\n"
	many := func(n int, line string) string { return strings.Repeat(line, n) }
	for _, tc := range []struct {
		name     string
		in       io.Reader
		wantErr  string // "" = no error
		wantEOF  error
		wantHead string
	}{
		{name: "plain", in: strings.NewReader(ok + "{}"), wantHead: ok},
		{name: "LF only", in: strings.NewReader("HTTP/1.1 200 OK\nA: b\n\n{}"), wantHead: "HTTP/1.1 200 OK\nA: b\n\n"},
		{name: "5 informational answers", in: strings.NewReader(many(5, cont) + ok), wantHead: ok},
		{name: "6 informational answers", in: strings.NewReader(many(6, cont) + ok), wantErr: "more than 5 informational (1xx) responses"},
		{name: "informational flood", in: &endless{prefix: []byte(many(100, cont))}, wantErr: "more than 5 informational"},
		{name: "101", in: strings.NewReader("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"), wantErr: "101 Switching Protocols"},
		{name: "endless status line", in: &endless{prefix: []byte("HTTP/1.1 200 "), fill: 'x'}, wantErr: "status line longer than 4096 bytes"},
		{name: "long status line", in: strings.NewReader("HTTP/1.1 200 " + strings.Repeat("x", 4096) + "\r\n\r\n"), wantErr: "status line longer than 4096 bytes"},
		{name: "endless header line", in: &endless{prefix: []byte("HTTP/1.1 200 OK\r\nX: "), fill: 'x'}, wantErr: "header line longer than 16384 bytes"},
		{name: "header line at the limit", in: strings.NewReader("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("x", MaxHeaderLineBytes-5) + "\r\n\r\n"), wantHead: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("x", MaxHeaderLineBytes-5) + "\r\n\r\n"},
		{name: "header flood", in: &endless{prefix: []byte("HTTP/1.1 200 OK\r\n" + many(10000, "X-A: b\r\n"))}, wantErr: "more than 256 header lines"},
		{name: "256 headers", in: strings.NewReader("HTTP/1.1 200 OK\r\n" + many(256, "X-A: b\r\n") + "\r\n"), wantHead: "HTTP/1.1 200 OK\r\n" + many(256, "X-A: b\r\n") + "\r\n"},
		{name: "head over 1 MiB", in: strings.NewReader("HTTP/1.1 200 OK\r\n" + many(70, "X-A: "+strings.Repeat("y", 15<<10)+"\r\n") + "\r\n"), wantErr: "response head larger than 1048576 bytes"},
		{name: "heads over 1 MiB together", in: strings.NewReader(many(5, "HTTP/1.1 103 Early Hints\r\n"+many(20, "X-A: "+strings.Repeat("y", 15<<10)+"\r\n")+"\r\n") + ok), wantErr: "response head larger than"},
		{name: "closed before an answer", in: strings.NewReader(""), wantEOF: io.EOF},
		{name: "closed in the status line", in: strings.NewReader("HTTP/1.1 2"), wantEOF: io.ErrUnexpectedEOF},
		{name: "closed in the headers", in: strings.NewReader("HTTP/1.1 200 OK\r\nA: b\r\n"), wantEOF: io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var head bytes.Buffer
			err := readHead(bufio.NewReaderSize(tc.in, 4096), &head)
			switch {
			case tc.wantEOF != nil:
				if !errors.Is(err, tc.wantEOF) {
					t.Errorf("error %v, want %v", err, tc.wantEOF)
				}
			case tc.wantErr != "":
				if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want ErrBadResponse with %q", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case head.String() != tc.wantHead:
				t.Errorf("head %.200q, want %.200q", head.String(), tc.wantHead)
			}
		})
	}
}

// Every wire misbehaviour of the mock, for a read and for a write: the call
// fails with a reason naming what was wrong (a typed ErrBadResponse for the
// head), at once rather than at the timeout, and allocates a small multiple
// of the 1 MiB head limit, not what the controller sends.
func TestClientRefusesBrokenAnswers(t *testing.T) {
	client := NewClient("test", 2)
	for _, tc := range []struct {
		kind  mock.Kind
		want  string
		typed bool
	}{
		{mock.HeaderFlood, "more than 256 header lines", true},
		{mock.EndlessHeaderLine, "header line longer than 16384 bytes", true},
		{mock.EndlessStatusLine, "status line longer than 4096 bytes", true},
		{mock.InformationalFlood, "more than 5 informational (1xx) responses", true},
		{mock.SwitchingProtocols, "101 Switching Protocols", true},
		{mock.HugeContentLength, "body larger than the 4194304-byte limit (Content-Length 1099511627776)", false},
		{mock.TrailerFlood, "trailer", false},
	} {
		for _, op := range []string{payload.OpCoolerState, payload.OpReset} {
			t.Run(string(tc.kind)+"/"+op, func(t *testing.T) {
				srv, err := mock.Start(mock.Options{Type: mock.HK3}, "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				srv.Misbehave(mock.Misbehaviour{Kind: tc.kind, Operation: op, Count: 1})
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a safety net
				defer cancel()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				_, err = client.Call(ctx, srv.Addr(), op, nil)
				runtime.ReadMemStats(&after)
				if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.typed && !errors.Is(err, ErrBadResponse)) {
					t.Fatalf("error %v, want %q (typed: %v)", err, tc.want, tc.typed)
				}
				if ctx.Err() != nil {
					t.Errorf("refused only at the timeout: %v", err)
				}
				// The mock's own writes are counted too; the old transport
				// allocated without bound here.
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
					t.Errorf("the call allocated %d MiB", alloc>>20)
				}
			})
		}
	}
}

// A controller that sends an answer nobody asked for on an idle keep-alive
// connection: the next request does not read it as its answer, it goes out
// on a new connection.
func TestTransportDropsUnsolicitedAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	sendLie := make(chan struct{})
	lieSent := make(chan struct{})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n := accepted.Add(1)
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					if _, err := br.ReadString('\n'); err != nil { // request line
						return
					}
					for line := ""; line != "\r\n"; {
						if line, err = br.ReadString('\n'); err != nil {
							return
						}
					}
					_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 31\r\n\r\n{\"ok\":true,\"params\":{\"conn\":"+strconv.FormatInt(n, 10)+"}}")
					if n == 1 {
						<-sendLie
						_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 31\r\n\r\n{\"ok\":true,\"params\":{\"conn\":9}}")
						close(lieSent)
					}
				}
			}()
		}
	}()
	client := NewClient("test", 1)
	tr := client.HTTP.Transport.(*deviceTransport)
	env, err := client.Call(context.Background(), ln.Addr().String(), payload.OpCoolerState, nil)
	if err != nil || string(env.Params) != `{"conn":1}` {
		t.Fatalf("first answer: %v %s", err, env.Params)
	}
	close(sendLie)
	<-lieSent
	testutil.WaitFor(t, testutil.Patience, time.Millisecond, "the unsolicited answer at the idle connection", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for _, p := range tr.hosts {
			for _, ic := range p.idle {
				if idleConnUnusable(ic.conn) {
					return true
				}
			}
		}
		return false
	})
	env, err = client.Call(context.Background(), ln.Addr().String(), payload.OpCoolerState, nil)
	if err != nil || string(env.Params) != `{"conn":2}` {
		t.Fatalf("second answer: %v %s, want it from a new connection", err, env.Params)
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// The wire budget stops a body framing that never ends even for a caller
// that reads without a limit of its own.
func TestBudgetReader(t *testing.T) {
	b := &budgetReader{r: &endless{fill: 'x'}, left: 10 << 10, size: 10 << 10}
	n, err := io.Copy(io.Discard, b)
	if n != 10<<10 || !errors.Is(err, ErrBadResponse) {
		t.Errorf("read %d bytes, error %v", n, err)
	}
}

// An IPv6 address with a zone (which config accepts) makes a valid URL.
func TestURLEscapesZone(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8000":    "http://127.0.0.1:8000/cooler?operation=coolerState",
		"[fe80::1%eth0]:80": "http://[fe80::1%25eth0]:80/cooler?operation=coolerState",
		"http://h:1/":       "http://h:1/cooler?operation=coolerState",
	} {
		u := URL(addr, payload.OpCoolerState, nil)
		if u != want {
			t.Errorf("URL(%q) = %q, want %q", addr, u, want)
		}
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Errorf("%q: %v", u, err)
		} else if strings.Contains(addr, "%") && req.URL.Host != addr {
			t.Errorf("%q: host %q, want %q", u, req.URL.Host, addr)
		}
	}
}
