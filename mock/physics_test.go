package mock

import (
	"math"
	"testing"
	"time"
)

func TestHK3Physics(t *testing.T) {
	s, clk := start(t, Options{Type: HK3, Seed: 3})
	read := func() map[string]any { return params(t, s, OpCoolerState) }

	// Cooling on: a hot loop approaches the setpoint with a ~5 minute lag, monotonically.
	if err := s.Set("supply_liquid_temp", 45.0); err != nil {
		t.Fatal(err)
	}
	prev := num(t, read(), "supply_liquid_temp")
	for range 6 {
		clk.Advance(5 * time.Minute)
		p := read()
		cur := num(t, p, "supply_liquid_temp")
		if prev-35 > 0.3 && cur >= prev { // near the setpoint, noise may win
			t.Fatalf("cooling on: supply %v did not fall from %v", cur, prev)
		}
		if ret := num(t, p, "return_liquid_temp"); ret <= cur+2 {
			t.Errorf("return %v not above supply %v by a load delta", ret, cur)
		}
		prev = cur
	}
	if math.Abs(prev-35) > 0.3 {
		t.Errorf("after 30 min supply %v, want ≈ setpoint 35", prev)
	}
	if s.State()["supply_liquid_temp_high"] != true {
		t.Error("45 °C did not latch supply_liquid_temp_high")
	}

	// close: everything stops, flow ~0, pressures ~0; the loop heats up.
	op(t, s, "close")
	p := read()
	for _, f := range []string{"circulating_pump", "fan1", "fan2", "spray_pump", "cooling_tower_fan1", "cooling_tower_fan2", "cooling_tower_fan3", "fluid_infusion_pump"} {
		if boolean(t, p, f) {
			t.Errorf("close: %s still on", f)
		}
	}
	if f := num(t, p, "supply_liquid_flow"); f != 0 {
		t.Errorf("close: flow %v", f)
	}
	if pr := num(t, p, "supply_liquid_pressure"); pr > 0.05 {
		t.Errorf("close: supply pressure %v", pr)
	}
	before := num(t, p, "supply_liquid_temp")
	clk.Advance(10 * time.Minute)
	if after := num(t, read(), "supply_liquid_temp"); after < before+5 {
		t.Errorf("cooling off: supply %v → %v in 10 min, want a climb", before, after)
	}

	// open: pumps and fans back, flow and pressure normal, temperature falls again.
	op(t, s, "open")
	p = read()
	for _, f := range []string{"circulating_pump", "fan1", "fan2", "spray_pump", "cooling_tower_fan1"} {
		if !boolean(t, p, f) {
			t.Errorf("open: %s off", f)
		}
	}
	if f := num(t, p, "supply_liquid_flow"); f < 40 || f > 60 {
		t.Errorf("open: flow %v", f)
	}
	if pr := num(t, p, "supply_liquid_pressure"); pr < 0.23 || pr > 0.35 {
		t.Errorf("open: pressure %v", pr)
	}

	// setTemp: new setpoint, PID off, the loop follows.
	op(t, s, "setTemp&temp=30")
	p = read()
	if num(t, p, "supply_liquid_set_temp") != 30 || boolean(t, p, "pid_mode") {
		t.Errorf("setTemp=30: set %v pid %v", p["supply_liquid_set_temp"], p["pid_mode"])
	}
	clk.Advance(time.Hour)
	if v := num(t, read(), "supply_liquid_temp"); math.Abs(v-30) > 0.3 {
		t.Errorf("supply %v an hour after setTemp 30", v)
	}
	op(t, s, "setTemp&temp=pid")
	if p = read(); !boolean(t, p, "pid_mode") || num(t, p, "supply_liquid_set_temp") != 30 {
		t.Errorf("temp=pid: pid %v set %v", p["pid_mode"], p["supply_liquid_set_temp"])
	}
	if env := op(t, s, "setTemp&temp=hot"); env["ok"] != false {
		t.Errorf("setTemp=hot answered %v", env)
	}
	if p = read(); num(t, p, "supply_liquid_set_temp") != 30 || !boolean(t, p, "pid_mode") {
		t.Error("a refused setTemp changed the state")
	}

	// reset clears latched faults, injected and derived.
	if err := s.SetFault("leakage_fault", true); err != nil {
		t.Fatal(err)
	}
	if p = read(); !boolean(t, p, "leakage_fault") || !boolean(t, p, "supply_liquid_temp_high") {
		t.Fatal("faults not latched")
	}
	op(t, s, "reset")
	if p = read(); boolean(t, p, "leakage_fault") || boolean(t, p, "supply_liquid_temp_high") {
		t.Error("reset did not clear latched faults")
	}
}

func TestImmersionPhysics(t *testing.T) {
	s, clk := start(t, Options{Type: Immersion, Seed: 9})
	read := func() map[string]any { return params(t, s, OpCoolerState) }
	p := read()
	if sp := num(t, p, "supply_liquid_set_temp"); sp != 44 {
		t.Errorf("default setpoint %v", sp)
	}
	oil := num(t, p, "second_supply_temp1")
	if r := num(t, p, "second_return_temp1"); r <= oil {
		t.Errorf("oil return %v not above supply %v", r, oil)
	}

	op(t, s, "close")
	p = read()
	for _, f := range []string{"one_pump", "second_pump1", "second_pump2", "dry_cooler_freq_run", "container_fan", "pump_run"} {
		if boolean(t, p, f) {
			t.Errorf("close: %s still on", f)
		}
	}
	if num(t, p, "drycooler_freq") != 0 || num(t, p, "feedback_fre") != 0 {
		t.Errorf("close: frequencies %v %v", p["drycooler_freq"], p["feedback_fre"])
	}
	if !boolean(t, p, "valve1_close") {
		t.Error("close: valve1 not at its closed limit")
	}
	clk.Advance(20 * time.Minute)
	p = read()
	if hot := num(t, p, "second_supply_temp1"); hot < oil+10 {
		t.Errorf("cooling off: oil %v → %v in 20 min", oil, hot)
	}
	if !boolean(t, p, "supply_liquid_temp_high") || !boolean(t, p, "return_liquid_temp_high") {
		t.Error("hot oil did not latch the temperature alarms")
	}
	op(t, s, "open")
	if p = read(); !boolean(t, p, "one_pump") || num(t, p, "drycooler_freq") < 15 {
		t.Errorf("open: one_pump %v drycooler %v", p["one_pump"], p["drycooler_freq"])
	}
	clk.Advance(time.Hour)
	op(t, s, "reset")
	p = read()
	if v := num(t, p, "second_supply_temp1"); math.Abs(v-44) > 0.3 {
		t.Errorf("oil %v an hour after open", v)
	}
	if boolean(t, p, "supply_liquid_temp_high") || boolean(t, p, "return_liquid_temp_high") {
		t.Error("reset after cooling down did not clear the alarms")
	}
}

func TestPhysicsIndependentOfPollRate(t *testing.T) {
	mk := func() (*Container, *ManualClock) {
		clk := NewManualClock(epoch)
		c, err := NewContainer(Options{Type: HK3, Clock: clk, Overrides: map[string]any{"supply_liquid_temp": 50}})
		if err != nil {
			t.Fatal(err)
		}
		return c, clk
	}
	a, ca := mk()
	b, cb := mk()
	for range 60 {
		ca.Advance(10 * time.Second)
		a.State()
	}
	cb.Advance(10 * time.Minute)
	if x, y := a.State()["supply_liquid_temp"], b.State()["supply_liquid_temp"]; x != y {
		t.Errorf("polled every 10 s: %v; polled once: %v", x, y)
	}
}
