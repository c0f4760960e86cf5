package collector

import "time"

// CoalesceWaiters is the number of callers waiting for the read of address
// and operation under body limit (0 when none is in flight).
func CoalesceWaiters(co *Coalescer, address, operation string, limit int64) int {
	co.mu.Lock()
	defer co.mu.Unlock()
	if f := co.flights[coalesceKey{address, operation, limit}]; f != nil && f.ended.IsZero() {
		return f.waiters
	}
	return 0
}

// SetCoalescerClock replaces the clock the coalescer ages results with.
func SetCoalescerClock(co *Coalescer, now func() time.Time) {
	co.mu.Lock()
	defer co.mu.Unlock()
	co.now = now
}

// Convert decodes recorded coolerState and minerInfo answers and converts
// them like Probe does, without the network (for benchmarks).
func Convert(cooler, miners []byte, s Settings) *Result {
	r := &Result{Type: s.Type, minerSkipped: miners == nil}
	var env Envelope
	if err := decodeEnvelope(cooler, &env); err != nil {
		r.Err = err
		return r
	}
	r.Err = r.convertCooler(env.Params, s)
	if miners != nil {
		var menv Envelope
		if r.MinerErr = decodeEnvelope(miners, &menv); r.MinerErr == nil {
			r.MinerErr = r.convertMiners(menv.Params, s)
		}
	}
	return r
}
