package thresholds

import (
	"math"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	seen := map[string]bool{}
	for _, th := range All() {
		if !NameRE.MatchString(th.Name) {
			t.Errorf("%s: name is not <type>_<quantity>_<low|high>_<unit>", th.Name)
		}
		if !strings.HasPrefix(th.Name, th.Type+"_") {
			t.Errorf("%s: name does not start with its type %s", th.Name, th.Type)
		}
		if seen[th.Name] {
			t.Errorf("%s: duplicate", th.Name)
		}
		seen[th.Name] = true
		if th.Help == "" || th.Unit == "" || len(th.Alerts) == 0 {
			t.Errorf("%s: help, unit and alerts are required", th.Name)
		}
	}
	if _, ok := Lookup("hk3_supply_liquid_temp_low_celsius"); !ok {
		t.Error("the issue's example threshold is missing")
	}
	if d := Defaults()["hk3_supply_liquid_temp_low_celsius"]; d != 20 {
		t.Errorf("hk3_supply_liquid_temp_low_celsius default = %v, want 20 (MiningOS)", d)
	}
}

func TestValidateOverride(t *testing.T) {
	for _, tc := range []struct {
		name, typ string
		v         float64
		wantErr   string
	}{
		{"hk3_supply_liquid_temp_low_celsius", "hk3", 30, ""},
		{"hk3_supply_liquid_temp_low_celsius", "auto", 30, ""},
		{"hk3_supply_liquid_temp_low_celsius", "immersion", 30, "for hk3 containers"},
		{"hk3_site_peers_low_containers", "hk3", 2, "site-wide"},
		{"nope_low_celsius", "hk3", 1, "unknown threshold"},
		{"immersion_oil_supply_temp_high_celsius", "immersion", math.NaN(), "not a finite number"},
		{"immersion_oil_supply_temp_high_celsius", "immersion", math.Inf(1), "not a finite number"},
	} {
		err := ValidateOverride(tc.name, tc.v, tc.typ)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s/%s: %v", tc.name, tc.typ, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s/%s: error %v, want %q", tc.name, tc.typ, err, tc.wantErr)
		}
	}
}
