package dashboards

// hk3Tiles are the HK3 status tiles between PLC link and power.
func hk3Tiles(s scope) []*Panel {
	return []*Panel{
		stat("Supply", "Supply liquid temperature (antspace_temperature_celsius{sensor=\"supply_liquid\"}). MiningOS UI colours: red <21, amber 21–30, green 30–37, orange 37–40, red ≥40 °C.", "celsius", 3, 4,
			instant(s.sel("antspace_temperature_celsius", `sensor="supply_liquid"`), "{{container}}")).thresholds(hk3TempThresholds).decimals(1),
		stat("Setpoint", "Supply liquid setpoint (antspace_supply_liquid_setpoint_celsius), coloured with the same UI bands as the supply temperature.", "celsius", 3, 4,
			instant(s.sel("antspace_supply_liquid_setpoint_celsius"), "{{container}}")).thresholds(hk3TempThresholds).decimals(1),
		stat("Pressure", "Supply liquid pressure in bar (antspace_pressure_pascals{sensor=\"supply_liquid\"} / 1e5). MiningOS UI colours: red <2, amber 2–2.3, green 2.3–3.5, orange 3.5–4, red ≥4 bar.", "pressurebar", 3, 4,
			instant(s.sel("antspace_pressure_pascals", `sensor="supply_liquid"`)+" / 1e5", "{{container}}")).thresholds(hk3PressureThresholds).decimals(2),
		stat("Flow", "Supply liquid flow in m³/h (antspace_flow_cubic_meters_per_second × 3600).", "suffix:m³/h", 3, 4,
			instant(s.sel("antspace_flow_cubic_meters_per_second", `sensor="supply_liquid"`)+" * 3600", "{{container}}")).decimals(1),
	}
}

func hk3Sections(l *layout, s scope) {
	const legend = "{{container}} {{sensor}}"
	l.row("Temperatures")
	l.add(
		timeseries("Supply temperature and setpoint", "Loop supply temperature (antspace_temperature_celsius{sensor=\"supply_liquid\"}) and the supply setpoint (dashed). Dashed threshold lines are the MiningOS UI bands for the supply: 21, 30, 37, 40 °C.", "celsius", 12, 9,
			query(s.sel("antspace_temperature_celsius", `sensor="supply_liquid"`), legend),
			query(s.sel("antspace_supply_liquid_setpoint_celsius"), "{{container}} setpoint"),
		).thresholds(hk3TempThresholds).showThresholds().override("byRegexp", ".* setpoint", dashedSeries()...),
		timeseries("Return temperature", "Loop return temperature (antspace_temperature_celsius{sensor=\"return_liquid\"}): the supply plus what the miners add. The UI bands judge the supply, not the return.", "celsius", 12, 9,
			query(s.sel("antspace_temperature_celsius", `sensor="return_liquid"`), legend)),
	)
	l.add(
		timeseries("Loop temperature rise (return − supply)", "How much the miners warm the liquid: return minus supply temperature. A rise that collapses while power stays up points to a flow problem.", "celsius", 8, 7,
			query(s.sel("antspace_temperature_celsius", `sensor="return_liquid"`)+" - ignoring (sensor) "+s.sel("antspace_temperature_celsius", `sensor="supply_liquid"`), "{{container}}")),
		timeseries("Cooling-tower inlet and internal temperature", "Temperature of the liquid entering the cooling tower (cooling_tower_inlet) and of the air inside the antbox (antbox_internal).", "celsius", 8, 7,
			query(s.sel("antspace_temperature_celsius", `sensor=~"cooling_tower_inlet|antbox_internal"`), legend)),
		timeseries("Internal humidity", "Relative humidity inside the antbox (antspace_humidity_ratio{sensor=\"antbox_internal\"}).", "percentunit", 8, 7,
			query(s.sel("antspace_humidity_ratio"), legend)).minMax(0, 1),
	)

	l.row("Pressure, flow and power")
	l.add(
		timeseries("Supply pressure", "Supply liquid pressure in bar (antspace_pressure_pascals{sensor=\"supply_liquid\"} / 1e5). Dashed lines: MiningOS UI supply bands 2, 2.3, 3.5, 4 bar.", "pressurebar", 8, 8,
			query(s.sel("antspace_pressure_pascals", `sensor="supply_liquid"`)+" / 1e5", legend)).thresholds(hk3PressureThresholds).showThresholds(),
		timeseries("Return pressure", "Return liquid pressure in bar (antspace_pressure_pascals{sensor=\"return_liquid\"} / 1e5); the supply minus the loop's pressure drop.", "pressurebar", 8, 8,
			query(s.sel("antspace_pressure_pascals", `sensor="return_liquid"`)+" / 1e5", legend)),
		timeseries("Supply flow", "Supply liquid flow in m³/h (antspace_flow_cubic_meters_per_second × 3600).", "suffix:m³/h", 8, 8,
			query(s.sel("antspace_flow_cubic_meters_per_second")+" * 3600", legend)),
	)
	l.add(
		timeseries("Power per distribution box", "Power of distribution boxes 1 and 2 (antspace_power_watts{source}), stacked: the top edge is the container's power.", "watt", 12, 7,
			query(s.sel("antspace_power_watts"), "{{container}} {{source}}")).stacked(),
		timeseries("Power from energy meters", "Average power derived from the cumulative energy counters of distributions A and B (rate of antspace_energy_joules_total). Only firmware that sends power_a/b_distribution has these; empty otherwise.", "watt", 12, 7,
			query("rate("+s.sel("antspace_energy_joules_total")+"[$__rate_interval])", "{{container}} {{source}}")),
	)

	l.row("Pumps and fans")
	l.add(
		stateTimeline("Pumps and exhaust fans", "Running state of the circulating, spray and fluid-infusion pumps and exhaust fans 1–2 (antspace_component_running): green On, grey Off.", onOffMapping, 24, 8,
			query(s.sel("antspace_component_running", `component=~"circulating_pump|spray_pump|fluid_infusion_pump|fan1|fan2"`), "{{container}} {{component}}")),
	)
	l.add(
		stateTimeline("Cooling-tower fans", "Running state of cooling-tower fans 1–3 (antspace_component_running): green On, grey Off.", onOffMapping, 12, 7,
			query(s.sel("antspace_component_running", `component=~"cooling_tower_fan1|cooling_tower_fan2|cooling_tower_fan3"`), "{{container}} {{component}}")),
		controlTimeline(s, 12, 7),
	)
}
