package mock

import (
	"fmt"
	"maps"
	"time"
)

// latchAlarms raises the alarms the simulated PLC derives from its own readings. Like the
// injected faults they stay latched until reset.
func (c *Container) latchAlarms() {
	s := &c.sim
	set := func(name string, cond bool) {
		if cond {
			s.faults[name] = true
		}
	}
	switch c.typ {
	case HK3:
		set("supply_liquid_temp_high", s.temp >= hk3TempHigh)
		set("supply_liquid_temp_too_high", s.temp >= hk3TempTooHigh)
	case Immersion:
		ret := s.temp + c.oilDelta()
		set("supply_liquid_temp_high", s.temp >= immSupplyHigh)
		set("supply_liquid_temp_too_high", s.temp >= immSupplyTooHigh)
		set("return_liquid_temp_high", ret >= immReturnHigh)
		set("return_liquid_temp_too_high", ret >= immReturnTooHigh)
		set("power_distribution_temp_high", c.distTemp() >= immDistTempHigh)
	}
}

func (c *Container) oilDelta() float64 {
	if !c.sim.on {
		return 1.0
	}
	return immOilDeltaAtNominal * c.nom.boxPower / 600
}

func (c *Container) distTemp() float64 {
	return c.nom.distTemp + 0.1*(c.sim.temp-immersionDefaultSetpoint)
}

// coolerParams builds the coolerState params at time now. Caller holds c.mu and has advanced
// the simulation.
func (c *Container) coolerParams(now time.Time) map[string]any {
	var p map[string]any
	if c.typ == HK3 {
		p = c.hk3Params(now)
	} else {
		p = c.immersionParams(now)
	}
	for name, on := range c.sim.faults {
		p[name] = on
	}
	maps.Copy(p, c.pinned)
	return p
}

func (c *Container) j(key string, now time.Time, amp float64) float64 {
	return jitter(c.seed, key, now, amp)
}

func (c *Container) hk3Params(now time.Time) map[string]any {
	s, n, on := &c.sim, &c.nom, c.sim.on
	supply := s.temp + c.j("supply", now, 0.05)
	flow, pS, pR := 0.0, 0.02, 0.02
	delta := 1.5 // no flow: the loop soaks at about one temperature
	if on {
		flow = n.flow + c.j("flow", now, 0.4)
		pS = n.pSupply + c.j("psupply", now, 0.003)
		pR = n.pSupply - n.pDrop + c.j("preturn", now, 0.003)
		delta = (n.box1 + n.box2) * hk3ReturnDeltaPerKW / n.flow
	}
	ret := s.temp + delta + c.j("return", now, 0.05)
	p := map[string]any{
		"supply_liquid_temp":       round(supply, 1),
		"return_liquid_temp":       round(ret, 1),
		"supply_liquid_set_temp":   round(s.setpoint, 1),
		"colding_tower_inlet_temp": round(ret-0.3+c.j("tower", now, 0.05), 1),
		"antbox_internal_temp":     round(n.internal+0.2*(s.temp-hk3DefaultSetpoint)+c.j("internal", now, 0.1), 1),
		"antbox_internal_humidity": round(n.humidity+c.j("humidity", now, 0.5), 1),
		"supply_liquid_pressure":   round(pS, 3),
		"return_liquid_pressure":   round(pR, 3),
		"supply_liquid_flow":       round(flow, 1),
		"distribution_box1_power":  round(n.box1+c.j("box1", now, 2), 1),
		"distribution_box2_power":  round(n.box2+c.j("box2", now, 2), 1),
		"longitude":                round(n.lon, 4),
		"latitude":                 round(n.lat, 4),
		"longitude_direction":      1,
		"latitude_direction":       1,
		"circulating_pump":         on,
		"fan1":                     on,
		"fan2":                     on,
		"spray_pump":               on,
		"fluid_infusion_pump":      false,
		"cooling_tower_fan1":       on,
		"cooling_tower_fan2":       on,
		"cooling_tower_fan3":       on,
		"running_mode":             true,
		"pid_mode":                 s.pid,
		"disconnect":               false,
	}
	for _, f := range hk3Fields.Faults {
		p[f] = false
	}
	return p
}

func (c *Container) immersionParams(now time.Time) map[string]any {
	s, n, on := &c.sim, &c.nom, c.sim.on
	oilRet := s.temp + c.oilDelta()
	waterSup, waterRet := s.temp-3, s.temp+2
	drycooler, feedback, distPower := 0.0, 0.0, 0.4
	open1, open2 := 0.0, 0.0
	if on {
		drycooler = min(50, max(15, 35+4*(s.temp-s.setpoint))) + c.j("drycooler", now, 0.3)
		feedback = n.feedback + c.j("feedback", now, 0.2)
		distPower = n.distPower + c.j("distpower", now, 0.05)
		open1, open2 = n.open1, n.open2
	}
	p := map[string]any{
		"protocol_version":            1,
		"primary_supply_temp":         round(waterSup+c.j("primary_supply", now, 0.05), 1),
		"primary_return_temp":         round(waterRet+c.j("primary_return", now, 0.05), 1),
		"second_supply_temp1":         round(s.temp+c.j("second_supply1", now, 0.05), 1),
		"second_return_temp1":         round(oilRet+c.j("second_return1", now, 0.05), 1),
		"second_supply_temp2":         round(s.temp+c.j("second_supply2", now, 0.05), 1),
		"second_return_temp2":         round(oilRet+c.j("second_return2", now, 0.05), 1),
		"out_temp":                    round(n.outTemp+c.j("out", now, 0.1), 1),
		"container_temp":              round(n.contTemp+0.1*(s.temp-immersionDefaultSetpoint)+c.j("cont", now, 0.1), 1),
		"power_distribution_temp":     round(c.distTemp()+c.j("disttemp", now, 0.1), 1),
		"supply_liquid_set_temp":      round(s.setpoint, 1),
		"container_humidity":          round(n.humidity+c.j("humidity", now, 0.5), 1),
		"power_distribution_humidity": round(n.distHum+c.j("disthum", now, 0.5), 1),
		"tank_a_level":                round(n.tanks[0]+c.j("tank_a", now, 0.2), 1),
		"tank_b_level":                round(n.tanks[1]+c.j("tank_b", now, 0.2), 1),
		"tank_c_level":                round(n.tanks[2]+c.j("tank_c", now, 0.2), 1),
		"tank_d_level":                round(n.tanks[3]+c.j("tank_d", now, 0.2), 1),
		"drycooler_freq":              round(drycooler, 1),
		"feedback_fre":                round(feedback, 1),
		"distribution_box_power":      round(n.boxPower+c.j("boxpower", now, 3), 1),
		"power_distribution":          round(distPower, 2),
		"open1":                       round(open1, 0),
		"open2":                       round(open2, 0),
		"longitude":                   round(n.lon, 4),
		"latitude":                    round(n.lat, 4),
		"longitude_direction":         1,
		"latitude_direction":          1,
		"pump_ready":                  true,
		"pump_operation":              on,
		"pump_run":                    on,
		"pump_start":                  on,
		"server_on":                   true,
		"one_pump":                    on,
		"second_pump1":                on,
		"second_pump2":                on,
		"dry_cooler_freq_run":         on,
		"dry_cooler_power_freq_run":   false,
		"container_fan":               on,
		"valve1_open":                 open1 >= 99,
		"valve1_close":                open1 <= 1,
		"valve2_open":                 open2 >= 99,
		"valve2_close":                open2 <= 1,
		"running_mode":                true,
		"pid_mode":                    s.pid,
		"disconnect":                  false,
	}
	for i, ph := range []string{"a", "b", "c"} {
		v := n.volts[i] + c.j("vol_"+ph, now, 3)
		p["vol_"+ph+"_distribution"] = round(v, 0)
		// P = 3·U·I per phase; power in kW, voltage in 0.1 V.
		p["cur_"+ph+"_distribution"] = round(n.boxPower*1000/(3*v/10)+c.j("cur_"+ph, now, 2), 1)
	}
	for _, f := range immersionFields.Faults {
		p[f] = false
	}
	return p
}

// minerParams builds the minerInfo params at time now. Caller holds c.mu.
func (c *Container) minerParams(now time.Time) map[string]any {
	base := c.sim.temp
	model, firmware := "Antminer S21 Hyd.", "S21-Hyd-20240515"
	if c.typ == Immersion {
		model, firmware = "Antminer S21 Imm.", "S21-Imm-20240515"
	}
	up := now.Sub(c.start).Seconds()
	miners := make(map[string]any, c.miners)
	var total, pcbMax, chipMax, chipSum float64
	for i := range c.miners {
		k := fmt.Sprintf("miner%d", i)
		pcb := base + 12 + between(c.seed, k+"pcb", -1.5, 1.5) + c.j(k+"pcb", now, 0.5)
		chip := base + 25 + between(c.seed, k+"chip", -2, 2) + c.j(k+"chip", now, 0.5)
		avg := between(c.seed, k+"hash", 95, 110)
		h5 := avg + c.j(k+"h5", now, 1.5)
		if chip >= 95 { // thermal protection: the miner stops hashing
			avg, h5 = 0, 0
		}
		total += avg
		pcbMax, chipMax = max(pcbMax, pcb), max(chipMax, chip)
		chipSum += chip
		miners[minerIP(i)] = map[string]any{
			"miner_type":    model,
			"miner_version": firmware,
			"elapsed":       int64(up + between(c.seed, k+"up", 3600, 30*86400)),
			"GHS_5s":        round(h5, 2),
			"GHS_avg":       round(avg, 2),
			"pcb_max_temp":  round(pcb, 1),
			"chip_max_temp": round(chip, 1),
		}
	}
	mean := 0.0
	if c.miners > 0 {
		mean = chipSum / float64(c.miners)
	}
	return map[string]any{
		"miner_num":      c.miners,
		"total_hashrate": round(total, 2),
		"pcb_max_temp":   round(pcbMax, 1),
		"chip_max_temp":  round(chipMax, 1),
		"chip_temp_mean": round(mean, 1),
		"miner_info":     miners,
	}
}

// minerIP is the key of miner i in miner_info: a loopback-looking string, never contacted.
func minerIP(i int) string {
	return fmt.Sprintf("127.1.%d.%d", i/250, i%250+1)
}
