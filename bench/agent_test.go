//go:build linux

package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/dashboards"
	"github.com/antspace-exporter/antspace_exporter/internal/harness"
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
	// The central server is Prometheus 3; the agents are Prometheus 3 and,
	// in a second subtest, the Prometheus on PATH (2.42 on Debian 12), as in
	// a fleet upgraded centre first.
	var central testutil.PromBuild
	builds := testutil.PromBuilds()
	for _, b := range builds {
		if b.Name == "prom3" {
			central = b
		}
	}
	central.Require(t)
	slices.SortStableFunc(builds, func(a, b testutil.PromBuild) int { return strings.Compare(b.Name, a.Name) }) // prom3 first

	// Two containers per site behind one exporter, shared by the subtests.
	var fleet []testContainer
	sites := []string{"north", "south"}
	for i := range 4 {
		typ := mock.HK3
		if i >= 2 {
			typ = mock.Immersion
		}
		fleet = append(fleet, testContainer{name: fmt.Sprintf("%s-%d", sites[i%2], i), site: sites[i%2], typ: typ})
	}
	exporterAddr := startExporter(t, t.TempDir(), fleet)

	for _, agents := range builds {
		t.Run("agents-"+agents.Name, func(t *testing.T) {
			agents.Require(t)
			runAgentsToCentral(t, central.Prometheus, agents.Prometheus, exporterAddr, sites)
		})
	}
}

func runAgentsToCentral(t *testing.T, centralBin, agentBin, exporterAddr string, sites []string) {
	dir := t.TempDir()
	// The central server: the project's rules and the site heartbeat. A
	// short lookback lets a silent site's series end within seconds.
	rulesFile, err := filepath.Abs("../rules/antspace.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if siteHeartbeatRules == agentHeartbeatRules {
		t.Fatal("the site heartbeat still waits 5 minutes before firing")
	}
	siteRules := filepath.Join(dir, "sites.rules.yml")
	if err := os.WriteFile(siteRules, []byte(siteHeartbeatRules), 0o644); err != nil {
		t.Fatal(err)
	}
	centralURL := startPrometheus(t, dir, "central", centralBin, false,
		fmt.Sprintf("global:\n  evaluation_interval: 1s\nrule_files: [%q, %q]\n", rulesFile, siteRules),
		"--web.enable-remote-write-receiver", "--query.lookback-delta=5s").URL

	// One agent per site.
	agents := map[string]*harness.Prometheus{}
	for _, site := range sites {
		agents[site] = startPrometheus(t, dir, "agent-"+site, agentBin, true, agentSite{
			exporter: exporterAddr, central: strings.TrimPrefix(centralURL, "http://"), cluster: site, keepSite: site,
			interval: 2 * time.Second, timeout: 2 * time.Second, sendDeadline: time.Second,
		}.config())
	}
	// They are agents: no local database to query.
	var q struct{}
	if err := getJSON(agents["north"].URL+"/api/v1/query?query=up", &q); err == nil {
		t.Error("the north agent answers queries; want agent mode, which keeps no queryable database")
	}

	// Both sites' containers arrive centrally, labelled with their cluster.
	want := []string{"north-0", "north-2", "south-1", "south-3"}
	testutil.Eventually(t, 3*time.Minute, "both sites' antspace_up == 1 on the central server", func() (bool, string) {
		got, err := queryContainers(centralURL, `antspace_up{cluster=~"north|south"} == 1`)
		return err == nil && slices.Equal(got, want), fmt.Sprintf("%v %v", got, err)
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
					Health    string `json:"health"`
					Name      string `json:"name"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	testutil.Eventually(t, 2*time.Minute, "the central rules evaluated", func() (bool, string) {
		if err := getJSON(centralURL+"/api/v1/rules", &rules); err != nil || len(rules.Data.Groups) < 2 {
			return false, fmt.Sprintf("%d groups, %v", len(rules.Data.Groups), err)
		}
		for _, g := range rules.Data.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return false, fmt.Sprintf("%s/%s: %s %s", g.Name, r.Name, r.Health, r.LastError)
				}
			}
		}
		return true, ""
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
	agents["north"].Kill()
	testutil.Eventually(t, 2*time.Minute, "AntspaceSiteSilent firing for north", func() (bool, string) {
		got, err := queryLabel(centralURL, `ALERTS{alertname="AntspaceSiteSilent",alertstate="firing"}`, "cluster")
		return err == nil && slices.Equal(got, []string{"north"}), fmt.Sprintf("%v %v", got, err)
	})
	if got, _ := queryContainers(centralURL, `antspace_up{cluster="south"}`); len(got) != 2 {
		t.Errorf("south after north died: %v, want its two containers still reporting", got)
	}
}

// siteHeartbeatRules is the site heartbeat of docs/scaling.md without its
// `for`, so that the alert fires within seconds.
var siteHeartbeatRules = strings.Replace(agentHeartbeatRules, "        for: 5m\n", "", 1)
