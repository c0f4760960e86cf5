package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
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
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
	h := w.Header()
	h.Set("Content-Type", string(format))
	h.Add("Vary", "Accept-Encoding")
	var out io.Writer = w
	if gzipOK && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		gz := probeGzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			_ = gz.Close()
			gz.Reset(nil)
			probeGzipPool.Put(gz)
		}()
		out = gz
	}
	if tw, ok := g.(textWriter); ok && format.FormatType() == expfmt.TypeTextPlain {
		if err := tw.WriteText(out); err != nil {
			level.Debug(logger).Log("msg", "error writing probe metrics", "err", err)
		}
		return
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
