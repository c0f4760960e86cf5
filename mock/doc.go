// Package mock simulates Antspace container controllers (HK3 cooling-tower and Immersion
// dry-cooler types) for tests, demos and load tests.
//
// A Container speaks the device protocol: GET /cooler?operation=<op> with op one of
// coolerState, minerInfo (reads) and reset, setTemp (&temp=<°C>|pid), open, close (writes).
// Every answer is {"ok":bool,"method":op,"params":{...}|null}; writes answer params null; an
// unknown or missing operation answers HTTP 400 {"status":"error","error":"ERR_UNSUPPORTED"}.
// Field names are the device's own spellings (see Fields). A setTemp with a temp that is neither
// a finite number nor "pid" answers ok:false, changes nothing, and is still recorded as a write.
//
// # Physics
//
// Values are computed lazily from elapsed Clock time (use a ManualClock in tests), and are
// deterministic for a seed: per-container constants come from the seed, and small noise is a
// function of seed, field and 10-second time bucket. While cooling runs (open) the controlled
// temperature (HK3 supply_liquid_temp; immersion oil supply second_supply_temp1/2) follows the
// setpoint with a first-order lag of 5 minutes; while it is off (close) it climbs toward a
// heat-soak limit (90/95 °C, 30-minute lag). Return temperatures are supply plus a
// load-dependent delta; pressures, flow, pump frequencies and valve openings follow the pumps
// (near zero when off); the mains (voltages, currents, distribution power) keep running.
// Faults set with SetFault are latched until reset; the simulated PLC also latches the
// temperature alarms when it sees the reading cross its threshold (HK3 supply ≥ 40/45 °C;
// immersion oil supply ≥ 48/52, oil return ≥ 52/56, power distribution ≥ 50 °C).
// Miners in minerInfo stop hashing when their chip temperature reaches 95 °C.
//
// # Admin API
//
// Under /mock/ on the same listener; JSON in and out, errors are
// {"status":"error","error":"<message>"} with HTTP 400 (bad input), 404, 405 or 409.
//
//	GET    /mock/state                   {"name","type","cooling_on","time","params":{coolerState params},"misbehaviours":[...]}
//	POST   /mock/fault?name=X&on=true    set/clear one fault flag (device spelling); 400 if not a fault of the type
//	POST   /mock/faults?on=true          set/clear every fault flag
//	POST   /mock/set                     body {"field": value, ...}: Container.Set for each field
//	POST   /mock/misbehave               body {"kind":"slow","operation":"minerInfo","count":3,"delay":"2s","size":1048576}
//	DELETE /mock/misbehave               clear all queued misbehaviours
//	GET    /mock/writes                  [{"operation":"setTemp","temp":"30","at":"..."}, ...] oldest first
//	GET    /mock/reads                   {"coolerState":N,"minerInfo":N, <other operations seen>:N}
//	POST   /mock/clock/advance?d=5m      advance a ManualClock; 409 when the container runs on real time
//
// # Misbehaviour
//
// Misbehave queues a Misbehaviour; each request uses the first queued entry matching its
// operation (Operation "" matches both reads), Count N entries are used N times, Count 0
// entries until ClearMisbehaviour. A misbehaving write is still performed and recorded.
// Hang and Slow end when the client goes away or when the container is stopped (Server.Close),
// in which case the connection is dropped.
package mock
