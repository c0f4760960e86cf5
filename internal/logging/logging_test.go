package logging

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// The exporter's own lines and exporter-toolkit's slog lines come out in one
// format: ts, level, caller, then msg and the rest; ts in UTC under one key.
func TestOneFormatForGoKitAndSlog(t *testing.T) {
	var buf bytes.Buffer
	logger, slogger, err := New(&buf, "logfmt", "info", true)
	if err != nil {
		t.Fatal(err)
	}
	level.Info(logger).Log("msg", "from go-kit", "k", "v")
	slogger.Info("from slog", "address", "127.0.0.1:9842")
	level.Debug(logger).Log("msg", "filtered out")
	slogger.Debug("filtered out too")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (debug filtered), got %q", lines)
	}
	re := regexp.MustCompile(`^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:[\d.]+Z level=info caller=logging_test\.go:\d+ msg=`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("line %q does not start with %s", l, re)
		}
		if strings.Contains(l, "time=") {
			t.Errorf("slog's time key leaks through: %q", l)
		}
	}

	buf.Reset()
	logger, slogger, _ = New(&buf, "json", "info", false)
	level.Warn(logger).Log("msg", "a")
	slogger.Warn("b")
	for l := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if _, ok := m["time"]; ok || m["level"] != "warn" || m["ts"] == nil || !strings.HasSuffix(m["ts"].(string), "Z") {
			t.Errorf("json line %q: want ts (UTC) and level=warn, no time", l)
		}
		if _, ok := m["caller"]; ok && !strings.Contains(l, "logging_test.go") {
			t.Errorf("json line %q: caller not the call site", l)
		}
	}

	if _, _, err := New(&buf, "xml", "info", false); err == nil || !strings.Contains(err.Error(), "one of logfmt, json") {
		t.Errorf("bad format: %v", err)
	}
}

// Canonical orders the keys of any logger; a line without ts gets one.
func TestCanonicalOrder(t *testing.T) {
	var buf bytes.Buffer
	l := Canonical(log.NewLogfmtLogger(&buf))
	_ = l.Log("msg", "m", "caller", "x.go:1", "level", "warn", "extra")
	if got := buf.String(); !regexp.MustCompile(`^ts=\S+Z level=warn caller=x\.go:1 msg=m extra=\(MISSING\)\n$`).MatchString(got) {
		t.Errorf("got %q", got)
	}
}
