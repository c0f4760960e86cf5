// Package dashboards holds the Grafana dashboards for the antspace_exporter
// (the committed *.json files), the generator that writes them, and
// Queries, which lists every PromQL query of the committed dashboards.
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

// Files maps each dashboard file name to the dashboard it holds.
func files() map[string]*Dashboard {
	return map[string]*Dashboard{
		"antspace-fleet.json":     fleetDashboard(),
		"antspace-hk3.json":       hk3Dashboard(),
		"antspace-immersion.json": immersionDashboard(),
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
