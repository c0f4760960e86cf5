package dashboards

import "strings"

// Sensors of the loop that feeds the miners and is regulated to the supply
// setpoint: HK3's liquid loop, the immersion containers' secondary (oil) loop.
// alertNameChars is the length of the longest alert name of
// rules/antspace.rules.yml (the rules test of this package checks it).
const alertNameChars = 49

const (
	minerSupplySensors = `sensor=~"supply_liquid|secondary_supply1|secondary_supply2"`
	minerReturnSensors = `sensor=~"return_liquid|secondary_return1|secondary_return2"`
)

// containerLink opens the container's own dashboard: its UID is
// "antspace-<type>", taken from the row's type column. It passes the
// datasource, the site, the time range and the container (a container of
// the target dashboard's own type).
var containerLink = []map[string]any{{
	"targetBlank": false,
	"title":       "Open ${__data.fields.container} (${__data.fields.type}) dashboard",
	"url":         "/d/antspace-${__data.fields.type}?${datasource:queryparam}&${site:queryparam}&var-container=${__data.fields.container}&${__url_time_range}",
}}

// fleetTotal is a stat of the fleet-wide sum of metric (one value per
// container) with the share of containers it covers: a total that lost a
// container says so (red "reporting" below 100 %) instead of just dropping.
func fleetTotal(title, desc, unit, metric string, extra ...string) *Panel {
	s := fleetScope
	perContainer := "count by (container) (" + s.sel(metric, extra...) + ")"
	p := stat(title, desc+" Below it: the share of probe targets (Prometheus up{"+site.ProbeSelector+"}) that report the metric; under 100 % (red) the total misses containers.", unit, 4, 4,
		instant("sum("+s.sel(metric, extra...)+")", "total"),
		instant("(count("+perContainer+") or vector(0)) / count("+s.sel("up")+")", "reporting"),
	)
	p.override("byFrameRefID", "B", prop("unit", "percentunit"), prop("decimals", 0), prop("thresholds", steps("red", 1, "green")))
	p.option("textMode", "value_and_name")
	return p
}

func fleetDashboard() *Dashboard {
	s := fleetScope
	l := &layout{}

	l.row("Fleet status")
	alerts := stat("Firing alerts", "Firing alerts of the antspace rule bundle (ALERTS) by severity: critical red, high orange, medium yellow when any fires; green 0 when quiet.", "none", 4, 4,
		instant("count("+s.sel("ALERTS", `alertstate="firing"`, severityIs("critical"))+") or vector(0)", site.SeverityNames["critical"]),
		instant("count("+s.sel("ALERTS", `alertstate="firing"`, severityIs("high"))+") or vector(0)", site.SeverityNames["high"]),
		instant("count("+s.sel("ALERTS", `alertstate="firing"`, severityIs("medium"))+") or vector(0)", site.SeverityNames["medium"]),
	).thresholds(alertCriticalThreshold).
		override("byFrameRefID", "B", prop("thresholds", alertHighThreshold)).
		override("byFrameRefID", "C", prop("thresholds", alertMediumThreshold)).
		option("textMode", "value_and_name").option("graphMode", "none")
	l.add(
		stat("Containers up", "Containers whose controller answered the last probe (antspace_up == 1).", "none", 4, 4,
			instant("count("+s.sel("antspace_up")+" == 1) or vector(0)", "up")).thresholds(neutralThresholds),
		stat("Containers down", "Containers whose controller did not answer or answered garbage (antspace_up == 0), or whose probe failed outright (Prometheus up == 0 for its probe scrape): green 0, red otherwise.", "none", 4, 4,
			instant("count("+s.sel("antspace_up")+" == 0 or "+s.sel("up")+" == 0) or vector(0)", "down")).thresholds(zeroGoodThresholds),
		stat("Fault flags set", "Fault flags currently set across the selected containers (antspace_fault_active == 1; recording rule container:antspace_fault_active:sum), whether or not an alert fires for them yet: green 0, red otherwise. A container that does not answer sets none: see Containers down.", "none", 4, 4,
			instant("sum("+s.sel("container:antspace_fault_active:sum")+") or vector(0)", "faults")).thresholds(zeroGoodThresholds),
		alerts,
		fleetTotal("Total power", "Sum of the distribution-box power readings of the selected containers (recording rule container:antspace_power_watts:sum: HK3 distribution_box1+2, immersion distribution_box; the immersion power_distribution reading is of the same box and not added).", "watt", "container:antspace_power_watts:sum"),
		fleetTotal("Total hash rate", "Sum of the hash rate the selected containers report (recording rule container:antspace_hashrate_hashes_per_second:sum).", "Hs", "container:antspace_hashrate_hashes_per_second:sum"),
	)

	// One row per container; all queries aggregate to (container, type,
	// site) so the merge transformation joins them.
	const grp = "container, type, site"
	ct := table("Containers",
		"One row per container: reachability (green Up, red Down), supply and return temperature of the loop feeding the miners (HK3 liquid loop, immersion oil loop; the warmest sensor), setpoint, HK3 supply pressure (UI colours), power, hash rate, miners and fault flags set (green 0, red otherwise, grey No data when the container does not answer). Click a container to open its dashboard.",
		"none", 24, 9,
		tableQuery(by("max", grp, s.sel("antspace_up"))),
		tableQuery(by("max", grp, s.sel("container:antspace_supply_temperature_celsius:max"))),
		tableQuery(by("max", grp, s.sel("container:antspace_return_temperature_celsius:max"))),
		tableQuery(by("max", grp, s.sel("antspace_supply_liquid_setpoint_celsius"))),
		tableQuery(by("max", grp, s.sel("antspace_pressure_pascals", `sensor="supply_liquid"`))+" / 1e5"),
		tableQuery(by("sum", grp, s.sel("container:antspace_power_watts:sum"))),
		tableQuery(by("sum", grp, s.sel("container:antspace_hashrate_hashes_per_second:sum"))),
		tableQuery(by("max", grp, s.sel("antspace_miners"))),
		tableQuery(by("sum", grp, s.sel("container:antspace_fault_active:sum"))),
	)
	ct.transform("merge", map[string]any{})
	ct.columns(
		col("container", "Container", labelChars, prop("links", containerLink)),
		col("type", "Type", typeChars),
		col("site", "Site", labelChars),
		col("Value #A", "Reachable", len(noDataText), colored(upMapping)...),
		col("Value #B", "Supply", valueChars, prop("unit", "celsius"), prop("decimals", 1)),
		col("Value #C", "Return", valueChars, prop("unit", "celsius"), prop("decimals", 1)),
		col("Value #D", "Setpoint", valueChars, prop("unit", "celsius"), prop("decimals", 1)),
		col("Value #E", "Pressure", valueChars, prop("unit", "pressurebar"), prop("decimals", 2),
			prop("thresholds", hk3PressureThresholds), prop("custom.cellOptions", map[string]any{"type": "color-text"})),
		col("Value #F", "Power", valueChars, prop("unit", "watt")),
		col("Value #G", "Hash rate", valueChars, prop("unit", "Hs")),
		col("Value #H", "Miners", 5, prop("unit", "none")),
		col("Value #I", "Faults", len(noDataText), append([]Property{prop("unit", "none"), prop("thresholds", zeroGoodThresholds)}, colored(nil)...)...),
	)
	ct.option("sortBy", []map[string]any{{"desc": true, "displayName": "Faults"}})
	l.add(ct)

	l.row("Active faults and alerts")
	// The recording rule container:antspace_fault_active:since_timestamp_seconds
	// holds, for each flag set now, the time of its first faulty sample
	// (the rule keeps its own value while the flag stays set): instant
	// lookups at any fleet size and time range, no subqueries.
	since := s.sel("container:antspace_fault_active:since_timestamp_seconds")
	ft := table("Active faults",
		"Fault flags set right now (antspace_fault_active == 1): container, fault, component, since when (the first faulty sample after the last clear one, recorded by the rule container:antspace_fault_active:since_timestamp_seconds; a flag set before the rule ran shows when the rule first saw it) and for how long.",
		"none", 24, 8,
		tableQuery(since),
		tableQuery(since+" * 1000"),
		tableQuery("time() - "+since),
	)
	ft.transform("merge", map[string]any{})
	ft.columns(
		col("container", "Container", labelChars, prop("links", containerLink)),
		col("fault", "Fault", faultChars),
		col("component", "Component", faultChars),
		col("Value #B", "Since", dateChars, prop("unit", "dateTimeAsIso")),
		col("Value #C", "Active for", durationChars, prop("unit", "s")),
	)
	ft.option("sortBy", []map[string]any{{"desc": true, "displayName": "Active for"}})

	at := table("Firing alerts",
		"Alerts of the antspace rule bundle firing now (ALERTS{alertstate=\"firing\"}), with severity (critical red, high orange, medium yellow), container, fault and component.",
		"none", 24, 8,
		tableQuery(s.sel("ALERTS", `alertstate="firing"`)),
	)
	at.columns(
		col("alertname", "Alert", alertNameChars),
		col("severity", "Severity", 8, colored(valueMap(site.SeverityNames["critical"], site.SeverityNames["critical"], "red", site.SeverityNames["high"], site.SeverityNames["high"], "orange", site.SeverityNames["medium"], site.SeverityNames["medium"], "yellow"))...),
		col("container", "Container", labelChars, prop("links", containerLink)),
		col("fault", "Fault", faultChars),
		col("component", "Component", faultChars),
	)
	l.add(ft, at)
	// At fleet scale one line per container is neither readable nor cheap:
	// containers with faults per site over time (site rule), and which
	// containers have the most flags set now (container rule).
	l.add(
		timeseries("Containers with faults per site", "Containers with at least one fault flag set, per site over time (recording rule site:antspace_containers_faulting:count; follows the site selection, not the container selection), stacked: the top edge is the fleet's count.", "none", 16, 7,
			query(siteSeries("sum", "site:antspace_containers_faulting:count"), "{{site}}")).stacked(),
		bargauge("Most fault flags (top 10)", "The ten containers with the most fault flags set right now (recording rule container:antspace_fault_active:sum); empty when none is set.", "none", 8, 7,
			instant("topk(10, "+s.sel("container:antspace_fault_active:sum")+" > 0)", "{{container}}"),
		).thresholds(zeroGoodThresholds),
	)

	l.row("Temperatures")
	l.add(
		timeseries("Supply temperature and setpoint per site", "Warmest supply temperature of the loop feeding the miners (HK3 supply_liquid, immersion secondary_supply1/2) per site and container type (recording rule site:antspace_supply_temperature_celsius:max), with the highest setpoint there (dashed, site:antspace_supply_liquid_setpoint_celsius:max). Per site, following the site selection: one line per container of a fleet is neither readable nor cheap; each container's own lines are on its HK3 or immersion dashboard.", "celsius", 12, 9,
			query(siteSeries("max", "site:antspace_supply_temperature_celsius:max"), "{{site}} {{type}}"),
			query(siteSeries("max", "site:antspace_supply_liquid_setpoint_celsius:max"), "{{site}} {{type}} setpoint"),
		).override("byRegexp", ".* setpoint", dashedSeries()...),
		timeseries("Return temperature per site", "Warmest return temperature of the loop feeding the miners (HK3 return_liquid, immersion secondary_return1/2) per site and container type (recording rule site:antspace_return_temperature_celsius:max; follows the site selection). Each container's own lines are on its HK3 or immersion dashboard.", "celsius", 12, 9,
			query(siteSeries("max", "site:antspace_return_temperature_celsius:max"), "{{site}} {{type}}")),
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
		timeseries("Power per site", "Power per site (recording rule site:antspace_power_watts:sum: the distribution-box readings of its containers, HK3 distribution boxes 1+2, immersion distribution_box), stacked so the top edge is the total of the selected sites. Follows the site selection; each container's power is in the Containers table and on its own dashboard.", "watt", 12, 9,
			query(siteSeries("sum", "site:antspace_power_watts:sum"), "{{site}}")).stacked(),
		timeseries("Hash rate per site", "Hash rate the containers of each site report (recording rule site:antspace_hashrate_hashes_per_second:sum), stacked so the top edge is the total of the selected sites. Follows the site selection; each container's hash rate is in the Containers table and on its own dashboard.", "Hs", 12, 9,
			query(siteSeries("sum", "site:antspace_hashrate_hashes_per_second:sum"), "{{site}}")).stacked(),
	)

	// Per site, from the site-level recording rules only: cheap at any fleet
	// size. Recording rules aggregated by site carry no job label, so they
	// are selected by site alone.
	l.row("Sites")
	siteSel := func(metric string) string { return siteSeries("sum", metric) }
	st := table("Sites",
		"One row per site from the recording rules (site:…): containers up, down (controller not answering or probe failing) and with fault flags set, power, hash rate and the warmest miner-feeding supply temperature.",
		"none", 24, 6,
		tableQuery(siteSel("site:antspace_containers_up:count")),
		tableQuery(siteSel("site:antspace_containers_down:count")),
		tableQuery(siteSel("site:antspace_containers_faulting:count")),
		tableQuery(siteSel("site:antspace_power_watts:sum")),
		tableQuery(siteSel("site:antspace_hashrate_hashes_per_second:sum")),
		tableQuery(by("max", "site", `site:antspace_supply_temperature_celsius:max{site=~"$site"}`)),
	)
	st.transform("merge", map[string]any{})
	st.columns(
		col("site", "Site", labelChars),
		col("Value #A", "Up", 8, prop("unit", "none")),
		col("Value #B", "Down", 8, append([]Property{prop("unit", "none"), prop("thresholds", zeroGoodThresholds)}, colored(nil)...)...),
		col("Value #C", "With faults", 8, append([]Property{prop("unit", "none"), prop("thresholds", zeroGoodThresholds)}, colored(nil)...)...),
		col("Value #D", "Power", valueChars, prop("unit", "watt")),
		col("Value #E", "Hash rate", valueChars, prop("unit", "Hs")),
		col("Value #F", "Warmest supply", valueChars, prop("unit", "celsius"), prop("decimals", 1)),
	)
	l.add(st)

	return newDashboard(FleetUID, "Antspace / Fleet overview",
		"All Antspace cooling containers at a glance: who is up, what is faulting, temperatures, pressure, power and hash rate. Click a container to open its HK3 or immersion dashboard.",
		variables("antspace_up"), l)
}

// siteSeries aggregates a site-level recording rule (site:…) of the
// selected sites by site (and type when the rule keeps it). Site rules carry
// no job label: they are selected by site alone, and follow the site
// selection, not the container selection.
func siteSeries(op, metric string) string {
	grp := "site"
	if strings.HasSuffix(metric, "_celsius:max") {
		grp = "site, type"
	}
	return by(op, grp, metric+`{site=~"$site"}`)
}
