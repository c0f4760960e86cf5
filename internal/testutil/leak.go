package testutil

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// findLeaks asks goleak for goroutines beyond opts until there are none or
// patience runs out. goleak.Find alone retries for about half a second; on a
// loaded machine a connection's goroutines may take longer than that to see
// their socket closed and return, which is slow teardown, not a leak. A
// goroutine that is really stuck is still there after patience.
// miss, when set, is told each time goroutines were found.
func findLeaks(patience time.Duration, miss func(error), opts ...goleak.Option) error {
	var err error
	ok, _ := poll(patience, 100*time.Millisecond, func() (bool, string) {
		err = goleak.Find(opts...)
		if err != nil && miss != nil {
			miss(err)
		}
		return err == nil, ""
	})
	if ok {
		return nil
	}
	return err
}

// NoLeaks fails the test when goroutines other than those opts ignore (e.g.
// goleak.IgnoreCurrent() taken before the work) are still running after
// Patience.
func NoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	if err := findLeaks(Patience, nil, opts...); err != nil {
		t.Errorf("goroutines left after %v: %v", Patience, err)
	}
}

// VerifyTestMain is goleak.VerifyTestMain that tolerates slow teardown: it
// runs the tests, then looks for leaked goroutines for up to Patience before
// failing the binary.
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := findLeaks(Patience, nil, opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left after the tests (waited %v): %v\n", Patience, err)
			code = 1
		}
	}
	os.Exit(code)
}
