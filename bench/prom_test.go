//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/internal/harness"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// What the Prometheus tests of this package (sharding, agents) share: a
// small mock fleet behind the exporter built from this tree, Prometheus
// servers and agents started for one test, and their HTTP API.

// testContainer is one mock container of a test fleet.
type testContainer struct {
	name, site string
	typ        mock.Type
}

// startExporter starts the containers in this process, writes their
// inventory, and starts the exporter built from this tree on it. It returns
// the exporter's host:port. Everything stops at the test's cleanup.
func startExporter(t *testing.T, dir string, fleet []testContainer) string {
	t.Helper()
	var inv strings.Builder
	inv.WriteString("containers:\n")
	for i, c := range fleet {
		s, err := mock.Start(mock.Options{Name: c.name, Type: c.typ, Seed: int64(i + 1)}, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: %s, labels: {site: %s}}\n", c.name, s.Addr(), c.typ, c.site)
	}
	inventory := filepath.Join(dir, "inventory.yml")
	if err := os.WriteFile(inventory, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "antspace_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/antspace_exporter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	e, err := harness.StartExporter(harness.ExporterOptions{
		Bin: bin, Args: []string{"--config.file", inventory}, LogFile: filepath.Join(dir, "exporter.log"), Ready: testutil.Patience,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAndShowLog(t, e.Process) })
	return strings.TrimPrefix(e.URL, "http://")
}

// startPrometheus writes config to dir/name.yml and starts a Prometheus
// server (or, with agent, an agent) on it, ready when it returns. Cleanup
// stops it and shows its log when the test failed.
func startPrometheus(t *testing.T, dir, name, bin string, agent bool, config string, args ...string) *harness.Prometheus {
	t.Helper()
	cfg := filepath.Join(dir, name+".yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := harness.StartPrometheus(harness.PrometheusOptions{
		Bin: bin, Config: cfg, DataDir: filepath.Join(dir, name+"-data"), Agent: agent, Args: args,
		LogFile: filepath.Join(dir, name+".log"), Ready: testutil.Patience,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAndShowLog(t, p.Process) })
	return p
}

func stopAndShowLog(t *testing.T, p *harness.Process) {
	p.Stop()
	if t.Failed() {
		t.Logf("%s log %s:\n%s", p.Name, p.Log, p.Tail(4000))
	}
}

// activeTargets returns the container labels of a server's active targets,
// all of them and those that are up, sorted.
func activeTargets(base string) (up, all []string, err error) {
	var r struct {
		Data struct {
			ActiveTargets []struct {
				Labels map[string]string `json:"labels"`
				Health string            `json:"health"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := getJSON(base+"/api/v1/targets?state=active", &r); err != nil {
		return nil, nil, err
	}
	for _, at := range r.Data.ActiveTargets {
		all = append(all, at.Labels["container"])
		if at.Health == "up" {
			up = append(up, at.Labels["container"])
		}
	}
	slices.Sort(all)
	slices.Sort(up)
	return up, all, nil
}

// queryContainers returns the sorted container labels of an instant query.
func queryContainers(base, query string) ([]string, error) {
	return queryLabel(base, query, "container")
}

// queryLabel returns the sorted values of a label in an instant query.
func queryLabel(base, query, label string) ([]string, error) {
	var r struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := getJSON(base+"/api/v1/query?query="+url.QueryEscape(query), &r); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range r.Data.Result {
		out = append(out, s.Metric[label])
	}
	slices.Sort(out)
	return out, nil
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
