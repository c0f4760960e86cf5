package control

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/config"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
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
		allClear := map[string]json.RawMessage{}
		for _, f := range faults {
			allClear[f] = json.RawMessage("false")
		}
		if done, _, err := check(typ, q, allClear); !done || err != nil {
			t.Errorf("%s: all faults clear: done=%v err=%v", typ, done, err)
		}
		for _, f := range faults {
			p := maps.Clone(allClear)
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

// The read-back reads values with the collector's parsers, so it understands
// every spelling the collector does: a firmware that reports pid_mode as "y"
// is verified, not "not a boolean".
func TestVerifyReadsValuesLikeTheCollector(t *testing.T) {
	env := newEnv(t, envOptions{})
	if err := env.mocks["hk3-a"].Set("pid_mode", "y"); err != nil {
		t.Fatal(err)
	}
	r := env.do(t, call{path: "/control/setpoint?target=hk3-a&mode=pid", bearer: adminToken})
	if r.status != http.StatusOK || r.json["verified"] != true {
		t.Fatalf("%d %s", r.status, r.body)
	}

	for _, raw := range []string{`true`, `false`, `1`, `0`, `2`, `"y"`, `"N"`, `"running"`, `"stopped"`, `" on "`, `""`, `null`, `"maybe"`, `{}`, `[1]`, `"1e400"`, `35.5`, `"35.5"`, `"NaN"`} {
		p := map[string]json.RawMessage{"f": json.RawMessage(raw)}
		fv, ferr := flagValue(p, "f")
		pv, perr := payload.ParseBool(json.RawMessage(raw))
		if (ferr == nil) != (perr == nil) || (perr == nil && fv != (pv == 1)) {
			t.Errorf("flag %s: control %v/%v, collector %v/%v", raw, fv, ferr, pv, perr)
		}
		nv, nerr := numberValue(p, "f")
		pn, pnerr := payload.ParseNumber(json.RawMessage(raw))
		if (nerr == nil) != (pnerr == nil) || nv != pn {
			t.Errorf("number %s: control %v/%v, collector %v/%v", raw, nv, nerr, pn, pnerr)
		}
	}
}
