package device

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
