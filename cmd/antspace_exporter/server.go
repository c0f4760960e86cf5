package main

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/control"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

// exporter wires the HTTP endpoints to their parts.
type exporter struct {
	logger        log.Logger
	config        *config.SafeConfig
	registry      *prometheus.Registry // the exporter's own metrics
	client        *device.Client
	probe         *probeHandler
	control       *control.Handler
	dangerous     bool // --control.enable-dangerous-actions
	telemetryPath string
	maxRequests   int
	open          bool // any host:port is probed: no inventory file, or --probe.allow-any-target
}

type exporterOptions struct {
	logger         log.Logger
	configFile     string
	telemetryPath  string
	timeoutOffset  float64
	allowAny       bool
	maxRequests    int
	maxPerTarget   int // --web.max-requests-per-target; 0 = no bound
	maxConns       int
	maxUpstream    int              // --upstream.max-concurrent; 0 = no bound
	coalesceWindow time.Duration    // --upstream.coalesce-window; 0 = off
	transport      device.Transport // --upstream.transport (hidden, A/B only); "" = device
	noCompression  bool             // --web.probe-compression=none
	logLevel       string           // --log.level; "" = debug (every line reaches the logger)
	dangerous      bool             // --control.enable-dangerous-actions
	proberLevel    string           // --log.prober; "" = warn
	proberRepeat   time.Duration    // --log.prober.repeat-interval; 0 logs every failure
	historyLimit   int              // --history.limit; 0 = defaultHistoryLimit
}

func newExporter(o exporterOptions) *exporter {
	prober := newProberLog(o.proberLevel, o.proberRepeat)
	if o.historyLimit == 0 {
		o.historyLimit = defaultHistoryLimit
	}
	reg := prometheus.NewRegistry()
	e := &exporter{
		logger:        o.logger,
		config:        config.NewSafeConfig(o.configFile, reg),
		registry:      reg,
		telemetryPath: o.telemetryPath,
		maxRequests:   o.maxRequests,
		// Open mode is decided here, at start-up, and never by what a
		// (re)loaded file lists: an inventory that becomes empty must not
		// open /probe to every address.
		open: o.configFile == "" || o.allowAny,
	}
	// Series whose label values are known up front start at 0, so rate()
	// and dashboards see them before the first event.
	upstream := counterVec(reg, "antspace_exporter_upstream_requests_total")
	for _, op := range readOperations {
		upstream.WithLabelValues(op, "success")
		upstream.WithLabelValues(op, "failure")
	}
	e.client = device.NewClient(version.ComponentUserAgent("antspace_exporter"), o.maxConns)
	e.client.LimitConcurrency(o.maxUpstream)
	if o.transport != "" && o.transport != device.TransportDevice {
		e.client.UseTransport(o.transport, o.maxConns)
	}
	if o.coalesceWindow > 0 {
		e.client.Coalesce = device.NewCoalescer(o.coalesceWindow, 0)
		shared := counterVec(reg, "antspace_exporter_upstream_reads_shared_total")
		for _, op := range readOperations {
			shared.WithLabelValues(op)
		}
		e.client.Coalesce.Shared = func(op string) { shared.WithLabelValues(op).Inc() }
	}
	e.client.Observe = func(op string, err error) {
		result := "success"
		if err != nil {
			result = "failure"
		}
		upstream.WithLabelValues(op, result).Inc()
	}
	e.probe = &probeHandler{
		config:        e.config,
		client:        e.client,
		logger:        o.logger,
		timeoutOffset: secondsDuration(o.timeoutOffset),
		open:          e.open,
		perTarget:     newTargetLimiter(o.maxPerTarget),
		probes:        counterVec(reg, "antspace_exporter_probes_total"),
		prober:        prober,
		history:       newProbeHistory(o.historyLimit),
		noCompression: o.noCompression,
		debugLogs:     o.logLevel == "" || o.logLevel == "debug",
	}
	e.dangerous = o.dangerous
	e.control = control.New(control.Options{
		Config: e.config, Client: e.client, Logger: o.logger, Registerer: reg, EnableDangerous: o.dangerous,
	})
	return e
}

// readOperations are the device operations every probe may send.
var readOperations = []string{payload.OpCoolerState, payload.OpMinerInfo}

func counterVec(reg prometheus.Registerer, name string) *prometheus.CounterVec {
	info := collector.ExporterMetric(name)
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: info.Name, Help: info.Help}, info.Labels)
	reg.MustRegister(c)
	return c
}

// reload re-reads the inventory and logs the outcome.
func (e *exporter) reload() error {
	c, err := e.config.Reload() // serialised: SIGHUP and /-/reload never interleave
	if err != nil {
		level.Error(e.logger).Log("msg", "error loading config; keeping the last good one", "file", e.config.Path(), "err", err)
		return err
	}
	modules := c.ModuleNames()
	for _, m := range modules {
		e.probe.probes.WithLabelValues(m, "success")
		e.probe.probes.WithLabelValues(m, "failure")
	}
	level.Info(e.logger).Log("msg", "loaded config", "file", e.config.Path(), "containers", len(c.Containers), "modules", strings.Join(modules, ","))
	for _, w := range c.Warnings() {
		level.Warn(e.logger).Log("msg", "config warning", "file", e.config.Path(), "warning", w)
	}
	if !c.HasInventory() && !e.open {
		level.Warn(e.logger).Log("msg", "the inventory lists no containers: /probe accepts no target until it does (to probe any host:port, start without --config.file or with --probe.allow-any-target)", "file", e.config.Path())
	}
	return nil
}

func (e *exporter) routes() http.Handler {
	mux := http.NewServeMux()
	limit := newRequestLimiter(e.maxRequests)
	mux.Handle("/probe", limit.wrap(e.probe))
	mux.Handle("/logs", &logsHandler{history: e.probe.history})
	mux.Handle("/sd", &sdHandler{config: e.config})
	mux.Handle("/config", &configHandler{config: e.config})
	mux.Handle(control.Prefix, e.control)
	// Without this, net/http answers POST /control with a redirect to
	// /control/ that curl does not follow for a POST; the handler says which
	// actions exist instead.
	mux.Handle(strings.TrimSuffix(control.Prefix, "/"), e.control)
	mux.Handle(e.telemetryPath, promhttp.InstrumentMetricHandler(e.registry,
		promhttp.HandlerFor(e.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "Ready") })
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "use POST /-/reload", http.StatusMethodNotAllowed)
			return
		}
		if err := e.reload(); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		_, _ = fmt.Fprintln(w, "config reloaded")
	})
	if e.telemetryPath != "/" {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			page, err := e.landingPage()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			page.ServeHTTP(w, r)
		})
	}
	return mux
}

// landingPage is rebuilt per request so it lists the current inventory.
func (e *exporter) landingPage() (http.Handler, error) {
	c := e.config.Get()
	links := []web.LandingLinks{
		{Address: e.telemetryPath, Text: "Metrics", Description: "The exporter's own metrics"},
		{Address: "/sd", Text: "Service discovery", Description: "Inventory as Prometheus HTTP SD targets"},
		{Address: "/config", Text: "Configuration", Description: "The loaded inventory, secrets hidden"},
		{Address: "/-/healthy", Text: "Health", Description: "Liveness check"},
	}
	var extra strings.Builder
	fmt.Fprintf(&extra, "<h2>Control</h2><p>%s</p>", html.EscapeString(control.Summary(c, e.dangerous)))
	writeControlScopes(&extra, c)
	extra.WriteString(historyHTML(c, e.probe.history, time.Now()))
	return web.NewLandingPage(web.LandingConfig{
		Name:        "Antspace Exporter",
		Description: "Prometheus exporter for Antspace HK3 and Immersion cooling containers",
		Version:     version.Info(),
		Form: web.LandingForm{
			Action: "/probe",
			Inputs: []web.LandingFormInput{
				{Label: "Target", Type: "text", Name: "target", Placeholder: "container name or host:port"},
				{Label: "Module", Type: "text", Name: "module", Placeholder: "hk3 | immersion | auto (optional)"},
			},
		},
		Links:     links,
		Profiling: "false", // no /debug/pprof handlers are mounted
		ExtraHTML: extra.String(),
	})
}

// requestLimiter answers 503 instead of queueing when too many requests are
// in flight, so a stampede cannot pile up goroutines and memory.
type requestLimiter struct{ slots chan struct{} }

func newRequestLimiter(n int) *requestLimiter {
	if n <= 0 {
		return &requestLimiter{}
	}
	return &requestLimiter{slots: make(chan struct{}, n)}
}

func (l *requestLimiter) wrap(h http.Handler) http.Handler {
	if l.slots == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case l.slots <- struct{}{}:
			defer func() { <-l.slots }()
			h.ServeHTTP(w, r)
		default:
			http.Error(w, fmt.Sprintf("too many concurrent requests (limit %d, --web.max-requests); retry later", cap(l.slots)), http.StatusServiceUnavailable)
		}
	})
}

// targetLimiter bounds the probes in flight per target address (normalised by
// config.Resolve), beside the global --web.max-requests: a flood of probes of
// one hanging controller takes at most max of the global slots and answers
// the rest 503 at once, so probes of other containers still get through.
type targetLimiter struct {
	max int // 0: no bound

	mu       sync.Mutex
	inFlight map[string]int
}

func newTargetLimiter(n int) *targetLimiter {
	return &targetLimiter{max: max(n, 0), inFlight: map[string]int{}}
}

// acquire takes a slot for address; ok is false when all are in use. The
// map holds only addresses with probes in flight.
func (l *targetLimiter) acquire(address string) (release func(), ok bool) {
	if l == nil || l.max == 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[address] >= l.max {
		return nil, false
	}
	l.inFlight[address]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.inFlight[address]--; l.inFlight[address] <= 0 {
			delete(l.inFlight, address)
		}
	}, true
}

// count is the number of probes of address in flight.
func (l *targetLimiter) count(address string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight[address]
}
