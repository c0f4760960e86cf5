package mock

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Wire-level misbehaviours: the controller breaks HTTP itself, not just its
// JSON. They take over the connection (http.Hijacker), so they need a real
// connection (Start/Serve), not an httptest.ResponseRecorder; that is why
// they are listed in WireKinds and not in Kinds. Every one of them stops when
// the client closes the connection or the container stops.
const (
	HeaderFlood         Kind = "header_flood"         // a status line, then header lines without end
	EndlessHeaderLine   Kind = "endless_header_line"  // a status line, then one header line that never ends
	EndlessStatusLine   Kind = "endless_status_line"  // a status line that never ends
	InformationalFlood  Kind = "informational_flood"  // "100 Continue" heads without end, never the answer
	SwitchingProtocols  Kind = "switching_protocols"  // "101 Switching Protocols", then raw bytes
	HugeContentLength   Kind = "huge_content_length"  // the normal answer under "Content-Length: 1 TiB", then silence
	TrailerFlood        Kind = "trailer_flood"        // the normal answer chunked, then trailer lines without end
	UnsolicitedResponse Kind = "unsolicited_response" // the normal answer, then a second, unrequested one on the idle connection
)

// WireKinds lists the wire-level misbehaviours.
var WireKinds = []Kind{HeaderFlood, EndlessHeaderLine, EndlessStatusLine, InformationalFlood, SwitchingProtocols, HugeContentLength, TrailerFlood, UnsolicitedResponse}

// UnsolicitedFault is the fault an UnsolicitedResponse's second answer claims
// (as true): a client that reads it as the answer to its next request
// reports a leak that does not exist.
const UnsolicitedFault = "leakage_fault"

func isWireKind(k Kind) bool { return slices.Contains(WireKinds, k) }

// misbehaveWire answers on the raw connection.
func (c *Container) misbehaveWire(w http.ResponseWriter, m Misbehaviour, env envelope) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "wire misbehaviour needs a real connection", http.StatusInternalServerError)
		return
	}
	conn, bw, err := hj.Hijack()
	if err != nil {
		return
	}
	finished := make(chan struct{})
	defer close(finished)
	go func() { // the container stopping ends the flood
		select {
		case <-c.done:
			_ = conn.Close() // ends the handler's writes; their errors end it
		case <-finished:
		}
	}()
	defer func() { _ = conn.Close() }() // the client may have gone already

	body, _ := json.Marshal(env)
	flood := func(prefix string, line func(i int) string) {
		if _, err := bw.WriteString(prefix); err != nil {
			return
		}
		for i := 0; ; i++ {
			if _, err := bw.WriteString(line(i)); err != nil {
				return
			}
			if bw.Writer.Buffered() > 16<<10 {
				if err := bw.Flush(); err != nil {
					return // the client hung up
				}
			}
		}
	}
	filler := strings.Repeat("x", 1024)
	switch m.Kind {
	case HeaderFlood:
		flood("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", func(i int) string { return "X-Flood-" + strconv.Itoa(i) + ": " + filler[:64] + "\r\n" })
	case EndlessHeaderLine:
		flood("HTTP/1.1 200 OK\r\nX-Endless: ", func(int) string { return filler })
	case EndlessStatusLine:
		flood("HTTP/1.1 200 ", func(int) string { return filler })
	case InformationalFlood:
		flood("", func(int) string { return "HTTP/1.1 100 Continue\r\n\r\n" })
	case SwitchingProtocols:
		flood("HTTP/1.1 101 Switching Protocols\r\nUpgrade: antspace\r\nConnection: Upgrade\r\n\r\n", func(int) string { return filler })
	case HugeContentLength:
		// bufio.Writer keeps a write error for Flush, which is checked.
		_, _ = fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", int64(1)<<40, body)
		if bw.Flush() == nil {
			waitClosed(conn)
		}
	case TrailerFlood:
		_, _ = fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(body), body)
		flood("0\r\n", func(i int) string { return "X-Trailer-" + strconv.Itoa(i) + ": " + filler[:64] + "\r\n" })
	case UnsolicitedResponse:
		_, _ = fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		if bw.Flush() != nil {
			return
		}
		// A second answer nobody asked for, sent a moment later so that it
		// arrives while the connection sits idle in the client's pool.
		lie := c.unsolicited()
		t := time.NewTimer(50 * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.done:
			return
		}
		_, _ = fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(lie), lie)
		if bw.Flush() == nil {
			waitClosed(conn)
		}
	}
}

// unsolicited is a coolerState answer claiming UnsolicitedFault.
func (c *Container) unsolicited() []byte {
	params := map[string]any{}
	if p, ok := c.operate(OpCoolerState, nil).Params.(map[string]any); ok {
		maps.Copy(params, p)
	}
	params[UnsolicitedFault] = true
	b, _ := json.Marshal(envelope{OK: true, Method: OpCoolerState, Params: params})
	return b
}

// waitClosed reads (and discards) until the client closes the connection.
func waitClosed(conn net.Conn) {
	br := bufio.NewReaderSize(conn, 512)
	buf := make([]byte, 512)
	for {
		if _, err := br.Read(buf); err != nil {
			return
		}
	}
}
