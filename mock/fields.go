package mock

import "slices"

// FieldSet lists the coolerState fields a container type sends, in the device's own spelling.
type FieldSet struct {
	Numbers []string // numeric fields
	States  []string // boolean running-state fields
	Faults  []string // boolean fault/alarm flags (SetAllFaults sets all of these)
	// OptionalFaults are fault flags some real units send; the mock sends them only once they
	// have been set through SetFault or Set.
	OptionalFaults []string
}

// All returns every field name that is always sent.
func (f FieldSet) All() []string {
	return slices.Concat(f.Numbers, f.States, f.Faults)
}

var hk3Fields = FieldSet{
	Numbers: []string{
		"supply_liquid_temp", "return_liquid_temp", "supply_liquid_set_temp", "colding_tower_inlet_temp",
		"antbox_internal_temp", "antbox_internal_humidity", "supply_liquid_pressure", "return_liquid_pressure",
		"supply_liquid_flow", "distribution_box1_power", "distribution_box2_power",
		"longitude", "latitude", "longitude_direction", "latitude_direction",
	},
	States: []string{
		"circulating_pump", "fan1", "fan2", "spray_pump", "fluid_infusion_pump",
		"cooling_tower_fan1", "cooling_tower_fan2", "cooling_tower_fan3", "running_mode", "pid_mode", "disconnect",
	},
	Faults: []string{
		"power_fault", "liquid_level_low", "circulating_pump_fault", "fan1_fault", "fan2_fault",
		"fluid_infusion_pump_fault", "spray_pump_fault", "cooling_tower_fan1_fault", "cooling_tower_fan2_fault",
		"cooling_tower_fan3_fault", "leakage_fault", "supply_liquid_temp_high", "supply_liquid_temp_too_high",
		"supply_liquid_pressure_high", "return_liquid_pressure_low", "supply_liquid_flow_low", "freezing_alarm",
		"cooling_tower_liquid_level_low",
	},
	OptionalFaults: []string{"power_relay_fault", "liquid_level_high"},
}

var immersionFields = FieldSet{
	Numbers: []string{
		"protocol_version",
		"primary_supply_temp", "primary_return_temp", "second_supply_temp1", "second_return_temp1",
		"second_supply_temp2", "second_return_temp2", "out_temp", "container_temp", "power_distribution_temp",
		"supply_liquid_set_temp", "container_humidity", "power_distribution_humidity",
		"tank_a_level", "tank_b_level", "tank_c_level", "tank_d_level", "drycooler_freq", "feedback_fre",
		"vol_a_distribution", "vol_b_distribution", "vol_c_distribution",
		"cur_a_distribution", "cur_b_distribution", "cur_c_distribution",
		"distribution_box_power", "power_distribution", "open1", "open2",
		"longitude", "latitude", "longitude_direction", "latitude_direction",
	},
	States: []string{
		"pump_ready", "pump_operation", "pump_run", "pump_start", "server_on", "one_pump", "second_pump1",
		"second_pump2", "dry_cooler_freq_run", "dry_cooler_power_freq_run", "container_fan",
		"valve1_open", "valve1_close", "valve2_open", "valve2_close", "running_mode", "pid_mode", "disconnect",
	},
	Faults: []string{
		"primary_circulating_pump", "dry_cooler_power_fre_fault", "dry_cooler_fre_conv", "second_pump1_fault",
		"second_pump2_fault", "fan_fault", "phasefailure", "supply_liquid_temp_fault", "return_liquid_temp_fault",
		"power_distribution_Fault", "lever_sensor_fault", "smoke_sensor_fault", "return_liquid_temp_high",
		"return_liquid_temp_too_high", "power_distribution_temp_high", "lever_high", "lever_low", "leakage_fault",
		"supply_liquid_temp_high", "supply_liquid_temp_too_high", "pump_alarm",
	},
}

// Fields returns the coolerState field set of a container type (a copy).
func Fields(t Type) FieldSet {
	var f FieldSet
	switch t {
	case HK3:
		f = hk3Fields
	case Immersion:
		f = immersionFields
	default:
		return FieldSet{}
	}
	return FieldSet{
		Numbers:        slices.Clone(f.Numbers),
		States:         slices.Clone(f.States),
		Faults:         slices.Clone(f.Faults),
		OptionalFaults: slices.Clone(f.OptionalFaults),
	}
}

func isFault(t Type, field string) bool {
	f := hk3Fields
	if t == Immersion {
		f = immersionFields
	}
	return slices.Contains(f.Faults, field) || slices.Contains(f.OptionalFaults, field)
}

// Field names of the unknown fields added by the ExtraFields misbehaviour.
const (
	ExtraNumberField = "mock_extra_number"
	ExtraBoolField   = "mock_extra_bool"
	ExtraStringField = "mock_extra_string"
)
