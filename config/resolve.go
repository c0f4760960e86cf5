package config

import (
	"fmt"
	"maps"
	"strings"

	"github.com/antspace-exporter/antspace_exporter/collector"
)

// Target is what a probe request resolved to.
type Target struct {
	Address    string
	ModuleName string
	Module     *Module
	Container  *Container // nil for an ad-hoc host:port target
}

// Resolve maps a probe request's target and optional module to an address
// (normalised, see NormalizeAddress) and module. Only the inventory's names
// and addresses are accepted unless open is set: open is a start-up choice
// (the exporter runs without an inventory file, or with
// --probe.allow-any-target), never the result of what a file lists, so an
// inventory that empties cannot open /probe to every address.
// The error text is meant for the HTTP client: it says what to fix.
func (c *Config) Resolve(target, module string, open bool) (*Target, error) {
	t := &Target{}
	if ct, ok := c.Lookup(target); ok {
		t.Address, t.Container, t.ModuleName = ct.Address, ct, ct.ModuleName()
	} else {
		if !open {
			return nil, fmt.Errorf("target %q is not in the inventory; use a container name or address from the inventory (see /sd), or start the exporter with --probe.allow-any-target", target)
		}
		addr, err := NormalizeAddress(target)
		if err != nil {
			return nil, fmt.Errorf("target %q is neither an inventory name nor host:port: %w", target, err)
		}
		t.Address, t.ModuleName = addr, ModuleAuto
	}
	if module != "" {
		m, ok := c.Modules[module]
		if !ok {
			return nil, fmt.Errorf("unknown module %q; known modules: %s", module, strings.Join(c.ModuleNames(), ", "))
		}
		if t.Container != nil && m.Type != ModuleAuto && m.Type != t.Container.Type {
			return nil, fmt.Errorf("module %q is for %s containers but %q is %s in the inventory", module, m.Type, target, t.Container.Type)
		}
		t.ModuleName = module
	}
	t.Module = c.Modules[t.ModuleName]
	return t, nil
}

// Settings are the collector settings of a resolved target: its module's,
// with the alert thresholds of the module and the container merged
// (container over module).
func (t *Target) Settings() collector.Settings {
	s := t.Module.Settings(t.ModuleName)
	var ct map[string]float64
	if t.Container != nil {
		ct = t.Container.Thresholds
	}
	if len(t.Module.Thresholds)+len(ct) > 0 {
		s.Thresholds = make(map[string]float64, len(t.Module.Thresholds)+len(ct))
		maps.Copy(s.Thresholds, t.Module.Thresholds)
		maps.Copy(s.Thresholds, ct)
	}
	return s
}
