package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// CannedHTTP serves fixed HTTP/1.1 answers with keep-alive on a loopback
// port, at the least cost a server can have: no allocation per request once
// a connection is open, so benchmarks and allocation budgets of a client
// measure the client. answer picks the body by the request line; it is
// called once per distinct request line. The server stops at the test's end.
func CannedHTTP(tb testing.TB, answer func(requestLine string) []byte) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		mu    sync.Mutex
		cache = map[string][]byte{}
		wg    sync.WaitGroup
		conns = map[net.Conn]bool{}
	)
	response := func(line []byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		if r, ok := cache[string(line)]; ok {
			return r
		}
		body := answer(strings.TrimSpace(string(line)))
		r := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		cache[string(line)] = r
		return r
	}
	serve := func(c net.Conn) {
		defer func() { _ = c.Close() }() // the client's end reports what went wrong
		br := bufio.NewReaderSize(c, 4096)
		line := make([]byte, 0, 256)
		for {
			// Request line, then headers up to the blank line.
			l, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			line = append(line[:0], l...)
			for {
				h, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(bytes.TrimSpace(h)) == 0 {
					break
				}
			}
			if _, err := c.Write(response(line)); err != nil {
				return
			}
		}
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() { serve(c) })
		}
	})
	tb.Cleanup(func() {
		_ = ln.Close() // stops the accept loop
		mu.Lock()
		for c := range conns {
			_ = c.Close() // ends its serve loop
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
