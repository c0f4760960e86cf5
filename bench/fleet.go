//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
)

// fleet is the mock fleet: processes of at most -mock.per-process
// containers each, on consecutive loopback addresses, and the exporter's
// inventory of all of them.
type fleet struct {
	procs     []*harness.Process
	targets   []target
	inventory string // path of the exporter's inventory file
}

type target struct{ name, address, typ string }

func (o options) mockProcesses() int { return (o.n + o.perMock - 1) / max(1, o.perMock) }

// startFleet starts the mock processes one after the other, each writing
// its part of the inventory. On error the fleet returned so far must still
// be stopped.
func startFleet(o options, dir string) (*fleet, error) {
	start, err := netip.ParseAddrPort(o.fleetStart)
	if err != nil || !start.Addr().Is4() || !start.Addr().IsLoopback() {
		return nil, fmt.Errorf("-fleet.start %q must be a 127.x.y.z:port address", o.fleetStart)
	}
	f := &fleet{}
	var inv strings.Builder
	inv.WriteString("containers:\n")
	addr := start.Addr()
	for i := range o.mockProcesses() {
		count := min(o.perMock, o.n-i*o.perMock)
		ts, err := f.startMock(o, dir, i, count, netip.AddrPortFrom(addr, start.Port()))
		if err != nil {
			return f, err
		}
		for _, t := range ts {
			fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: %s}\n", t.name, t.address, t.typ)
		}
		f.targets = append(f.targets, ts...)
		for range count {
			addr = addr.Next()
		}
	}
	f.inventory = filepath.Join(dir, "inventory.yml")
	return f, os.WriteFile(f.inventory, []byte(inv.String()), 0o644)
}

// startMock starts mock process i with count containers from first and
// returns its part of the inventory.
func (f *fleet) startMock(o options, dir string, i, count int, first netip.AddrPort) ([]target, error) {
	part := filepath.Join(dir, fmt.Sprintf("inventory-%d.yml", i))
	args := []string{
		"--fleet", strconv.Itoa(count), "--fleet.mode", "addresses", "--fleet.start", first.String(),
		"--name", fmt.Sprintf("bench-%d", i), "--seed", strconv.Itoa(1 + i*o.perMock),
		"--fleet.hk3-share", "0.5", "--inventory.out", part, "--log.level", "warn",
	}
	if o.miners > 0 {
		args = append(args, "--miners", strconv.Itoa(o.miners))
	}
	p, err := harness.Start(filepath.Join(o.bin, "antspace_mock"), args, filepath.Join(dir, fmt.Sprintf("mock-%d.log", i)))
	if err != nil {
		return nil, err
	}
	f.procs = append(f.procs, p)
	if err := p.WaitUntil(2*time.Minute, "the mock fleet's inventory", func() bool {
		_, err := os.Stat(part)
		return err == nil
	}); err != nil {
		return nil, err
	}
	ts, err := readInventory(part)
	if err != nil {
		return nil, err
	}
	if len(ts) != count {
		return nil, fmt.Errorf("%s lists %d containers, want %d", part, len(ts), count)
	}
	return ts, nil
}

func (f *fleet) stop() {
	for _, p := range f.procs {
		p.Stop()
	}
}

func (f *fleet) alive() error {
	for _, p := range f.procs {
		if err := p.Alive(); err != nil {
			return err
		}
	}
	return nil
}

// cpu is the CPU seconds the mock processes used so far.
func (f *fleet) cpu() float64 {
	total := 0.0
	for _, p := range f.procs {
		v, _ := harness.CPUSeconds(p.PID())
		total += v
	}
	return total
}

func readInventory(path string) ([]target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var inv struct {
		Containers []struct{ Name, Address, Type string } `yaml:"containers"`
	}
	if err := yaml.Unmarshal(b, &inv); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ts := make([]target, len(inv.Containers))
	for i, c := range inv.Containers {
		ts[i] = target{name: c.Name, address: c.Address, typ: c.Type}
	}
	return ts, nil
}

// raiseNoFile raises this process's open-file limit (children inherit it):
// the mock holds a listener per container plus the connections of both the
// floor client and the exporter (up to two each per container). Root may
// raise the hard limit too.
func raiseNoFile(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur >= want {
		return lim.Cur
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want
		}
	}
	lim.Cur = min(want, lim.Max)
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}
