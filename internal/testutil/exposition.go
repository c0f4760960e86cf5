package testutil

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Exposition registers c alone in a pedantic registry and renders what it
// gathers in the text format, failing the test on any error. (Not
// prometheus/testutil.CollectAndFormat: without metric names it renders
// nothing, and two empty expositions compare equal whatever c does.)
func Exposition(t testing.TB, c prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return GatherText(t, reg)
}

// GatherText renders what g gathers in the text format, failing the test on
// any error.
func GatherText(t testing.TB, g prometheus.Gatherer) []byte {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}
