// Command antspace_exporter is a multi-target Prometheus exporter for
// Antspace cooling containers: Prometheus scrapes /probe?target=<container>
// and the exporter reads that container's controller.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/control"
	"github.com/antspace-exporter/antspace_exporter/device"
	"github.com/antspace-exporter/antspace_exporter/internal/logging"
)

// defaultListenAddress is the exporter's default port.
const defaultListenAddress = ":9842"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := kingpin.New("antspace_exporter", "Prometheus exporter for Antspace cooling containers (HK3 and Immersion).")
	var (
		configFile    = app.Flag("config.file", "Inventory file (containers, modules). Without one, any host:port target is probed; with one, only its containers (unless --probe.allow-any-target), even when a reload finds it empty.").Default("").String()
		configCheck   = app.Flag("config.check", "Validate the config file and exit (non-zero with the error when invalid).").Bool()
		telemetryPath = app.Flag("web.telemetry-path", "Path under which to expose the exporter's own metrics.").Default("/metrics").String()
		timeoutOffset = app.Flag("timeout-offset", "Seconds to subtract from Prometheus' scrape timeout so the answer arrives in time.").Default("0.5").Float64()
		maxRequests   = app.Flag("web.max-requests", "Maximum concurrent /probe requests; more are answered 503. 0 means no limit.").Default("1000").Int()
		maxPerTarget  = app.Flag("web.max-requests-per-target", "Maximum concurrent /probe requests of one target address; more are answered 503, so one hanging container cannot take all of --web.max-requests. 0 means no limit.").Default("10").Int()
		allowAny      = app.Flag("probe.allow-any-target", "Probe host:port targets that are not in the inventory.").Bool()
		maxConns      = app.Flag("upstream.max-connections-per-container", "Connections the exporter keeps open to one container's controller.").Default(strconv.Itoa(device.DefaultMaxConnsPerDevice)).Int()
		maxUpstream   = app.Flag("upstream.max-concurrent", "Maximum upstream requests in flight across all containers; more wait for a slot within their probe timeout. 0 means no limit.").Default("1024").Int()
		compression   = app.Flag("web.probe-compression", "Compression of /probe answers when the scraper accepts it: gzip (level 1) or none. none saves about a third of the CPU per probe for answers about 5 times larger; use it when Prometheus is on the same host or LAN (docs/performance.md).").Default("gzip").Enum("gzip", "none")
		transport     = app.Flag("upstream.transport", "For measurements only (make bench A/B, docs/performance.md): device, stdlib or stdlib-no-keepalive.").Default(string(device.TransportDevice)).Hidden().Enum(transportNames()...)
		coalesce      = app.Flag("upstream.coalesce-window", "Probes of one container that overlap, or come within this long after a read finished, share that read (HA Prometheus pairs, dashboards). 0 disables.").Default(device.DefaultCoalesceWindow.String()).Duration()
		dangerous     = app.Flag("control.enable-dangerous-actions", "Allow /control/cooling (switching a container's cooling on or off). Off by default: stopping cooling under load destroys miners.").Bool()
		hashSecret    = app.Flag("control.hash-secret", "Read a token or password from standard input, print its bcrypt hash for the control section of the config file, and exit.").Bool()
		logLevel      = app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").Enum("debug", "info", "warn", "error")
		proberLevel   = app.Flag("log.prober", "Level of the log lines about failed probes, unreadable fields and minerInfo failures (the debug view and landing page show them whatever the level). One of: [debug, info, warn, error]").Default("warn").Enum("debug", "info", "warn", "error")
		proberRepeat  = app.Flag("log.prober.repeat-interval", "A target that keeps failing the same way is logged once, then once per this interval with the number of repeats left out; its recovery is logged at info. 0 logs every failed probe.").Default("1h").Duration()
		historyLimit  = app.Flag("history.limit", "Recent probes, and separately recent failed probes, the landing page keeps with their log lines.").Default(strconv.Itoa(defaultHistoryLimit)).Int()
		logFormat     = app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").Enum("logfmt", "json")
		webFlags      = kingpinflag.AddFlags(app, defaultListenAddress)
	)
	app.Version(version.Print("antspace_exporter"))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, flagError(app, args, err))
		return 2
	}

	logger, slogger, err := logging.New(os.Stderr, *logFormat, *logLevel, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	if *hashSecret {
		in, err := secretInput(os.Stdin, os.Stderr, realTerminal{})
		if err == nil {
			err = control.HashSecret(in, os.Stdout)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}

	if *configCheck {
		if *configFile == "" {
			fmt.Fprintln(os.Stderr, "--config.check needs --config.file")
			return 2
		}
		c, err := config.Load(*configFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, w := range c.Warnings() {
			fmt.Fprintln(os.Stderr, "WARNING:", w)
		}
		fmt.Printf("%s: valid, %d containers, modules: %v\n", *configFile, len(c.Containers), c.ModuleNames())
		return 0
	}

	level.Info(logger).Log("msg", "starting antspace_exporter", "version", version.Info())
	level.Info(logger).Log("msg", "build context", "build_context", version.BuildContext())

	e := newExporter(exporterOptions{
		logger: logger, configFile: *configFile, telemetryPath: *telemetryPath,
		timeoutOffset: *timeoutOffset, allowAny: *allowAny, maxRequests: *maxRequests, maxPerTarget: *maxPerTarget, maxConns: *maxConns,
		maxUpstream: *maxUpstream, coalesceWindow: *coalesce, transport: device.Transport(*transport),
		noCompression: *compression == "none", logLevel: *logLevel,
		dangerous: *dangerous, proberLevel: *proberLevel, proberRepeat: *proberRepeat, historyLimit: historyOption(*historyLimit),
	})
	e.registry.MustRegister(
		versioncollector.NewCollector("antspace_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if err := e.reload(); err != nil {
		return 1
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			_ = e.reload()
		}
	}()

	handler := e.routes()
	srv := newHTTPServer(handler, defaultServerLimits)

	serveErr := make(chan error, 1)
	go func() { serveErr <- web.ListenAndServe(srv, webFlags, slogger) }()

	term := make(chan os.Signal, 1)
	signal.Notify(term, os.Interrupt, syscall.SIGTERM)
	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			level.Error(logger).Log("msg", "HTTP server failed", "err", err)
			return 1
		}
	case sig := <-term:
		level.Info(logger).Log("msg", "shutting down; letting in-flight requests finish", "signal", sig)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			level.Error(logger).Log("msg", "graceful shutdown incomplete", "err", err)
			return 1
		}
	}
	return 0
}

// historyOption maps --history.limit to exporterOptions.historyLimit, where 0
// means the default: --history.limit=0 keeps no recent probes.
func historyOption(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func transportNames() []string {
	names := make([]string, len(device.Transports))
	for i, t := range device.Transports {
		names[i] = string(t)
	}
	return names
}
