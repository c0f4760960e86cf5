package main

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Probe answers are small (a few hundred series) and go to Prometheus on the
// site network, so they are gzipped at BestSpeed: promhttp's default level
// spent about a third of the exporter's CPU per probe for answers only a few
// percent smaller. The compressor is github.com/klauspost/compress/gzip (as
// in client_golang's promhttp), whose level 1 costs about half the
// instructions of compress/flate's BestSpeed for an answer of the same size;
// its answers are plain gzip (RFC 1952) that any reader decodes. Writers are
// pooled: each holds its tables and window, which a probe would otherwise
// allocate and clear. See docs/performance.md (round three) and BenchmarkGzip.
var probeGzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// textWriter is a Gatherer that can also write the text format directly
// (collector.Result).
type textWriter interface {
	prometheus.Gatherer
	WriteText(io.Writer) error
}

// serveGathered writes what g gathers in the format the client negotiated,
// like promhttp with ContinueOnError: a gathering error is logged and the
// metrics gathered so far are still served. The text format, which
// Prometheus asks for, is written by g itself when it can.
// With gzipOK false the answer is never compressed (--web.probe-compression=none).
func serveGathered(w http.ResponseWriter, r *http.Request, g prometheus.Gatherer, logger log.Logger, gzipOK bool) {
	neg := negotiate(r.Header)
	format := neg.format
	h := w.Header()
	h["Content-Type"] = neg.contentType
	if v, ok := h["Vary"]; ok {
		h["Vary"] = append(slices.Clip(v), "Accept-Encoding") // a copy: v may be shared
	} else {
		h["Vary"] = varyAcceptEncoding
	}
	zip := gzipOK && acceptsGzip(r.Header.Get("Accept-Encoding"))
	if zip {
		h["Content-Encoding"] = contentEncodingGzip
	}
	if tw, ok := g.(textWriter); ok && neg.text {
		serveText(w, tw, zip, logger)
		return
	}
	var out io.Writer = w
	if zip {
		gz := probeGzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			_ = gz.Close()
			gz.Reset(nil)
			probeGzipPool.Put(gz)
		}()
		out = gz
	}
	mfs, err := g.Gather()
	if err != nil {
		level.Warn(logger).Log("msg", "error gathering probe metrics; serving the rest", "err", err)
	}
	enc := expfmt.NewEncoder(out, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			level.Debug(logger).Log("msg", "error writing probe metrics", "err", err)
			return // the client went away
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		_ = c.Close()
	}
}

// serveText writes the text exposition. Uncompressed, the exposition is
// written to w in one Write already. Gzipped, it goes into a pooled buffer
// first and then to w in one Write with its Content-Length: the compressor
// writes its output in pieces of a few hundred bytes, each of which would
// otherwise go through the response's own buffering and chunked encoding.
func serveText(w http.ResponseWriter, tw textWriter, zip bool, logger log.Logger) {
	if !zip {
		if err := tw.WriteText(w); err != nil {
			level.Debug(logger).Log("msg", "error writing probe metrics", "err", err)
		}
		return
	}
	buf := answerBufPool.Get().(*bytes.Buffer)
	defer putAnswerBuf(buf)
	gz := probeGzipPool.Get().(*gzip.Writer)
	gz.Reset(buf)
	err := tw.WriteText(gz)
	if cerr := gz.Close(); err == nil {
		err = cerr
	}
	gz.Reset(nil)
	probeGzipPool.Put(gz)
	if err != nil { // from the exposition itself: a buffer does not fail
		level.Debug(logger).Log("msg", "error writing probe metrics", "err", err)
	}
	w.Header()["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	if _, err := w.Write(buf.Bytes()); err != nil {
		level.Debug(logger).Log("msg", "error writing probe metrics", "err", err)
	}
}

// answerBufPool holds the buffers answers are written into before they are
// sent; one larger than maxPooledAnswer (a probe of many miners) is left to
// the garbage collector instead of being kept.
var answerBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledAnswer = 256 << 10

func putAnswerBuf(b *bytes.Buffer) {
	if b.Cap() > maxPooledAnswer {
		return
	}
	b.Reset()
	answerBufPool.Put(b)
}

// Header values /probe sets on every answer, shared by all answers instead
// of a new slice per answer (http.Header.Set). Nothing changes a header
// value in place; Add and append copy (length equals capacity).
var (
	varyAcceptEncoding  = []string{"Accept-Encoding"}
	contentEncodingGzip = []string{"gzip"}
)

// negotiation is the outcome of content negotiation for one Accept header.
type negotiation struct {
	format      expfmt.Format
	text        bool     // the text format (0.0.4), which a textWriter writes itself
	contentType []string // the Content-Type header value: string(format); shared, never changed
	scheme      model.EscapingScheme
}

// negotiations caches the outcome of expfmt.NegotiateAccept by Accept
// header: Prometheus sends the same header on every scrape, and parsing it
// cost 14 allocations per probe. At most maxNegotiations headers of at most
// maxNegotiationKey bytes are kept; when full, the cache starts over (a
// client sending ever new headers only gets them parsed, as without it).
var (
	negotiations     sync.Map // Accept header → *negotiation
	negotiationCount atomic.Int32
)

const (
	maxNegotiations   = 64
	maxNegotiationKey = 1024
)

// negotiate is expfmt.NegotiateAccept(h, expfmt.DefaultAcceptedFormats()...),
// remembered per Accept header.
func negotiate(h http.Header) *negotiation {
	accept := h.Get("Accept") // the value NegotiateAccept reads
	if v, ok := negotiations.Load(accept); ok {
		if n := v.(*negotiation); n.scheme == model.NameEscapingScheme {
			return n
		}
	}
	f := expfmt.NegotiateAccept(h, expfmt.DefaultAcceptedFormats()...)
	n := &negotiation{format: f, text: f.FormatType() == expfmt.TypeTextPlain, contentType: []string{string(f)}, scheme: model.NameEscapingScheme}
	if len(accept) <= maxNegotiationKey {
		if negotiationCount.Add(1) > maxNegotiations {
			negotiations.Clear()
			negotiationCount.Store(1)
		}
		negotiations.Store(accept, n)
	}
	return n
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		if !strings.EqualFold(coding, "gzip") && coding != "*" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}
