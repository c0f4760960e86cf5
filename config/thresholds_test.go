package config

import (
	"strings"
	"testing"
)

func TestThresholdOverrides(t *testing.T) {
	const inv = `
modules:
  hot_hk3:
    type: hk3
    thresholds: {hk3_supply_liquid_temp_low_celsius: 25, hk3_supply_liquid_pressure_high_bar: 3.8}
containers:
  - {name: a, address: "127.0.0.1:8001", type: hk3, module: hot_hk3, thresholds: {hk3_supply_liquid_temp_low_celsius: 30}}
  - {name: b, address: "127.0.0.1:8002", type: hk3, module: hot_hk3}
  - {name: c, address: "127.0.0.1:8003", type: hk3}
`
	c, err := Parse(strings.NewReader(inv))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		want   map[string]float64
	}{
		{"a", map[string]float64{"hk3_supply_liquid_temp_low_celsius": 30, "hk3_supply_liquid_pressure_high_bar": 3.8}}, // container over module
		{"b", map[string]float64{"hk3_supply_liquid_temp_low_celsius": 25, "hk3_supply_liquid_pressure_high_bar": 3.8}},
		{"c", nil}, // site default: nothing exposed
	} {
		tg, err := c.Resolve(tc.target, "", false)
		if err != nil {
			t.Fatal(err)
		}
		got := tg.Settings().Thresholds
		if len(got) != len(tc.want) {
			t.Errorf("%s: thresholds %v, want %v", tc.target, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", tc.target, k, got[k], v)
			}
		}
	}
}

func TestThresholdOverridesInvalid(t *testing.T) {
	for name, tc := range map[string]struct{ inv, want string }{
		"unknown name": {`containers: [{name: a, address: "127.0.0.1:1", type: hk3, thresholds: {hk3_nope_low_celsius: 1}}]`,
			`container "a" (line 1): thresholds: unknown threshold "hk3_nope_low_celsius"`},
		"wrong type": {`containers: [{name: a, address: "127.0.0.1:1", type: immersion, thresholds: {hk3_supply_liquid_temp_low_celsius: 1}}]`,
			`is for hk3 containers, this is immersion`},
		"site-wide only": {`modules: {hk3: {thresholds: {hk3_site_peers_low_containers: 2}}}`,
			`modules.hk3.thresholds: threshold "hk3_site_peers_low_containers" is site-wide`},
		"not a number": {`containers: [{name: a, address: "127.0.0.1:1", type: hk3, thresholds: {hk3_supply_liquid_temp_low_celsius: warm}}]`,
			`want a number`},
		"nan": {`containers: [{name: a, address: "127.0.0.1:1", type: hk3, thresholds: {hk3_supply_liquid_temp_low_celsius: .nan}}]`,
			`not a finite number`},
	} {
		_, err := Parse(strings.NewReader(tc.inv))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}
