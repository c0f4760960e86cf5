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
	"syscall"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// The scaling recipe of docs/scaling.md, run for real: one exporter, one
// fleet, two Prometheus servers that each keep the targets whose hashmod of
// the container name is their shard number. Each scrapes a disjoint part of
// the fleet and together they scrape all of it.
func TestHashmodShardingSplitsTheFleet(t *testing.T) {
	promBin := testutil.RequireBinary(t, "prometheus")
	dir := t.TempDir()

	// A fleet of mock containers and its inventory.
	const fleet = 8
	var inv strings.Builder
	inv.WriteString("containers:\n")
	var names []string
	for i := range fleet {
		typ := mock.HK3
		if i%2 == 1 {
			typ = mock.Immersion
		}
		name := fmt.Sprintf("shard-test-%02d", i+1)
		s, err := mock.Start(mock.Options{Name: name, Type: typ, Seed: int64(i + 1)}, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: %s, labels: {site: test}}\n", name, s.Addr(), typ)
		names = append(names, name)
	}
	inventory := filepath.Join(dir, "inventory.yml")
	if err := os.WriteFile(inventory, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// The exporter, built from this tree.
	exporterBin := filepath.Join(dir, "antspace_exporter")
	build := exec.Command("go", "build", "-o", exporterBin, "../cmd/antspace_exporter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exporterAddr := testutil.MustFreeAddr(t)
	startChild(t, dir, "exporter", exporterBin, "--config.file", inventory, "--web.listen-address", exporterAddr)
	waitReady(t, "http://"+exporterAddr+"/-/ready")

	// Two Prometheus servers, shard 0 and shard 1.
	const shards = 2
	promURLs := make([]string, shards)
	for shard := range shards {
		cfg := filepath.Join(dir, fmt.Sprintf("prometheus-%d.yml", shard))
		if err := os.WriteFile(cfg, []byte(shardConfig(exporterAddr, shard, shards)), 0o644); err != nil {
			t.Fatal(err)
		}
		addr := testutil.MustFreeAddr(t)
		startChild(t, dir, fmt.Sprintf("prometheus-%d", shard), promBin,
			"--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", shard)),
			"--web.listen-address="+addr, "--log.level=warn")
		promURLs[shard] = "http://" + addr
		waitReady(t, promURLs[shard]+"/-/ready")
	}

	// Each server ends up with every one of its targets up and an antspace_up
	// series for each. Its value is not this test's subject (under load a
	// probe may time out and say 0); which server scrapes which container is.
	scraped := make([][]string, shards)
	for shard, base := range promURLs {
		testutil.Eventually(t, testutil.Patience, fmt.Sprintf("shard %d: every target scraped", shard), func() (bool, string) {
			up, all, err := activeTargets(base)
			series, qerr := queryContainers(base, "antspace_up")
			if err == nil && qerr == nil && len(all) > 0 && slices.Equal(up, all) && slices.Equal(series, all) {
				scraped[shard] = all
				return true, ""
			}
			return false, fmt.Sprintf("targets up %v of %v, antspace_up for %v (errors %v, %v)", up, all, series, err, qerr)
		})
		t.Logf("shard %d scrapes %d containers: %v", shard, len(scraped[shard]), scraped[shard])
	}
	var union []string
	for shard, own := range scraped {
		for _, c := range own {
			for other := shard + 1; other < shards; other++ {
				if slices.Contains(scraped[other], c) {
					t.Errorf("%s is scraped by shard %d and shard %d", c, shard, other)
				}
			}
		}
		union = append(union, own...)
	}
	slices.Sort(union)
	if !slices.Equal(union, names) {
		t.Errorf("the shards together scrape %v, want the whole fleet %v", union, names)
	}
}

// shardConfig is the job of docs/scaling.md for one shard.
func shardConfig(exporter string, shard, shards int) string {
	return fmt.Sprintf(`global:
  # The probe gets the scrape timeout minus 0.5 s: 4.5 s, many times what a
  # probe of a mock container needs on a loaded machine.
  scrape_interval: 5s
  scrape_timeout: 5s
scrape_configs:
  - job_name: antspace
    metrics_path: /probe
    http_sd_configs:
      - url: http://%[1]s/sd
        refresh_interval: 5s
    relabel_configs:
      # Sharding: keep the containers whose hash lands on this server.
      - source_labels: [__address__]
        modulus: %[3]d
        target_label: __tmp_hash
        action: hashmod
      - source_labels: [__tmp_hash]
        regex: "%[2]d"
        action: keep
      # The usual multi-target relabelling.
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__address__]
        target_label: instance
      - target_label: __address__
        replacement: %[1]s
`, exporter, shard, shards)
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
		out = append(out, s.Metric["container"])
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

// startChild starts a process the test owns; cleanup stops it by its PID
// and shows its log when the test failed.
func startChild(t *testing.T, dir, name, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(testutil.Patience):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", name, b)
		}
	})
}

func waitReady(t *testing.T, u string) {
	t.Helper()
	var last error
	testutil.WaitFor(t, testutil.Patience, 100*time.Millisecond, u+" ready", func() bool {
		resp, err := http.Get(u)
		if err != nil {
			last = err
			return false
		}
		resp.Body.Close()
		last = fmt.Errorf("HTTP %d", resp.StatusCode)
		return resp.StatusCode == http.StatusOK
	}, func() string { return fmt.Sprint("last: ", last) })
}
