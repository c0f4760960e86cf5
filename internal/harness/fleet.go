//go:build linux

package harness

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
)

// FleetOptions says how to start a mock fleet.
type FleetOptions struct {
	Mock       string // path of antspace_mock
	N          int    // containers
	PerProcess int    // containers per mock process (at most; each needs a listener and connections within its open-file limit)
	Start      string // first address, 127.x.y.z:port; the fleet takes consecutive addresses
	Miners     int    // miners per container; 0: the mock's default
	Sites      int    // when > 0, containers get a site label site-1 … site-<Sites> in turn
	Dir        string // inventory parts and logs go here
}

// Processes is the number of mock processes the fleet needs.
func (o FleetOptions) Processes() int { return (o.N + o.PerProcess - 1) / max(1, o.PerProcess) }

// Fleet is a running mock fleet: processes of at most PerProcess containers
// each, on consecutive loopback addresses, half HK3 and half immersion, and
// the exporter's inventory of all of them.
type Fleet struct {
	Procs     []*Process
	Targets   []Target
	Inventory string // path of the exporter's inventory file
}

// Target is one container of the inventory.
type Target struct{ Name, Address, Type string }

// StartFleet starts the mock processes one after the other, each writing
// its part of the inventory. On error the fleet returned so far must still
// be stopped.
func StartFleet(o FleetOptions) (*Fleet, error) {
	start, err := netip.ParseAddrPort(o.Start)
	if err != nil || !start.Addr().Is4() || !start.Addr().IsLoopback() {
		return nil, fmt.Errorf("fleet start %q must be a 127.x.y.z:port address", o.Start)
	}
	if o.PerProcess <= 0 {
		o.PerProcess = 3000
	}
	f := &Fleet{}
	var inv strings.Builder
	inv.WriteString("containers:\n")
	addr := start.Addr()
	for i := range o.Processes() {
		count := min(o.PerProcess, o.N-i*o.PerProcess)
		ts, err := f.startMock(o, i, count, netip.AddrPortFrom(addr, start.Port()))
		if err != nil {
			return f, err
		}
		for j, t := range ts {
			fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: %s", t.Name, t.Address, t.Type)
			if o.Sites > 0 {
				fmt.Fprintf(&inv, ", labels: {site: site-%d}", (len(f.Targets)+j)%o.Sites+1)
			}
			inv.WriteString("}\n")
		}
		f.Targets = append(f.Targets, ts...)
		for range count {
			addr = addr.Next()
		}
	}
	f.Inventory = filepath.Join(o.Dir, "inventory.yml")
	return f, os.WriteFile(f.Inventory, []byte(inv.String()), 0o644)
}

// startMock starts mock process i with count containers from first and
// returns its part of the inventory.
func (f *Fleet) startMock(o FleetOptions, i, count int, first netip.AddrPort) ([]Target, error) {
	part := filepath.Join(o.Dir, fmt.Sprintf("inventory-%d.yml", i))
	args := []string{
		"--fleet", strconv.Itoa(count), "--fleet.mode", "addresses", "--fleet.start", first.String(),
		"--name", fmt.Sprintf("bench-%d", i), "--seed", strconv.Itoa(1 + i*o.PerProcess),
		"--fleet.hk3-share", "0.5", "--inventory.out", part, "--log.level", "warn",
	}
	if o.Miners > 0 {
		args = append(args, "--miners", strconv.Itoa(o.Miners))
	}
	p, err := Start(o.Mock, args, filepath.Join(o.Dir, fmt.Sprintf("mock-%d.log", i)))
	if err != nil {
		return nil, err
	}
	f.Procs = append(f.Procs, p)
	if err := p.WaitUntil(2*time.Minute, "the mock fleet's inventory", func() bool {
		_, err := os.Stat(part)
		return err == nil
	}); err != nil {
		return nil, err
	}
	ts, err := ReadInventory(part)
	if err != nil {
		return nil, err
	}
	if len(ts) != count {
		return nil, fmt.Errorf("%s lists %d containers, want %d", part, len(ts), count)
	}
	return ts, nil
}

// Stop stops every mock process.
func (f *Fleet) Stop() {
	for _, p := range f.Procs {
		p.Stop()
	}
}

// Alive is nil while every mock process runs.
func (f *Fleet) Alive() error {
	for _, p := range f.Procs {
		if err := p.Alive(); err != nil {
			return err
		}
	}
	return nil
}

// CPU is the CPU seconds the mock processes used so far.
func (f *Fleet) CPU() float64 {
	total := 0.0
	for _, p := range f.Procs {
		v, _ := CPUSeconds(p.PID())
		total += v
	}
	return total
}

// ReadInventory reads the containers of an inventory file.
func ReadInventory(path string) ([]Target, error) {
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
	ts := make([]Target, len(inv.Containers))
	for i, c := range inv.Containers {
		ts[i] = Target{Name: c.Name, Address: c.Address, Type: c.Type}
	}
	return ts, nil
}

// RaiseNoFile raises this process's open-file limit (children inherit it)
// towards want and returns the limit now in force: a mock holds a listener
// per container plus the connections of its clients. Root may raise the
// hard limit too.
func RaiseNoFile(want uint64) uint64 {
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
