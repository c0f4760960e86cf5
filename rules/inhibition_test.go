package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/internal/testutil"
)

// TestAlertmanagerInhibition starts a real Alertmanager with the example
// configuration on loopback, posts a set of alerts and checks which of them
// Alertmanager reports as inhibited.
func TestAlertmanagerInhibition(t *testing.T) {
	bin := testutil.RequireBinary(t, "alertmanager", "prometheus-alertmanager")
	cfg, err := filepath.Abs(alertmanagerFile)
	if err != nil {
		t.Fatal(err)
	}
	addr := testutil.MustFreeAddr(t)
	ctx, cancel := context.WithCancel(testutil.Context(t))
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfg,
		"--storage.path="+t.TempDir(),
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // no gossip
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second}
	testutil.WaitFor(t, testutil.Patience, 100*time.Millisecond, "alertmanager ready", func() bool {
		resp, err := client.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	type alert struct {
		name, severity, class, site, container string
		inhibited                              bool
		why                                    string
	}
	alerts := []alert{
		{"AntspaceContainerUnreachable", "critical", "reachability", "alpha", "hk3-a", false, "nothing mutes it"},
		{"AntspaceLeakage", "critical", "device", "alpha", "hk3-a", true, "device alert of an unreachable container"},
		{"AntspaceLeakage", "critical", "device", "beta", "hk3-a", false, "same container name at another site"},
		{"AntspaceLeakage", "critical", "device", "alpha", "hk3-b", false, "reachable container"},
		{"AntspaceDataFrozen", "high", "reachability", "alpha", "hk3-b", true, "critical alert on the same container"},
		{"AntspacePLCDisconnected", "critical", "reachability", "alpha", "imm-a", false, "nothing mutes it"},
		{"AntspaceImmersionLevelLow", "critical", "device", "alpha", "imm-a", true, "device alert while the PLC link is down"},
		{"AntspaceFanFault", "high", "device", "alpha", "hk3-c", false, "highest severity on its container"},
		{"AntspaceMinerInfoFailing", "medium", "reachability", "alpha", "hk3-c", true, "high alert on the same container"},
		{"AntspaceExporterDown", "critical", "exporter", "", "", false, "nothing mutes it"},
		{"AntspaceExporterConfigReloadFailed", "medium", "exporter", "", "", false, "sources without a container don't inhibit"},
	}
	key := func(name, site, container string) string { return name + "/" + site + "/" + container }
	var post []map[string]any
	now := time.Now().UTC()
	for _, a := range alerts {
		l := map[string]string{"alertname": a.name, "severity": a.severity, "class": a.class}
		if a.site != "" {
			l["site"] = a.site
		}
		if a.container != "" {
			l["container"] = a.container
		}
		post = append(post, map[string]any{
			"labels":   l,
			"startsAt": now.Format(time.RFC3339),
			"endsAt":   now.Add(time.Hour).Format(time.RFC3339),
		})
	}
	body, _ := json.Marshal(post)
	resp, err := client.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/v2/alerts: %s", resp.Status)
	}

	var mismatch []string
	testutil.WaitFor(t, testutil.Patience, 100*time.Millisecond, "expected inhibition state", func() bool {
		resp, err := client.Get(base + "/api/v2/alerts")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var got []struct {
			Labels map[string]string `json:"labels"`
			Status struct {
				InhibitedBy []string `json:"inhibitedBy"`
			} `json:"status"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			return false
		}
		state := map[string]bool{}
		for _, g := range got {
			state[key(g.Labels["alertname"], g.Labels["site"], g.Labels["container"])] = len(g.Status.InhibitedBy) > 0
		}
		mismatch = mismatch[:0]
		for _, a := range alerts {
			inh, ok := state[key(a.name, a.site, a.container)]
			if !ok || inh != a.inhibited {
				mismatch = append(mismatch, fmt.Sprintf("%s site=%q container=%q: present=%v inhibited=%v, want inhibited=%v (%s)",
					a.name, a.site, a.container, ok, inh, a.inhibited, a.why))
			}
		}
		return len(mismatch) == 0
	}, func() string { return strings.Join(mismatch, "\n") })
}
