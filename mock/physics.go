package mock

import (
	"math"
	"time"
)

// Physics constants. The controlled temperature is the HK3 loop supply (supply_liquid_temp) or
// the immersion oil supply to the tanks (second_supply_temp1/2).
const (
	coolingTau = 5 * time.Minute  // first-order lag toward the setpoint while cooling runs
	heatingTau = 30 * time.Minute // lag toward the heat-soak limit while cooling is off

	hk3DefaultSetpoint       = 35.0
	immersionDefaultSetpoint = 44.0
	hk3HeatLimit             = 90.0
	immersionHeatLimit       = 95.0
)

// Alarm thresholds raised (latched) by the simulated PLC when it sees them.
const (
	hk3TempHigh          = 40.0
	hk3TempTooHigh       = 45.0
	immSupplyHigh        = 48.0
	immSupplyTooHigh     = 52.0
	immReturnHigh        = 52.0
	immReturnTooHigh     = 56.0
	immDistTempHigh      = 50.0
	hk3ReturnDeltaPerKW  = 1 / 1.163 // °C per (kW / (m³/h)) for water
	immOilDeltaAtNominal = 3.5
)

// nominal holds per-container constants drawn from the seed.
type nominal struct {
	flow, pSupply, pDrop, box1, box2 float64 // hk3
	internal, humidity               float64
	lon, lat                         float64
	tanks                            [4]float64 // immersion
	volts                            [3]float64
	boxPower, distPower              float64
	open1, open2                     float64
	feedback, outTemp, contTemp      float64
	distTemp, distHum                float64
	offset                           float64 // initial deviation from the setpoint
}

func newNominal(seed int64) nominal {
	b := func(k string, lo, hi float64) float64 { return between(seed, k, lo, hi) }
	return nominal{
		flow: b("flow", 42, 58), pSupply: b("psupply", 0.27, 0.32), pDrop: b("pdrop", 0.03, 0.06),
		box1: b("box1", 170, 230), box2: b("box2", 170, 230),
		internal: b("internal", 26, 30), humidity: b("humidity", 40, 55),
		lon: b("lon", 80, 120), lat: b("lat", 30, 50),
		tanks:    [4]float64{b("tank_a", 85, 115), b("tank_b", 85, 115), b("tank_c", 85, 115), b("tank_d", 85, 115)},
		volts:    [3]float64{b("vol_a", 2200, 2260), b("vol_b", 2200, 2260), b("vol_c", 2200, 2260)},
		boxPower: b("boxpower", 520, 680), distPower: b("distpower", 7.5, 7.9),
		open1: b("open1", 60, 90), open2: b("open2", 60, 90),
		feedback: b("feedback", 40, 48), outTemp: b("outtemp", 10, 28), contTemp: b("conttemp", 28, 33),
		distTemp: b("disttemp", 30, 36), distHum: b("disthum", 35, 50),
		offset: b("offset", -0.5, 0.5),
	}
}

// sim is the evolving physical state. It is advanced lazily to the clock time of each request.
type sim struct {
	last     time.Time
	on       bool    // cooling system open (pumps and fans running)
	temp     float64 // controlled supply temperature, °C
	setpoint float64
	pid      bool
	faults   map[string]bool // latched fault flags
}

// advance moves the state to time now. The update is exact for a first-order system, so the
// result does not depend on how often it is called.
func (s *sim) advance(t Type, now time.Time) {
	dt := now.Sub(s.last)
	s.last = now
	if dt <= 0 {
		return
	}
	target, tau := s.setpoint, coolingTau
	if !s.on {
		target, tau = hk3HeatLimit, heatingTau
		if t == Immersion {
			target = immersionHeatLimit
		}
	}
	s.temp = target + (s.temp-target)*math.Exp(-dt.Seconds()/tau.Seconds())
}
