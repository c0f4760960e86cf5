package collector

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
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

// Families marked minerOrdered come out of a probe sorted without the
// check sortedForText skips for them, with miners, model and firmware
// varied; a series of such a family added otherwise, or miners out of
// order, brings the check back.
func TestMinerOrderedFamiliesSortedByConstruction(t *testing.T) {
	marked := 0
	for _, m := range probeMetrics {
		if m.minerOrdered {
			marked++
		}
	}
	if marked == 0 {
		t.Fatal("no metric is minerOrdered: the test checks nothing")
	}
	var b strings.Builder
	b.WriteString(`{"ok":true,"method":"minerInfo","params":{"miner_num":40,"total_hashrate":1,"pcb_max_temp":1,"chip_max_temp":1,"chip_temp_mean":1,"miner_info":{`)
	r := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // G404: reproducible test values
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"10.%d.%d.%d":{"GHS_5s":%d.5,"GHS_avg":%d,"pcb_max_temp":%d,"chip_max_temp":%d,"elapsed":%d,"miner_type":"S%d","miner_version":"v%d"}`,
			r.IntN(3), r.IntN(300), r.IntN(300), r.IntN(1e6), r.IntN(1e6), r.IntN(100), r.IntN(100), r.IntN(1e7), r.IntN(3), r.IntN(3))
	}
	b.WriteString(`}}}`)
	var env payload.Envelope
	if err := payload.DecodeEnvelope([]byte(b.String()), &env); err != nil {
		t.Fatal(err)
	}
	res := &Result{}
	if err := res.convertMiners(env.ParamsObject(), Settings{}); err != nil {
		t.Fatal(err)
	}
	if res.minersUnordered {
		t.Fatal("miners in address order marked unordered")
	}
	checked := 0
	for _, m := range probeMetrics {
		if !m.minerOrdered {
			continue
		}
		var fam [][]*dto.LabelPair
		for i := range res.samples {
			if res.samples[i].m == m {
				fam = append(fam, res.samples[i].pairs)
			}
		}
		if len(fam) < 40 {
			t.Errorf("%s: %d series, want one per miner at least", m.name, len(fam))
		}
		if !slices.IsSortedFunc(fam, labelsCompare) {
			t.Errorf("%s: series not sorted by construction", m.name)
		}
		checked++
	}
	if checked != marked {
		t.Errorf("checked %d families, want %d", checked, marked)
	}
	for _, m := range probeMetrics {
		if m.minerOrdered {
			res.add(m, 1, make([]string, len(m.labels))...)
			break
		}
	}
	if !res.minersUnordered {
		t.Error("a series of a minerOrdered family added by add: probe not marked unordered")
	}
}
