package dashboards

import (
	"fmt"
	"strings"
)

// Dashboard UIDs. The container dashboards' UIDs are "antspace-" + the
// container type label, so a data link can build them from the type column.
const (
	FleetUID     = "antspace-fleet"
	HK3UID       = "antspace-hk3"
	ImmersionUID = "antspace-immersion"
)

// scope is the label filter every query of a dashboard applies.
type scope struct {
	base string // e.g. `type="hk3",site=~"$site",container=~"$container"`
}

// sel renders a selector: metric{probe selector,base,extra...}.
func (s scope) sel(metric string, extra ...string) string {
	m := append([]string{site.ProbeSelector, s.base}, extra...)
	return metric + "{" + strings.Join(m, ",") + "}"
}

var fleetScope = scope{base: `site=~"$site",container=~"$container"`}

// loadSources selects the power readings that make up a container's power:
// the distribution boxes (HK3 distribution_box1 and 2, immersion
// distribution_box). The immersion power_distribution reading is of the
// same power-distribution box (the one that also reports the mains phase
// voltages and currents), so adding it would count that box twice; the
// README explains the decision.
const loadSources = `source=~"distribution_box.*"`

func datasourceVariable() Variable {
	return Variable{
		Current:     map[string]any{},
		Description: "Prometheus that scrapes the antspace_exporter (selector {" + site.ProbeSelector + "}).",
		Hide:        0,
		Label:       "Data source",
		Name:        "datasource",
		Options:     []any{},
		Query:       "prometheus",
		Refresh:     1,
		Type:        "datasource",
	}
}

func allCurrent() map[string]any {
	return map[string]any{"selected": true, "text": []string{"All"}, "value": []string{"$__all"}}
}

// labelVariable is a multi-select query variable from label_values().
// allValue is the regex used for "All" (".*" also matches a missing label,
// ".+" requires it).
func labelVariable(name, label, description, query, allValue string) Variable {
	return Variable{
		AllValue:    allValue,
		Current:     allCurrent(),
		Datasource:  promDS,
		Definition:  query,
		Description: description,
		IncludeAll:  true,
		Label:       label,
		Multi:       true,
		Name:        name,
		Options:     []any{},
		Query:       VariableQuery{Query: query, RefID: "PrometheusVariableQueryEditor-VariableQuery"},
		Refresh:     2, // on time range change
		Sort:        1,
		Type:        "query",
	}
}

// variables returns a dashboard's template variables. Their label_values()
// queries carry the probe selector like every panel query, so a Prometheus
// that also scrapes another antspace job (or the site's renamed one) lists
// only this site's sites and containers. containerMatchers narrows the
// container list of containerMetric (e.g. `type="hk3"`).
func variables(containerMetric string, containerMatchers ...string) []Variable {
	containers := scope{base: `site=~"$site"`}.sel(containerMetric, containerMatchers...)
	return []Variable{
		datasourceVariable(),
		labelVariable("site", "Site", "Inventory site label of the containers.", "label_values("+probeSel("antspace_up")+", site)", ".*"),
		labelVariable("container", "Container", "Inventory name of the container.", "label_values("+containers+", container)", ".+"),
	}
}

// probeSel is metric{probe selector}.
func probeSel(metric string) string { return metric + "{" + site.ProbeSelector + "}" }

// dashLink links to another dashboard by UID URL, keeping the time range,
// datasource and site. It does not pass the container: the dashboards list
// different containers (fleet all, HK3 and immersion their type), and a
// container of the wrong type selected on arrival shows an empty dashboard.
func dashLink(title, uid, tooltip string) Link {
	return Link{
		AsDropdown:  new(false),
		Icon:        "dashboard",
		IncludeVars: new(false),
		KeepTime:    new(true),
		TargetBlank: new(false),
		Title:       title,
		Tooltip:     tooltip,
		Type:        "link",
		URL:         "/d/" + uid + "?${datasource:queryparam}&${site:queryparam}",
	}
}

func allLinks() []Link {
	return []Link{
		dashLink("Fleet overview", FleetUID, "All containers at a glance"),
		dashLink("HK3 container", HK3UID, "HK3 (cooling tower) containers in depth"),
		dashLink("Immersion container", ImmersionUID, "Immersion (dry cooler) containers in depth"),
	}
}

func newDashboard(uid, title, description string, vars []Variable, l *layout) *Dashboard {
	return &Dashboard{
		Annotations: Annotations{List: []map[string]any{{
			"builtIn":    1,
			"datasource": map[string]any{"type": "grafana", "uid": "-- Grafana --"},
			"enable":     true,
			"hide":       true,
			"iconColor":  "rgba(0, 211, 255, 1)",
			"name":       "Annotations & Alerts",
			"type":       "dashboard",
		}}},
		Description:   description,
		Editable:      true,
		GraphTooltip:  1,
		ID:            nil,
		Links:         allLinks(),
		Panels:        l.panels,
		Refresh:       "1m",
		SchemaVersion: SchemaVersion,
		Tags:          []string{"antspace", "mining", "cooling"},
		Templating:    Templating{List: vars},
		Time:          TimeRange{From: "now-6h", To: "now"},
		Timepicker:    map[string]any{},
		Timezone:      "browser",
		Title:         title,
		UID:           uid,
		Version:       1,
		WeekStart:     "",
	}
}

// by wraps expr in an aggregation by the given labels.
func by(agg, labels, expr string) string {
	return fmt.Sprintf("%s by (%s) (%s)", agg, labels, expr)
}

// ---- sections shared by the container dashboards ---------------------------

// Characters of the widest values of table columns.
const (
	labelChars    = 12 // container and site names
	typeChars     = 9  // "immersion"
	faultChars    = 30 // fault and component label values ("cooling_tower_liquid_level_low")
	minerChars    = 15 // IPv4 address
	modelChars    = 20 // miner model and firmware
	valueChars    = 10 // a number with its unit ("105.3 TH/s")
	durationChars = 10 // "3.25 weeks"
	dateChars     = 19 // "2026-12-06 12:34:56"
)

// containerDashboard builds a container dashboard of type typ: the status
// tiles (reachable, PLC link, the type's tiles, power, faults set), the
// fault timeline right below them, the type's sections, then Miners and
// Probe health, which both types share.
func containerDashboard(uid, typ, title, description string, tiles func(scope) []*Panel, sections func(*layout, scope)) *Dashboard {
	s := scope{base: `type="` + typ + `",site=~"$site",container=~"$container"`}
	l := &layout{}
	l.row("Status")
	l.add(
		stat("Reachable", "antspace_up: Up (green) when the exporter read and parsed the container's coolerState in the last probe, Down (red) when the controller did not answer or answered garbage; grey No data when the probe itself failed (exporter or Prometheus down).", "none", 3, 4,
			instant(s.sel("antspace_up"), "{{container}}")).mappings(upMapping).thresholds(nonZeroGoodThresholds),
		stat("PLC link", "antspace_plc_disconnected (device field `disconnect`): the controller lost its link to the PLC; telemetry is stale while disconnected.", "none", 3, 4,
			instant(s.sel("antspace_plc_disconnected"), "{{container}}")).mappings(plcMapping).thresholds(zeroGoodThresholds),
	)
	l.add(tiles(s)...)
	l.add(
		stat("Power", "Power of the container's distribution boxes (sum of antspace_power_watts{source=~\"distribution_box.*\"}; see the README on power_distribution).", "watt", 3, 4,
			instant(by("sum", "container", s.sel("antspace_power_watts", loadSources)), "{{container}}")),
		stat("Faults", "Fault flags set right now (sum of antspace_fault_active): green 0, red otherwise, grey No data when the container does not answer. See the Faults row for which.", "none", 3, 4,
			instant(by("sum", "container", s.sel("antspace_fault_active")), "{{container}}")).thresholds(zeroGoodThresholds),
	)
	l.row("Faults")
	l.add(faultTimeline(s))
	sections(l, s)
	minerSection(l, s)
	probeSection(l, s)
	return newDashboard(uid, title, description,
		variables("antspace_container_info", `type="`+typ+`"`), l)
}

// controlTimeline shows PID mode, running mode and the PLC link over time.
func controlTimeline(s scope, w, h int) *Panel {
	return stateTimeline("Control mode and PLC link",
		"PID mode (antspace_pid_mode_enabled: the PID loop drives the supply setpoint), running mode (antspace_running_mode_enabled): blue Enabled, grey Disabled; the controller's PLC link (antspace_plc_disconnected): green Connected, red Disconnected.",
		enabledMapping, w, h,
		query(s.sel("antspace_pid_mode_enabled"), "{{container}} PID mode"),
		query(s.sel("antspace_running_mode_enabled"), "{{container}} running mode"),
		query(s.sel("antspace_plc_disconnected"), "{{container}} PLC link"),
	).override("byRegexp", ".* PLC link", prop("mappings", plcMapping))
}

// faultTimeline shows one lane per fault flag that was set at some time in
// the dashboard's range (all flags of two containers are some 40 lanes of
// green): green OK, red FAULT. Empty when no flag was set in the range.
func faultTimeline(s scope) *Panel {
	x := s.sel("antspace_fault_active")
	p := stateTimeline("Faults",
		"Fault flags (antspace_fault_active{fault,component}) that were set at some time in the selected range, one lane each: green while clear, red while set. Faults the device latches stay red until reset. Flags that stayed clear are not drawn; empty means no fault in the range.",
		faultMapping, 24, 10,
		query(x+" and on (instance, container, fault, component) (max_over_time("+x+"[$__range] @ end()) == 1)", "{{container}} {{fault}} ({{component}})"),
	)
	p.FieldConfig.Defaults.NoValue = "No fault in the time range"
	return p
}

// minerSection adds the miner summary and per-miner table.
func minerSection(l *layout, s scope) {
	l.row("Miners")
	l.add(
		stat("Miners", "Number of miners the container reports (minerInfo miner_num).", "none", 4, 4,
			instant(s.sel("antspace_miners"), "{{container}}")),
		stat("Hash rate", "Total hash rate the container reports (minerInfo total_hashrate, converted from TH/s).", "Hs", 4, 4,
			instant(s.sel("antspace_hashrate_hashes_per_second"), "{{container}}")),
		stat("Hottest PCB", "Highest miner PCB temperature in the container (minerInfo pcb_max_temp).", "celsius", 4, 4,
			instant(s.sel("antspace_miners_temperature_celsius", `sensor="pcb_max"`), "{{container}}")),
		stat("Hottest chip", "Highest miner chip temperature in the container (minerInfo chip_max_temp).", "celsius", 4, 4,
			instant(s.sel("antspace_miners_temperature_celsius", `sensor="chip_max"`), "{{container}}")),
		stat("Mean chip temp.", "Mean miner chip temperature in the container (minerInfo chip_temp_mean).", "celsius", 4, 4,
			instant(s.sel("antspace_miners_temperature_celsius", `sensor="chip_mean"`), "{{container}}")),
		stat("minerInfo read", "antspace_miner_info_success: green OK when the last probe read and parsed minerInfo, red Failed otherwise. The cooling metrics are still valid when this fails.", "none", 4, 4,
			instant(s.sel("antspace_miner_info_success"), "{{container}}")).mappings(successMapping).thresholds(nonZeroGoodThresholds),
	)
	l.add(
		timeseries("Hash rate by container", "Hash rate each container reports (antspace_hashrate_hashes_per_second), stacked: the top edge is the total of the selected containers.", "Hs", 12, 8,
			query(s.sel("antspace_hashrate_hashes_per_second"), "{{container}}")).stacked(),
		timeseries("Miner temperatures (summary)", "Hottest PCB, hottest chip and mean chip temperature across the container's miners (antspace_miners_temperature_celsius).", "celsius", 12, 8,
			query(s.sel("antspace_miners_temperature_celsius"), "{{container}} {{sensor}}")),
	)
	l.add(minerTable(s))
}

// minerTable is the per-miner table. Each query is aggregated to
// (container, miner) and joined with model/firmware from antspace_miner_info,
// so the merge transformation lines rows up exactly.
func minerTable(s scope) *Panel {
	info := by("max", "container, miner, model, firmware", s.sel("antspace_miner_info"))
	join := func(expr string) string {
		return by("max", "container, miner", expr) + " * on (container, miner) group_left (model, firmware) " + info
	}
	p := table("Miners (per miner)",
		"One row per miner (minerInfo miner_info): model, firmware, 5 s and average hash rate, PCB and chip maximum temperature and uptime. Sort by a column to find slow or hot miners.",
		"none", 24, 12,
		tableQuery(join(s.sel("antspace_miner_hashrate_hashes_per_second", `window="5s"`))),
		tableQuery(join(s.sel("antspace_miner_hashrate_hashes_per_second", `window="average"`))),
		tableQuery(join(s.sel("antspace_miner_temperature_celsius", `sensor="pcb_max"`))),
		tableQuery(join(s.sel("antspace_miner_temperature_celsius", `sensor="chip_max"`))),
		tableQuery(join(s.sel("antspace_miner_uptime_seconds"))),
	)
	p.transform("merge", map[string]any{})
	p.columns(
		col("container", "Container", labelChars),
		col("miner", "Miner", minerChars),
		col("model", "Model", modelChars),
		col("firmware", "Firmware", modelChars),
		col("Value #A", "Hash rate (5 s)", valueChars, prop("unit", "Hs")),
		col("Value #B", "Hash rate (avg)", valueChars, prop("unit", "Hs")),
		col("Value #C", "PCB max", valueChars, prop("unit", "celsius")),
		col("Value #D", "Chip max", valueChars, prop("unit", "celsius")),
		col("Value #E", "Uptime", durationChars, prop("unit", "s")),
	)
	p.option("sortBy", []map[string]any{{"desc": false, "displayName": "Hash rate (5 s)"}})
	return p
}

// probeSection adds a collapsed row about the exporter's view of the device.
func probeSection(l *layout, s scope) {
	l.collapsedRow("Probe health")
	l.add(
		timeseries("Probe duration and timeout", "How long each probe of the controller took (antspace_probe_duration_seconds) against the timeout it ran with (antspace_probe_timeout_seconds). The controller is slow; durations near the timeout mean missed readings.", "s", 12, 8,
			query(s.sel("antspace_probe_duration_seconds"), "{{container}} duration"),
			query(s.sel("antspace_probe_timeout_seconds"), "{{container}} timeout"),
		).override("byRegexp", ".* timeout", dashedSeries()...),
		timeseries("Field parse errors", "Fields of the device answer that failed to parse in the probe (antspace_probe_field_errors). Non-zero means a firmware sends a type the exporter does not understand; the other fields are still exported.", "none", 12, 8,
			query(s.sel("antspace_probe_field_errors"), "{{container}}")),
	)
	l.add(
		table("Unknown device fields", "Numeric fields the device sent that the exporter does not know (antspace_unknown_field_value{field}). Empty is normal; rows here point to firmware changes worth adding to the exporter.", "none", 24, 8,
			tableQuery(s.sel("antspace_unknown_field_value"))).
			columns(
				col("container", "Container", labelChars),
				col("field", "Field", faultChars),
				col("Value", "Last value", valueChars),
			),
	)
}
