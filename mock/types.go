package mock

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Type is the kind of Antspace container: HK3 (cooling tower) or Immersion (dry cooler).
type Type string

// The container types the mock simulates.
const (
	HK3       Type = "hk3"
	Immersion Type = "immersion"
)

// ParseType parses a container type case-insensitively ("HK3", "Immersion", ...).
func ParseType(s string) (Type, error) {
	switch t := Type(strings.ToLower(strings.TrimSpace(s))); t {
	case HK3, Immersion:
		return t, nil
	}
	return "", fmt.Errorf("unknown container type %q (want hk3 or immersion)", s)
}

// Clock is the mock's source of time. Physics is computed from elapsed Clock time.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that only moves when told to. It is safe for concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a ManualClock that reads t until advanced.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (negative d is ignored).
func (c *ManualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
