package collector

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

func TestDetectType(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    Type
		wantErr bool
	}{
		{payload: `{"colding_tower_inlet_temp":1,"supply_liquid_pressure":0.3}`, want: TypeHK3},
		{payload: `{"primary_supply_temp":40,"protocol_version":1}`, want: TypeImmersion},
		{payload: `{"foo":1}`, wantErr: true},
		{payload: `{"colding_tower_inlet_temp":1,"primary_supply_temp":40}`, wantErr: true},
	} {
		var params map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tc.payload), &params); err != nil {
			t.Fatal(err)
		}
		got, err := detectType(params)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("detectType(%s) = %q, %v; want %q (error: %v)", tc.payload, got, err, tc.want, tc.wantErr)
		}
	}
}

// The one-pass miner table reading keeps encoding/json's semantics: the last
// duplicate wins, null miners still have an identity, escaped strings are
// decoded, and one miner that is not an object refuses the table.
func TestConvertMinersEdgeCases(t *testing.T) {
	const summary = `"miner_num":2,"total_hashrate":1,"pcb_max_temp":1,"chip_max_temp":1,"chip_temp_mean":1`
	body := func(miners string) []byte {
		return []byte(`{"ok":true,"method":"minerInfo","params":{` + summary + `,"miner_info":` + miners + `}}`)
	}
	collect := func(t *testing.T, b []byte) (*Result, map[string]float64) {
		t.Helper()
		var env payload.Envelope
		if err := payload.DecodeEnvelope(b, &env); err != nil {
			t.Fatal(err)
		}
		r := &Result{}
		err := r.convertMiners(env.ParamsObject(), Settings{})
		r.MinerErr = err
		got := map[string]float64{}
		for i := range r.samples {
			var m dto.Metric
			if err := r.samples[i].Write(&m); err != nil {
				t.Fatal(err)
			}
			key := ""
			for _, lp := range m.Label {
				key += lp.GetName() + "=" + lp.GetValue() + ","
			}
			got[key] = m.GetGauge().GetValue()
		}
		return r, got
	}

	r, got := collect(t, body(`{"127.1.0.2":{"GHS_5s":1,"miner_type":"S19 \"j\" Pro\u00e9"},"127.1.0.1":null,"127.1.0.2":{"GHS_5s":2,"elapsed":"7"}}`))
	if r.MinerErr != nil || len(r.FieldErrors) > 0 {
		t.Fatal(r.MinerErr, r.FieldErrors)
	}
	for key, want := range map[string]float64{
		"miner=127.1.0.2,window=5s,":        2e12, // the last duplicate wins
		"miner=127.1.0.2,":                  7,    // elapsed, from the last duplicate
		"firmware=,miner=127.1.0.1,model=,": 1,    // null miner: identity only
		"firmware=,miner=127.1.0.2,model=,": 1,    // model was only in the first duplicate
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v; all: %v", key, v, ok, want, got)
		}
	}
	_, got = collect(t, body(`{"a":{"miner_type":"S19 \"j\" Pro\u00e9","miner_version":"1.0"}}`))
	if _, ok := got[`firmware=1.0,miner=a,model=S19 "j" Proé,`]; !ok {
		t.Errorf("escaped model not decoded: %v", got)
	}
	for _, bad := range []string{`{"a":{"GHS_5s":1},"b":3}`, `{"a":[1]}`, `[1,2]`, `"x"`} {
		if r, _ := collect(t, body(bad)); r.MinerErr == nil {
			t.Errorf("miner_info %s accepted", bad)
		}
	}
}

// With max_miners, the first max_miners distinct addresses are kept, later
// entries of a kept miner still win, and entries of other miners are
// dropped, whether the duplicates come before or after the table reaches
// the limit.
func TestConvertMinersLimitWithDuplicates(t *testing.T) {
	const summary = `"miner_num":2,"total_hashrate":1,"pcb_max_temp":1,"chip_max_temp":1,"chip_temp_mean":1`
	for _, tc := range []struct {
		max         int
		miners      string
		want        map[string]float64 // miner → GHS_5s
		wantDropped int
	}{
		{2, `{"b":{"GHS_5s":1},"b":{"GHS_5s":2},"a":{"GHS_5s":3},"c":{"GHS_5s":4},"b":{"GHS_5s":5},"a":{"GHS_5s":6},"d":{"GHS_5s":7}}`,
			map[string]float64{"a": 6, "b": 5}, 2},
		{3, `{"b":{"GHS_5s":1},"b":{"GHS_5s":2},"b":{"GHS_5s":3},"a":{"GHS_5s":4},"c":{"GHS_5s":5},"d":{"GHS_5s":6},"a":{"GHS_5s":7}}`,
			map[string]float64{"a": 7, "b": 3, "c": 5}, 1},
		{10, `{"b":{"GHS_5s":1},"a":{"GHS_5s":2},"b":{"GHS_5s":3}}`, map[string]float64{"a": 2, "b": 3}, 0},
		{1, `{"b":{"GHS_5s":1},"a":{"GHS_5s":2},"b":{"GHS_5s":3}}`, map[string]float64{"b": 3}, 1},
	} {
		var env payload.Envelope
		if err := payload.DecodeEnvelope([]byte(`{"ok":true,"params":{`+summary+`,"miner_info":`+tc.miners+`}}`), &env); err != nil {
			t.Fatal(err)
		}
		r := &Result{}
		if err := r.convertMiners(env.ParamsObject(), Settings{MaxMiners: tc.max}); err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		var order []string
		for i := range r.samples {
			s := &r.samples[i]
			if s.m != metricMinerHashrate {
				continue
			}
			for _, lp := range s.pairs {
				if lp.GetName() == "miner" {
					got[lp.GetValue()] = s.value / terahashPerS
					order = append(order, lp.GetValue())
				}
			}
		}
		if !maps.Equal(got, tc.want) || r.MinersDropped != tc.wantDropped || !slices.IsSorted(order) {
			t.Errorf("max %d, %s: got %v in order %v, dropped %d; want %v, dropped %d", tc.max, tc.miners, got, order, r.MinersDropped, tc.want, tc.wantDropped)
		}
	}
}
