package main

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/common/expfmt"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=1.0, *;q=0.5": true, "gzip;q=0": false,
		"identity": false, "*": true, "br, zstd": false, "gzip; q=0.3": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

// A probe answers gzip when asked (as Prometheus does), plain text when
// not, and protobuf when that is what the client accepts.
func TestProbeEncodings(t *testing.T) {
	env := newTestEnv(t, false, map[string]mock.Type{"a": mock.HK3})
	get := func(accept, encoding string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, env.server.URL+"/probe?target=a", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Encoding", encoding) // set by hand: the transport then leaves the body alone
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := stdgzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	resp, zipped := get(promAccept, "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("gzip probe: Content-Encoding %q, Content-Type %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Type"))
	}
	resp, plain := get(promAccept, "identity")
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("identity probe: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	for name, body := range map[string]string{"gzip": zipped, "plain": plain} {
		if !strings.Contains(body, "\nantspace_up 1\n") || !strings.Contains(body, "# TYPE antspace_temperature_celsius gauge") {
			t.Errorf("%s body:\n%s", name, body)
		}
	}
	if strip(zipped) != strip(plain) {
		t.Errorf("gzip and plain answers have different series")
	}

	resp, _ = get("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3", "gzip")
	if got := expfmt.Format(resp.Header.Get("Content-Type")).FormatType(); got != expfmt.TypeProtoDelim {
		t.Errorf("protobuf probe: Content-Type %q", resp.Header.Get("Content-Type"))
	}
}

// strip drops the values, which change between two probes.
func strip(body string) string {
	var keep []string
	for l := range strings.SplitSeq(body, "\n") {
		if i := strings.LastIndexByte(l, ' '); i > 0 && !strings.HasPrefix(l, "#") {
			l = l[:i]
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// --web.probe-compression=none answers uncompressed even to a client that
// accepts gzip; the default gzips, and both carry the same exposition.
func TestProbeCompressionOption(t *testing.T) {
	var texts []string
	for _, tc := range []struct {
		name     string
		none     bool
		encoding string
	}{{"gzip", false, "gzip"}, {"none", true, ""}} {
		h := benchExporter(t, mock.HK3, 0, func(o *exporterOptions) { o.noCompression = tc.none })
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, prometheusRequest(t, ""))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != tc.encoding {
			t.Fatalf("%s: HTTP %d, Content-Encoding %q, want %q", tc.name, rec.Code, rec.Header().Get("Content-Encoding"), tc.encoding)
		}
		body := rec.Body.Bytes()
		if tc.encoding == "gzip" {
			zr, err := stdgzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		text := regexp.MustCompile(`(?m)^antspace_probe_duration_seconds .*$`).ReplaceAllString(string(body), "")
		if !strings.Contains(text, "\nantspace_up 1\n") {
			t.Fatalf("%s: no antspace_up 1:\n%s", tc.name, text)
		}
		texts = append(texts, text)
	}
	if texts[0] != texts[1] {
		t.Error("gzip and none carry different expositions")
	}
}

// The gzip answer (github.com/klauspost/compress/gzip) is plain gzip: the
// standard library's reader, which Prometheus uses, decodes it to exactly the
// bytes of the uncompressed answer of the same probe, for both types, a
// large answer (120 miners: several deflate blocks) and protobuf.
func TestProbeGzipDecodesToTheSameBytes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		typ    mock.Type
		miners int
		accept string
	}{
		{"hk3", mock.HK3, 0, promAccept},
		{"immersion", mock.Immersion, 0, promAccept},
		{"hk3-120-miners", mock.HK3, 120, promAccept},
		{"hk3-protobuf", mock.HK3, 0, "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := cannedDevice(t, tc.typ, tc.miners)
			client := device.NewClient("test", 2)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res := collector.Probe(ctx, client, addr, collector.Settings{Type: collector.Type(tc.typ)})
			if res.Err != nil || res.MinerErr != nil {
				t.Fatalf("probe: %v, minerInfo: %v", res.Err, res.MinerErr)
			}
			serve := func(gzipOK bool) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, "/probe?target=c", nil)
				req.Header.Set("Accept", tc.accept)
				req.Header.Set("Accept-Encoding", "gzip")
				rec := httptest.NewRecorder()
				serveGathered(rec, req, res, log.NewNopLogger(), gzipOK)
				return rec
			}
			plain := serve(false)
			if plain.Header().Get("Content-Encoding") != "" || plain.Body.Len() < 1000 {
				t.Fatalf("uncompressed: Content-Encoding %q, %d bytes", plain.Header().Get("Content-Encoding"), plain.Body.Len())
			}
			// Twice: the second answer comes from a writer the pool has used.
			for i := range 2 {
				zipped := serve(true)
				if zipped.Header().Get("Content-Encoding") != "gzip" {
					t.Fatalf("Content-Encoding %q", zipped.Header().Get("Content-Encoding"))
				}
				if zipped.Body.Len() >= plain.Body.Len() {
					t.Errorf("gzip answer of %d bytes, uncompressed %d", zipped.Body.Len(), plain.Body.Len())
				}
				zr, err := stdgzip.NewReader(bytes.NewReader(zipped.Body.Bytes()))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(zr) // checks the CRC-32 and length of the trailer too
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				if !bytes.Equal(got, plain.Body.Bytes()) {
					t.Fatalf("answer %d: decoded gzip (%d bytes) differs from the uncompressed answer (%d bytes)", i, len(got), plain.Body.Len())
				}
				if i == 0 {
					t.Logf("%d bytes uncompressed, %d gzipped", plain.Body.Len(), zipped.Body.Len())
				}
			}
		})
	}
}

// negotiate answers what expfmt.NegotiateAccept answers, from its cache as
// well as the first time, and stays bounded under ever new Accept headers.
func TestNegotiateCached(t *testing.T) {
	headers := []string{
		promAccept, "", "text/plain", "application/openmetrics-text;version=1.0.0",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
		"text/plain;version=0.0.4;escaping=allow-utf-8", "*/*", "application/json", strings.Repeat("x", maxNegotiationKey+1),
	}
	for round := range 3 {
		for _, accept := range headers {
			h := http.Header{}
			if accept != "" {
				h.Set("Accept", accept)
			}
			want := expfmt.NegotiateAccept(h, expfmt.DefaultAcceptedFormats()...)
			got := negotiate(h)
			if got.format != want || got.contentType[0] != string(want) || got.text != (want.FormatType() == expfmt.TypeTextPlain) {
				t.Errorf("round %d, Accept %.40q: got %q (text %v), want %q", round, accept, got.format, got.text, want)
			}
		}
	}
	for i := range 3 * maxNegotiations {
		h := http.Header{"Accept": {fmt.Sprintf("text/plain;q=0.%d", i+1)}}
		if got := negotiate(h); got.format.FormatType() != expfmt.TypeTextPlain {
			t.Fatalf("Accept %q: %q", h.Get("Accept"), got.format)
		}
	}
	n := 0
	negotiations.Range(func(any, any) bool { n++; return true })
	if n > maxNegotiations {
		t.Errorf("%d Accept headers cached, more than %d", n, maxNegotiations)
	}
}
