package payload

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// checkPlainDecimal fails unless plainDecimal(s) is strconv.ParseFloat's
// result, bit for bit, or refuses s; and unless ParseNumber, fast path or
// not, reads s and its quoted form as strconv does.
func checkPlainDecimal(t *testing.T, s string) bool {
	t.Helper()
	want, err := strconv.ParseFloat(s, 64)
	got, ok := plainDecimal([]byte(s))
	if ok && (err != nil || math.Float64bits(got) != math.Float64bits(want)) {
		t.Errorf("plainDecimal(%q) = %v (%x), strconv %v (%x), %v", s, got, math.Float64bits(got), want, math.Float64bits(want), err)
		return false
	}
	if err != nil || math.IsInf(want, 0) || math.IsNaN(want) {
		return ok
	}
	for _, raw := range []string{s, `"` + s + `"`} {
		if v, err := ParseNumber([]byte(raw)); err != nil || math.Float64bits(v) != math.Float64bits(want) {
			t.Errorf("ParseNumber(%s) = %v, %v; want %v", raw, v, err, want)
			return false
		}
	}
	return ok
}

func TestPlainDecimalMatchesStrconv(t *testing.T) {
	fast := 0
	check := func(s string) {
		if checkPlainDecimal(t, s) {
			fast++
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	for _, s := range []string{"0", "-0", "0.0", "-0.0", "1", "35.5", "-3", "0.1", "0.3", "1.15", "2.675",
		"999999999999999", "-999999999999999", "99999999999999.9", "0.000000000000001", "9007199254740993",
		"1234567890123456", "00012.5", "123456789012345.6", "1.7976931348623157", "4.35", "3.3333333333333",
		// refused by the fast path, strconv's to read (or refuse)
		"", "-", ".", "1.", ".5", "-.5", "+1", "1e3", "1E-2", " 1", "1 ", "1..2", "1.2.3", "0x10", "1_000", "NaN", "inf", "--1", "1-"} {
		check(s)
	}
	// Every decimal with up to six digits, the point anywhere, both signs.
	for n := range 1_000_000 {
		d := strconv.Itoa(n)
		for p := 1; p < len(d); p++ {
			check(d[:p] + "." + d[p:])
		}
		check(d)
		check("-" + d)
	}
	// Random ones up to 17 digits (some too long for the fast path), with
	// leading zeros.
	r := rand.New(rand.NewPCG(18, 3)) //nolint:gosec // G404: reproducible test values
	var b strings.Builder
	for range 1_000_000 {
		b.Reset()
		if r.IntN(4) == 0 {
			b.WriteByte('-')
		}
		digits := 1 + r.IntN(17)
		point := r.IntN(digits + 1)
		for i := range digits {
			if i == point && i > 0 {
				b.WriteByte('.')
			}
			b.WriteByte("0123456789"[r.IntN(10)])
		}
		check(b.String())
	}
	if fast < 5_000_000 {
		t.Errorf("fast path taken %d times, want most of the values", fast)
	}
}

func FuzzPlainDecimal(f *testing.F) {
	for _, s := range []string{"35.5", "-0", "0.1", "999999999999999", "1.", ".5", "1e3", "9007199254740993"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkPlainDecimal(t, s)
	})
}
