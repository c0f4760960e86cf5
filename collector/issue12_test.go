package collector_test

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Regression tests for issue #12 on the conversion side (docs/hardening.md).

// Finding 8: a minerInfo with more miners than max_miners exports the first
// max_miners, counts the rest in antspace_miners_dropped, and keeps the
// cooling telemetry.
func TestMinerCap(t *testing.T) {
	srv := startMock(t, mock.Options{Type: mock.HK3, Miners: 1200})
	for _, tc := range []struct {
		max         int
		wantKept    int
		wantDropped int
	}{
		{max: 0, wantKept: collector.DefaultMaxMiners, wantDropped: 200},
		{max: 10, wantKept: 10, wantDropped: 1190},
		{max: 5000, wantKept: 1200, wantDropped: 0},
	} {
		res := probe(t, srv.Addr(), collector.Settings{Type: collector.TypeHK3, MaxMiners: tc.max}, 10*time.Second)
		if res.Err != nil || res.MinerErr != nil {
			t.Fatalf("max %d: %v / %v", tc.max, res.Err, res.MinerErr)
		}
		text := string(gatherText(t, res))
		if got := strings.Count(text, "\nantspace_miner_info{"); got != tc.wantKept {
			t.Errorf("max %d: %d miners exported, want %d", tc.max, got, tc.wantKept)
		}
		if res.MinersDropped != tc.wantDropped || !strings.Contains(text, "\nantspace_miners_dropped "+strconv.Itoa(tc.wantDropped)+"\n") {
			t.Errorf("max %d: dropped %d, want %d; exposition has %q", tc.max, res.MinersDropped, tc.wantDropped, grepLine(text, "antspace_miners_dropped "))
		}
		for _, want := range []string{"antspace_up 1", "antspace_miner_info_success 1", `antspace_temperature_celsius{sensor="supply_liquid"}`} {
			if !strings.Contains(text, want) {
				t.Errorf("max %d: exposition lacks %s", tc.max, want)
			}
		}
	}
	// Without minerInfo there is nothing to count.
	res := probe(t, srv.Addr(), collector.Settings{Type: collector.TypeHK3, SkipMinerInfo: true}, 10*time.Second)
	if text := string(gatherText(t, res)); strings.Contains(text, "antspace_miners_dropped") {
		t.Errorf("miners_dropped without minerInfo:\n%s", grepLine(text, "antspace_miners_dropped"))
	}
}

// Finding 8 as reported: a 4 MiB minerInfo of tiny miner tables. The probe
// exports max_miners of them and allocates in proportion to the body, not
// to six series per listed miner (the old code: about 90 MiB per probe).
func TestMinerFloodCostsLittle(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"ok":true,"method":"minerInfo","params":{"miner_num":1,"total_hashrate":1,"pcb_max_temp":1,"chip_max_temp":1,"chip_temp_mean":1,"miner_info":{`)
	n := 0
	for ; b.Len() < 4<<20-100; n++ {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"10.%d.%d.%d":{"GHS_5s":1,"GHS_avg":1,"elapsed":1}`, n>>16&255, n>>8&255, n&255)
	}
	b.WriteString(`}}}`)
	cooler := []byte(`{"ok":true,"method":"coolerState","params":{"supply_liquid_temp":30,"colding_tower_inlet_temp":25}}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res := collector.Convert(cooler, []byte(b.String()), collector.Settings{Type: collector.TypeHK3})
	runtime.ReadMemStats(&after)
	if res.MinerErr != nil || res.MinersDropped != n-collector.DefaultMaxMiners {
		t.Fatalf("%d miners listed: dropped %d, err %v", n, res.MinersDropped, res.MinerErr)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d miners listed, %d exported: %.1f MiB allocated", n, n-res.MinersDropped, float64(alloc)/(1<<20))
	if alloc > 24<<20 {
		t.Errorf("converting a 4 MiB minerInfo allocated %d MiB", alloc>>20)
	}
}

// Finding 11: a scaled value that overflows is a field error, never a ±Inf
// sample, for cooling fields, module scales and miner fields alike.
func TestScaledOverflowIsFieldError(t *testing.T) {
	cooler := []byte(`{"ok":true,"method":"coolerState","params":{"supply_liquid_temp":30,"colding_tower_inlet_temp":25,` +
		`"distribution_box1_power":1e306,"distribution_box2_power":-1e306,"supply_liquid_flow":"1e300","return_liquid_temp":1e308}}`)
	miners := []byte(`{"ok":true,"method":"minerInfo","params":{"miner_num":1,"total_hashrate":1e300,"pcb_max_temp":1,"chip_max_temp":1,"chip_temp_mean":1,` +
		`"miner_info":{"10.0.0.1":{"GHS_5s":1e300,"GHS_avg":1,"elapsed":5}}}}`)
	s := collector.Settings{Type: collector.TypeHK3, Scales: map[string]float64{"supply_liquid_flow": 1e10, "return_liquid_temp": 10}}
	res := collector.Convert(cooler, miners, s)
	if res.Err != nil || res.MinerErr != nil {
		t.Fatalf("%v / %v", res.Err, res.MinerErr)
	}
	text := string(gatherText(t, res))
	for l := range strings.SplitSeq(text, "\n") {
		if strings.HasSuffix(l, " +Inf") || strings.HasSuffix(l, " -Inf") || strings.HasSuffix(l, " NaN") {
			t.Errorf("non-finite sample: %s", l)
		}
	}
	errs := map[string]string{}
	for _, fe := range res.FieldErrors {
		errs[fe.Field] = fe.Reason
	}
	for _, f := range []string{"distribution_box1_power", "distribution_box2_power", "supply_liquid_flow", "return_liquid_temp", "minerInfo.total_hashrate", "minerInfo.miner_info[10.0.0.1].GHS_5s"} {
		if !strings.Contains(errs[f], "is not a finite number") {
			t.Errorf("field %s: error %q, want not a finite number", f, errs[f])
		}
	}
	for _, want := range []string{`antspace_temperature_celsius{sensor="supply_liquid"} 30`, `antspace_miner_hashrate_hashes_per_second{miner="10.0.0.1",window="average"} 1e+12`} {
		if !strings.Contains(text, want) {
			t.Errorf("finite values lost: no %s", want)
		}
	}
}

func grepLine(text, prefix string) string {
	for l := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// ok:false with params (decided in issue #12): the telemetry is exported,
// a fault the device reports is visible, and antspace_controller_ok says the
// controller answered ok:false. Without params it stays a failed probe.
func TestNotOKWithParamsIsExported(t *testing.T) {
	srv := startMock(t, mock.Options{Type: mock.HK3, AllFaults: true, Miners: 3})
	for _, tc := range []struct {
		name  string
		m     mock.Misbehaviour
		up    bool
		want  []string
		notOK []string
	}{
		{name: "ok:false with params", m: mock.Misbehaviour{Kind: mock.NotOKParams}, up: true, notOK: []string{"coolerState", "minerInfo"}, want: []string{
			"antspace_up 1", `antspace_fault_active{component="container",fault="leakage_fault"} 1`, "antspace_miner_info_success 1",
			`antspace_controller_ok{operation="coolerState"} 0`, `antspace_controller_ok{operation="minerInfo"} 0`,
		}},
		{name: "minerInfo ok:false with params", m: mock.Misbehaviour{Kind: mock.NotOKParams, Operation: payload.OpMinerInfo}, up: true, notOK: []string{"minerInfo"}, want: []string{
			"antspace_up 1", "antspace_miner_info_success 1", `antspace_controller_ok{operation="coolerState"} 1`, `antspace_controller_ok{operation="minerInfo"} 0`,
		}},
		{name: "ok:false without params", m: mock.Misbehaviour{Kind: mock.NotOK}, notOK: []string{"coolerState", "minerInfo"}, want: []string{
			"antspace_up 0", `antspace_controller_ok{operation="coolerState"} 0`,
		}},
		{name: "ok:true", up: true, want: []string{"antspace_up 1", `antspace_controller_ok{operation="coolerState"} 1`, `antspace_controller_ok{operation="minerInfo"} 1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ClearMisbehaviour()
			if tc.m.Kind != "" {
				srv.Misbehave(tc.m)
			}
			res := probe(t, srv.Addr(), collector.Settings{}, 10*time.Second)
			if res.Up() != tc.up {
				t.Errorf("up = %v (%v), want %v", res.Up(), res.Err, tc.up)
			}
			if !tc.up && (res.Err == nil || !strings.Contains(res.Err.Error(), "ok:false")) {
				t.Errorf("reason %v does not name ok:false", res.Err)
			}
			if strings.Join(res.NotOK, ",") != strings.Join(tc.notOK, ",") {
				t.Errorf("NotOK = %v, want %v", res.NotOK, tc.notOK)
			}
			text := string(gatherText(t, res))
			for _, w := range tc.want {
				if !strings.Contains(text, w+"\n") {
					t.Errorf("exposition lacks %s", w)
				}
			}
		})
	}
}
