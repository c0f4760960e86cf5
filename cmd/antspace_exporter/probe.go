package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device"
)

const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// probeHandler serves /probe: one container read per request, answered from
// a fresh registry so nothing of one probe leaks into another.
type probeHandler struct {
	config        *config.SafeConfig
	client        *device.Client
	logger        log.Logger
	timeoutOffset time.Duration
	open          bool           // any host:port, not only the inventory
	perTarget     *targetLimiter // in-flight probes per target address
	probes        *prometheus.CounterVec
	prober        *proberLog    // probe outcome lines: --log.prober level, repeats limited
	history       *probeHistory // the landing page's last and recent probes
	noCompression bool          // --web.probe-compression=none
	debugLogs     bool          // --log.level is debug (or unknown): offer debug lines to the logger
	// deadline gives the probe of r its context from parent: nil is
	// context.WithTimeout. Tests set it to decide when the deadline passes
	// (testutil.ManualDeadline) instead of racing a clock.
	deadline func(parent context.Context, r *http.Request, timeout time.Duration) (context.Context, context.CancelFunc)
}

func (h *probeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !readMethod(w, r, "use GET /probe?target=<container name or host:port>[&module=hk3|immersion|auto]") {
		return
	}
	var q probeQuery
	q.parse(r.URL)
	target, err := q.target.single("target", true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	module, err := q.module.single("module", false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t, err := h.config.Get().Resolve(target, module, h.open)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	debug, err := debugParam(q.debug)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	release, ok := h.perTarget.acquire(t.Address)
	if !ok {
		http.Error(w, fmt.Sprintf("too many concurrent probes of %s (limit %d, --web.max-requests-per-target); retry later", t.Address, h.perTarget.max), http.StatusServiceUnavailable)
		return
	}
	defer release()
	timeout, err := probeTimeout(r.Header.Get(scrapeTimeoutHeader), h.timeoutOffset, time.Duration(t.Module.Timeout))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	pl := newProbeLines(target, t, timeout)
	parent := collector.WithReadTrace(r.Context(), pl.read)
	var ctx context.Context
	var cancel context.CancelFunc
	if h.deadline != nil {
		ctx, cancel = h.deadline(parent, r, timeout)
	} else {
		ctx, cancel = context.WithTimeout(parent, timeout)
	}
	defer cancel()
	start := time.Now()
	res := collector.Probe(ctx, h.client, t.Address, t.Settings())
	res.Duration, res.Timeout = time.Since(start), timeout
	h.logResult(target, t, res, pl)
	h.record(target, t, res, start, pl)

	if debug {
		serveDebug(w, pl, res, t)
		return
	}
	serveGathered(w, r, res, h.logger, !h.noCompression) // the Result gathers itself (collector.Result.Gather)
}

// logResult counts the probe and logs what went wrong, or a recovery. The
// logger with the probe's context (target, address, module, type) is built
// only when a line is logged: a probe that succeeds like the one before logs
// nothing and allocates nothing here, and the "probe succeeded" line, debug
// level, is not even offered to the logger unless --log.level is debug (the
// level filter comes after go-kit's context, which would format ts and caller
// for a line it then drops).
func (h *probeHandler) logResult(target string, t *config.Target, res *collector.Result, pl *probeLines) {
	pl.outcome(res)
	result := "success"
	if res.Err != nil {
		result = "failure"
	}
	h.probes.WithLabelValues(t.ModuleName, result).Inc()

	var logger log.Logger
	lg := func() log.Logger {
		if logger == nil {
			logger = log.With(h.logger, "target", target, "address", t.Address, "module", t.ModuleName)
			if res.Type != "" {
				logger = log.With(logger, "type", res.Type)
			}
		}
		return logger
	}
	// The key of the target's problems, only needed when it has one now or
	// had one before.
	var key string
	keyOf := func() string {
		if key == "" {
			key = t.Address + "\x00" + t.ModuleName
		}
		return key
	}
	tracked := h.prober.tracking()
	if res.Err != nil {
		h.prober.problem(lg(), keyOf(), "probe", res.Err.Error(), "msg", "probe failed", "reason", res.Err, "duration_seconds", res.Duration.Seconds())
	} else {
		if tracked {
			h.prober.resolvedLazy(lg, keyOf(), "probe", "probe succeeded again")
		}
		if h.debugLogs {
			level.Debug(lg()).Log("msg", "probe succeeded", "duration_seconds", res.Duration.Seconds())
		}
	}
	if res.MinerErr != nil && res.Err == nil {
		h.prober.problem(lg(), keyOf(), "minerInfo", res.MinerErr.Error(), "msg", "minerInfo failed; cooling telemetry is still reported", "reason", res.MinerErr)
	} else if res.Err == nil && tracked {
		h.prober.resolvedLazy(lg, keyOf(), "minerInfo", "minerInfo read again")
	}
	if len(res.NotOK) > 0 {
		level.Warn(lg()).Log("msg", "the controller answered ok:false; what its params carry is exported (antspace_controller_ok 0)", "operations", strings.Join(res.NotOK, ","))
	}
	if res.MinersDropped > 0 {
		level.Warn(lg()).Log("msg", "minerInfo lists more miners than the module's max_miners; the rest are not exported (antspace_miners_dropped)", "dropped", res.MinersDropped, "max_miners", t.Module.MaxMiners)
	}
	if n := len(res.FieldErrors); n > 0 {
		fields := make([]string, 0, min(n, 10))
		for _, fe := range res.FieldErrors[:min(n, 10)] {
			fields = append(fields, fe.String())
		}
		joined := strings.Join(fields, "; ")
		h.prober.problem(lg(), keyOf(), "fields", joined, "msg", "fields missing or unreadable", "count", n, "fields", joined)
	} else if res.Err == nil && tracked {
		h.prober.resolvedLazy(lg, keyOf(), "fields", "all fields read again")
	}
}

// queryParam is one query parameter: how many times it was given, and its
// first value.
type queryParam struct {
	n     int
	first string
}

func (p *queryParam) add(v string) {
	if p.n == 0 {
		p.first = v
	}
	p.n++
}

// probeQuery holds the parameters /probe reads, as r.URL.Query() gives them.
type probeQuery struct{ target, module, debug queryParam }

// maxFastQueryParams bounds the parameters probeQuery.parse splits itself;
// a longer query goes through url.ParseQuery (and its limit).
const maxFastQueryParams = 16

// parse is r.URL.Query() for target, module and debug without a map per
// request: a query without escapes (%, +) or semicolons, as Prometheus
// sends, is split here, where url.ParseQuery would give the same values; any
// other query goes through url.ParseQuery.
func (q *probeQuery) parse(u *url.URL) {
	raw := u.RawQuery
	if strings.ContainsAny(raw, "%+;") || strings.Count(raw, "&") >= maxFastQueryParams {
		v := u.Query()
		for _, p := range []struct {
			dst *queryParam
			key string
		}{{&q.target, "target"}, {&q.module, "module"}, {&q.debug, "debug"}} {
			for _, x := range v[p.key] {
				p.dst.add(x)
			}
		}
		return
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, value, _ := strings.Cut(pair, "=")
		switch key {
		case "target":
			q.target.add(value)
		case "module":
			q.module.add(value)
		case "debug":
			q.debug.add(value)
		}
	}
}

func singleParam(values []string, name string, required bool) (string, error) {
	p := queryParam{n: len(values)}
	if len(values) > 0 {
		p.first = values[0]
	}
	return p.single(name, required)
}

// single is the parameter's value when given at most once.
func (p queryParam) single(name string, required bool) (string, error) {
	switch {
	case p.n > 1:
		return "", fmt.Errorf("parameter %q given %d times; give it once", name, p.n)
	case p.n == 0 || p.first == "":
		if required {
			return "", fmt.Errorf("parameter %q is missing: /probe?target=<container name or host:port>", name)
		}
		return "", nil
	}
	return p.first, nil
}

// probeTimeout derives a probe's timeout from Prometheus' scrape timeout
// header minus the offset (so the answer arrives before Prometheus gives
// up), capped by the module's timeout. When the offset would eat the whole
// scrape timeout, the scrape timeout is used as it is.
func probeTimeout(header string, offset, moduleTimeout time.Duration) (time.Duration, error) {
	if moduleTimeout <= 0 {
		moduleTimeout = config.DefaultTimeout
	}
	if header == "" {
		return moduleTimeout, nil
	}
	secs, err := strconv.ParseFloat(header, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		return 0, fmt.Errorf("header %s: %q is not a positive number of seconds", scrapeTimeoutHeader, header)
	}
	scrape := time.Duration(secs * float64(time.Second))
	timeout := scrape - offset
	if timeout <= 0 {
		timeout = scrape
	}
	return min(timeout, moduleTimeout), nil
}
