package mocktest_test

import (
	"net"
	"testing"

	"github.com/antspace-exporter/antspace_exporter/mock"
	"github.com/antspace-exporter/antspace_exporter/mock/mocktest"
)

// Start listens on loopback, gives the same answers for the same options
// (default clock and seed), and stops the mock when the test ends.
func TestStart(t *testing.T) {
	var addr string
	var first map[string]any
	t.Run("first", func(t *testing.T) {
		s := mocktest.Start(t, mock.Options{Type: mock.HK3})
		addr = s.Addr()
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("Addr %q: not on 127.0.0.1 (%v)", addr, err)
		}
		first = s.State()
	})
	t.Run("second", func(t *testing.T) {
		s := mocktest.Start(t, mock.Options{Type: mock.HK3})
		got := s.State()
		for k, v := range first {
			if got[k] != v {
				t.Errorf("%s = %v, first mock had %v: default clock or seed not fixed", k, got[k], v)
			}
		}
	})
	if c, err := net.Dial("tcp", addr); err == nil {
		_ = c.Close()
		t.Errorf("%s still accepts connections after its test ended", addr)
	}
}
