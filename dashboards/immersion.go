package dashboards

// immersionTiles are the immersion status tiles between PLC link and power.
func immersionTiles(s scope) []*Panel {
	return []*Panel{
		stat("Oil supply", "Warmest secondary (oil) supply temperature (max of secondary_supply1/2). MiningOS UI colours: red <33, amber 33–42, green 42–46, orange 46–48, red ≥48 °C.", "celsius", 3, 4,
			instant(by("max", "container", s.sel("antspace_temperature_celsius", `sensor=~"secondary_supply1|secondary_supply2"`)), "{{container}}")).thresholds(oilTempThresholds).decimals(1),
		stat("Setpoint", "Supply liquid setpoint (antspace_supply_liquid_setpoint_celsius), coloured with the oil temperature bands.", "celsius", 3, 4,
			instant(s.sel("antspace_supply_liquid_setpoint_celsius"), "{{container}}")).thresholds(oilTempThresholds).decimals(1),
		stat("Water loop", "Primary (water) loop supply temperature from the dry cooler (antspace_temperature_celsius{sensor=\"primary_supply\"}).", "celsius", 3, 4,
			instant(s.sel("antspace_temperature_celsius", `sensor="primary_supply"`), "{{container}}")).decimals(1),
		stat("Dry cooler", "Variable-speed dry cooler drive frequency (antspace_frequency_hertz{component=\"dry_cooler\"}).", "hertz", 3, 4,
			instant(s.sel("antspace_frequency_hertz", `component="dry_cooler"`), "{{container}}")).decimals(1),
	}
}

func immersionSections(l *layout, s scope) {
	const legend = "{{container}} {{sensor}}"
	l.row("Temperatures")
	l.add(
		timeseries("Oil supply temperature and setpoint", "Oil supply temperature of both secondary loops (secondary_supply1/2) and the setpoint (dashed). Dashed threshold lines: MiningOS UI oil bands 33, 42, 46, 48 °C.", "celsius", 12, 9,
			query(s.sel("antspace_temperature_celsius", `sensor=~"secondary_supply1|secondary_supply2"`), legend),
			query(s.sel("antspace_supply_liquid_setpoint_celsius"), "{{container}} setpoint"),
		).thresholds(oilTempThresholds).showThresholds().override("byRegexp", ".* setpoint", dashedSeries()...),
		timeseries("Oil return temperature", "Oil return temperature of both secondary loops (secondary_return1/2): the supply plus what the miners add. The UI bands judge the supply, not the return.", "celsius", 12, 9,
			query(s.sel("antspace_temperature_celsius", `sensor=~"secondary_return1|secondary_return2"`), legend)),
	)
	l.add(
		timeseries("Primary (water) loop and outdoor temperature", "Water loop between heat exchanger and dry cooler (primary_supply, primary_return) and the outdoor air temperature the dry cooler works against (outdoor).", "celsius", 24, 8,
			query(s.sel("antspace_temperature_celsius", `sensor=~"primary_supply|primary_return|outdoor"`), legend)),
	)

	l.row("Pumps and dry cooler")
	l.add(
		stateTimeline("Oil pumps, water pump and container fan", "Running state of the primary water pump (primary_pump), the oil pumps (secondary_pump1/2) and the container fan (antspace_component_running): green On, grey Off.", onOffMapping, 12, 8,
			query(s.sel("antspace_component_running", `component=~"primary_pump|secondary_pump1|secondary_pump2|container_fan"`), "{{container}} {{component}}")),
		timeseries("Water pump feedback frequency", "Frequency the water pump's drive reports back (antspace_frequency_hertz{component=\"water_pump_feedback\"}).", "hertz", 12, 8,
			query(s.sel("antspace_frequency_hertz", `component="water_pump_feedback"`), "{{container}}")),
	)
	l.add(
		stateTimeline("Dry cooler drives", "Dry cooler running on its variable-frequency drive (dry_cooler_variable_frequency) or on mains frequency (dry_cooler_power_frequency) (antspace_component_running): green On, grey Off.", onOffMapping, 12, 7,
			query(s.sel("antspace_component_running", `component=~"dry_cooler_variable_frequency|dry_cooler_power_frequency"`), "{{container}} {{component}}")),
		timeseries("Dry cooler frequency", "Variable-speed dry cooler drive frequency (antspace_frequency_hertz{component=\"dry_cooler\"}).", "hertz", 12, 7,
			query(s.sel("antspace_frequency_hertz", `component="dry_cooler"`), "{{container}}")),
	)
	l.add(
		stateTimeline("Pump status flags", "Pump control flags the controller reports (antspace_status_flag: pump_ready, pump_operation, pump_run, pump_start, server_on): green Yes, grey No.", yesNoMapping, 12, 7,
			query(s.sel("antspace_status_flag"), "{{container}} {{flag}}")),
		controlTimeline(s, 12, 7),
	)

	l.row("Tanks and valves")
	l.add(
		// "suffix:m", not "lengthm": lengthm switches between mm and m around 1 m.
		timeseries("Tank levels A–D", "Liquid level of tanks A–D in metres (antspace_tank_level_meters).", "suffix:m", 8, 8,
			query(s.sel("antspace_tank_level_meters"), "{{container}} tank {{tank}}")),
		timeseries("Valve opening", "Opening of valves 1 and 2 (antspace_valve_opening_ratio, 0–100 %).", "percentunit", 8, 8,
			query(s.sel("antspace_valve_opening_ratio"), "{{container}} valve {{valve}}")).minMax(0, 1),
		stateTimeline("Valve limit switches", "Open and closed limit switches of valves 1 and 2 (antspace_valve_limit_switch_active{valve,position}): blue Active, grey Inactive.", switchMapping, 8, 8,
			query(s.sel("antspace_valve_limit_switch_active"), "{{container}} valve {{valve}} {{position}}")),
	)

	l.row("Electrical and power distribution")
	l.add(
		timeseries("Phase voltages", "Mains voltage per phase at the power distribution (antspace_voltage_volts{phase}).", "volt", 8, 8,
			query(s.sel("antspace_voltage_volts"), "{{container}} phase {{phase}}")),
		timeseries("Phase currents", "Mains current per phase at the power distribution (antspace_current_amperes{phase}).", "amp", 8, 8,
			query(s.sel("antspace_current_amperes"), "{{container}} phase {{phase}}")),
		timeseries("Power readings", "Both power readings of the power-distribution box (antspace_power_watts{source=\"distribution_box|power_distribution\"}), not stacked: they are two readings of one box, and the container's power (tiles, fleet) counts distribution_box only.", "watt", 8, 8,
			query(s.sel("antspace_power_watts"), "{{container}} {{source}}")),
	)
	l.add(
		timeseries("Container and power-distribution temperature", "Air temperature in the container and in the power-distribution box (antspace_temperature_celsius{sensor=~\"container|power_distribution\"}).", "celsius", 12, 8,
			query(s.sel("antspace_temperature_celsius", `sensor=~"container|power_distribution"`), legend)),
		timeseries("Container and power-distribution humidity", "Relative humidity in the container and in the power-distribution box (antspace_humidity_ratio).", "percentunit", 12, 8,
			query(s.sel("antspace_humidity_ratio"), legend)).minMax(0, 1),
	)
}
