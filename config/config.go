// Package config loads and validates the exporter's inventory file: the
// containers to probe, their labels, and per-module probe settings.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/thresholds"
)

// ModuleAuto detects the container type from the payload.
const ModuleAuto = "auto"

// DefaultTimeout is a module's probe timeout when the file sets none. The
// scrape timeout still caps it.
const DefaultTimeout = 10 * time.Second

// Config is the whole inventory file.
type Config struct {
	Modules    map[string]*Module `yaml:"modules,omitempty"`
	Containers []*Container       `yaml:"containers,omitempty"`
	Control    *Control           `yaml:"control,omitempty"`

	byName    map[string]*Container
	byAddress map[string]*Container
}

// Module holds the probe settings shared by containers of one kind.
type Module struct {
	// Type is hk3, immersion or auto; for the modules named like a type it
	// defaults to that name.
	Type    string         `yaml:"type,omitempty"`
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// Scales overrides the factor that converts a device field to base
	// units, keyed by device field name (e.g. distribution_box_power: 1000).
	Scales map[string]float64 `yaml:"scales,omitempty"`
	// MaxBodyBytes bounds one controller answer.
	MaxBodyBytes int64 `yaml:"max_body_bytes,omitempty"`
	// MinerInfo turns the minerInfo read off when false.
	MinerInfo *bool `yaml:"miner_info,omitempty"`
	// Thresholds overrides alert thresholds (package thresholds) for the
	// module's containers; /probe exposes them as antspace_alert_threshold.
	Thresholds map[string]float64 `yaml:"thresholds,omitempty"`
	// MaxMiners bounds the miners one probe exports (the rest are counted
	// in antspace_miners_dropped); 0 means collector.DefaultMaxMiners.
	MaxMiners int `yaml:"max_miners,omitempty"`

	line int // where the module is defined, for validation messages
}

// Container is one inventory entry.
type Container struct {
	Name    string            `yaml:"name"`
	Address string            `yaml:"address"`
	Type    string            `yaml:"type"`
	Module  string            `yaml:"module,omitempty"`
	Labels  map[string]string `yaml:"labels,omitempty"`
	// Thresholds overrides alert thresholds for this container (over its
	// module's and the site's).
	Thresholds map[string]float64 `yaml:"thresholds,omitempty"`

	line int
}

// UnmarshalYAML records the entry's line for validation messages.
func (c *Container) UnmarshalYAML(n *yaml.Node) error {
	type plain Container
	keyErr := checkKeys(n, (*plain)(c), "Container")
	err := n.Decode((*plain)(c))
	c.line = n.Line
	return joinTypeErrors(keyErr, err)
}

// UnmarshalYAML rejects unknown keys inside a module too.
func (m *Module) UnmarshalYAML(n *yaml.Node) error {
	type plain Module
	keyErr := checkKeys(n, (*plain)(m), "Module")
	err := n.Decode((*plain)(m))
	m.line = n.Line
	return joinTypeErrors(keyErr, err)
}

// ModuleName is the module a container is probed with.
func (c *Container) ModuleName() string {
	if c.Module != "" {
		return c.Module
	}
	return c.Type
}

// Defaults returns the built-in modules.
func Defaults() map[string]*Module {
	return map[string]*Module{
		string(collector.TypeHK3):       {Type: string(collector.TypeHK3), Timeout: model.Duration(DefaultTimeout), MaxMiners: collector.DefaultMaxMiners},
		string(collector.TypeImmersion): {Type: string(collector.TypeImmersion), Timeout: model.Duration(DefaultTimeout), MaxMiners: collector.DefaultMaxMiners},
		ModuleAuto:                      {Type: ModuleAuto, Timeout: model.Duration(DefaultTimeout), MaxMiners: collector.DefaultMaxMiners},
	}
}

// Empty is the configuration without an inventory file.
func Empty() *Config {
	c := &Config{}
	if err := c.validate(); err != nil {
		panic(err) // the built-in modules are valid
	}
	return c
}

// Load reads and validates an inventory file and the files it names
// (relative to its directory).
func Load(path string) (*Config, error) {
	f, err := os.Open(filepath.Clean(path)) // the operator names the file
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose on close
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > maxInventoryBytes {
		return nil, fmt.Errorf("%s: %w", path, errTooLarge())
	}
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.SetDirectory(filepath.Dir(path))
	if err := c.LoadFiles(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// MaxInventoryBytes bounds an inventory file. A larger one is an error, never
// read in part: a truncated file could silently drop containers.
const MaxInventoryBytes = 64 << 20

// maxInventoryBytes is MaxInventoryBytes; tests lower it.
var maxInventoryBytes int64 = MaxInventoryBytes

func errTooLarge() error {
	return fmt.Errorf("inventory larger than %s; refusing to read part of it", byteSize(maxInventoryBytes))
}

func byteSize(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Parse decodes an inventory strictly: unknown keys, duplicate entries and
// invalid values are errors that name the line. It reads nothing but r: the
// files the inventory names are read by LoadFiles (see Load).
func Parse(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInventoryBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxInventoryBytes {
		return nil, errTooLarge()
	}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs ErrorList
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var root yaml.Node
		_ = yaml.Unmarshal(data, &root)
		decodeErrs, complete := decodeErrors(err, &root)
		if !complete {
			return nil, decodeErrs
		}
		errs = decodeErrs
	}
	// Validation runs even after type errors so one run shows everything.
	if err := c.validate(); err != nil {
		if list, ok := errors.AsType[ErrorList](err); ok {
			errs = append(errs, list...)
		} else {
			errs = append(errs, err)
		}
		addSectionLines(errs, data)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Labels the exporter sets itself on discovered targets.
var reservedLabels = map[string]bool{"container": true, "type": true, "instance": true, "job": true, "module": true}

// validate checks the whole file and returns every problem it finds (an
// ErrorList), containers in file order.
func (c *Config) validate() error {
	var errs ErrorList
	modules := Defaults()
	for _, name := range slices.Sorted(maps.Keys(c.Modules)) {
		m := c.Modules[name]
		if err := validateModule(modules, name, m); err != nil {
			if m != nil && m.line > 0 {
				err = fmt.Errorf("line %d: %w", m.line, err)
			}
			errs = append(errs, err)
		}
	}
	c.Modules = modules
	if err := c.Control.validate(); err != nil {
		errs = append(errs, &sectionError{key: "control", err: err})
	}

	c.byName = make(map[string]*Container, len(c.Containers))
	c.byAddress = make(map[string]*Container, len(c.Containers))
	for i, ct := range c.Containers {
		if err := c.validateContainer(i, ct); err != nil {
			errs = append(errs, err)
		}
	}
	// Lookup tries names first: a name that is another container's address
	// would send a write meant for that address to the named container.
	for _, ct := range c.Containers {
		if ct == nil {
			continue
		}
		addr, err := NormalizeAddress(ct.Name)
		if err != nil {
			continue // not an address
		}
		if other, ok := c.byAddress[addr]; ok && other != ct {
			errs = append(errs, fmt.Errorf("container %q (line %d): the name is the address of container %q (line %d); a target would be ambiguous", ct.Name, ct.line, other.Name, other.line))
		}
	}
	return errs.err()
}

func validateModule(modules map[string]*Module, name string, m *Module) error {
	if m == nil {
		m = &Module{}
	}
	if name == "" {
		return errors.New("modules: empty module name")
	}
	if m.Type == "" {
		if _, builtin := modules[name]; !builtin {
			return fmt.Errorf("modules.%s: type is required (hk3, immersion or auto)", name)
		}
		m.Type = modules[name].Type
	}
	if m.Type != ModuleAuto {
		if _, err := collector.ParseType(m.Type); err != nil {
			return fmt.Errorf("modules.%s: %w", name, err)
		}
	}
	if m.Timeout < 0 {
		return fmt.Errorf("modules.%s: timeout must not be negative", name)
	}
	if m.Timeout == 0 {
		m.Timeout = model.Duration(DefaultTimeout)
	}
	if m.MaxBodyBytes < 0 {
		return fmt.Errorf("modules.%s: max_body_bytes must not be negative", name)
	}
	if m.MaxMiners < 0 {
		return fmt.Errorf("modules.%s: max_miners must not be negative", name)
	}
	if m.MaxMiners == 0 {
		m.MaxMiners = collector.DefaultMaxMiners
	}
	if err := validateScales(name, m); err != nil {
		return err
	}
	if err := validateThresholds(m.Thresholds, m.Type); err != nil {
		return fmt.Errorf("modules.%s.thresholds: %w", name, err)
	}
	modules[name] = m
	return nil
}

// validateContainer checks one entry; a valid one is added to the lookup
// maps (an invalid one is not, so it cannot cause follow-up duplicates).
func (c *Config) validateContainer(i int, ct *Container) error {
	if ct == nil {
		return fmt.Errorf("containers[%d]: empty entry", i)
	}
	where := fmt.Sprintf("containers[%d] (line %d)", i, ct.line)
	if ct.Name == "" {
		return fmt.Errorf("%s: name is required", where)
	}
	where = fmt.Sprintf("container %q (line %d)", ct.Name, ct.line)
	if prev, dup := c.byName[ct.Name]; dup {
		return fmt.Errorf("%s: duplicate name, first defined on line %d", where, prev.line)
	}
	addr, err := NormalizeAddress(ct.Address)
	if err != nil {
		return fmt.Errorf("%s: address: %w", where, err)
	}
	ct.Address = addr
	if prev, dup := c.byAddress[ct.Address]; dup {
		return fmt.Errorf("%s: duplicate address %s, also used by %q (line %d)", where, ct.Address, prev.Name, prev.line)
	}
	if _, err := collector.ParseType(ct.Type); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	mod, ok := c.Modules[ct.ModuleName()]
	if !ok {
		return fmt.Errorf("%s: unknown module %q (known: %s)", where, ct.ModuleName(), strings.Join(c.ModuleNames(), ", "))
	}
	if mod.Type != ModuleAuto && mod.Type != ct.Type {
		return fmt.Errorf("%s: module %q is for type %s, the container is %s", where, ct.ModuleName(), mod.Type, ct.Type)
	}
	if err := validateThresholds(ct.Thresholds, ct.Type); err != nil {
		return fmt.Errorf("%s: thresholds: %w", where, err)
	}
	for _, k := range slices.Sorted(maps.Keys(ct.Labels)) {
		switch v := ct.Labels[k]; {
		case !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__"):
			return fmt.Errorf("%s: label name %q is not a valid Prometheus label name", where, k)
		case reservedLabels[k]:
			return fmt.Errorf("%s: label %q is set by the exporter itself; choose another name", where, k)
		case v == "":
			return fmt.Errorf("%s: label %q has an empty value", where, k)
		}
	}
	c.byName[ct.Name] = ct
	c.byAddress[ct.Address] = ct
	return nil
}

func validateScales(name string, m *Module) error {
	allowed := collector.ScalableFields()
	for field, factor := range m.Scales {
		ok := false
		for t, fields := range allowed {
			if t != "minerInfo" && m.Type != ModuleAuto && t != m.Type {
				continue
			}
			if _, ok = fields[field]; ok {
				break
			}
		}
		if !ok {
			return fmt.Errorf("modules.%s.scales: %q is not a numeric field of %s containers or minerInfo", name, field, m.Type)
		}
		// A scale converts units: a positive, finite factor. NaN, ±Inf, 0
		// or a sign flip would turn every reading into nonsense (or into
		// non-finite samples).
		if !(factor > 0) || math.IsInf(factor, 0) {
			return fmt.Errorf("modules.%s.scales.%s: factor %v is not a positive finite number", name, field, factor)
		}
	}
	return nil
}

func validateThresholds(m map[string]float64, typ string) error {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := thresholds.ValidateOverride(n, m[n], typ); err != nil {
			return err
		}
	}
	return nil
}

// ValidateAddress checks a host:port target (see NormalizeAddress).
func ValidateAddress(addr string) error {
	_, err := NormalizeAddress(addr)
	return err
}

// Warnings are what the loader should log loudly about a valid config
// (e.g. weak control hashes). Nil-safe.
func (c *Config) Warnings() []string {
	if c == nil {
		return nil
	}
	return c.Control.Warnings()
}

// HasInventory reports whether the file listed any container.
func (c *Config) HasInventory() bool { return len(c.Containers) > 0 }

// Lookup finds a container by name or address (in any spelling
// NormalizeAddress maps to the container's).
func (c *Config) Lookup(target string) (*Container, bool) {
	if ct, ok := c.byName[target]; ok {
		return ct, true
	}
	addr, err := NormalizeAddress(target)
	if err != nil {
		return nil, false
	}
	ct, ok := c.byAddress[addr]
	return ct, ok
}

// ModuleNames lists the configured modules, sorted.
func (c *Config) ModuleNames() []string {
	names := make([]string, 0, len(c.Modules))
	for n := range c.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Settings turns a module into collector settings.
func (m *Module) Settings(name string) collector.Settings {
	s := collector.Settings{
		Module:        name,
		Scales:        m.Scales,
		SkipMinerInfo: m.MinerInfo != nil && !*m.MinerInfo,
		MaxBodyBytes:  m.MaxBodyBytes,
		MaxMiners:     m.MaxMiners,
	}
	if m.Type != ModuleAuto {
		s.Type = collector.Type(m.Type)
	}
	return s
}
