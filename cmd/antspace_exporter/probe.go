package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
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
	// deadline gives the probe of r its context from parent: nil is
	// context.WithTimeout. Tests set it to decide when the deadline passes
	// (testutil.ManualDeadline) instead of racing a clock.
	deadline func(parent context.Context, r *http.Request, timeout time.Duration) (context.Context, context.CancelFunc)
}

func (h *probeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !readMethod(w, r, "use GET /probe?target=<container name or host:port>[&module=hk3|immersion|auto]") {
		return
	}
	q := r.URL.Query()
	target, err := singleParam(q["target"], "target", true)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	module, err := singleParam(q["module"], "module", false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t, err := h.config.Get().Resolve(target, module, h.open)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	debug, err := debugParam(q["debug"])
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

func (h *probeHandler) logResult(target string, t *config.Target, res *collector.Result, pl *probeLines) {
	result := "success"
	logger := log.With(h.logger, "target", target, "address", t.Address, "module", t.ModuleName)
	if res.Type != "" {
		logger = log.With(logger, "type", res.Type)
	}
	pl.outcome(res)
	key := t.Address + "\x00" + t.ModuleName
	if res.Err != nil {
		result = "failure"
		h.prober.problem(logger, key, "probe", res.Err.Error(), "msg", "probe failed", "reason", res.Err, "duration_seconds", res.Duration.Seconds())
	} else {
		h.prober.resolved(logger, key, "probe", "probe succeeded again")
		level.Debug(logger).Log("msg", "probe succeeded", "duration_seconds", res.Duration.Seconds())
	}
	if res.MinerErr != nil && res.Err == nil {
		h.prober.problem(logger, key, "minerInfo", res.MinerErr.Error(), "msg", "minerInfo failed; cooling telemetry is still reported", "reason", res.MinerErr)
	} else if res.Err == nil {
		h.prober.resolved(logger, key, "minerInfo", "minerInfo read again")
	}
	if len(res.NotOK) > 0 {
		level.Warn(logger).Log("msg", "the controller answered ok:false; what its params carry is exported (antspace_controller_ok 0)", "operations", strings.Join(res.NotOK, ","))
	}
	if res.MinersDropped > 0 {
		level.Warn(logger).Log("msg", "minerInfo lists more miners than the module's max_miners; the rest are not exported (antspace_miners_dropped)", "dropped", res.MinersDropped, "max_miners", t.Module.MaxMiners)
	}
	if n := len(res.FieldErrors); n > 0 {
		fields := make([]string, 0, min(n, 10))
		for _, fe := range res.FieldErrors[:min(n, 10)] {
			fields = append(fields, fe.String())
		}
		joined := strings.Join(fields, "; ")
		h.prober.problem(logger, key, "fields", joined, "msg", "fields missing or unreadable", "count", n, "fields", joined)
	} else if res.Err == nil {
		h.prober.resolved(logger, key, "fields", "all fields read again")
	}
	h.probes.WithLabelValues(t.ModuleName, result).Inc()
}

func singleParam(values []string, name string, required bool) (string, error) {
	switch {
	case len(values) > 1:
		return "", fmt.Errorf("parameter %q given %d times; give it once", name, len(values))
	case len(values) == 0 || values[0] == "":
		if required {
			return "", fmt.Errorf("parameter %q is missing: /probe?target=<container name or host:port>", name)
		}
		return "", nil
	}
	return values[0], nil
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
