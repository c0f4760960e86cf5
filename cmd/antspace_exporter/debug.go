package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/internal/logging"
)

// maxProbeLogBytes bounds the log lines one probe collects for its debug view
// (a hostile payload can produce many field errors); past it lines are
// counted, not kept.
const maxProbeLogBytes = 64 << 10

// probeLines collects one probe's log lines for /probe?debug=true and the
// landing page's history, whatever --log.level and --log.prober say.
type probeLines struct {
	mu      sync.Mutex // reads run concurrently (coolerState and minerInfo)
	buf     bytes.Buffer
	dropped int
	logger  log.Logger
	address string // the container's, for the URL of each read
}

func newProbeLines(target string, t *config.Target, timeout time.Duration) *probeLines {
	pl := &probeLines{address: t.Address}
	pl.logger = log.With(logging.Canonical(log.NewLogfmtLogger(pl)), "ts", log.DefaultTimestampUTC)
	level.Info(pl.logger).Log("msg", "beginning probe", "target", target, "address", t.Address, "module", t.ModuleName,
		"timeout_seconds", timeout.Seconds())
	return pl
}

// Write takes one formatted line at a time from the logfmt logger.
func (pl *probeLines) Write(line []byte) (int, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.buf.Len()+len(line) > maxProbeLogBytes {
		pl.dropped++
		return len(line), nil
	}
	pl.buf.Write(line)
	return len(line), nil
}

// read is the collector's ReadTrace: one line per controller request.
func (pl *probeLines) read(op string, took time.Duration, err error) {
	url := device.URL(pl.address, op, nil)
	if err != nil {
		level.Warn(pl.logger).Log("msg", "read failed", "operation", op, "url", url, "duration_seconds", took.Seconds(), "err", err)
		return
	}
	level.Info(pl.logger).Log("msg", "read answered", "operation", op, "url", url, "duration_seconds", took.Seconds())
}

// outcome adds the probe's result: the reason it failed and every field error.
func (pl *probeLines) outcome(res *collector.Result) {
	l := pl.logger
	if res.Err != nil {
		level.Error(l).Log("msg", "probe failed", "reason", res.Err, "type", res.Type, "duration_seconds", res.Duration.Seconds())
	} else {
		level.Info(l).Log("msg", "probe succeeded", "type", res.Type, "duration_seconds", res.Duration.Seconds())
	}
	if res.MinerErr != nil {
		level.Warn(l).Log("msg", "minerInfo failed; cooling telemetry is still reported", "reason", res.MinerErr)
	}
	if len(res.NotOK) > 0 {
		level.Warn(l).Log("msg", "the controller answered ok:false; what its params carry is exported", "operations", strings.Join(res.NotOK, ","))
	}
	if res.MinersDropped > 0 {
		level.Warn(l).Log("msg", "more miners than max_miners; the rest are not exported", "dropped", res.MinersDropped)
	}
	for _, fe := range res.FieldErrors {
		level.Warn(l).Log("msg", "field missing or unreadable", "field", fe.Field, "reason", fe.Reason)
	}
}

// String is the collected lines.
func (pl *probeLines) String() string {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.dropped > 0 {
		return pl.buf.String() + fmt.Sprintf("… %d more lines not kept (limit %d bytes)\n", pl.dropped, maxProbeLogBytes)
	}
	return pl.buf.String()
}

// debugParam reads /probe's debug parameter: absent, "true" or "false".
func debugParam(values []string) (bool, error) {
	switch {
	case len(values) == 0:
		return false, nil
	case len(values) > 1:
		return false, fmt.Errorf("parameter %q given %d times; give it once", "debug", len(values))
	case values[0] == "true":
		return true, nil
	case values[0] == "false":
		return false, nil
	}
	return false, fmt.Errorf("parameter \"debug\": %q is neither true nor false", values[0])
}

// serveDebug answers /probe?debug=true: a plain-text page for people with
// the probe's log lines, the metrics Prometheus would have got, and the
// module's settings (blackbox_exporter's debug view).
func serveDebug(w http.ResponseWriter, pl *probeLines, res *collector.Result, t *config.Target) {
	var b bytes.Buffer
	b.WriteString("Logs for the probe:\n")
	b.WriteString(pl.String())
	b.WriteString("\n\nMetrics that would have been returned:\n")
	if err := res.WriteText(&b); err != nil {
		fmt.Fprintf(&b, "# error writing the metrics: %v\n", err)
	}
	fmt.Fprintf(&b, "\n\nModule configuration (%s):\n", t.ModuleName)
	if out, err := yaml.Marshal(t.Module); err == nil {
		b.Write(out)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff") // device text inside; never rendered as HTML
	_, _ = w.Write(b.Bytes())
}

// record keeps the probe for the landing page.
func (h *probeHandler) record(target string, t *config.Target, res *collector.Result, start time.Time, pl *probeLines) {
	if h.history == nil {
		return
	}
	p := probeRecord{
		Target: target, Address: t.Address, Module: t.ModuleName, Start: start, Duration: res.Duration,
		Up: res.Up(), FieldErrors: len(res.FieldErrors), Logs: pl.String(),
	}
	if t.Container != nil {
		p.Container = t.Container.Name
	}
	if res.Err != nil {
		p.Reason = res.Err.Error()
	} else if res.MinerErr != nil {
		p.Reason = "minerInfo: " + res.MinerErr.Error()
	}
	cfg := h.config.Get()
	h.history.add(p, func(name string) bool { _, ok := cfg.Lookup(name); return ok })
}
