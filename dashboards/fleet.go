package dashboards

// Sensors of the loop that feeds the miners and is regulated to the supply
// setpoint: HK3's liquid loop, the immersion containers' secondary (oil) loop.
const (
	minerSupplySensors = `sensor=~"supply_liquid|secondary_supply1|secondary_supply2"`
	minerReturnSensors = `sensor=~"return_liquid|secondary_return1|secondary_return2"`
)

// containerLink opens the container's own dashboard: its UID is
// "antspace-<type>", taken from the row's type column.
var containerLink = []map[string]any{{
	"targetBlank": false,
	"title":       "Open ${__data.fields.container} (${__data.fields.type}) dashboard",
	"url":         "/d/antspace-${__data.fields.type}?${datasource:queryparam}&var-container=${__data.fields.container}&${__url_time_range}",
}}

func fleetDashboard() *Dashboard {
	s := fleetScope
	l := &layout{}

	l.row("Fleet status")
	l.add(
		stat("Containers up", "Containers whose controller answered the last probe (antspace_up == 1).", "none", 3, 4,
			instant("count("+s.sel("antspace_up")+" == 1) or vector(0)", "up")).thresholds(neutralThresholds),
		stat("Containers down", "Containers whose controller did not answer or answered garbage (antspace_up == 0), or whose probe failed outright (Prometheus up == 0 for its probe scrape).", "none", 3, 4,
			instant("count("+s.sel("antspace_up")+" == 0 or "+s.sel("up")+" == 0) or vector(0)", "down")).thresholds(zeroGoodThresholds),
		stat("Active fault flags", "Fault flags currently set across the selected containers (antspace_fault_active == 1), whether or not an alert fires for them yet.", "none", 3, 4,
			instant("count("+s.sel("antspace_fault_active")+" == 1) or vector(0)", "faults")).thresholds(zeroGoodThresholds),
		stat("Critical alerts", "Firing alerts of severity critical from the antspace rule bundle (ALERTS).", "none", 3, 4,
			instant("count("+s.sel("ALERTS", `alertstate="firing"`, severityIs("critical"))+") or vector(0)", site.SeverityNames["critical"])).thresholds(alertCriticalThreshold),
		stat("High alerts", "Firing alerts of severity high from the antspace rule bundle (ALERTS).", "none", 3, 4,
			instant("count("+s.sel("ALERTS", `alertstate="firing"`, severityIs("high"))+") or vector(0)", site.SeverityNames["high"])).thresholds(alertHighThreshold),
		stat("Medium alerts", "Firing alerts of severity medium from the antspace rule bundle (ALERTS).", "none", 3, 4,
			instant("count("+s.sel("ALERTS", `alertstate="firing"`, severityIs("medium"))+") or vector(0)", site.SeverityNames["medium"])).thresholds(alertMediumThreshold),
		stat("Total power", "Sum of all power readings of the selected containers (antspace_power_watts, every source).", "watt", 3, 4,
			instant("sum("+s.sel("antspace_power_watts")+")", "power")),
		stat("Total hash rate", "Sum of the hash rate the selected containers report (antspace_hashrate_hashes_per_second).", "Hs", 3, 4,
			instant("sum("+s.sel("antspace_hashrate_hashes_per_second")+")", "hash rate")),
	)

	// One row per container; all queries aggregate to (container, type,
	// site) so the merge transformation joins them.
	const grp = "container, type, site"
	ct := table("Containers",
		"One row per container: reachability, supply and return temperature of the loop feeding the miners (HK3 liquid loop, immersion oil loop; the warmest sensor), setpoint, HK3 supply pressure, power, hash rate, miners and active fault flags. Click a container to open its dashboard.",
		"none", 24, 9,
		tableQuery(by("max", grp, s.sel("antspace_up"))),
		tableQuery(by("max", grp, s.sel("antspace_temperature_celsius", minerSupplySensors))),
		tableQuery(by("max", grp, s.sel("antspace_temperature_celsius", minerReturnSensors))),
		tableQuery(by("max", grp, s.sel("antspace_supply_liquid_setpoint_celsius"))),
		tableQuery(by("max", grp, s.sel("antspace_pressure_pascals", `sensor="supply_liquid"`))+" / 1e5"),
		tableQuery(by("sum", grp, s.sel("antspace_power_watts"))),
		tableQuery(by("sum", grp, s.sel("antspace_hashrate_hashes_per_second"))),
		tableQuery(by("max", grp, s.sel("antspace_miners"))),
		tableQuery(by("sum", grp, s.sel("antspace_fault_active"))),
	)
	ct.transform("merge", map[string]any{})
	ct.transform("organize", map[string]any{
		"excludeByName": map[string]any{"Time": true},
		"indexByName": map[string]any{
			"container": 0, "type": 1, "site": 2,
			"Value #A": 3, "Value #B": 4, "Value #C": 5, "Value #D": 6, "Value #E": 7,
			"Value #F": 8, "Value #G": 9, "Value #H": 10, "Value #I": 11,
		},
		"renameByName": map[string]any{},
	})
	ct.override("byName", "container", prop("links", containerLink))
	ct.override("byName", "Value #A", prop("displayName", "Reachable"), prop("mappings", upMapping),
		prop("custom.cellOptions", map[string]any{"type": "color-background"}))
	ct.override("byName", "Value #B", prop("displayName", "Supply"), prop("unit", "celsius"), prop("decimals", 1))
	ct.override("byName", "Value #C", prop("displayName", "Return"), prop("unit", "celsius"), prop("decimals", 1))
	ct.override("byName", "Value #D", prop("displayName", "Setpoint"), prop("unit", "celsius"), prop("decimals", 1))
	ct.override("byName", "Value #E", prop("displayName", "Supply pressure"), prop("unit", "pressurebar"), prop("decimals", 2),
		prop("thresholds", hk3PressureThresholds), prop("custom.cellOptions", map[string]any{"type": "color-text"}))
	ct.override("byName", "Value #F", prop("displayName", "Power"), prop("unit", "watt"))
	ct.override("byName", "Value #G", prop("displayName", "Hash rate"), prop("unit", "Hs"))
	ct.override("byName", "Value #H", prop("displayName", "Miners"), prop("unit", "none"))
	ct.override("byName", "Value #I", prop("displayName", "Active faults"), prop("unit", "none"),
		prop("thresholds", zeroGoodThresholds), prop("custom.cellOptions", map[string]any{"type": "color-background"}))
	ct.option("sortBy", []map[string]any{{"desc": true, "displayName": "Active faults"}})
	l.add(ct)

	l.row("Active faults and alerts")
	active := s.sel("antspace_fault_active") + " == 1"
	// Start of the current active streak: the last time the flag was seen
	// clear in the dashboard range, or its first active sample when it was
	// active for the whole range.
	since := "(max_over_time(timestamp(" + s.sel("antspace_fault_active") + " == 0)[$__range:$__interval])" +
		" or min_over_time(timestamp(" + active + ")[$__range:$__interval]))"
	const on = " and on (instance, container, fault, component) "
	ft := table("Active faults",
		"Fault flags set right now (antspace_fault_active == 1): container, fault, component, since when (the last time the flag was seen clear in the selected time range; the range start if it was set all along) and for how long.",
		"none", 14, 9,
		tableQuery(active),
		tableQuery(since+" * 1000"+on+"("+active+")"),
		tableQuery("time() - "+since+on+"("+active+")"),
	)
	ft.transform("merge", map[string]any{})
	ft.transform("organize", map[string]any{
		"excludeByName": map[string]any{"Time": true, "Value #A": true, "__name__": true, "job": true, "instance": true},
		"indexByName": map[string]any{
			"container": 0, "fault": 1, "component": 2, "Value #B": 3, "Value #C": 4, "type": 5, "site": 6,
		},
		"renameByName": map[string]any{},
	})
	ft.override("byName", "container", prop("links", containerLink))
	ft.override("byName", "Value #B", prop("displayName", "Since"), prop("unit", "dateTimeAsIso"))
	ft.override("byName", "Value #C", prop("displayName", "Active for"), prop("unit", "s"))
	ft.option("sortBy", []map[string]any{{"desc": true, "displayName": "Active for"}})

	at := table("Firing alerts",
		"Alerts of the antspace rule bundle firing now (ALERTS{alertstate=\"firing\"}), with severity, container, fault and component.",
		"none", 10, 9,
		tableQuery(s.sel("ALERTS", `alertstate="firing"`)),
	)
	at.transform("organize", map[string]any{
		"excludeByName": map[string]any{"Time": true, "Value": true, "__name__": true, "alertstate": true, "job": true, "instance": true},
		"indexByName":   map[string]any{"alertname": 0, "severity": 1, "container": 2, "fault": 3, "component": 4},
		"renameByName":  map[string]any{},
	})
	at.override("byName", "severity",
		prop("mappings", valueMap(site.SeverityNames["critical"], site.SeverityNames["critical"], "red", site.SeverityNames["high"], site.SeverityNames["high"], "orange", site.SeverityNames["medium"], site.SeverityNames["medium"], "yellow")),
		prop("custom.cellOptions", map[string]any{"type": "color-background"}))
	l.add(ft, at)
	l.add(timeseries("Active fault flags by container", "Number of fault flags set per container over time (sum of antspace_fault_active).", "none", 24, 7,
		query(by("sum", "container", s.sel("antspace_fault_active")), "{{container}}")).decimals(0).
		option("legend", map[string]any{"calcs": []string{"max"}, "displayMode": "list", "placement": "right", "showLegend": true}))

	l.row("Temperatures")
	l.add(
		timeseries("Supply temperature and setpoint", "Supply temperature of the loop feeding the miners (HK3 supply_liquid, immersion secondary_supply1/2) with each container's setpoint (dashed).", "celsius", 12, 9,
			query(s.sel("antspace_temperature_celsius", minerSupplySensors), "{{container}} {{sensor}}"),
			query(s.sel("antspace_supply_liquid_setpoint_celsius"), "{{container}} setpoint"),
		).override("byRegexp", ".* setpoint", dashedSeries()...),
		timeseries("Return temperature", "Return temperature of the loop feeding the miners (HK3 return_liquid, immersion secondary_return1/2).", "celsius", 12, 9,
			query(s.sel("antspace_temperature_celsius", minerReturnSensors), "{{container}} {{sensor}}")),
	)
	l.add(
		bargauge("Hottest supply (top 5)", "The five containers with the warmest miner-feeding supply loop right now. Colours follow the MiningOS UI: HK3 supply red <21, amber 21–30, green 30–37, orange 37–40, red ≥40 °C; immersion oil red <33, amber 33–42, green 42–46, orange 46–48, red ≥48 °C.", "celsius", 12, 7,
			instant("topk(5, "+by("max", "container, type", s.sel("antspace_temperature_celsius", minerSupplySensors))+")", "{{container}} ({{type}})"),
		).thresholds(hk3TempThresholds).minMax(15, 55).
			override("byRegexp", `.*\(immersion\)`, prop("thresholds", oilTempThresholds)),
		bargauge("Lowest supply pressure (bottom 5)", "The five HK3 containers with the lowest supply pressure right now (antspace_pressure_pascals shown in bar). MiningOS UI colours: red <2, amber 2–2.3, green 2.3–3.5, orange 3.5–4, red ≥4 bar.", "pressurebar", 12, 7,
			instant("bottomk(5, "+s.sel("antspace_pressure_pascals", `sensor="supply_liquid"`)+" / 1e5)", "{{container}}"),
		).thresholds(hk3PressureThresholds).minMax(0, 5).decimals(2),
	)

	l.row("Power and hash rate")
	l.add(
		timeseries("Power per container", "Power per container (sum of its antspace_power_watts sources: HK3 distribution boxes 1+2, immersion distribution_box + power_distribution), stacked so the top edge is the fleet total.", "watt", 12, 9,
			query(by("sum", "container", s.sel("antspace_power_watts")), "{{container}}")).stacked(),
		timeseries("Hash rate per container", "Hash rate each container reports (antspace_hashrate_hashes_per_second), stacked so the top edge is the fleet total.", "Hs", 12, 9,
			query(by("sum", "container", s.sel("antspace_hashrate_hashes_per_second")), "{{container}}")).stacked(),
	)

	return newDashboard(FleetUID, "Antspace / Fleet overview",
		"All Antspace cooling containers at a glance: who is up, what is faulting, temperatures, pressure, power and hash rate. Click a container to open its HK3 or immersion dashboard.",
		variables(`label_values(antspace_up{site=~"$site"}, container)`), l)
}
