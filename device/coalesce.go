package device

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

// DefaultCoalesceWindow is how long a finished read of one container is
// reused by later probes (HA Prometheus pairs, dashboard refreshes).
const DefaultCoalesceWindow = time.Second

// DefaultSharedReadTimeout bounds a shared upstream read. A shared read does
// not end when the caller that started it gives up (others may still wait for
// it); it ends when it completes, when every waiting caller has gone, or
// after this long.
const DefaultSharedReadTimeout = 2 * time.Minute

// Coalescer lets concurrent and near-simultaneous reads of the same
// operation on the same container share one upstream request: callers that
// arrive while a read is in flight wait for it, and callers that arrive
// within Window after it finished get its result. Reads are keyed by
// address, operation and body limit, so a probe with a smaller body limit
// never gets an answer read under a larger one.
//
// Every caller returns when its own context ends, even if the shared read
// goes on for the others. The shared read runs under a context of its own,
// cancelled when no caller waits for it any more and bounded by MaxTimeout.
type Coalescer struct {
	window     time.Duration
	maxTimeout time.Duration
	now        func() time.Time // for tests

	// Shared, when set before use, is told the operation of every read
	// answered from another caller's device read (in flight or recent).
	Shared func(operation string)

	mu      sync.Mutex
	flights map[coalesceKey]*flight
}

type coalesceKey struct {
	address, operation string
	limit              int64
}

type flight struct {
	done    chan struct{} // closed when env and err are set
	env     *payload.Envelope
	err     error
	ended   time.Time
	waiters int // callers in flight; 0 cancels the read
	cancel  context.CancelFunc
}

// NewCoalescer returns a coalescer that reuses finished reads for window.
// maxTimeout bounds a shared read (0 means DefaultSharedReadTimeout).
func NewCoalescer(window, maxTimeout time.Duration) *Coalescer {
	if maxTimeout <= 0 {
		maxTimeout = DefaultSharedReadTimeout
	}
	return &Coalescer{window: window, maxTimeout: maxTimeout, now: time.Now, flights: map[coalesceKey]*flight{}}
}

// Window is how long a finished read is reused.
func (co *Coalescer) Window() time.Duration { return co.window }

// Do returns the result of read for key (address, operation, limit): the
// one in flight, one finished less than Window ago, or a new one. read gets
// the shared context, not ctx.
func (co *Coalescer) Do(ctx context.Context, address, operation string, limit int64, read func(context.Context) (*payload.Envelope, error)) (*payload.Envelope, error) {
	key := coalesceKey{address, operation, limit}
	co.mu.Lock()
	f := co.flights[key]
	if f != nil && !f.ended.IsZero() {
		if co.now().Sub(f.ended) < co.window {
			co.mu.Unlock()
			co.shared(operation)
			return f.env, f.err // a recent result
		}
		delete(co.flights, key) // stale (its timer has not fired yet)
		f = nil
	}
	joined := f != nil // a read of another caller is in flight
	if !joined {
		sharedCtx, cancel := context.WithTimeout(context.Background(), co.maxTimeout)
		f = &flight{done: make(chan struct{}), cancel: cancel}
		co.flights[key] = f
		go co.run(sharedCtx, key, f, read)
	}
	f.waiters++
	co.mu.Unlock()

	select {
	case <-f.done:
		co.leave(key, f)
		if joined {
			co.shared(operation)
		}
		return f.env, f.err
	case <-ctx.Done():
		co.leave(key, f)
		return nil, fmt.Errorf("%s: no answer before the probe timeout: %w", operation, ctx.Err())
	}
}

func (co *Coalescer) shared(operation string) {
	if co.Shared != nil {
		co.Shared(operation)
	}
}

func (co *Coalescer) run(ctx context.Context, key coalesceKey, f *flight, read func(context.Context) (*payload.Envelope, error)) {
	env, err := read(ctx)
	f.cancel()
	co.mu.Lock()
	defer co.mu.Unlock()
	f.env, f.err = env, err
	f.ended = co.now()
	close(f.done)
	if co.flights[key] != f {
		return // abandoned by every caller, or replaced
	}
	if co.window <= 0 {
		delete(co.flights, key)
		return
	}
	time.AfterFunc(co.window, func() {
		co.mu.Lock()
		defer co.mu.Unlock()
		if co.flights[key] == f {
			delete(co.flights, key)
		}
	})
}

// leave drops one caller; the last one to leave an unfinished read cancels
// it, so a hanging device does not hold a connection nobody waits for.
func (co *Coalescer) leave(key coalesceKey, f *flight) {
	co.mu.Lock()
	defer co.mu.Unlock()
	f.waiters--
	if f.waiters > 0 || !f.ended.IsZero() {
		return
	}
	if co.flights[key] == f {
		delete(co.flights, key)
	}
	f.cancel()
}

// Len is the number of reads in flight or kept for reuse (for tests).
func (co *Coalescer) Len() int {
	co.mu.Lock()
	defer co.mu.Unlock()
	return len(co.flights)
}

// Forget drops what is kept or in flight for address, so the next read goes
// to the device: the client calls it after a write changed the device.
func (co *Coalescer) Forget(address string) {
	co.mu.Lock()
	defer co.mu.Unlock()
	for k := range co.flights {
		if k.address == address {
			delete(co.flights, k) // an unfinished read still answers its callers
		}
	}
}
