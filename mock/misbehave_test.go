package mock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

func TestMisbehaviourKinds(t *testing.T) {
	isJSON := func(b []byte) bool { return json.Valid(b) }
	decode := func(t *testing.T, b []byte) map[string]any {
		t.Helper()
		var env map[string]any
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("%v: %.200s", err, b)
		}
		return env
	}
	for _, tc := range []struct {
		kind   Kind
		op     string
		status int
		check  func(t *testing.T, r response)
	}{
		{HTTP500, OpCoolerState, 500, nil},
		{HTTP400, OpMinerInfo, 400, func(t *testing.T, r response) {
			if string(r.body) != `{"error":"ERR_UNSUPPORTED","status":"error"}` {
				t.Errorf("body %s", r.body)
			}
		}},
		{InvalidJSON, OpCoolerState, 200, func(t *testing.T, r response) {
			if isJSON(r.body) {
				t.Errorf("valid JSON: %s", r.body)
			}
		}},
		{TruncatedJSON, OpCoolerState, 200, func(t *testing.T, r response) {
			if isJSON(r.body) || !bytes.HasPrefix(r.body, []byte(`{"ok":true,"method":"coolerState","params":{`)) {
				t.Errorf("not a truncated answer: %s", r.body)
			}
		}},
		{WrongTypes, OpCoolerState, 200, func(t *testing.T, r response) {
			p := decode(t, r.body)["params"].(map[string]any)
			for _, f := range wantHK3Numbers {
				if s, ok := p[f].(string); !ok {
					t.Errorf("%s = %#v, want a string", f, p[f])
				} else if _, err := strconv.ParseFloat(s, 64); err != nil {
					t.Errorf("%s = %q, not a number in a string", f, s)
				}
			}
			for _, f := range wantHK3Bools {
				if _, ok := p[f].(map[string]any)["value"].(bool); !ok {
					t.Errorf("%s = %#v, want an object", f, p[f])
				}
			}
		}},
		{WrongTypes, OpMinerInfo, 200, func(t *testing.T, r response) {
			p := decode(t, r.body)["params"].(map[string]any)
			if _, ok := p["total_hashrate"].(string); !ok {
				t.Errorf("total_hashrate %#v", p["total_hashrate"])
			}
			for _, m := range p["miner_info"].(map[string]any) {
				if _, ok := m.(map[string]any)["GHS_5s"].(string); !ok {
					t.Errorf("GHS_5s %#v", m)
				}
			}
		}},
		{Nulls, OpCoolerState, 200, func(t *testing.T, r response) {
			p := decode(t, r.body)["params"].(map[string]any)
			if len(p) != len(wantHK3Numbers)+len(wantHK3Bools) {
				t.Errorf("%d fields", len(p))
			}
			for f, v := range p {
				if v != nil {
					t.Errorf("%s = %v, want null", f, v)
				}
			}
		}},
		{Nulls, OpMinerInfo, 200, func(t *testing.T, r response) {
			p := decode(t, r.body)["params"].(map[string]any)
			if p["miner_num"] != nil {
				t.Errorf("miner_num %v", p["miner_num"])
			}
			for ip, m := range p["miner_info"].(map[string]any) {
				for f, v := range m.(map[string]any) {
					if v != nil {
						t.Errorf("%s %s = %v", ip, f, v)
					}
				}
			}
		}},
		{NotOK, OpCoolerState, 200, func(t *testing.T, r response) {
			if string(r.body) != `{"ok":false,"method":"coolerState","params":null}` {
				t.Errorf("body %s", r.body)
			}
		}},
		{NotOKParams, OpCoolerState, 200, func(t *testing.T, r response) {
			env := decode(t, r.body)
			if p, _ := env["params"].(map[string]any); env["ok"] != false || p["supply_liquid_temp"] == nil {
				t.Errorf("body %.200s", r.body)
			}
		}},
		{ParamsNull, OpMinerInfo, 200, func(t *testing.T, r response) {
			if string(r.body) != `{"ok":true,"method":"minerInfo","params":null}` {
				t.Errorf("body %s", r.body)
			}
		}},
		{ExtraFields, OpCoolerState, 200, func(t *testing.T, r response) {
			p := decode(t, r.body)["params"].(map[string]any)
			if p[ExtraNumberField] != 42.5 || p[ExtraBoolField] != true || p[ExtraStringField] != "extra" {
				t.Errorf("extra fields missing: %v %v %v", p[ExtraNumberField], p[ExtraBoolField], p[ExtraStringField])
			}
			if len(p) != len(wantHK3Numbers)+len(wantHK3Bools)+3 {
				t.Errorf("%d fields", len(p))
			}
		}},
		{HugeBody, OpCoolerState, 200, func(t *testing.T, r response) {
			if len(r.body) != 1<<20 || r.header.Get("Content-Length") != strconv.Itoa(1<<20) {
				t.Errorf("body %d bytes, Content-Length %s", len(r.body), r.header.Get("Content-Length"))
			}
			p := decode(t, r.body)["params"].(map[string]any)
			if _, ok := p["supply_liquid_temp"].(float64); !ok {
				t.Error("huge body lacks the real fields")
			}
		}},
		{HugeBody, OpReset, 200, func(t *testing.T, r response) {
			if len(r.body) != 1<<20 || !isJSON(r.body) {
				t.Errorf("body %d bytes, valid %v", len(r.body), isJSON(r.body))
			}
		}},
	} {
		t.Run(string(tc.kind)+"/"+tc.op, func(t *testing.T) {
			s, _ := start(t, Options{Type: HK3, Miners: 3})
			s.Misbehave(Misbehaviour{Kind: tc.kind, Operation: tc.op, Count: 1, Size: 1 << 20})
			r := get(t, s.URL()+"/cooler?operation="+tc.op)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %.200s", r.status, tc.status, r.body)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			// Count 1: the next answer is normal again.
			if env := op(t, s, tc.op); env["ok"] != true {
				t.Errorf("second answer not normal: %v", env)
			}
			if got := s.Misbehaviours(); len(got) != 0 {
				t.Errorf("queue not empty: %v", got)
			}
		})
	}
}

func TestMisbehaviourCountAndFilter(t *testing.T) {
	s, _ := start(t, Options{})
	status := func(query string) int { return get(t, s.URL()+"/cooler?operation="+query).status }

	s.Misbehave(Misbehaviour{Kind: HTTP500, Count: 2}) // both reads, twice
	if a, b, c, d := status("coolerState"), status("open"), status("minerInfo"), status("coolerState"); a != 500 || b != 200 || c != 500 || d != 200 {
		t.Errorf("Count 2 on reads: %d %d %d %d, want 500 200 500 200", a, b, c, d)
	}

	s.Misbehave(Misbehaviour{Kind: HTTP500, Operation: OpMinerInfo}) // minerInfo only, until cleared
	for range 3 {
		if a, b := status("coolerState"), status("minerInfo"); a != 200 || b != 500 {
			t.Errorf("minerInfo-only: coolerState %d minerInfo %d", a, b)
		}
	}
	s.ClearMisbehaviour()
	if status("minerInfo") != 200 {
		t.Error("ClearMisbehaviour did not clear")
	}

	// Queue order: the first matching entry is used first.
	s.Misbehave(Misbehaviour{Kind: HTTP500, Count: 1})
	s.Misbehave(Misbehaviour{Kind: HTTP400, Count: 1})
	if a, b, c := status("coolerState"), status("coolerState"), status("coolerState"); a != 500 || b != 400 || c != 200 {
		t.Errorf("queue: %d %d %d, want 500 400 200", a, b, c)
	}

	// A misbehaving write is still performed and recorded.
	s.Misbehave(Misbehaviour{Kind: HTTP500, Operation: OpClose, Count: 1})
	if status("close") != 500 || s.State()["circulating_pump"] != false {
		t.Error("misbehaving close not performed")
	}
	if w := s.Writes(); len(w) != 2 || w[1].Operation != OpClose {
		t.Errorf("writes %v", w)
	}
	if got := s.Reads(OpCoolerState); got != 8 {
		t.Errorf("Reads(coolerState) = %d, want 8 (misbehaving answers count)", got)
	}
}

func TestSlow(t *testing.T) {
	s, _ := start(t, Options{})
	const delay = 50 * time.Millisecond
	s.Misbehave(Misbehaviour{Kind: Slow, Delay: delay, Count: 1})
	t0 := time.Now()
	if env := op(t, s, OpCoolerState); env["ok"] != true {
		t.Errorf("slow answer %v", env)
	}
	if d := time.Since(t0); d < delay {
		t.Errorf("answered after %v, want ≥ %v", d, delay)
	}
	// A slow answer the client gives up on.
	s.Misbehave(Misbehaviour{Kind: Slow, Delay: time.Hour, Count: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/cooler?operation=coolerState", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want deadline exceeded", err)
	}
}

// hangingRequest starts a coolerState request that hangs and waits until the mock has it.
func hangingRequest(t *testing.T, ctx context.Context, s *Server) <-chan error {
	t.Helper()
	s.Misbehave(Misbehaviour{Kind: Hang})
	before := s.Reads(OpCoolerState)
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/cooler?operation=coolerState", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil {
				err = errors.New("hang answered: " + res.Status)
			}
		}
		errc <- err
	}()
	testutil.WaitFor(t, testutil.Patience, time.Millisecond, "the hanging request to arrive", func() bool { return s.Reads(OpCoolerState) > before })
	return errc
}

func TestHangEndsOnClientCancel(t *testing.T) {
	s, _ := start(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	errc := hangingRequest(t, ctx, s)
	select {
	case err := <-errc:
		t.Fatalf("hang ended before cancel: %v", err)
	default:
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context canceled", err)
	}
	// TestMain's goleak check catches a handler goroutine left behind.
}

func TestHangEndsOnClose(t *testing.T) {
	s, err := Start(Options{Type: Immersion}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := hangingRequest(t, t.Context(), s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Error("hanging request got an answer")
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestHugeBodyDefaultSizeStreams(t *testing.T) {
	s, _ := start(t, Options{})
	s.Misbehave(Misbehaviour{Kind: HugeBody, Count: 1})
	res, err := http.Get(s.URL() + "/cooler?operation=coolerState")
	if err != nil {
		t.Fatal(err)
	}
	if res.ContentLength != DefaultHugeBodySize {
		t.Errorf("Content-Length %d, want %d", res.ContentLength, DefaultHugeBodySize)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	if err != nil || n != 1<<20 {
		t.Errorf("read %d: %v", n, err)
	}
	res.Body.Close() // the client gives up; the handler must stop streaming
}

func TestMisbehaviourValidate(t *testing.T) {
	for _, tc := range []struct {
		m  Misbehaviour
		ok bool
	}{
		{Misbehaviour{Kind: Hang}, true},
		{Misbehaviour{Kind: Slow, Operation: OpSetTemp, Delay: time.Second, Count: 2}, true},
		{Misbehaviour{Kind: "explode"}, false},
		{Misbehaviour{Kind: Hang, Operation: "reboot"}, false},
		{Misbehaviour{Kind: Hang, Count: -1}, false},
		{Misbehaviour{Kind: Slow, Delay: -time.Second}, false},
		{Misbehaviour{Kind: HugeBody, Size: -1}, false},
	} {
		if err := tc.m.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.m, err, tc.ok)
		}
	}
	for _, k := range Kinds {
		if err := (Misbehaviour{Kind: k}).Validate(); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}

// Each wire misbehaviour breaks HTTP the way its name says, and stops when
// the client hangs up.
func TestWireMisbehaviours(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		check func(t *testing.T, head []byte, br *bufio.Reader)
	}{
		{HeaderFlood, func(t *testing.T, b []byte, _ *bufio.Reader) {
			if !bytes.HasPrefix(b, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(b, []byte("\r\nX-Flood-300: ")) || bytes.Contains(b, []byte("\r\n\r\n")) {
				t.Errorf("not a header flood: %.200q", b)
			}
		}},
		{EndlessHeaderLine, func(t *testing.T, b []byte, _ *bufio.Reader) {
			i := bytes.Index(b, []byte("X-Endless: "))
			if i < 0 || bytes.Contains(b[i:], []byte("\n")) {
				t.Errorf("not an endless header line: %.200q", b)
			}
		}},
		{EndlessStatusLine, func(t *testing.T, b []byte, _ *bufio.Reader) {
			if !bytes.HasPrefix(b, []byte("HTTP/1.1 200 ")) || bytes.Contains(b, []byte("\n")) {
				t.Errorf("not an endless status line: %.200q", b)
			}
		}},
		{InformationalFlood, func(t *testing.T, b []byte, _ *bufio.Reader) {
			if n := bytes.Count(b, []byte("HTTP/1.1 100 Continue\r\n\r\n")); n < 1000 || bytes.Contains(b, []byte(" 200 ")) {
				t.Errorf("%d 100 Continue heads: %.200q", n, b)
			}
		}},
		{SwitchingProtocols, func(t *testing.T, b []byte, _ *bufio.Reader) {
			if !bytes.HasPrefix(b, []byte("HTTP/1.1 101 Switching Protocols\r\n")) {
				t.Errorf("no 101: %.200q", b)
			}
		}},
		{HugeContentLength, func(t *testing.T, _ []byte, br *bufio.Reader) {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.ContentLength != 1<<40 {
				t.Errorf("Content-Length %d", resp.ContentLength)
			}
			if b, _ := br.Peek(len(`{"ok":true`)); string(b) != `{"ok":true` {
				t.Errorf("body starts %q", b)
			}
		}},
		{TrailerFlood, func(t *testing.T, _ []byte, br *bufio.Reader) {
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.TransferEncoding[0] != "chunked" {
				t.Fatalf("%v %+v", err, resp)
			}
			b := make([]byte, 64<<10)
			n, _ := io.ReadFull(br, b)
			if !bytes.Contains(b[:n], []byte("\r\n0\r\nX-Trailer-0: ")) || !bytes.Contains(b[:n], []byte("\r\nX-Trailer-300: ")) {
				t.Errorf("no trailer flood: %.300q", b[:n])
			}
		}},
		{UnsolicitedResponse, func(t *testing.T, _ []byte, br *bufio.Reader) {
			for i, wantFault := range []bool{false, true} {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				var env struct {
					Params map[string]any `json:"params"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
					t.Fatal(err)
				}
				if got := env.Params[UnsolicitedFault]; got != wantFault {
					t.Errorf("answer %d: %s = %v, want %v", i, UnsolicitedFault, got, wantFault)
				}
			}
		}},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			s, _ := start(t, Options{Type: HK3})
			s.Misbehave(Misbehaviour{Kind: tc.kind, Operation: OpCoolerState, Count: 1})
			conn, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second)) // a safety net, not a measurement
			if _, err := io.WriteString(conn, "GET /cooler?operation=coolerState HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			if tc.kind == HugeContentLength || tc.kind == TrailerFlood || tc.kind == UnsolicitedResponse {
				tc.check(t, nil, br)
				return
			}
			b := make([]byte, 64<<10)
			n, err := io.ReadFull(br, b)
			if err != nil {
				t.Fatalf("read %d bytes: %v", n, err)
			}
			tc.check(t, b, br)
		})
	}
	for _, k := range WireKinds {
		if slices.Contains(Kinds, k) {
			t.Errorf("wire kind %s is in Kinds (those must work on a ResponseRecorder)", k)
		}
	}
}
