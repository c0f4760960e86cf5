// Package mocktest starts mock containers for tests, as net/http/httptest
// starts servers: on a free loopback port, stopped when the test ends.
package mocktest

import (
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/mock"
)

// Epoch is where a test mock's manual clock starts: fixed, so that what the
// mock sends (and the golden files made from it) does not move.
var Epoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// Start starts a mock container on 127.0.0.1 for the test's lifetime. An
// Options without Clock gets a manual clock at Epoch, one without Seed the
// seed 42, so that its answers are the same on every run.
func Start(t testing.TB, o mock.Options) *mock.Server {
	t.Helper()
	if o.Clock == nil {
		o.Clock = mock.NewManualClock(Epoch)
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	s, err := mock.Start(o, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
