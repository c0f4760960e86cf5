package main

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
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

// maxProbeLogBytes bounds the log lines one probe's debug view shows (a
// hostile payload can produce many field errors); past it lines are counted,
// not kept.
const maxProbeLogBytes = 64 << 10

// maxHistoryFieldErrors bounds the field errors a history entry keeps for its
// log lines: each line is longer than 64 bytes, so this many fill more than
// maxHistoryLogBytes and the cut text is the same as with all of them.
const maxHistoryFieldErrors = maxHistoryLogBytes / 64

// maxProbeReads bounds the reads a probe records (a probe makes two or
// three); past it reads are counted, not kept.
const maxProbeReads = 16

// probeLines records the facts of one probe for /probe?debug=true and the
// landing page's history, whatever --log.level and --log.prober say: when it
// began, each read and the outcome. The log lines are formatted from them
// only when someone asks (String), not on every probe.
type probeLines struct {
	mu sync.Mutex // reads run concurrently (coolerState and minerInfo)

	begin                   time.Time
	target, address, module string
	timeout                 time.Duration
	reads                   []readFact
	readBuf                 [4]readFact // reads' backing array: no allocation for a usual probe
	readsDropped            int
	outcomeDone             bool
	end                     time.Time
	typ                     collector.Type
	duration                time.Duration
	err, minerErr           string
	notOK                   []string
	minersDropped           int
	fieldErrors             []collector.FieldError

	record probeRecord // the probe's history entry (probeHandler.record), allocated with its facts
}

type readFact struct {
	at        time.Time
	operation string
	took      time.Duration
	err       string // "" when the read was answered
	failed    bool
}

func newProbeLines(target string, t *config.Target, timeout time.Duration) *probeLines {
	pl := &probeLines{begin: time.Now(), target: target, address: t.Address, module: t.ModuleName, timeout: timeout}
	pl.reads = pl.readBuf[:0]
	return pl
}

// read is the collector's ReadTrace: one line per controller request.
func (pl *probeLines) read(op string, took time.Duration, err error) {
	f := readFact{at: time.Now(), operation: op, took: took}
	if err != nil {
		f.err, f.failed = err.Error(), true
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.reads) >= maxProbeReads {
		pl.readsDropped++
		return
	}
	pl.reads = append(pl.reads, f)
}

// outcome records the probe's result: the reason it failed and every field
// error (res.FieldErrors is not changed after the probe; it is shared).
func (pl *probeLines) outcome(res *collector.Result) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.outcomeDone, pl.end = true, time.Now()
	pl.typ, pl.duration = res.Type, res.Duration
	if res.Err != nil {
		pl.err = res.Err.Error()
	}
	if res.MinerErr != nil {
		pl.minerErr = res.MinerErr.Error()
	}
	pl.notOK, pl.minersDropped, pl.fieldErrors = res.NotOK, res.MinersDropped, res.FieldErrors
}

// forHistory returns the facts to keep in the history: pl itself, or, when
// it holds more field errors than a history entry shows, a copy with the
// first maxHistoryFieldErrors of them (so the entry does not hold the
// probe's whole list).
func (pl *probeLines) forHistory() *probeLines {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.fieldErrors) <= maxHistoryFieldErrors {
		return pl
	}
	c := &probeLines{
		begin: pl.begin, target: pl.target, address: pl.address, module: pl.module, timeout: pl.timeout,
		readsDropped: pl.readsDropped, outcomeDone: pl.outcomeDone, end: pl.end, typ: pl.typ, duration: pl.duration,
		err: pl.err, minerErr: pl.minerErr, notOK: pl.notOK, minersDropped: pl.minersDropped,
		fieldErrors: slices.Clone(pl.fieldErrors[:maxHistoryFieldErrors]),
	}
	c.reads = append(c.readBuf[:0], pl.reads...)
	return c
}

// limitedBuffer keeps lines up to maxProbeLogBytes and counts the rest.
type limitedBuffer struct {
	buf     bytes.Buffer
	dropped int
}

// Write takes one formatted line at a time from the logfmt logger.
func (lb *limitedBuffer) Write(line []byte) (int, error) {
	if lb.buf.Len()+len(line) > maxProbeLogBytes {
		lb.dropped++
		return len(line), nil
	}
	lb.buf.Write(line)
	return len(line), nil
}

// String formats the recorded facts as the probe's log lines.
func (pl *probeLines) String() string {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	var lb limitedBuffer
	l := logging.Canonical(log.NewLogfmtLogger(&lb))
	level.Info(l).Log("ts", pl.begin, "msg", "beginning probe", "target", pl.target, "address", pl.address, "module", pl.module,
		"timeout_seconds", pl.timeout.Seconds())
	for _, r := range pl.reads {
		url := device.URL(pl.address, r.operation, nil)
		if r.failed {
			level.Warn(l).Log("ts", r.at, "msg", "read failed", "operation", r.operation, "url", url, "duration_seconds", r.took.Seconds(), "err", r.err)
			continue
		}
		level.Info(l).Log("ts", r.at, "msg", "read answered", "operation", r.operation, "url", url, "duration_seconds", r.took.Seconds())
	}
	if pl.readsDropped > 0 {
		level.Warn(l).Log("ts", pl.end, "msg", "more reads than recorded", "not_recorded", pl.readsDropped)
	}
	if pl.outcomeDone {
		pl.formatOutcome(l)
	}
	if lb.dropped > 0 {
		return lb.buf.String() + fmt.Sprintf("… %d more lines not kept (limit %d bytes)\n", lb.dropped, maxProbeLogBytes)
	}
	return lb.buf.String()
}

func (pl *probeLines) formatOutcome(l log.Logger) {
	ts := pl.end
	if pl.err != "" {
		level.Error(l).Log("ts", ts, "msg", "probe failed", "reason", pl.err, "type", pl.typ, "duration_seconds", pl.duration.Seconds())
	} else {
		level.Info(l).Log("ts", ts, "msg", "probe succeeded", "type", pl.typ, "duration_seconds", pl.duration.Seconds())
	}
	if pl.minerErr != "" {
		level.Warn(l).Log("ts", ts, "msg", "minerInfo failed; cooling telemetry is still reported", "reason", pl.minerErr)
	}
	if len(pl.notOK) > 0 {
		level.Warn(l).Log("ts", ts, "msg", "the controller answered ok:false; what its params carry is exported", "operations", strings.Join(pl.notOK, ","))
	}
	if pl.minersDropped > 0 {
		level.Warn(l).Log("ts", ts, "msg", "more miners than max_miners; the rest are not exported", "dropped", pl.minersDropped)
	}
	for _, fe := range pl.fieldErrors {
		level.Warn(l).Log("ts", ts, "msg", "field missing or unreadable", "field", fe.Field, "reason", fe.Reason)
	}
}

// debugParam reads /probe's debug parameter: absent, "true" or "false".
func debugParam(p queryParam) (bool, error) {
	switch {
	case p.n == 0:
		return false, nil
	case p.n > 1:
		return false, fmt.Errorf("parameter %q given %d times; give it once", "debug", p.n)
	case p.first == "true":
		return true, nil
	case p.first == "false":
		return false, nil
	}
	return false, fmt.Errorf("parameter \"debug\": %q is neither true nor false", p.first)
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
	// The record is allocated with the facts it points to (one allocation
	// per probe instead of two): both live as long as the history keeps the
	// probe.
	facts := pl.forHistory()
	p := &facts.record
	*p = probeRecord{
		Target: target, Address: t.Address, Module: t.ModuleName, Start: start, Duration: res.Duration,
		Up: res.Up(), FieldErrors: len(res.FieldErrors), facts: facts,
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
	h.history.addRecord(p, func(name string) bool { _, ok := cfg.Lookup(name); return ok })
}
