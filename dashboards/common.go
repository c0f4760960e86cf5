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

var (
	fleetScope     = scope{base: `site=~"$site",container=~"$container"`}
	hk3Scope       = scope{base: `type="hk3",site=~"$site",container=~"$container"`}
	immersionScope = scope{base: `type="immersion",site=~"$site",container=~"$container"`}
)

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

func variables(containerQuery string) []Variable {
	return []Variable{
		datasourceVariable(),
		labelVariable("site", "Site", "Inventory site label of the containers.", `label_values(antspace_up, site)`, ".*"),
		labelVariable("container", "Container", "Inventory name of the container.", containerQuery, ".+"),
	}
}

// dashLink links to another dashboard by UID URL, keeping time range and
// variables (datasource, site, container).
func dashLink(title, uid, tooltip string) Link {
	return Link{
		AsDropdown:  boolp(false),
		Icon:        "dashboard",
		IncludeVars: boolp(true),
		KeepTime:    boolp(true),
		TargetBlank: boolp(false),
		Title:       title,
		Tooltip:     tooltip,
		Type:        "link",
		URL:         "/d/" + uid,
	}
}

func allLinks() []Link {
	return []Link{
		dashLink("Fleet overview", FleetUID, "All containers at a glance"),
		dashLink("HK3 container", HK3UID, "One or more HK3 (cooling tower) containers in depth"),
		dashLink("Immersion container", ImmersionUID, "One or more immersion (dry cooler) containers in depth"),
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

// statusStats are the header stats both container dashboards start with.
func reachabilityStats(s scope) []*Panel {
	return []*Panel{
		stat("Reachable", "antspace_up: 1 when the exporter read and parsed the container's coolerState in the last probe, 0 when the controller did not answer or answered garbage.", "none", 3, 4,
			instant(s.sel("antspace_up"), "{{container}}")).mappings(upMapping).thresholds(nonZeroGoodThresholds),
		stat("PLC link", "antspace_plc_disconnected (device field `disconnect`): the controller lost its link to the PLC; telemetry is stale while disconnected.", "none", 3, 4,
			instant(s.sel("antspace_plc_disconnected"), "{{container}}")).mappings(plcMapping).thresholds(zeroGoodThresholds),
	}
}

// controlTimeline shows PID mode, running mode and the PLC link over time.
func controlTimeline(s scope, w, h int) *Panel {
	return stateTimeline("Control mode and PLC link",
		"PID mode (antspace_pid_mode_enabled: the PID loop drives the supply setpoint), running mode (antspace_running_mode_enabled) and the controller's PLC link (antspace_plc_disconnected).",
		enabledMapping, w, h,
		query(s.sel("antspace_pid_mode_enabled"), "{{container}} PID mode"),
		query(s.sel("antspace_running_mode_enabled"), "{{container}} running mode"),
		query(s.sel("antspace_plc_disconnected"), "{{container}} PLC link"),
	).override("byRegexp", ".* PLC link", prop("mappings", plcMapping))
}

func faultTimeline(s scope, h int) *Panel {
	return stateTimeline("Faults",
		"Every fault flag the container type has (antspace_fault_active{fault,component}), one row per flag: green while clear, red while active. Faults the device latches stay red until reset.",
		faultMapping, 24, h,
		query(s.sel("antspace_fault_active"), "{{container}} {{fault}} ({{component}})"),
	)
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
		stat("Mean chip temperature", "Mean miner chip temperature in the container (minerInfo chip_temp_mean).", "celsius", 4, 4,
			instant(s.sel("antspace_miners_temperature_celsius", `sensor="chip_mean"`), "{{container}}")),
		stat("minerInfo read", "antspace_miner_info_success: 1 when the last probe read and parsed minerInfo. The cooling metrics are still valid when this fails.", "none", 4, 4,
			instant(s.sel("antspace_miner_info_success"), "{{container}}")).mappings(successMapping).thresholds(nonZeroGoodThresholds),
	)
	l.add(
		timeseries("Total hash rate", "Container hash rate over time (antspace_hashrate_hashes_per_second).", "Hs", 12, 8,
			query(s.sel("antspace_hashrate_hashes_per_second"), "{{container}}")),
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
	p.transform("organize", map[string]any{
		"excludeByName": map[string]any{"Time": true},
		"indexByName": map[string]any{
			"container": 0, "miner": 1, "model": 2, "firmware": 3,
			"Value #A": 4, "Value #B": 5, "Value #C": 6, "Value #D": 7, "Value #E": 8,
		},
		"renameByName": map[string]any{},
	})
	p.override("byName", "Value #A", prop("displayName", "Hash rate (5 s)"), prop("unit", "Hs"))
	p.override("byName", "Value #B", prop("displayName", "Hash rate (average)"), prop("unit", "Hs"))
	p.override("byName", "Value #C", prop("displayName", "PCB max"), prop("unit", "celsius"))
	p.override("byName", "Value #D", prop("displayName", "Chip max"), prop("unit", "celsius"))
	p.override("byName", "Value #E", prop("displayName", "Uptime"), prop("unit", "s"))
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
			query(s.sel("antspace_probe_field_errors"), "{{container}}")).decimals(0),
	)
	l.add(
		table("Unknown device fields", "Numeric fields the device sent that the exporter does not know (antspace_unknown_field_value{field}). Empty is normal; rows here point to firmware changes worth adding to the exporter.", "none", 24, 8,
			tableQuery(s.sel("antspace_unknown_field_value"))).
			transform("organize", map[string]any{"excludeByName": map[string]any{"Time": true, "__name__": true, "job": true}, "indexByName": map[string]any{}, "renameByName": map[string]any{"Value": "Last value"}}),
	)
}
