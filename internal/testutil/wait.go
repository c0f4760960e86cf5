package testutil

import (
	"strings"
	"testing"
	"time"
)

// poll calls cond at once and then every interval until it reports done or
// timeout passes. It returns whether cond reported done, with what cond said
// last before that.
func poll(timeout, every time.Duration, cond func() (bool, string)) (done bool, last string) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ok, msg := cond()
		if ok {
			return true, last
		}
		last = msg
		select {
		case <-deadline.C:
			return false, last
		case <-tick.C:
		}
	}
}

// Eventually polls cond every 250ms until it reports done or timeout passes;
// then it fails the test with what cond last said. When cond is done it logs
// how long that took.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	ok, last := poll(timeout, 250*time.Millisecond, cond)
	if !ok {
		t.Fatalf("%s: not within %v; last: %s", what, timeout, last)
	}
	if last != "" {
		t.Logf("%s: after %v (last wait: %s)", what, time.Since(start).Round(100*time.Millisecond), last)
	} else {
		t.Logf("%s: after %v", what, time.Since(start).Round(100*time.Millisecond))
	}
}

// WaitFor polls cond every interval until it holds or timeout passes; then
// it fails the test, adding the output of each detail func to the message.
func WaitFor(t testing.TB, timeout, every time.Duration, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	ok, _ := poll(timeout, every, func() (bool, string) { return cond(), "" })
	if !ok {
		var msg strings.Builder
		for _, d := range detail {
			msg.WriteString("\n" + d())
		}
		t.Fatalf("timed out after %s waiting for %s%s", timeout, what, msg.String())
	}
}
