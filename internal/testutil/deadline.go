package testutil

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Patience bounds a wait for something that must happen, whatever the
// machine's load: a process to start, a condition to hold, a goroutine to
// end. It is not a performance budget. What the tests wait for takes
// milliseconds idle and a few seconds on a starved machine; a minute is more
// than ten times that, and a broken behaviour fails the test after it.
const Patience = time.Minute

// deadlineGrace is left between a context from Context and the test binary's
// own deadline (go test -timeout), so that a test whose wait ran out fails
// with its own message rather than the binary's panic.
const deadlineGrace = 10 * time.Second

// Context returns a context that ends when the test ends or shortly before
// the test binary's deadline (go test -timeout), whichever comes first. Use
// it to bound external tools (promtool, amtool) and long waits by the test's
// own deadline instead of a fixed budget that a loaded machine may exceed.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx := context.Background()
	if tt, ok := t.(interface{ Context() context.Context }); ok {
		ctx = tt.Context()
	}
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := tt.Deadline(); ok {
			end := d.Add(-deadlineGrace)
			if until := time.Until(d); until < 2*deadlineGrace {
				end = d.Add(-until / 2)
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, end)
			t.Cleanup(cancel)
		}
	}
	return ctx
}

// ManualDeadline returns a context whose deadline passes when the test calls
// expire, not when a clock says so: from then on Done is closed and Err is
// context.DeadlineExceeded, exactly as for a context.WithTimeout whose time
// ran out. Code under test cannot tell the difference, and the test decides
// the moment: after the device has received the request, for example, so
// that "the probe stops at its deadline" is checked without racing the
// scheduler. cancel releases the context (Err context.Canceled unless it
// expired first); it also ends when parent ends.
func ManualDeadline(parent context.Context) (ctx context.Context, expire func(), cancel context.CancelFunc) {
	c := &manualCtx{Context: parent, done: make(chan struct{})}
	go func() {
		select {
		case <-parent.Done():
			c.end(parent.Err())
		case <-c.done:
		}
	}()
	return c, func() { c.end(context.DeadlineExceeded) }, func() { c.end(context.Canceled) }
}

type manualCtx struct {
	context.Context // the parent: Deadline and Value
	done            chan struct{}
	mu              sync.Mutex
	err             error
}

func (c *manualCtx) Done() <-chan struct{} { return c.done }

func (c *manualCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *manualCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}
