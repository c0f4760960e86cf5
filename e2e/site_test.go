package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
	"github.com/antspace-exporter/antspace_exporter/mixin"
	"github.com/antspace-exporter/antspace_exporter/mock"
	"github.com/antspace-exporter/antspace_exporter/rules"
)

// The site's jobs in this test (examples/site.yml names them so).
const (
	siteProbeJob    = "cooling_containers"
	siteExporterJob = "cooling_exporter"
)

// TestEndToEndSite runs the stack as a site adopting the bundle without
// editing it: rules rendered by cmd/antspace_mixin from examples/site.yml
// (renamed jobs, severities critical/warning/info, team label, moved
// runbooks, site low-temperature default 22 °C), examples/prometheus.yml with
// its jobs renamed to match, and per-container thresholds in the inventory.
// Two HK3 containers run at 28 °C: the one with
// hk3_supply_liquid_temp_low_celsius: 30 alerts, its neighbour on the site
// default does not, until a reload gives it a limit of 29 °C too. A leak
// reported in an ok:false answer alerts like any other.
func TestEndToEndSite(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end suite skipped in -short mode")
	}
	amBin := testutil.RequireBinary(t, "prometheus-alertmanager", "alertmanager")
	for _, b := range testutil.PromBuilds() {
		t.Run(b.Name, func(t *testing.T) {
			b.Require(t)
			runSite(t, b.Prometheus, amBin)
		})
	}
}

func runSite(t *testing.T, promBin, amBin string) {
	site, err := mixin.LoadSite(filepath.Join(repoRoot(t), "examples", "site.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if site.ProbeSelector != `job="`+siteProbeJob+`"` || site.ExporterSelector != `job="`+siteExporterJob+`"` {
		t.Fatalf("examples/site.yml selectors %s / %s; this test renames the jobs to %s / %s", site.ProbeSelector, site.ExporterSelector, siteProbeJob, siteExporterJob)
	}
	files, err := mixin.Render(site)
	if err != nil {
		t.Fatal(err)
	}
	rulesDir := filepath.Join(t.TempDir(), "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, rules.FileName), files[rules.FileName], 0o644); err != nil {
		t.Fatal(err)
	}

	fleet := []*fleetContainer{
		{Name: "hk3-001", Type: mock.HK3, Seed: 1, Site: "demo", Row: "1", Thresholds: "{hk3_supply_liquid_temp_low_celsius: 30}"},
		{Name: "hk3-002", Type: mock.HK3, Seed: 2, Site: "demo", Row: "1"},
		{Name: "imm-001", Type: mock.Immersion, Seed: 3, Site: "demo", Row: "2"},
		{Name: "imm-002", Type: mock.Immersion, Seed: 4, Site: "demo", Row: "2"},
	}
	s := setup(t, promBin, amBin, setupOptions{
		rulesDir: rulesDir,
		jobNames: map[string]string{"antspace": siteProbeJob, "antspace_exporter": siteExporterJob},
		fleet:    fleet,
	})
	// Both HK3 at 28 °C, held there by the setpoint.
	for _, name := range []string{"hk3-001", "hk3-002"} {
		for k, v := range map[string]any{"supply_liquid_set_temp": 28.0, "supply_liquid_temp": 28.0} {
			if err := s.container(name).server().Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}

	low := map[string]string{"alertname": "AntspaceHK3SupplyLiquidTempLow"}
	t.Run("OverrideAlertsNeighbourDoesNot", func(t *testing.T) {
		sel := map[string]string{"alertname": low["alertname"], "container": "hk3-001"}
		testutil.Eventually(t, wait, "AntspaceHK3SupplyLiquidTempLow firing for hk3-001", func() (bool, string) {
			as, err := s.promAlerts(sel)
			return err == nil && len(as) == 1 && as[0].State == "firing", fmt.Sprintf("%v %v", as, err)
		})
		// Same temperature, same rule, evaluated together: the neighbour on the
		// site default (22 °C) is not even pending.
		if as := s.mustPromAlerts(t, map[string]string{"alertname": low["alertname"], "container": "hk3-002"}); len(as) != 0 {
			t.Errorf("hk3-002 (site default) has %v", as)
		}
		a := s.mustPromAlerts(t, sel)[0]
		want := map[string]string{"job": siteProbeJob, "severity": "warning", "team": "cooling", "class": "device", "site": "demo"}
		if !match(a.Labels, want) {
			t.Errorf("labels %s, want %s", describe(a.Labels), describe(want))
		}
		if u := a.Annotations["runbook_url"]; u != "https://wiki.example.com/ops/antspace-runbooks#antspacehk3supplyliquidtemplow" {
			t.Errorf("runbook_url %q", u)
		}
		testutil.Eventually(t, wait, "the alert active in Alertmanager, routed to chat", func() (bool, string) {
			as, err := s.amAlerts(sel)
			if err != nil || len(as) != 1 {
				return false, fmt.Sprintf("%d alerts %v", len(as), err)
			}
			return as[0].Status.State == "active" && len(as[0].Receivers) == 1 && as[0].Receivers[0].Name == "chat" && as[0].Labels["team"] == "cooling",
				fmt.Sprintf("%+v", as[0])
		})
	})

	t.Run("NoDefaultJobAnywhere", func(t *testing.T) {
		ts, err := s.prom.targets()
		if err != nil {
			t.Fatal(err)
		}
		jobs := map[string]int{}
		for _, tg := range ts {
			jobs[tg.Labels["job"]]++
		}
		if jobs[siteProbeJob] != 4 || jobs[siteExporterJob] != 1 || len(jobs) != 2 {
			t.Errorf("target jobs %v, want 4 x %s and 1 x %s", jobs, siteProbeJob, siteExporterJob)
		}
		// The recording rules work through the renamed job.
		testutil.Eventually(t, wait, "site:antspace_containers_up:count is 4", func() (bool, string) {
			res, err := s.prom.query(`site:antspace_containers_up:count{site="demo"}`)
			return err == nil && len(res) == 1 && res[0].value() == "4", fmt.Sprintf("%v %v", res, err)
		})
		res, err := s.prom.query(`ALERTS{alertname=~"AntspaceExporterAbsent|AntspaceProbeTargetsAbsent|AntspaceScrapeFailing|AntspaceContainerUnreachable"}`)
		if err != nil || len(res) != 0 {
			t.Errorf("reachability alerts with the renamed jobs: %v %v", res, err)
		}
	})

	t.Run("ReloadChangesNeighbourThreshold", func(t *testing.T) {
		s.container("hk3-002").Thresholds = "{hk3_supply_liquid_temp_low_celsius: 29}"
		if err := os.WriteFile(s.inventory, []byte(inventory(s.fleet, s.controlYAML)), 0o644); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post("http://"+s.exporterAddr+"/-/reload", "text/plain", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload: %s", resp.Status)
		}
		testutil.Eventually(t, wait, "antspace_alert_threshold of hk3-002 is 29", func() (bool, string) {
			res, err := s.prom.query(`antspace_alert_threshold{container="hk3-002", name="hk3_supply_liquid_temp_low_celsius"}`)
			return err == nil && len(res) == 1 && res[0].value() == "29", fmt.Sprintf("%v %v", res, err)
		})
		testutil.Eventually(t, wait, "AntspaceHK3SupplyLiquidTempLow firing for hk3-002", func() (bool, string) {
			as, err := s.promAlerts(map[string]string{"alertname": low["alertname"], "container": "hk3-002"})
			return err == nil && len(as) == 1 && as[0].State == "firing", fmt.Sprintf("%v %v", as, err)
		})
	})

	// A controller answering ok:false with its full params: the leak it
	// reports alerts and reaches Alertmanager unsuppressed; nothing calls
	// the container unreachable.
	t.Run("PartialAnswerFaultNotHidden", func(t *testing.T) {
		imm := s.container("imm-002").server()
		imm.Misbehave(mock.Misbehaviour{Kind: mock.NotOKParams, Operation: "coolerState"})
		if err := imm.SetFault("leakage_fault", true); err != nil {
			t.Fatal(err)
		}
		sel := map[string]string{"alertname": "AntspaceLeakage", "container": "imm-002"}
		testutil.Eventually(t, wait, "antspace_controller_ok 0 for imm-002's coolerState", func() (bool, string) {
			res, err := s.prom.query(`antspace_controller_ok{container="imm-002", operation="coolerState"}`)
			return err == nil && len(res) == 1 && res[0].value() == "0", fmt.Sprintf("%v %v", res, err)
		})
		testutil.Eventually(t, wait, "AntspaceLeakage active (not suppressed) in Alertmanager", func() (bool, string) {
			as, err := s.amAlerts(sel)
			return err == nil && len(as) == 1 && as[0].Status.State == "active" && as[0].Labels["severity"] == "critical",
				fmt.Sprintf("%v %v", as, err)
		})
		for _, name := range []string{"AntspaceContainerUnreachable", "AntspaceScrapeFailing"} {
			if as := s.mustPromAlerts(t, map[string]string{"alertname": name, "container": "imm-002"}); len(as) != 0 {
				t.Errorf("%s for a container that answered with data: %v", name, as)
			}
		}
	})

	t.Run("ExporterDownThroughRenamedJob", func(t *testing.T) {
		sel := map[string]string{"alertname": "AntspaceExporterDown"}
		s.exporter.stop(t)
		testutil.Eventually(t, wait, "AntspaceExporterDown firing", func() (bool, string) {
			as, err := s.promAlerts(sel)
			return err == nil && len(as) == 1 && as[0].State == "firing", fmt.Sprintf("%v %v", as, err)
		})
		a := s.mustPromAlerts(t, sel)[0]
		if want := map[string]string{"job": siteExporterJob, "severity": "critical", "team": "cooling"}; !match(a.Labels, want) {
			t.Errorf("labels %s, want %s", describe(a.Labels), describe(want))
		}
	})
}
