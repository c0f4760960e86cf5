package mock

import (
	"hash/fnv"
	"math"
	"time"
)

// noiseBucket is how long one noise sample lasts: values are stable within a bucket, so two
// reads at the same clock time answer identically.
const noiseBucket = 10 * time.Second

// splitmix64 is a small, good-enough mixing function for deterministic pseudo-random values.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// unit returns a deterministic value in [0,1) for (seed, key, n).
func unit(seed int64, key string, n int64) float64 {
	// The conversions reinterpret the bits (negative seeds included); that is what a hash wants.
	x := splitmix64(uint64(seed) ^ splitmix64(hashString(key)) ^ splitmix64(uint64(n)*0x632be59bd9b4e019)) //nolint:gosec // G115: see above
	return float64(x>>11) / (1 << 53)
}

// between returns a deterministic value in [lo,hi) for (seed, key).
func between(seed int64, key string, lo, hi float64) float64 {
	return lo + (hi-lo)*unit(seed, key, 0)
}

// jitter returns deterministic noise in [-amp,amp) for field key at time t.
func jitter(seed int64, key string, t time.Time, amp float64) float64 {
	b := t.UnixNano() / int64(noiseBucket)
	return amp * (2*unit(seed, key, b+1) - 1)
}

func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}
