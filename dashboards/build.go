// Package dashboards holds the Grafana dashboards of the antspace_exporter:
// the committed *.json files, the generator that writes them (Build; the
// panels in fleet.go, hk3.go, immersion.go, common.go on the model of
// model.go), and CommittedQueries (committed.go), which reads the committed
// files back and lists every PromQL query for the end-to-end suite.
//
// Edit the Go sources, then regenerate the JSON:
//
//	go generate ./dashboards
package dashboards

//go:generate go run ./gen -out .

import (
	"bytes"
	"encoding/json"
)

// files maps each dashboard file name to the dashboard it holds.
func files() map[string]*Dashboard {
	return map[string]*Dashboard{
		"antspace-fleet.json": fleetDashboard(),
		"antspace-hk3.json": containerDashboard(HK3UID, "hk3", "Antspace / HK3 container",
			"One or more HK3 (cooling-tower) containers in depth: loop temperatures against the setpoint, pressures, flow, power, pumps and fans, every fault flag, and the miners.",
			hk3Tiles, hk3Sections),
		"antspace-immersion.json": containerDashboard(ImmersionUID, "immersion", "Antspace / Immersion container",
			"One or more immersion (dry-cooler) containers in depth: oil and water loop temperatures, pumps, dry cooler, tanks, valves, mains, every fault flag, and the miners.",
			immersionTiles, immersionSections),
	}
}

// Build renders every dashboard as the JSON that is committed: file name to
// content (two-space indented, trailing newline).
func Build() (map[string][]byte, error) { return BuildFor(Options{}) }

func build() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, d := range files() {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
		out[name] = buf.Bytes()
	}
	return out, nil
}
