package collector

import (
	"fmt"
	"sort"

	dto "github.com/prometheus/client_model/go"
)

// Type is a container type.
type Type string

// The container types the controller protocol knows.
const (
	TypeHK3       Type = "hk3"       // cooling towers
	TypeImmersion Type = "immersion" // dry coolers
)

// Types lists the container types in a stable order.
var Types = []Type{TypeHK3, TypeImmersion}

// ParseType accepts a container type name.
func ParseType(s string) (Type, error) {
	switch Type(s) {
	case TypeHK3, TypeImmersion:
		return Type(s), nil
	}
	return "", fmt.Errorf("unknown container type %q (want hk3 or immersion)", s)
}

type valueKind int

const (
	kindNumber valueKind = iota
	kindBool
)

// field maps one device field to a metric: labels, kind and the default factor
// that converts the device unit into the metric's base unit.
type field struct {
	field    string
	metric   *metric
	labels   []string
	kind     valueKind
	scale    float64
	optional bool // only some firmware sends it; absent is not an error

	// Set by init (sample.go): the field's label pairs (for a per-miner
	// field, without the miner's) and where the miner's sorts among them;
	// fields, not maps, so a probe's series cost no map look-up each.
	pairs   []*dto.LabelPair
	minerAt int
	text    int32 // the series' text up to its value: seriesTexts[text-1] (WriteText)
}

func num(name string, m *metric, scale float64, labels ...string) field {
	return field{field: name, metric: m, labels: labels, kind: kindNumber, scale: scale}
}

func flag(name string, m *metric, labels ...string) field {
	return field{field: name, metric: m, labels: labels, kind: kindBool, scale: 1}
}

func optional(f field) field {
	f.optional = true
	return f
}

// Unit conversions from the device's units to base units.
const (
	celsius       = 1.0
	percent       = 0.01       // % -> ratio
	megapascal    = 1e6        // MPa -> Pa
	perHour       = 1.0 / 3600 // m³/h -> m³/s
	kilowatt      = 1e3        // kW -> W (see docs/metrics.md on the doubtful power scales)
	kilowattHour  = 3.6e6      // kWh -> J
	centimeter    = 0.01       // cm -> m
	deciVolt      = 0.1        // 0.1 V -> V
	unity         = 1.0        // already in base units
	terahashPerS  = 1e12       // TH/s -> H/s
	directionLong = "longitude_direction"
	directionLat  = "latitude_direction"
)

// schema is the field list of one container type.
type schema struct {
	fields  []field
	byName  map[string]*field
	special map[string]bool // consumed outside the table (info labels)
	markers []string        // fields whose presence identifies the type
}

func newSchema(markers []string, fields ...field) *schema {
	s := &schema{
		fields:  fields,
		byName:  make(map[string]*field, len(fields)),
		special: map[string]bool{directionLong: true, directionLat: true},
		markers: markers,
	}
	for i := range s.fields {
		f := &s.fields[i]
		if _, dup := s.byName[f.field]; dup {
			panic("collector: duplicate field " + f.field)
		}
		if len(f.labels) != len(f.metric.labels) {
			panic("collector: label count mismatch for field " + f.field)
		}
		s.byName[f.field] = f
	}
	return s
}

var schemas = map[Type]*schema{
	TypeHK3: newSchema(
		[]string{"colding_tower_inlet_temp", "supply_liquid_pressure", "cooling_tower_fan1", "antbox_internal_temp"},
		num("supply_liquid_temp", metricTemperature, celsius, "supply_liquid"),
		num("return_liquid_temp", metricTemperature, celsius, "return_liquid"),
		num("colding_tower_inlet_temp", metricTemperature, celsius, "cooling_tower_inlet"),
		num("antbox_internal_temp", metricTemperature, celsius, "antbox_internal"),
		num("supply_liquid_set_temp", metricSetpoint, celsius),
		num("antbox_internal_humidity", metricHumidity, percent, "antbox_internal"),
		num("supply_liquid_pressure", metricPressure, megapascal, "supply_liquid"),
		num("return_liquid_pressure", metricPressure, megapascal, "return_liquid"),
		num("supply_liquid_flow", metricFlow, perHour, "supply_liquid"),
		num("distribution_box1_power", metricPower, kilowatt, "distribution_box1"),
		num("distribution_box2_power", metricPower, kilowatt, "distribution_box2"),
		optional(num("power_a_distribution", metricEnergy, kilowattHour, "distribution_a")),
		optional(num("power_b_distribution", metricEnergy, kilowattHour, "distribution_b")),
		num("longitude", metricPosition, unity, "longitude"),
		num("latitude", metricPosition, unity, "latitude"),

		flag("circulating_pump", metricRunning, "circulating_pump"),
		flag("fan1", metricRunning, "fan1"),
		flag("fan2", metricRunning, "fan2"),
		flag("spray_pump", metricRunning, "spray_pump"),
		flag("fluid_infusion_pump", metricRunning, "fluid_infusion_pump"),
		flag("cooling_tower_fan1", metricRunning, "cooling_tower_fan1"),
		flag("cooling_tower_fan2", metricRunning, "cooling_tower_fan2"),
		flag("cooling_tower_fan3", metricRunning, "cooling_tower_fan3"),
		flag("running_mode", metricRunningMode),
		flag("pid_mode", metricPIDMode),
		flag("disconnect", metricPLCDisconnected),

		flag("power_fault", metricFault, "power_fault", "power_supply"),
		flag("liquid_level_low", metricFault, "liquid_level_low", "tank"),
		flag("circulating_pump_fault", metricFault, "circulating_pump_fault", "circulating_pump"),
		flag("fan1_fault", metricFault, "fan_fault", "fan1"),
		flag("fan2_fault", metricFault, "fan_fault", "fan2"),
		flag("fluid_infusion_pump_fault", metricFault, "fluid_infusion_pump_fault", "fluid_infusion_pump"),
		flag("spray_pump_fault", metricFault, "spray_pump_fault", "spray_pump"),
		flag("cooling_tower_fan1_fault", metricFault, "cooling_tower_fan_fault", "cooling_tower_fan1"),
		flag("cooling_tower_fan2_fault", metricFault, "cooling_tower_fan_fault", "cooling_tower_fan2"),
		flag("cooling_tower_fan3_fault", metricFault, "cooling_tower_fan_fault", "cooling_tower_fan3"),
		flag("leakage_fault", metricFault, "leakage_fault", "container"),
		flag("supply_liquid_temp_high", metricFault, "supply_liquid_temp_high", "supply_liquid"),
		flag("supply_liquid_temp_too_high", metricFault, "supply_liquid_temp_too_high", "supply_liquid"),
		flag("supply_liquid_pressure_high", metricFault, "supply_liquid_pressure_high", "supply_liquid"),
		flag("return_liquid_pressure_low", metricFault, "return_liquid_pressure_low", "return_liquid"),
		flag("supply_liquid_flow_low", metricFault, "supply_liquid_flow_low", "supply_liquid"),
		flag("freezing_alarm", metricFault, "freezing_alarm", "container"),
		flag("cooling_tower_liquid_level_low", metricFault, "cooling_tower_liquid_level_low", "cooling_tower"),
		optional(flag("power_relay_fault", metricFault, "power_relay_fault", "power_relay")),
		optional(flag("liquid_level_high", metricFault, "liquid_level_high", "tank")),
	),
	TypeImmersion: newSchema(
		[]string{"primary_supply_temp", "protocol_version", "tank_a_level", "drycooler_freq"},
		num("protocol_version", metricProtocolVersion, unity),
		num("primary_supply_temp", metricTemperature, celsius, "primary_supply"),
		num("primary_return_temp", metricTemperature, celsius, "primary_return"),
		num("second_supply_temp1", metricTemperature, celsius, "secondary_supply1"),
		num("second_return_temp1", metricTemperature, celsius, "secondary_return1"),
		num("second_supply_temp2", metricTemperature, celsius, "secondary_supply2"),
		num("second_return_temp2", metricTemperature, celsius, "secondary_return2"),
		num("out_temp", metricTemperature, celsius, "outdoor"),
		num("container_temp", metricTemperature, celsius, "container"),
		num("power_distribution_temp", metricTemperature, celsius, "power_distribution"),
		num("supply_liquid_set_temp", metricSetpoint, celsius),
		num("container_humidity", metricHumidity, percent, "container"),
		num("power_distribution_humidity", metricHumidity, percent, "power_distribution"),
		num("tank_a_level", metricTankLevel, centimeter, "a"),
		num("tank_b_level", metricTankLevel, centimeter, "b"),
		num("tank_c_level", metricTankLevel, centimeter, "c"),
		num("tank_d_level", metricTankLevel, centimeter, "d"),
		num("drycooler_freq", metricFrequency, unity, "dry_cooler"),
		num("feedback_fre", metricFrequency, unity, "water_pump_feedback"),
		num("vol_a_distribution", metricVoltage, deciVolt, "a"),
		num("vol_b_distribution", metricVoltage, deciVolt, "b"),
		num("vol_c_distribution", metricVoltage, deciVolt, "c"),
		num("cur_a_distribution", metricCurrent, unity, "a"),
		num("cur_b_distribution", metricCurrent, unity, "b"),
		num("cur_c_distribution", metricCurrent, unity, "c"),
		num("distribution_box_power", metricPower, kilowatt, "distribution_box"),
		num("power_distribution", metricPower, kilowatt, "power_distribution"),
		num("open1", metricValveOpening, percent, "1"),
		num("open2", metricValveOpening, percent, "2"),
		num("longitude", metricPosition, unity, "longitude"),
		num("latitude", metricPosition, unity, "latitude"),

		flag("pump_ready", metricStatusFlag, "pump_ready"),
		flag("pump_operation", metricStatusFlag, "pump_operation"),
		flag("pump_run", metricStatusFlag, "pump_run"),
		flag("pump_start", metricStatusFlag, "pump_start"),
		flag("server_on", metricStatusFlag, "server_on"),
		flag("one_pump", metricRunning, "primary_pump"),
		flag("second_pump1", metricRunning, "secondary_pump1"),
		flag("second_pump2", metricRunning, "secondary_pump2"),
		flag("dry_cooler_freq_run", metricRunning, "dry_cooler_variable_frequency"),
		flag("dry_cooler_power_freq_run", metricRunning, "dry_cooler_power_frequency"),
		flag("container_fan", metricRunning, "container_fan"),
		flag("valve1_open", metricValveSwitch, "1", "open"),
		flag("valve1_close", metricValveSwitch, "1", "closed"),
		flag("valve2_open", metricValveSwitch, "2", "open"),
		flag("valve2_close", metricValveSwitch, "2", "closed"),
		flag("running_mode", metricRunningMode),
		flag("pid_mode", metricPIDMode),
		flag("disconnect", metricPLCDisconnected),

		flag("primary_circulating_pump", metricFault, "circulating_pump_fault", "primary_pump"),
		flag("dry_cooler_power_fre_fault", metricFault, "dry_cooler_power_frequency_fault", "dry_cooler"),
		flag("dry_cooler_fre_conv", metricFault, "dry_cooler_frequency_converter_fault", "dry_cooler"),
		flag("second_pump1_fault", metricFault, "secondary_pump_fault", "secondary_pump1"),
		flag("second_pump2_fault", metricFault, "secondary_pump_fault", "secondary_pump2"),
		flag("fan_fault", metricFault, "fan_fault", "container_fan"),
		flag("phasefailure", metricFault, "phase_failure", "mains"),
		flag("supply_liquid_temp_fault", metricFault, "supply_liquid_temp_fault", "supply_liquid_temp_sensor"),
		flag("return_liquid_temp_fault", metricFault, "return_liquid_temp_fault", "return_liquid_temp_sensor"),
		flag("power_distribution_Fault", metricFault, "power_distribution_fault", "power_distribution_temp_sensor"),
		flag("lever_sensor_fault", metricFault, "level_sensor_fault", "level_sensor"),
		flag("smoke_sensor_fault", metricFault, "smoke_sensor_fault", "smoke_sensor"),
		flag("return_liquid_temp_high", metricFault, "return_liquid_temp_high", "return_liquid"),
		flag("return_liquid_temp_too_high", metricFault, "return_liquid_temp_too_high", "return_liquid"),
		flag("power_distribution_temp_high", metricFault, "power_distribution_temp_high", "power_distribution"),
		flag("lever_high", metricFault, "level_high", "tank"),
		flag("lever_low", metricFault, "level_low", "tank"),
		flag("leakage_fault", metricFault, "leakage_fault", "container"),
		flag("supply_liquid_temp_high", metricFault, "supply_liquid_temp_high", "supply_liquid"),
		flag("supply_liquid_temp_too_high", metricFault, "supply_liquid_temp_too_high", "supply_liquid"),
		flag("pump_alarm", metricFault, "pump_alarm", "pump"),
	),
}

// minerInfo summary fields and per-miner fields.
var minerSummaryFields = []field{
	num("miner_num", metricMiners, unity),
	num("total_hashrate", metricHashrate, terahashPerS),
	num("pcb_max_temp", metricMinersTemperature, celsius, "pcb_max"),
	num("chip_max_temp", metricMinersTemperature, celsius, "chip_max"),
	num("chip_temp_mean", metricMinersTemperature, celsius, "chip_mean"),
}

var minerFields = []field{
	num("GHS_5s", metricMinerHashrate, terahashPerS, "5s"),
	num("GHS_avg", metricMinerHashrate, terahashPerS, "average"),
	num("pcb_max_temp", metricMinerTemperature, celsius, "pcb_max"),
	num("chip_max_temp", metricMinerTemperature, celsius, "chip_max"),
	num("elapsed", metricMinerUptime, unity),
}

// ScalableFields returns, per container type, the device fields whose
// conversion factor a module may override, with their default factors.
// minerInfo fields are listed under the pseudo-type "minerInfo".
func ScalableFields() map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for t, s := range schemas {
		m := map[string]float64{}
		for _, f := range s.fields {
			if f.kind == kindNumber {
				m[f.field] = f.scale
			}
		}
		out[string(t)] = m
	}
	m := map[string]float64{}
	for _, f := range append(append([]field(nil), minerSummaryFields...), minerFields...) {
		if f.metric.unit != "celsius" {
			m[f.field] = f.scale
		}
	}
	out["minerInfo"] = m
	return out
}

// FieldNames returns the device field names of a container type, sorted;
// optional ones are those that only some firmware sends.
func FieldNames(t Type) (required, optionalFields []string) {
	s := schemas[t]
	if s == nil {
		return nil, nil
	}
	for _, f := range s.fields {
		if f.optional {
			optionalFields = append(optionalFields, f.field)
		} else {
			required = append(required, f.field)
		}
	}
	for k := range s.special {
		required = append(required, k)
	}
	sort.Strings(required)
	sort.Strings(optionalFields)
	return required, optionalFields
}

// FaultFields returns the device fields of container type t that report a
// fault (antspace_fault_active), in table order. /control verifies a reset
// against exactly these, so a fault added to the table is verified too.
func FaultFields(t Type) []string {
	s := schemas[t]
	if s == nil {
		return nil
	}
	var out []string
	for _, f := range s.fields {
		if f.metric == metricFault {
			out = append(out, f.field)
		}
	}
	return out
}

// IsFlagField reports whether field is a boolean field of container type t.
func IsFlagField(t Type, field string) bool { return fieldIs(t, field, kindBool) }

// IsNumberField reports whether field is a numeric field of container type t.
func IsNumberField(t Type, field string) bool { return fieldIs(t, field, kindNumber) }

func fieldIs(t Type, field string, k valueKind) bool {
	s := schemas[t]
	if s == nil {
		return false
	}
	f, ok := s.byName[field]
	return ok && f.kind == k
}
