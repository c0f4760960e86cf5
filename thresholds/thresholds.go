// Package thresholds is the one table of every numeric limit an alert rule
// compares against: its name, container type, default and unit. The rule
// generator (package rules), the site configuration (cmd/antspace_mixin), the
// inventory (per-module and per-container overrides, exposed by /probe as
// antspace_alert_threshold{name}) and docs/alerting.md all use it.
//
// Names have the form <type>_<quantity>_<low|high>_<unit>: a reading below a
// "low" limit or above a "high" limit alerts.
package thresholds

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Threshold is one named limit.
type Threshold struct {
	Name    string
	Type    string  // container type: hk3 or immersion
	Default float64 // site default when the site configuration sets none
	Unit    string  // unit of the value, as in the name
	Help    string
	Alerts  []string // the alerts that compare against it
	// PerContainer: inventory modules and containers may override it (the
	// rules compare against antspace_alert_threshold of the container).
	// Limits about a whole site (peer counts) are site-wide only.
	PerContainer bool
}

// Bound is "low" or "high", taken from the name.
func (t Threshold) Bound() string {
	if strings.Contains(t.Name, "_high_") {
		return "high"
	}
	return "low"
}

// NameRE is the form every threshold name has.
var NameRE = regexp.MustCompile(`^(hk3|immersion)_[a-z0-9_]+_(low|high)_[a-z0-9_]+$`)

var all = []Threshold{
	{Name: "hk3_supply_liquid_temp_low_celsius", Type: "hk3", Default: 20, Unit: "°C", PerContainer: true,
		Help:   "Supply liquid below this is too cold (MiningOS alert configuration; 0 °C included).",
		Alerts: []string{"AntspaceHK3SupplyLiquidTempLow"}},
	{Name: "hk3_supply_liquid_temp_high_celsius", Type: "hk3", Default: 40, Unit: "°C", PerContainer: true,
		Help:   "The supply temperature the rising-trend alert predicts a crossing of (MiningOS display: red from 40 °C).",
		Alerts: []string{"AntspaceHK3SupplyLiquidTempRising"}},
	{Name: "hk3_supply_liquid_pressure_low_bar", Type: "hk3", Default: 2, Unit: "bar", PerContainer: true,
		Help:   "Supply pressure below this is out of range (MiningOS display, red zone).",
		Alerts: []string{"AntspaceHK3SupplyPressureOutOfRange"}},
	{Name: "hk3_supply_liquid_pressure_high_bar", Type: "hk3", Default: 4, Unit: "bar", PerContainer: true,
		Help:   "Supply pressure at or above this is out of range (MiningOS display, red zone).",
		Alerts: []string{"AntspaceHK3SupplyPressureOutOfRange"}},
	{Name: "hk3_supply_liquid_temp_above_peers_high_celsius", Type: "hk3", Default: 5, Unit: "°C", PerContainer: true,
		Help:   "How far a container's supply temperature may exceed the median of its site's running HK3 containers.",
		Alerts: []string{"AntspaceHK3HotterThanPeers"}},
	{Name: "hk3_site_peers_low_containers", Type: "hk3", Default: 3, Unit: "containers",
		Help:   "The peer comparison stays silent at a site with fewer running, reporting HK3 containers than this (the container itself included).",
		Alerts: []string{"AntspaceHK3HotterThanPeers"}},
	{Name: "immersion_oil_supply_temp_low_celsius", Type: "immersion", Default: 33, Unit: "°C", PerContainer: true,
		Help:   "Oil supply (secondary_supply1/2) below this is too cold (MiningOS display, red zone).",
		Alerts: []string{"AntspaceImmersionOilTempLow"}},
	{Name: "immersion_oil_supply_temp_high_celsius", Type: "immersion", Default: 48, Unit: "°C", PerContainer: true,
		Help:   "Oil supply at or above this is too hot (MiningOS display, red zone); also the limit the rising-trend alert predicts.",
		Alerts: []string{"AntspaceImmersionOilTempHigh", "AntspaceImmersionOilTempRising"}},
	{Name: "immersion_oil_supply_temp_above_peers_high_celsius", Type: "immersion", Default: 5, Unit: "°C", PerContainer: true,
		Help:   "How far a container's oil supply temperature may exceed the median of its site's running immersion containers.",
		Alerts: []string{"AntspaceImmersionHotterThanPeers"}},
	{Name: "immersion_site_peers_low_containers", Type: "immersion", Default: 3, Unit: "containers",
		Help:   "The peer comparison stays silent at a site with fewer running, reporting immersion containers than this (the container itself included).",
		Alerts: []string{"AntspaceImmersionHotterThanPeers"}},
	{Name: "immersion_tank_level_fall_rate_high_centimeters_per_hour", Type: "immersion", Default: 1, Unit: "cm/h", PerContainer: true,
		Help:   "A tank level falling steadily faster than this (linear fit over 1 h) is a leak in progress.",
		Alerts: []string{"AntspaceImmersionTankLevelFalling"}},
}

// All returns every threshold, sorted by name.
func All() []Threshold {
	out := append([]Threshold(nil), all...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a threshold by name.
func Lookup(name string) (Threshold, bool) {
	for _, t := range all {
		if t.Name == name {
			return t, true
		}
	}
	return Threshold{}, false
}

// Defaults maps every threshold name to its default.
func Defaults() map[string]float64 {
	m := make(map[string]float64, len(all))
	for _, t := range all {
		m[t.Name] = t.Default
	}
	return m
}

// Names lists the threshold names, sorted.
func Names() []string {
	out := make([]string, 0, len(all))
	for _, t := range all {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}

// ValidateOverride checks one inventory override: a known name that may be
// set per container, for containers of type containerType ("" or "auto":
// any type), with a finite value.
func ValidateOverride(name string, value float64, containerType string) error {
	t, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("unknown threshold %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if !t.PerContainer {
		return fmt.Errorf("threshold %q is site-wide; set it in the site configuration of cmd/antspace_mixin, not in the inventory", name)
	}
	if containerType != "" && containerType != "auto" && containerType != t.Type {
		return fmt.Errorf("threshold %q is for %s containers, this is %s", name, t.Type, containerType)
	}
	if value != value || value > 1e15 || value < -1e15 {
		return fmt.Errorf("threshold %q: value %v is not a finite number", name, value)
	}
	return nil
}
