package control

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
)

// Every fault of the collector's table is verified by a reset: with only that
// flag set, the reset is not verified and the answer names it. A fault added
// to the collector cannot escape the verification.
func TestResetVerifiesEveryCollectorFault(t *testing.T) {
	q := &request{action: config.ActionReset}
	for _, typ := range collector.Types {
		faults := collector.FaultFields(typ)
		if len(faults) < 10 {
			t.Fatalf("%s: only %d fault fields in the collector's table", typ, len(faults))
		}
		clear := map[string]json.RawMessage{}
		for _, f := range faults {
			clear[f] = json.RawMessage("false")
		}
		if done, _, err := check(typ, q, clear); !done || err != nil {
			t.Errorf("%s: all faults clear: done=%v err=%v", typ, done, err)
		}
		for _, f := range faults {
			p := map[string]json.RawMessage{}
			for k, v := range clear {
				p[k] = v
			}
			for _, set := range []string{"true", "1", `"on"`} {
				p[f] = json.RawMessage(set)
				done, observed, err := check(typ, q, p)
				active, _ := observed["faults_active"].([]string)
				if done || err == nil || !slices.Equal(active, []string{f}) {
					t.Errorf("%s: %s=%s: done=%v faults_active=%v err=%v", typ, f, set, done, active, err)
				}
			}
		}
	}
}

// The fields the other verifications read exist in the collector's table
// with the kind they are read as.
func TestVerificationFieldsAreCollectorFields(t *testing.T) {
	for _, typ := range collector.Types {
		for _, f := range []string{"pid_mode", pumpField[typ]} {
			if !collector.IsFlagField(typ, f) {
				t.Errorf("%s: %q is not a flag field of the collector's table", typ, f)
			}
		}
		if !collector.IsNumberField(typ, "supply_liquid_set_temp") {
			t.Errorf("%s: supply_liquid_set_temp is not a number field of the collector's table", typ)
		}
	}
	if len(pumpField) != len(collector.Types) {
		t.Errorf("pumpField covers %d types, the collector knows %d", len(pumpField), len(collector.Types))
	}
}
