// Package collector turns an Antspace container controller's answers into
// Prometheus metrics. It reads them through a Reader (package device has the
// HTTP one) and decodes them with package payload; it has no network code.
//
// The metric table in this file is the single source of truth for metric
// names, help texts, units and label sets; docs/metrics.md is generated from it.
package collector

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "antspace"

// MetricInfo describes one metric family the exporter can expose.
type MetricInfo struct {
	Name   string
	Help   string
	Type   string // "gauge" or "counter"
	Labels []string
	Unit   string   // base unit, empty for dimensionless values and states
	Source []string // device fields (or exporter internals) the family is built from
	Scope  string   // "probe" (/probe) or "exporter" (/metrics)
}

// metric is one family of device or probe metrics with its precomputed Desc.
type metric struct {
	name      string
	help      string
	unit      string
	valueType prometheus.ValueType
	labels    []string
	desc      *prometheus.Desc

	rank   int    // position of the name among probeMetrics sorted by name (text.go)
	header []byte // its "# HELP" and "# TYPE" lines in the text format (text.go)

	// minerOrdered: only per-miner fields have this metric, and a miner's
	// series of it, added in minerSeriesOrder, sort before the next
	// miner's (the labels before the miner's are the same in all of them),
	// so with miners added in address order the family is sorted (set by
	// init in sample.go; see Result.minersUnordered).
	minerOrdered bool
}

var probeMetrics []*metric

func newMetric(name, unit, help string, labels ...string) *metric {
	m := &metric{
		name:      namespace + "_" + name,
		help:      help,
		unit:      unit,
		valueType: prometheus.GaugeValue,
		labels:    labels,
	}
	m.desc = prometheus.NewDesc(m.name, help, labels, nil)
	probeMetrics = append(probeMetrics, m)
	return m
}

func newCounter(name, unit, help string, labels ...string) *metric {
	m := newMetric(name, unit, help, labels...)
	m.valueType = prometheus.CounterValue
	return m
}

// Probe-level metrics, present on every probe.
var (
	metricUp              = newMetric("up", "", "1 when the container's coolerState was read and parsed, 0 when the probe failed.")
	metricProbeDuration   = newMetric("probe_duration_seconds", "seconds", "How long the probe of the container took.")
	metricProbeTimeout    = newMetric("probe_timeout_seconds", "seconds", "The timeout the probe ran with (scrape timeout minus offset, capped by the module timeout).")
	metricMinerInfoUp     = newMetric("miner_info_success", "", "1 when the container's minerInfo was read and parsed, 0 otherwise.")
	metricControllerOK    = newMetric("controller_ok", "", "The ok flag of the controller's answer to a read operation: 0 when it answered ok:false. What such an answer's params carry is still exported (so a fault it reports is not hidden), and antspace_up stays 1 when they parse.", "operation")
	metricFieldErrors     = newMetric("probe_field_errors", "", "Number of device fields that were missing or could not be parsed in this probe.")
	metricContainerInfo   = newMetric("container_info", "", "Identity of the probed container: type is the detected or configured container type (stored as exported_type when the target carries its own type label, as /sd targets do), module the requested module.", "type", "module", "longitude_direction", "latitude_direction")
	metricUnknownField    = newMetric("unknown_field_value", "", "Numeric or boolean coolerState field this exporter does not know (newer firmware), exported as sent.", "field")
	metricProtocolVersion = newMetric("protocol_version", "", "Protocol version the controller reports (immersion).")
	metricAlertThreshold  = newMetric("alert_threshold", "", "Alert threshold overridden for this container in the inventory (module or container thresholds:); the rules use it instead of the site default. Unit as in the name.", "name")
)

// Cooling telemetry families.
var (
	metricTemperature     = newMetric("temperature_celsius", "celsius", "Temperature measured by the container's sensor.", "sensor")
	metricSetpoint        = newMetric("supply_liquid_setpoint_celsius", "celsius", "Supply-liquid temperature setpoint.")
	metricHumidity        = newMetric("humidity_ratio", "ratio", "Relative humidity (0-1).", "sensor")
	metricPressure        = newMetric("pressure_pascals", "pascals", "Loop pressure (device reports MPa).", "sensor")
	metricFlow            = newMetric("flow_cubic_meters_per_second", "cubic_meters_per_second", "Loop flow (device reports m³/h).", "sensor")
	metricPower           = newMetric("power_watts", "watts", "Electrical power (device scale configurable per module, see docs).", "source")
	metricEnergy          = newCounter("energy_joules_total", "joules", "Cumulative electrical energy (device reports kWh).", "source")
	metricTankLevel       = newMetric("tank_level_meters", "meters", "Liquid level in the tank (device reports cm).", "tank")
	metricFrequency       = newMetric("frequency_hertz", "hertz", "Drive frequency.", "component")
	metricVoltage         = newMetric("voltage_volts", "volts", "Mains voltage per phase (device reports 0.1 V).", "phase")
	metricCurrent         = newMetric("current_amperes", "amperes", "Mains current per phase.", "phase")
	metricValveOpening    = newMetric("valve_opening_ratio", "ratio", "Valve opening (0-1, device reports %).", "valve")
	metricValveSwitch     = newMetric("valve_limit_switch_active", "", "1 when the valve's open or closed limit switch is active.", "valve", "position")
	metricRunning         = newMetric("component_running", "", "1 when the pump, fan or drive is running.", "component")
	metricStatusFlag      = newMetric("status_flag", "", "Controller status flag whose exact meaning the protocol does not document (1 = set).", "flag")
	metricFault           = newMetric("fault_active", "", "1 when the container reports the fault, 0 when clear.", "fault", "component")
	metricPIDMode         = newMetric("pid_mode_enabled", "", "1 when the supply temperature is under PID control.")
	metricRunningMode     = newMetric("running_mode_enabled", "", "Controller running-mode flag as the device reports it (1 = auto/enabled).")
	metricPLCDisconnected = newMetric("plc_disconnected", "", "1 when the controller has lost its link to the PLC (its readings may be stale).")
	metricPosition        = newMetric("position_degrees", "degrees", "Geographic position of the container as configured on the controller.", "axis")
)

// Miner families (minerInfo).
var (
	metricMiners            = newMetric("miners", "", "Number of miners the container reports.")
	metricHashrate          = newMetric("hashrate_hashes_per_second", "hashes_per_second", "Total hash rate of the container's miners (device reports TH/s).")
	metricMinersTemperature = newMetric("miners_temperature_celsius", "celsius", "Summary temperature over all miners.", "sensor")
	metricMinerHashrate     = newMetric("miner_hashrate_hashes_per_second", "hashes_per_second", "Hash rate of one miner over a window (device scale configurable, see docs).", "miner", "window")
	metricMinerTemperature  = newMetric("miner_temperature_celsius", "celsius", "Maximum temperature of one miner's board or chips.", "miner", "sensor")
	metricMinerUptime       = newMetric("miner_uptime_seconds", "seconds", "Time since the miner's software started.", "miner")
	metricMinerInfoIdentity = newMetric("miner_info", "", "Identity of one miner.", "miner", "model", "firmware")
	metricMinersDropped     = newMetric("miners_dropped", "", "Miner entries of the minerInfo answer beyond the module's max_miners (default 1000), not exported; 0 when every miner is. Present when minerInfo's params were read.")
)

// Exporter self-metrics (served on /metrics). Declared here so the one table
// covers every name the project uses; the exporter registers them.
var exporterMetrics = []MetricInfo{
	{Name: "antspace_exporter_build_info", Type: "gauge", Labels: []string{"version", "revision", "branch", "goversion", "goos", "goarch", "tags"}, Help: "A metric with a constant '1' value labeled by version, revision, branch, goversion from which antspace_exporter was built, and the goos and goarch for the build."},
	{Name: "antspace_exporter_probes_total", Type: "counter", Labels: []string{"module", "result"}, Help: "Probes served, by module and result (success, failure)."},
	{Name: "antspace_exporter_upstream_requests_total", Type: "counter", Labels: []string{"operation", "result"}, Help: "Requests sent to container controllers, by operation and result."},
	{Name: "antspace_exporter_upstream_reads_shared_total", Type: "counter", Labels: []string{"operation"}, Help: "Reads answered from another probe's device read of the same container (in flight, or finished within --upstream.coalesce-window), by operation."},
	{Name: "antspace_exporter_config_last_reload_successful", Type: "gauge", Help: "1 when the last inventory reload succeeded."},
	{Name: "antspace_exporter_config_last_reload_success_timestamp_seconds", Type: "gauge", Unit: "seconds", Help: "Time of the last successful inventory reload."},
	{Name: "antspace_exporter_config_containers", Type: "gauge", Help: "Containers in the loaded inventory."},
	{Name: "antspace_exporter_control_requests_total", Type: "counter", Labels: []string{"action", "result"}, Help: "Requests to /control, by action and result."},
}

// ExporterMetric returns the table entry of an exporter self-metric so the
// code registering it shares name and help with the docs.
func ExporterMetric(name string) MetricInfo {
	for _, m := range exporterMetrics {
		if m.Name == name {
			return m
		}
	}
	panic("collector: exporter metric not in table: " + name)
}

// Metrics returns every metric family the exporter can expose, sorted by name.
func Metrics() []MetricInfo {
	sources := fieldSources()
	out := make([]MetricInfo, 0, len(probeMetrics)+len(exporterMetrics))
	for _, m := range probeMetrics {
		typ := "gauge"
		if m.valueType == prometheus.CounterValue {
			typ = "counter"
		}
		out = append(out, MetricInfo{
			Name: m.name, Help: m.help, Type: typ, Unit: m.unit,
			Labels: append([]string(nil), m.labels...),
			Source: sources[m], Scope: "probe",
		})
	}
	for _, m := range exporterMetrics {
		m.Scope = "exporter"
		m.Labels = append([]string(nil), m.Labels...)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// fieldSources lists, per family, the device fields that feed it.
func fieldSources() map[*metric][]string {
	src := map[*metric][]string{}
	seen := map[*metric]map[string]bool{}
	add := func(m *metric, f string) {
		if seen[m] == nil {
			seen[m] = map[string]bool{}
		}
		if !seen[m][f] {
			seen[m][f] = true
			src[m] = append(src[m], f)
		}
	}
	for _, t := range []Type{TypeHK3, TypeImmersion} {
		for _, f := range schemas[t].fields {
			add(f.metric, string(t)+"."+f.field)
		}
	}
	for _, f := range minerSummaryFields {
		add(f.metric, "minerInfo."+f.field)
	}
	for _, f := range minerFields {
		add(f.metric, "minerInfo.miner_info[ip]."+f.field)
	}
	add(metricMinerInfoIdentity, "minerInfo.miner_info[ip].miner_type")
	add(metricMinerInfoIdentity, "minerInfo.miner_info[ip].miner_version")
	for _, m := range src {
		sort.Strings(m)
	}
	return src
}
