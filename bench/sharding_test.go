//go:build linux

package main

import (
	"fmt"
	"slices"
	"testing"

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

	// A fleet of mock containers behind the exporter.
	const fleet = 8
	var containers []testContainer
	var names []string
	for i := range fleet {
		typ := mock.HK3
		if i%2 == 1 {
			typ = mock.Immersion
		}
		name := fmt.Sprintf("shard-test-%02d", i+1)
		containers = append(containers, testContainer{name: name, site: "test", typ: typ})
		names = append(names, name)
	}
	exporterAddr := startExporter(t, dir, containers)

	// Two Prometheus servers, shard 0 and shard 1.
	const shards = 2
	promURLs := make([]string, shards)
	for shard := range shards {
		promURLs[shard] = startPrometheus(t, dir, fmt.Sprintf("prometheus-%d", shard), promBin, false, shardConfig(exporterAddr, shard, shards)).URL
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
