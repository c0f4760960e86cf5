package mock

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-kit/log"
)

// DefaultMiners is the number of miners in minerInfo when Options.Miners is 0.
const DefaultMiners = 12

// Options configure a simulated container.
type Options struct {
	Name      string
	Type      Type
	Seed      int64          // deterministic values for a given seed
	AllFaults bool           // start with every fault flag set (the original mock's --error)
	Overrides map[string]any // initial coolerState field overrides (device field names), applied with Set
	Miners    int            // number of miners in minerInfo (0 = DefaultMiners)
	Clock     Clock          // nil = real time
	Logger    log.Logger     // nil = no logging; each request is logged at debug level
}

// Write is one write operation the container received.
type Write struct {
	Operation string    // reset, setTemp, open or close
	Temp      string    // the raw `temp` query value for setTemp
	At        time.Time // clock time of the request
}

// Container is one simulated Antspace container controller. It is an http.Handler serving the
// device endpoint GET /cooler?operation=... and the admin API under /mock/ (see the package doc).
// All methods are safe for concurrent use.
type Container struct {
	name   string
	typ    Type
	seed   int64
	miners int
	clock  Clock
	logger log.Logger
	nom    nominal
	start  time.Time
	done   chan struct{}
	stop   sync.Once

	mu         sync.Mutex
	sim        sim
	pinned     map[string]any
	misbehaves []*pending
	writes     []Write
	reads      map[string]int
}

// NewContainer returns a simulated container with the cooling system running and the supply
// temperature near the type's default setpoint.
func NewContainer(o Options) (*Container, error) {
	t, err := ParseType(string(o.Type))
	if err != nil {
		return nil, err
	}
	if o.Miners < 0 {
		return nil, fmt.Errorf("negative miner count %d", o.Miners)
	}
	c := &Container{
		name: o.Name, typ: t, seed: o.Seed, miners: o.Miners, clock: o.Clock, logger: o.Logger,
		nom: newNominal(o.Seed), done: make(chan struct{}),
		pinned: map[string]any{}, reads: map[string]int{},
	}
	if c.miners == 0 {
		c.miners = DefaultMiners
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	if c.logger == nil {
		c.logger = log.NewNopLogger()
	}
	c.start = c.clock.Now()
	sp := hk3DefaultSetpoint
	if t == Immersion {
		sp = immersionDefaultSetpoint
	}
	c.sim = sim{last: c.start, on: true, temp: sp + c.nom.offset, setpoint: sp, faults: map[string]bool{}}
	if o.AllFaults {
		c.SetAllFaults(true)
	}
	for _, k := range slices.Sorted(maps.Keys(o.Overrides)) {
		if err := c.Set(k, o.Overrides[k]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Name returns the container's name.
func (c *Container) Name() string { return c.name }

// Type returns the container's type.
func (c *Container) Type() Type { return c.typ }

// Clock returns the clock the container runs on.
func (c *Container) Clock() Clock { return c.clock }

// Stop releases requests that hang or are slowed down and makes later ones fail at once by
// dropping the connection. Server.Close calls it.
func (c *Container) Stop() { c.stop.Do(func() { close(c.done) }) }

// now advances the simulation to the current clock time. Caller holds c.mu.
func (c *Container) now() time.Time {
	now := c.clock.Now()
	c.sim.advance(c.typ, now)
	c.latchAlarms()
	return now
}

// SetFault sets or clears a fault flag (device spelling, e.g. "leakage_fault" or
// "power_distribution_Fault"). A set fault stays latched until reset or SetFault(field, false).
func (c *Container) SetFault(field string, on bool) error {
	if !isFault(c.typ, field) {
		return fmt.Errorf("%q is not a fault flag of %s containers", field, c.typ)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now()
	c.sim.faults[field] = on
	delete(c.pinned, field)
	return nil
}

// SetAllFaults sets or clears every (always-sent) fault flag of the type.
func (c *Container) SetAllFaults(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now()
	for _, f := range Fields(c.typ).Faults {
		c.sim.faults[f] = on
		delete(c.pinned, f)
	}
	if !on {
		for _, f := range Fields(c.typ).OptionalFaults {
			if _, ok := c.sim.faults[f]; ok {
				c.sim.faults[f] = false
			}
		}
	}
}

// SetCooling switches the cooling system on or off, like the open and close operations, without
// recording a write.
func (c *Container) SetCooling(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now()
	c.sim.on = on
}

// Set overrides a coolerState field. A few fields drive the simulation when given a value of
// their natural type: the setpoint (supply_liquid_set_temp, number), pid_mode (bool), the
// controlled temperature (HK3 supply_liquid_temp, immersion second_supply_temp1; number — the
// physics continues from the new value) and fault flags (bool, latched as with SetFault).
// Any other field, or a value of another type (a string, null, an object), is pinned: it is sent
// as given until Unset. Unknown field names are allowed and added to the payload.
func (c *Container) Set(field string, value any) error {
	if field == "" {
		return errors.New("empty field name")
	}
	if _, err := json.Marshal(value); err != nil {
		return fmt.Errorf("field %q: value cannot be sent as JSON: %w", field, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now()
	delete(c.pinned, field)
	f, isNum := toFloat(value)
	b, isBool := value.(bool)
	switch {
	case field == "supply_liquid_set_temp" && isNum:
		c.sim.setpoint = f
	case field == "pid_mode" && isBool:
		c.sim.pid = b
	case field == c.controlledField() && isNum:
		c.sim.temp = f
	case isFault(c.typ, field) && isBool:
		c.sim.faults[field] = b
	default:
		c.pinned[field] = value
	}
	return nil
}

// Unset removes a pinned override set by Set; the field goes back to its simulated value (or
// disappears if the type does not send it).
func (c *Container) Unset(field string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pinned, field)
}

func (c *Container) controlledField() string {
	if c.typ == Immersion {
		return "second_supply_temp1"
	}
	return "supply_liquid_temp"
}

// Writes returns the recorded write operations, oldest first.
func (c *Container) Writes() []Write {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.writes)
}

// Reads returns how many requests for operation have been received (any operation name,
// including ones answered with a misbehaviour).
func (c *Container) Reads(operation string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[operation]
}

// State returns the current coolerState params (a copy), without counting a read.
func (c *Container) State() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.coolerParams(c.now())
}

// MinerInfo returns the current minerInfo params, without counting a read.
func (c *Container) MinerInfo() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.minerParams(c.now())
}

func toFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case int32:
		f = float64(x)
	case uint:
		f = float64(x)
	case uint64:
		f = float64(x)
	case uint32:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}
