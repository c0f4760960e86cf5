package main

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/mock"
)

// spec is one container to serve.
type spec struct {
	opts mock.Options
	addr string
}

// buildSpecs turns the flags into the containers to serve: the --bulk file and the --fleet,
// or, when neither is given, a single container on --listen.
func buildSpecs(f *flags) ([]spec, error) {
	typ, err := mock.ParseType(f.typ)
	if err != nil {
		return nil, fmt.Errorf("--type: %w", err)
	}
	var specs []spec
	if f.bulk != "" {
		b, err := loadBulk(f, typ)
		if err != nil {
			return nil, err
		}
		specs = append(specs, b...)
	}
	if f.fleet > 0 {
		fl, err := fleetSpecs(f, typ)
		if err != nil {
			return nil, err
		}
		specs = append(specs, fl...)
	}
	if f.bulk == "" && f.fleet == 0 {
		specs = append(specs, spec{addr: f.listen, opts: mock.Options{
			Name: f.name, Type: typ, Seed: f.seed, AllFaults: f.allFaults, Miners: f.miners,
		}})
	}
	return specs, nil
}

// bulkFile is the --bulk file format (YAML; JSON is YAML too).
type bulkFile struct {
	Containers []bulkContainer `yaml:"containers"`
}

type bulkContainer struct {
	Name      string         `yaml:"name"`
	Type      string         `yaml:"type"`
	Address   string         `yaml:"address"`
	Error     bool           `yaml:"error"`
	Seed      *int64         `yaml:"seed"`
	Miners    int            `yaml:"miners"`
	Overrides map[string]any `yaml:"overrides"`
}

func loadBulk(f *flags, defType mock.Type) ([]spec, error) {
	fh, err := os.Open(f.bulk) //nolint:gosec // G703: the file the operator names with --bulk
	if err != nil {
		return nil, fmt.Errorf("--bulk: %w", err)
	}
	defer func() { _ = fh.Close() }() // read only: the decoder reports what matters
	dec := yaml.NewDecoder(fh)
	dec.KnownFields(true)
	var bf bulkFile
	if err := dec.Decode(&bf); err != nil {
		return nil, fmt.Errorf("--bulk %s: %w", f.bulk, err)
	}
	if len(bf.Containers) == 0 {
		return nil, fmt.Errorf("--bulk %s: no containers", f.bulk)
	}
	names := map[string]bool{}
	specs := make([]spec, 0, len(bf.Containers))
	for i, c := range bf.Containers {
		where := fmt.Sprintf("--bulk %s: container %d", f.bulk, i+1)
		if c.Name == "" {
			c.Name = fmt.Sprintf("%s-%d", f.name, i+1)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("%s: duplicate name %q", where, c.Name)
		}
		names[c.Name] = true
		typ := defType
		if c.Type != "" {
			if typ, err = mock.ParseType(c.Type); err != nil {
				return nil, fmt.Errorf("%s (%s): %w", where, c.Name, err)
			}
		}
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			return nil, fmt.Errorf("%s (%s): address must be host:port: %w", where, c.Name, err)
		}
		seed := f.seed + int64(i)
		if c.Seed != nil {
			seed = *c.Seed
		}
		miners := c.Miners
		if miners == 0 {
			miners = f.miners
		}
		opts := mock.Options{Name: c.Name, Type: typ, Seed: seed, AllFaults: c.Error || f.allFaults, Miners: miners, Overrides: c.Overrides}
		if _, err := mock.NewContainer(opts); err != nil { // validate before anything listens
			return nil, fmt.Errorf("%s (%s): %w", where, c.Name, err)
		}
		specs = append(specs, spec{opts: opts, addr: c.Address})
	}
	return specs, nil
}

// fleetSpecs lays out --fleet containers on consecutive ports or consecutive addresses.
func fleetSpecs(f *flags, defType mock.Type) ([]spec, error) {
	start, err := netip.ParseAddrPort(f.fleetStart)
	if err != nil {
		return nil, fmt.Errorf("--fleet.start must be ip:port: %w", err)
	}
	addrs := make([]string, f.fleet)
	switch f.fleetMode {
	case "ports":
		port := int(start.Port())
		if port != 0 && port+f.fleet-1 > math.MaxUint16 {
			return nil, fmt.Errorf("--fleet %d from port %d runs past port 65535", f.fleet, port)
		}
		for i := range addrs {
			p := port
			if p != 0 {
				p += i
			}
			addrs[i] = net.JoinHostPort(start.Addr().String(), strconv.Itoa(p))
		}
	case "addresses":
		ip := start.Addr()
		if !ip.Is4() || !ip.IsLoopback() {
			return nil, fmt.Errorf("--fleet.mode addresses needs an IPv4 loopback start address (127.x.y.z), got %s", ip)
		}
		for i := range addrs {
			if !ip.IsLoopback() {
				return nil, fmt.Errorf("--fleet %d from %s runs out of 127.0.0.0/8", f.fleet, start.Addr())
			}
			addrs[i] = netip.AddrPortFrom(ip, start.Port()).String()
			ip = ip.Next()
		}
	default:
		return nil, fmt.Errorf("unknown --fleet.mode %q", f.fleetMode)
	}
	specs := make([]spec, f.fleet)
	for i := range specs {
		typ := defType
		if f.hk3ShareSet {
			typ = mock.Immersion
			if math.Ceil(float64(i+1)*f.hk3Share) > math.Ceil(float64(i)*f.hk3Share) {
				typ = mock.HK3
			}
		}
		specs[i] = spec{addr: addrs[i], opts: mock.Options{
			Name: fmt.Sprintf("%s-%d", f.name, i+1), Type: typ, Seed: f.seed + int64(i),
			AllFaults: f.allFaults, Miners: f.miners,
		}}
	}
	return specs, nil
}
