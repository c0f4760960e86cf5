//go:build linux

package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/dashboards"
	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// The agent-mode recipe of docs/scaling.md, run for real: two sites, each a
// Prometheus in agent mode scraping its own containers through the exporter
// and remote-writing to one central Prometheus (--web.enable-remote-write-
// receiver) that evaluates the rules. The central server holds both sites'
// series, answers the fleet dashboard's queries, and when the north agent
// dies the site heartbeat alert fires for north (not south) instead of the
// site going silent.
func TestAgentsRemoteWriteToCentral(t *testing.T) {
	promBin := testutil.RequireBinary(t, "prometheus")
	dir := t.TempDir()

	// Two containers per site, one exporter for the inventory.
	var inv strings.Builder
	inv.WriteString("containers:\n")
	sites := []string{"north", "south"}
	for i := range 4 {
		site := sites[i%2]
		typ := mock.HK3
		if i >= 2 {
			typ = mock.Immersion
		}
		name := fmt.Sprintf("%s-%d", site, i)
		s, err := mock.Start(mock.Options{Name: name, Type: typ, Seed: int64(i + 1)}, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fmt.Fprintf(&inv, "  - {name: %s, address: %q, type: %s, labels: {site: %s}}\n", name, s.Addr(), typ, site)
	}
	inventory := filepath.Join(dir, "inventory.yml")
	if err := os.WriteFile(inventory, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	exporterBin := filepath.Join(dir, "antspace_exporter")
	if out, err := exec.Command("go", "build", "-o", exporterBin, "../cmd/antspace_exporter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exporterAddr := testutil.MustFreeAddr(t)
	startChild(t, dir, "exporter", exporterBin, "--config.file", inventory, "--web.listen-address", exporterAddr)
	waitReady(t, "http://"+exporterAddr+"/-/ready")

	// The central server: the project's rules and the site heartbeat. A
	// short lookback lets a silent site's series end within seconds.
	rulesFile, err := filepath.Abs("../rules/antspace.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	siteRules := filepath.Join(dir, "sites.rules.yml")
	if err := os.WriteFile(siteRules, []byte(siteHeartbeatRules), 0o644); err != nil {
		t.Fatal(err)
	}
	central := filepath.Join(dir, "central.yml")
	if err := os.WriteFile(central, fmt.Appendf(nil, "global:\n  evaluation_interval: 1s\nrule_files: [%q, %q]\n", rulesFile, siteRules), 0o644); err != nil {
		t.Fatal(err)
	}
	centralAddr := testutil.MustFreeAddr(t)
	startChild(t, dir, "central", promBin, "--config.file="+central, "--storage.tsdb.path="+filepath.Join(dir, "central-data"),
		"--web.listen-address="+centralAddr, "--web.enable-remote-write-receiver", "--query.lookback-delta=5s", "--log.level=warn")
	centralURL := "http://" + centralAddr
	waitReady(t, centralURL+"/-/ready")

	// One agent per site.
	stopAgent := map[string]func(){}
	for _, site := range sites {
		cfg := filepath.Join(dir, "agent-"+site+".yml")
		if err := os.WriteFile(cfg, []byte(agentConfig(exporterAddr, site, centralAddr)), 0o644); err != nil {
			t.Fatal(err)
		}
		addr := testutil.MustFreeAddr(t)
		stopAgent[site] = startKillable(t, dir, "agent-"+site, promBin, "--enable-feature=agent", "--config.file="+cfg,
			"--storage.agent.path="+filepath.Join(dir, "agent-data-"+site), "--web.listen-address="+addr, "--log.level=warn")
		waitReady(t, "http://"+addr+"/-/ready")
	}

	// Both sites' containers arrive centrally, labelled with their cluster.
	want := []string{"north-0", "north-2", "south-1", "south-3"}
	testutil.WaitFor(t, 90*time.Second, 250*time.Millisecond, "both sites' antspace_up == 1 on the central server", func() bool {
		got, err := queryContainers(centralURL, `antspace_up{cluster=~"north|south"} == 1`)
		return err == nil && slices.Equal(got, want)
	})
	for _, site := range sites {
		got, err := queryContainers(centralURL, fmt.Sprintf(`antspace_up{cluster=%q}`, site))
		if err != nil || len(got) != 2 || !strings.HasPrefix(got[0], site) || !strings.HasPrefix(got[1], site) {
			t.Errorf("cluster %s holds %v (%v), want its own two containers", site, got, err)
		}
	}

	// The rules are evaluated centrally, and the fleet dashboard's queries
	// are answered there.
	var rules struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Health string `json:"health"`
					Name   string `json:"name"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	testutil.WaitFor(t, 30*time.Second, 250*time.Millisecond, "the central rules evaluated", func() bool {
		if err := getJSON(centralURL+"/api/v1/rules", &rules); err != nil || len(rules.Data.Groups) < 2 {
			return false
		}
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return false
				}
			}
		}
		return true
	})
	qs, err := dashboards.CommittedQueries(map[string]string{"site": "north|south", "container": "north-0|south-1"})
	if err != nil {
		t.Fatal(err)
	}
	fleet := 0
	for _, q := range qs {
		if q.Dashboard != dashboards.FleetUID || strings.HasPrefix(q.Expr, "label_values") {
			continue
		}
		fleet++
		var r struct {
			Status string `json:"status"`
		}
		if err := getJSON(centralURL+"/api/v1/query?query="+url.QueryEscape(q.Expr), &r); err != nil || r.Status != "success" {
			t.Errorf("fleet panel %q: %v (status %q)\n%s", q.Panel, err, r.Status, q.Expr)
		}
	}
	if fleet == 0 {
		t.Error("no fleet dashboard queries found")
	}
	t.Logf("central: %d rule groups evaluated, %d fleet dashboard queries answered", len(rules.Data.Groups), fleet)

	// A dead site alerts instead of going silent.
	stopAgent["north"]()
	testutil.WaitFor(t, 90*time.Second, 250*time.Millisecond, "AntspaceSiteSilent firing for north", func() bool {
		got, err := queryLabel(centralURL, `ALERTS{alertname="AntspaceSiteSilent",alertstate="firing"}`, "cluster")
		return err == nil && slices.Equal(got, []string{"north"})
	})
	if got, _ := queryContainers(centralURL, `antspace_up{cluster="south"}`); len(got) != 2 {
		t.Errorf("south after north died: %v, want its two containers still reporting", got)
	}
}

// siteHeartbeatRules is the site heartbeat of docs/scaling.md.
const siteHeartbeatRules = `groups:
  - name: antspace-sites
    rules:
      - record: cluster:antspace_up:count
        expr: count by (cluster) (up{job="antspace"})
      - alert: AntspaceSiteSilent
        expr: max_over_time(cluster:antspace_up:count[1d]) unless cluster:antspace_up:count
`

// agentConfig is the agent of docs/scaling.md for one site.
func agentConfig(exporter, site, central string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels:
    cluster: %[2]s
scrape_configs:
  - job_name: antspace
    metrics_path: /probe
    http_sd_configs:
      - url: http://%[1]s/sd
        refresh_interval: 5s
    relabel_configs:
      - source_labels: [site]
        regex: %[2]s
        action: keep
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__address__]
        target_label: instance
      - target_label: __address__
        replacement: %[1]s
remote_write:
  - url: http://%[3]s/api/v1/write
    queue_config:
      batch_send_deadline: 1s
`, exporter, site, central)
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

// startKillable is startChild that also returns a function killing the
// process at once (a site going away), idempotent with the cleanup.
func startKillable(t *testing.T, dir, name, bin string, args ...string) func() {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name+".log"))
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
	kill := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	t.Cleanup(kill)
	return kill
}
