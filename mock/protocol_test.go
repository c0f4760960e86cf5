package mock

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"
)

// Field lists transcribed from the protocol page (shared/antspace-protocol.md), so that drift in
// fields.go is caught.
var (
	wantHK3Numbers = []string{
		"supply_liquid_temp", "return_liquid_temp", "supply_liquid_set_temp", "colding_tower_inlet_temp",
		"antbox_internal_temp", "antbox_internal_humidity", "supply_liquid_pressure", "return_liquid_pressure",
		"supply_liquid_flow", "distribution_box1_power", "distribution_box2_power",
		"longitude", "latitude", "longitude_direction", "latitude_direction",
	}
	wantHK3Bools = []string{
		"circulating_pump", "fan1", "fan2", "spray_pump", "fluid_infusion_pump", "cooling_tower_fan1",
		"cooling_tower_fan2", "cooling_tower_fan3", "running_mode", "pid_mode", "disconnect",
		// faults (18)
		"power_fault", "liquid_level_low", "circulating_pump_fault", "fan1_fault", "fan2_fault",
		"fluid_infusion_pump_fault", "spray_pump_fault", "cooling_tower_fan1_fault", "cooling_tower_fan2_fault",
		"cooling_tower_fan3_fault", "leakage_fault", "supply_liquid_temp_high", "supply_liquid_temp_too_high",
		"supply_liquid_pressure_high", "return_liquid_pressure_low", "supply_liquid_flow_low", "freezing_alarm",
		"cooling_tower_liquid_level_low",
	}
	wantImmersionNumbers = []string{
		"protocol_version", "primary_supply_temp", "primary_return_temp", "second_supply_temp1",
		"second_return_temp1", "second_supply_temp2", "second_return_temp2", "out_temp", "container_temp",
		"power_distribution_temp", "supply_liquid_set_temp", "container_humidity", "power_distribution_humidity",
		"tank_a_level", "tank_b_level", "tank_c_level", "tank_d_level", "drycooler_freq", "feedback_fre",
		"vol_a_distribution", "vol_b_distribution", "vol_c_distribution", "cur_a_distribution",
		"cur_b_distribution", "cur_c_distribution", "distribution_box_power", "power_distribution",
		"open1", "open2", "longitude", "latitude", "longitude_direction", "latitude_direction",
	}
	wantImmersionBools = []string{
		"pump_ready", "pump_operation", "pump_run", "pump_start", "server_on", "one_pump", "second_pump1",
		"second_pump2", "dry_cooler_freq_run", "dry_cooler_power_freq_run", "container_fan", "valve1_open",
		"valve1_close", "valve2_open", "valve2_close", "running_mode", "pid_mode", "disconnect",
		// faults/alarms (21)
		"primary_circulating_pump", "dry_cooler_power_fre_fault", "dry_cooler_fre_conv", "second_pump1_fault",
		"second_pump2_fault", "fan_fault", "phasefailure", "supply_liquid_temp_fault", "return_liquid_temp_fault",
		"power_distribution_Fault", "lever_sensor_fault", "smoke_sensor_fault", "return_liquid_temp_high",
		"return_liquid_temp_too_high", "power_distribution_temp_high", "lever_high", "lever_low", "leakage_fault",
		"supply_liquid_temp_high", "supply_liquid_temp_too_high", "pump_alarm",
	}
	wantFaultCount = map[Type]int{HK3: 18, Immersion: 21}
)

func keys(m map[string]any) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func sorted(s ...[]string) []string {
	out := slices.Concat(s...)
	sort.Strings(out)
	return out
}

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Type
		ok   bool
	}{
		{"hk3", HK3, true}, {"HK3", HK3, true}, {" Hk3 ", HK3, true},
		{"immersion", Immersion, true}, {"IMMERSION", Immersion, true},
		{"", "", false}, {"hk4", "", false},
	} {
		got, err := ParseType(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseType(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestCoolerStateFieldSets(t *testing.T) {
	for _, tc := range []struct {
		typ          Type
		numbers, bls []string
	}{
		{HK3, wantHK3Numbers, wantHK3Bools},
		{Immersion, wantImmersionNumbers, wantImmersionBools},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			s, _ := start(t, Options{Type: tc.typ})
			p := params(t, s, OpCoolerState)
			if got, want := keys(p), sorted(tc.numbers, tc.bls); !slices.Equal(got, want) {
				t.Errorf("fields differ from the protocol page:\n got %v\nwant %v", got, want)
			}
			for _, f := range tc.numbers {
				num(t, p, f)
			}
			for _, f := range tc.bls {
				boolean(t, p, f)
			}
			fs := Fields(tc.typ)
			if len(fs.Faults) != wantFaultCount[tc.typ] {
				t.Errorf("%d faults, want %d", len(fs.Faults), wantFaultCount[tc.typ])
			}
			if got, want := sorted(fs.All()), sorted(tc.numbers, tc.bls); !slices.Equal(got, want) {
				t.Errorf("Fields().All() = %v, want %v", got, want)
			}
		})
	}
}

func TestOperationsAndEnvelope(t *testing.T) {
	s, _ := start(t, Options{Type: HK3, Miners: 5})
	for _, tc := range []struct {
		query      string
		wantParams bool
		wantOK     bool
	}{
		{"coolerState", true, true},
		{"minerInfo", true, true},
		{"reset", false, true},
		{"setTemp&temp=33", false, true},
		{"setTemp&temp=pid", false, true},
		{"setTemp&temp=warm", false, false},
		{"setTemp", false, false},
		{"open", false, true},
		{"close", false, true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := get(t, s.URL()+"/cooler?operation="+tc.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			var env map[string]json.RawMessage
			if err := json.Unmarshal(r.body, &env); err != nil {
				t.Fatal(err)
			}
			if _, _, _, n := env["ok"], env["method"], env["params"], len(env); n != 3 || env["ok"] == nil || env["method"] == nil || env["params"] == nil {
				t.Errorf("envelope is not exactly {ok, method, params}: %s", r.body)
			}
			want := tc.query
			if i := slices.Index([]byte(want), '&'); i >= 0 {
				want = want[:i]
			}
			if string(env["method"]) != `"`+want+`"` {
				t.Errorf("method %s, want %q", env["method"], want)
			}
			if string(env["ok"]) != map[bool]string{true: "true", false: "false"}[tc.wantOK] {
				t.Errorf("ok %s, want %v", env["ok"], tc.wantOK)
			}
			if isNull := string(env["params"]) == "null"; isNull == tc.wantParams {
				t.Errorf("params %.60s, want object=%v", env["params"], tc.wantParams)
			}
		})
	}
	writes := s.Writes()
	var ops []string
	for _, w := range writes {
		ops = append(ops, w.Operation+":"+w.Temp)
	}
	if want := []string{"reset:", "setTemp:33", "setTemp:pid", "setTemp:warm", "setTemp:", "open:", "close:"}; !slices.Equal(ops, want) {
		t.Errorf("writes %v, want %v", ops, want)
	}
	if s.Reads(OpCoolerState) != 1 || s.Reads(OpMinerInfo) != 1 {
		t.Errorf("reads coolerState=%d minerInfo=%d, want 1 and 1", s.Reads(OpCoolerState), s.Reads(OpMinerInfo))
	}
}

func TestUnsupportedOperation(t *testing.T) {
	s, _ := start(t, Options{})
	for _, q := range []string{"/cooler", "/cooler?operation=", "/cooler?operation=coolerstate", "/cooler?operation=reboot"} {
		r := get(t, s.URL()+q)
		if r.status != http.StatusBadRequest || string(r.body) != `{"error":"ERR_UNSUPPORTED","status":"error"}` {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
	if r := do(t, http.MethodPost, s.URL()+"/cooler?operation=coolerState", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", r.status)
	}
	if r := get(t, s.URL()+"/other"); r.status != http.StatusNotFound {
		t.Errorf("/other: status %d", r.status)
	}
}

func TestMinerInfo(t *testing.T) {
	for _, n := range []int{0, 1, 300} {
		s, _ := start(t, Options{Type: Immersion, Miners: n})
		p := params(t, s, OpMinerInfo)
		want := n
		if n == 0 {
			want = DefaultMiners
		}
		if got := keys(p); !slices.Equal(got, []string{"chip_max_temp", "chip_temp_mean", "miner_info", "miner_num", "pcb_max_temp", "total_hashrate"}) {
			t.Fatalf("minerInfo fields %v", got)
		}
		if got := num(t, p, "miner_num"); int(got) != want {
			t.Errorf("miner_num %v, want %d", got, want)
		}
		if th := num(t, p, "total_hashrate"); th < 90*float64(want) || th > 115*float64(want) {
			t.Errorf("total_hashrate %v for %d miners", th, want)
		}
		for _, f := range []string{"pcb_max_temp", "chip_max_temp", "chip_temp_mean"} {
			if v := num(t, p, f); v < 40 || v > 95 {
				t.Errorf("%s = %v", f, v)
			}
		}
		mi := p["miner_info"].(map[string]any)
		if len(mi) != want {
			t.Errorf("%d miners in miner_info, want %d", len(mi), want)
		}
		for ip, v := range mi {
			m := v.(map[string]any)
			if got := keys(m); !slices.Equal(got, []string{"GHS_5s", "GHS_avg", "chip_max_temp", "elapsed", "miner_type", "miner_version", "pcb_max_temp"}) {
				t.Fatalf("miner %s fields %v", ip, got)
			}
			if _, ok := m["miner_type"].(string); !ok {
				t.Errorf("miner_type %T", m["miner_type"])
			}
			if num(t, m, "GHS_avg") < 90 || num(t, m, "elapsed") <= 0 {
				t.Errorf("miner %s: %v", ip, m)
			}
		}
	}
}

func TestValueRanges(t *testing.T) {
	type rng struct{ lo, hi float64 }
	hk3 := map[string]rng{
		"supply_liquid_temp": {33, 37}, "return_liquid_temp": {37, 45}, "supply_liquid_set_temp": {35, 35},
		"supply_liquid_pressure": {0.23, 0.35}, "return_liquid_pressure": {0.18, 0.32}, "supply_liquid_flow": {40, 60},
		"distribution_box1_power": {150, 250}, "distribution_box2_power": {150, 250}, "antbox_internal_humidity": {30, 70},
	}
	imm := map[string]rng{
		"second_supply_temp1": {42, 46}, "second_supply_temp2": {42, 46}, "second_return_temp1": {44, 50},
		"supply_liquid_set_temp": {44, 44}, "distribution_box_power": {500, 700}, "power_distribution": {7, 8.5},
		"vol_a_distribution": {2150, 2300}, "tank_a_level": {80, 120}, "tank_d_level": {80, 120},
		"drycooler_freq": {0, 50}, "feedback_fre": {0, 50}, "open1": {0, 100}, "cur_a_distribution": {600, 1200},
	}
	for seed := range int64(20) {
		for typ, want := range map[Type]map[string]rng{HK3: hk3, Immersion: imm} {
			c, err := NewContainer(Options{Type: typ, Seed: seed, Clock: NewManualClock(epoch)})
			if err != nil {
				t.Fatal(err)
			}
			p := c.State()
			for f, r := range want {
				if v := p[f].(float64); v < r.lo || v > r.hi {
					t.Errorf("%s seed %d: %s = %v, want %v..%v", typ, seed, f, v, r.lo, r.hi)
				}
			}
		}
	}
}

func TestDeterministicForSeed(t *testing.T) {
	mk := func(seed int64) map[string]any {
		c, err := NewContainer(Options{Type: Immersion, Seed: seed, Clock: NewManualClock(epoch)})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := json.Marshal(c.State())
		mi, _ := json.Marshal(c.MinerInfo())
		return map[string]any{"state": string(st), "miners": string(mi)}
	}
	a, b, other := mk(7), mk(7), mk(8)
	if a["state"] != b["state"] || a["miners"] != b["miners"] {
		t.Error("same seed, different values")
	}
	if a["state"] == other["state"] {
		t.Error("different seeds, same values")
	}
}

func TestFaults(t *testing.T) {
	for _, typ := range []Type{HK3, Immersion} {
		t.Run(string(typ), func(t *testing.T) {
			c, err := NewContainer(Options{Type: typ, AllFaults: true, Clock: NewManualClock(epoch)})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range Fields(typ).Faults {
				if c.State()[f] != true {
					t.Errorf("AllFaults: %s not set", f)
				}
			}
			c.SetAllFaults(false)
			for _, f := range Fields(typ).Faults {
				if c.State()[f] != false {
					t.Errorf("SetAllFaults(false): %s still set", f)
				}
			}
		})
	}
	hk3, _ := NewContainer(Options{Type: HK3})
	imm, _ := NewContainer(Options{Type: Immersion})
	for _, tc := range []struct {
		c     *Container
		field string
		ok    bool
	}{
		{hk3, "leakage_fault", true}, {hk3, "cooling_tower_fan3_fault", true}, {hk3, "power_relay_fault", true},
		{hk3, "power_distribution_Fault", false}, {hk3, "fan1", false}, {hk3, "nonsense", false},
		{imm, "power_distribution_Fault", true}, {imm, "phasefailure", true}, {imm, "lever_low", true},
		{imm, "power_distribution_fault", false}, {imm, "fan1_fault", false},
	} {
		err := tc.c.SetFault(tc.field, true)
		if (err == nil) != tc.ok {
			t.Errorf("%s SetFault(%q): %v, want ok=%v", tc.c.Type(), tc.field, err, tc.ok)
		}
		if tc.ok && tc.c.State()[tc.field] != true {
			t.Errorf("%s %s not set", tc.c.Type(), tc.field)
		}
	}
	if _, ok := imm.State()["power_relay_fault"]; ok {
		t.Error("immersion sends power_relay_fault")
	}
	if err := hk3.SetFault("leakage_fault", false); err != nil {
		t.Fatal(err)
	}
	if hk3.State()["leakage_fault"] != false {
		t.Error("SetFault(false) did not clear")
	}
}

func TestSetAndOverrides(t *testing.T) {
	clk := NewManualClock(epoch)
	c, err := NewContainer(Options{Type: HK3, Clock: clk, Overrides: map[string]any{
		"disconnect": true, "supply_liquid_set_temp": 30, "running_mode": "auto", "power_a_distribution": 1234.5,
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := c.State()
	if st["disconnect"] != true || st["running_mode"] != "auto" || st["power_a_distribution"] != 1234.5 || st["supply_liquid_set_temp"] != 30.0 {
		t.Errorf("overrides not applied: %v", st)
	}
	clk.Advance(33 * time.Minute)
	if v := c.State()["supply_liquid_temp"].(float64); v > 31 {
		t.Errorf("setpoint override does not drive physics: supply %v", v)
	}
	if err := c.Set("supply_liquid_pressure", nil); err != nil || c.State()["supply_liquid_pressure"] != nil {
		t.Errorf("pin null: %v %v", err, c.State()["supply_liquid_pressure"])
	}
	c.Unset("supply_liquid_pressure")
	if _, ok := c.State()["supply_liquid_pressure"].(float64); !ok {
		t.Error("Unset did not restore the simulated value")
	}
	if err := c.Set("", 1); err == nil {
		t.Error("empty field accepted")
	}
	if err := c.Set("x", func() {}); err == nil {
		t.Error("unmarshalable value accepted")
	}
	if _, err := NewContainer(Options{Type: "hk4"}); err == nil {
		t.Error("bad type accepted")
	}
}
