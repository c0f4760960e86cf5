package collector_test

import (
	"strings"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Inventory threshold overrides come out as antspace_alert_threshold{name},
// whether or not the container answered, and the fast Gather path equals the
// registry's.
func TestAlertThresholdSeries(t *testing.T) {
	s := collector.Settings{Type: collector.TypeHK3, SkipMinerInfo: true, Thresholds: map[string]float64{
		"hk3_supply_liquid_temp_low_celsius":  30,
		"hk3_supply_liquid_pressure_high_bar": 3.5,
	}}
	want := []string{
		`antspace_alert_threshold{name="hk3_supply_liquid_pressure_high_bar"} 3.5`,
		`antspace_alert_threshold{name="hk3_supply_liquid_temp_low_celsius"} 30`,
	}
	srv := startMock(t, mock.Options{Type: mock.HK3})
	up := probe(t, srv.Addr(), s, 5*time.Second)
	down := probe(t, "127.0.0.1:1", s, 5*time.Second)
	for name, res := range map[string]*collector.Result{"up": up, "down": down} {
		reg := string(exposition(t, res))
		if fast := string(gatherText(t, res)); fast != reg {
			t.Errorf("%s: Gather differs from the registry:\n%s\nvs\n%s", name, fast, reg)
		}
		for _, w := range want {
			if !strings.Contains(reg, w) {
				t.Errorf("%s: missing %s in\n%s", name, w, grepLines(reg, "alert_threshold"))
			}
		}
	}
	if text := string(exposition(t, probe(t, srv.Addr(), collector.Settings{Type: collector.TypeHK3, SkipMinerInfo: true}, 5*time.Second))); strings.Contains(text, "antspace_alert_threshold") {
		t.Errorf("no overrides: want no antspace_alert_threshold, got\n%s", grepLines(text, "alert_threshold"))
	}
}
