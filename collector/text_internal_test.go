package collector

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// appendFloat writes what strconv.AppendFloat(…, 'g', -1, 64) writes (as
// expfmt does), on the short decimals its fast path takes and around them.
func TestAppendFloatMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // G404: reproducible test values, not secrets
	check := func(f float64) {
		if f == 0 || f == 1 || f == -1 || math.IsNaN(f) || math.IsInf(f, 0) {
			return // written as expfmt special-cases them
		}
		if got, want := string(appendFloat(nil, f)), strconv.FormatFloat(f, 'g', -1, 64); got != want {
			t.Fatalf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	for _, f := range []float64{0.01, 0.1, 0.5, 0.05, 0.25, 0.3, 61.4, 46.6, 99.99, 999999, 999999.9, 999999.99, 1e6, 1e6 - 0.01,
		1e5, 100000.5, 0.001, 0.015, 1.005, 2.675, 1e-5, 123456.78, 0.1 + 0.2, 1.1 * 1.1, 5e-324, math.MaxFloat64, 9007199254740993} {
		check(f)
		check(-f)
		check(math.Nextafter(f, 0))
		check(math.Nextafter(f, 2e6))
	}
	for range 200000 {
		n := rng.Int64N(200_000_000) - 100_000_000
		for _, d := range []float64{1, 10, 100, 1000} {
			f := float64(n) / d
			check(f)
			check(math.Nextafter(f, math.Inf(1)))
			check(f * 1.1)
		}
		check(rng.NormFloat64() * 1e4)
	}
}
