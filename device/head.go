package device

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Limits on a controller's answer that the device transport enforces
// itself, because it reads answers with http.ReadResponse and net/http's
// Transport limits do not apply there. A controller's real answer head is a
// status line and a handful of short headers.
const (
	// MaxStatusLineBytes bounds the status line.
	MaxStatusLineBytes = 4 << 10
	// MaxHeaderLineBytes bounds each header line (folded continuation
	// lines count as lines of their own).
	MaxHeaderLineBytes = 16 << 10
	// MaxHeaderLines bounds the header lines of one response head.
	MaxHeaderLines = 256
	// MaxResponseHeadBytes bounds all response heads of one request
	// together, informational (1xx) ones included; net/http's default
	// server-side header limit is the same 1 MiB.
	MaxResponseHeadBytes = 1 << 20
	// MaxInformationalResponses bounds the 1xx heads before the answer, as
	// net/http's client does.
	MaxInformationalResponses = 5
	// maxTrailerBytes is what the transport lets through beyond the heads
	// and the body's framing. net/http's reader itself bounds each
	// chunk-size line (4 KiB), the framing overhead (about 16 bytes per
	// chunk plus the data) and trailers (one reader buffer, 4 KiB); the
	// wire budget is the backstop for whatever else comes.
	maxTrailerBytes = 1 << 20
)

// ErrBadResponse is in the chain of every error for an answer the transport
// refuses because it breaks HTTP or one of the limits above; the text says
// which.
var ErrBadResponse = errors.New("controller response refused")

func badResponse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadResponse, fmt.Sprintf(format, args...))
}

// bodyLimitKey carries the client's body limit to the transport, which lets
// at most MaxResponseHeadBytes + 4×limit + maxTrailerBytes come off the
// connection for one request (see wireBudget). The client itself stops
// reading the body at its limit.
type bodyLimitKey struct{}

// wireBudget is how many bytes one exchange may read from the connection:
// the heads, the body with chunk framing (which net/http's chunked reader
// bounds to about twice the data), and trailers.
func wireBudget(ctx context.Context) int64 {
	limit, _ := ctx.Value(bodyLimitKey{}).(int64)
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	return MaxResponseHeadBytes + 4*limit + maxTrailerBytes
}

// budgetReader fails a read beyond its budget, so nothing a controller
// sends (trailers without end, say) is read without bound.
type budgetReader struct {
	r    io.Reader
	left int64
	size int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, badResponse("answer larger than %d bytes on the wire (heads, body, framing and trailers)", b.size)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

var headPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putHead returns a head buffer to the pool unless a large head grew it.
func putHead(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		b.Reset()
		headPool.Put(b)
	}
}

// readHead reads the response head from br into head, enforcing the limits
// above: informational (1xx) heads are read and dropped (at most
// MaxInformationalResponses), 101 Switching Protocols is refused, and head
// holds the final head, ready for http.ReadResponse. An io.EOF or
// io.ErrUnexpectedEOF in the chain means the connection closed before or
// during the head.
func readHead(br *bufio.Reader, head *bytes.Buffer) error {
	budget := MaxResponseHeadBytes
	for informational := 0; ; informational++ {
		head.Reset()
		if err := readLine(br, head, MaxStatusLineBytes, &budget, "status line"); err != nil {
			if head.Len() == 0 && errors.Is(err, io.EOF) {
				return err // closed before an answer
			}
			return unexpectedEOF(err)
		}
		code := statusCode(head.Bytes())
		for lines := 0; ; lines++ {
			start := head.Len()
			if err := readLine(br, head, MaxHeaderLineBytes, &budget, "header line"); err != nil {
				return unexpectedEOF(err)
			}
			if line := head.Bytes()[start:]; len(bytes.TrimRight(line, "\r\n")) == 0 {
				break // the blank line that ends the head
			}
			if lines == MaxHeaderLines {
				return badResponse("more than %d header lines", MaxHeaderLines)
			}
		}
		switch {
		case code == 101:
			return badResponse("101 Switching Protocols; a controller answers plain HTTP")
		case code >= 100 && code <= 199:
			if informational == MaxInformationalResponses {
				return badResponse("more than %d informational (1xx) responses before the answer", MaxInformationalResponses)
			}
		default:
			return nil // the answer's head; http.ReadResponse checks the rest
		}
	}
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readLine appends one line (through its '\n') to head: at most limit bytes,
// and at most *budget for all lines together.
func readLine(br *bufio.Reader, head *bytes.Buffer, limit int, budget *int, what string) error {
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		n += len(chunk)
		*budget -= len(chunk)
		switch {
		case *budget < 0:
			return badResponse("response head larger than %d bytes", MaxResponseHeadBytes)
		case n > limit:
			return badResponse("%s longer than %d bytes", what, limit)
		}
		head.Write(chunk)
		if err == nil {
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// statusCode reads the code of an "HTTP/1.x NNN ..." status line; 0 when it
// is not one (http.ReadResponse then says what is wrong).
func statusCode(line []byte) int {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0
		}
		code = code*10 + int(c-'0')
	}
	return code
}
