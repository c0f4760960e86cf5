// Command antspace_mock serves simulated Antspace container controllers (HK3 and Immersion)
// for demos, tests and load tests: one container, a fleet of them, or a list from a file.
// See package github.com/antspace-exporter/antspace_exporter/mock for the protocol, physics
// and the admin API under /mock/.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log/level"

	"github.com/antspace-exporter/antspace_exporter/internal/logging"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

type flags struct {
	typ, listen, name string
	allFaults         bool
	seed              int64
	miners            int
	bulk              string
	fleet             int
	fleetStart        string
	fleetMode         string
	hk3Share          float64
	hk3ShareSet       bool
	inventoryOut      string
	inventorySite     string
	logLevel          string
}

func parseFlags(args []string, out io.Writer) (*flags, error) {
	var f flags
	app := kingpin.New("antspace_mock", "Simulated Antspace container controllers (HK3 and Immersion).")
	app.UsageWriter(out)
	app.ErrorWriter(out)
	app.HelpFlag.Short('h')
	app.Flag("type", "Container type: hk3 or immersion (case-insensitive).").Default("hk3").StringVar(&f.typ)
	app.Flag("listen", "Address of the single container (ignored with --bulk or --fleet).").Default("127.0.0.1:8000").StringVar(&f.listen)
	app.Flag("name", "Container name (prefix of fleet and unnamed bulk containers).").Default("antspace-mock").StringVar(&f.name)
	app.Flag("error", "Start with every fault flag set.").BoolVar(&f.allFaults)
	app.Flag("seed", "Seed for deterministic values (fleet and bulk containers use seed+index unless given).").Default("1").Int64Var(&f.seed)
	app.Flag("miners", "Miners per container in minerInfo (0 = default).").Default("0").IntVar(&f.miners)
	app.Flag("bulk", "YAML or JSON file: containers: [{name, type, address, error, seed, miners, overrides: {field: value}}].").StringVar(&f.bulk)
	app.Flag("fleet", "Serve N containers on consecutive ports or addresses, starting at --fleet.start.").Default("0").IntVar(&f.fleet)
	app.Flag("fleet.start", "First fleet address (host:port; port 0 = a free port each).").Default("127.0.0.1:9100").StringVar(&f.fleetStart)
	app.Flag("fleet.mode", "ports: consecutive ports on one address; addresses: consecutive 127.x.y.z addresses, same port.").Default("ports").EnumVar(&f.fleetMode, "ports", "addresses")
	app.Flag("fleet.hk3-share", "Fraction of the fleet that is HK3, the rest immersion (default: all --type).").IsSetByUser(&f.hk3ShareSet).Default("1").Float64Var(&f.hk3Share)
	app.Flag("inventory.out", "Write an exporter inventory YAML for the served containers to this file.").StringVar(&f.inventoryOut)
	app.Flag("inventory.site", "site label of the containers in --inventory.out.").Default("demo").StringVar(&f.inventorySite)
	app.Flag("log.level", "Log level: debug, info, warn, error (debug logs every request).").Default("info").EnumVar(&f.logLevel, "debug", "info", "warn", "error")
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	if f.hk3ShareSet && (f.hk3Share < 0 || f.hk3Share > 1) {
		return nil, fmt.Errorf("--fleet.hk3-share must be between 0 and 1, got %g", f.hk3Share)
	}
	if f.fleet < 0 {
		return nil, fmt.Errorf("--fleet must not be negative, got %d", f.fleet)
	}
	return &f, nil
}

// run serves until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	// The exporter's log format (internal/logging), so a demo's lines read alike.
	logger, _, _ := logging.New(stderr, "logfmt", "info", false)
	f, err := parseFlags(args, stderr)
	if err != nil {
		level.Error(logger).Log("msg", "invalid flags", "err", err)
		return 2
	}
	filtered, _, err := logging.New(stderr, "logfmt", f.logLevel, false)
	if err != nil {
		level.Error(logger).Log("msg", "invalid flags", "err", err)
		return 2
	}
	logger = filtered

	specs, err := buildSpecs(f)
	if err != nil {
		level.Error(logger).Log("msg", "invalid configuration", "err", err)
		return 2
	}
	servers := make([]*mock.Server, 0, len(specs))
	closeAll := func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}
	for _, sp := range specs {
		sp.opts.Logger = logger
		s, err := mock.Start(sp.opts, sp.addr)
		if err != nil {
			level.Error(logger).Log("msg", "cannot start container", "container", sp.opts.Name, "address", sp.addr, "err", err)
			closeAll()
			return 1
		}
		servers = append(servers, s)
		level.Info(logger).Log("msg", "serving container", "container", s.Name(), "type", s.Type(), "address", s.Addr())
	}
	if f.inventoryOut != "" {
		if err := writeInventory(f.inventoryOut, servers, f.inventorySite); err != nil {
			level.Error(logger).Log("msg", "cannot write inventory", "file", f.inventoryOut, "err", err)
			closeAll()
			return 1
		}
		level.Info(logger).Log("msg", "wrote inventory", "file", f.inventoryOut, "containers", len(servers))
	}
	level.Info(logger).Log("msg", "ready", "containers", len(servers))
	<-ctx.Done()
	level.Info(logger).Log("msg", "shutting down", "containers", len(servers))
	closeAll()
	return 0
}
