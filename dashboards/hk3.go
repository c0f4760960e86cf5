package dashboards

func hk3Dashboard() *Dashboard {
	s := hk3Scope
	l := &layout{}
	const legend = "{{container}} {{sensor}}"

	l.row("Status")
	l.add(reachabilityStats(s)...)
	l.add(
		stat("Supply temperature", "Supply liquid temperature (antspace_temperature_celsius{sensor=\"supply_liquid\"}). MiningOS UI colours: red <21, amber 21–30, green 30–37, orange 37–40, red ≥40 °C.", "celsius", 3, 4,
			instant(s.sel("antspace_temperature_celsius", `sensor="supply_liquid"`), "{{container}}")).thresholds(hk3TempThresholds).decimals(1),
		stat("Supply setpoint", "Supply liquid setpoint (antspace_supply_liquid_setpoint_celsius), coloured with the same UI bands as the supply temperature.", "celsius", 3, 4,
			instant(s.sel("antspace_supply_liquid_setpoint_celsius"), "{{container}}")).thresholds(hk3TempThresholds).decimals(1),
		stat("Supply pressure", "Supply liquid pressure in bar (antspace_pressure_pascals / 1e5). MiningOS UI colours: red <2, amber 2–2.3, green 2.3–3.5, orange 3.5–4, red ≥4 bar.", "pressurebar", 3, 4,
			instant(s.sel("antspace_pressure_pascals", `sensor="supply_liquid"`)+" / 1e5", "{{container}}")).thresholds(hk3PressureThresholds).decimals(2),
		stat("Supply flow", "Supply liquid flow in m³/h (antspace_flow_cubic_meters_per_second × 3600).", "suffix:m³/h", 3, 4,
			instant(s.sel("antspace_flow_cubic_meters_per_second", `sensor="supply_liquid"`)+" * 3600", "{{container}}")).decimals(1),
		stat("Power", "Power of both distribution boxes together (sum of antspace_power_watts).", "watt", 3, 4,
			instant(by("sum", "container", s.sel("antspace_power_watts")), "{{container}}")),
		stat("Active faults", "Fault flags set right now (sum of antspace_fault_active). See the Faults row for which.", "none", 3, 4,
			instant(by("sum", "container", s.sel("antspace_fault_active")), "{{container}}")).thresholds(zeroGoodThresholds),
	)

	l.row("Temperatures")
	l.add(
		timeseries("Supply and return temperature with setpoint", "Loop supply and return temperature (antspace_temperature_celsius) and the supply setpoint (dashed). Dashed threshold lines are the MiningOS UI bands for the supply: 21, 30, 37, 40 °C.", "celsius", 12, 9,
			query(s.sel("antspace_temperature_celsius", `sensor=~"supply_liquid|return_liquid"`), legend),
			query(s.sel("antspace_supply_liquid_setpoint_celsius"), "{{container}} setpoint"),
		).thresholds(hk3TempThresholds).showThresholds().override("byRegexp", ".* setpoint", dashedSeries()...),
		timeseries("Cooling-tower inlet and container internal temperature", "Temperature of the liquid entering the cooling tower (cooling_tower_inlet) and the air inside the antbox (antbox_internal).", "celsius", 12, 9,
			query(s.sel("antspace_temperature_celsius", `sensor=~"cooling_tower_inlet|antbox_internal"`), legend)),
	)
	l.add(
		timeseries("Loop temperature rise (return − supply)", "How much the miners warm the liquid: return minus supply temperature. A rise that collapses while power stays up points to a flow problem.", "celsius", 12, 7,
			query(s.sel("antspace_temperature_celsius", `sensor="return_liquid"`)+" - ignoring (sensor) "+s.sel("antspace_temperature_celsius", `sensor="supply_liquid"`), "{{container}}")).decimals(1),
		timeseries("Internal humidity", "Relative humidity inside the antbox (antspace_humidity_ratio{sensor=\"antbox_internal\"}).", "percentunit", 12, 7,
			query(s.sel("antspace_humidity_ratio"), legend)).minMax(0, 1),
	)

	l.row("Pressure, flow and power")
	l.add(
		timeseries("Loop pressures", "Supply and return liquid pressure in bar (antspace_pressure_pascals / 1e5). Dashed lines: MiningOS UI supply bands 2, 2.3, 3.5, 4 bar.", "pressurebar", 8, 8,
			query(s.sel("antspace_pressure_pascals")+" / 1e5", legend)).thresholds(hk3PressureThresholds).showThresholds().decimals(2),
		timeseries("Supply flow", "Supply liquid flow in m³/h (antspace_flow_cubic_meters_per_second × 3600).", "suffix:m³/h", 8, 8,
			query(s.sel("antspace_flow_cubic_meters_per_second")+" * 3600", legend)).decimals(1),
		timeseries("Power per distribution box", "Power of distribution boxes 1 and 2 (antspace_power_watts{source}), stacked: the top edge is the container's power.", "watt", 8, 8,
			query(s.sel("antspace_power_watts"), "{{container}} {{source}}")).stacked(),
	)
	l.add(
		timeseries("Power from energy meters", "Average power derived from the cumulative energy counters of distributions A and B (rate of antspace_energy_joules_total). Only firmware that sends power_a/b_distribution has these; empty otherwise.", "watt", 24, 7,
			query("rate("+s.sel("antspace_energy_joules_total")+"[$__rate_interval])", "{{container}} {{source}}")),
	)

	l.row("Pumps and fans")
	l.add(
		stateTimeline("Pumps and exhaust fans", "Running state of the circulating, spray and fluid-infusion pumps and exhaust fans 1–2 (antspace_component_running).", onOffMapping, 24, 8,
			query(s.sel("antspace_component_running", `component=~"circulating_pump|spray_pump|fluid_infusion_pump|fan1|fan2"`), "{{container}} {{component}}")),
	)
	l.add(
		stateTimeline("Cooling-tower fans", "Running state of cooling-tower fans 1–3 (antspace_component_running).", onOffMapping, 12, 7,
			query(s.sel("antspace_component_running", `component=~"cooling_tower_fan1|cooling_tower_fan2|cooling_tower_fan3"`), "{{container}} {{component}}")),
		controlTimeline(s, 12, 7),
	)

	l.row("Faults")
	l.add(faultTimeline(s, 14))

	minerSection(l, s)
	probeSection(l, s)

	return newDashboard(HK3UID, "Antspace / HK3 container",
		"One or more HK3 (cooling-tower) containers in depth: loop temperatures against the setpoint, pressures, flow, power, pumps and fans, every fault flag, and the miners.",
		variables(`label_values(antspace_container_info{type="hk3",site=~"$site"}, container)`), l)
}
