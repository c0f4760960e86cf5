//go:build linux

package main

import (
	"path/filepath"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
)

// The mock fleet is internal/harness's (shared with bench/dashboard).

func (o options) fleetOptions(dir string) harness.FleetOptions {
	return harness.FleetOptions{
		Mock: filepath.Join(o.bin, "antspace_mock"), N: o.n, PerProcess: o.perMock,
		Start: o.fleetStart, Miners: o.miners, Dir: dir,
	}
}

func (o options) mockProcesses() int { return o.fleetOptions("").Processes() }
