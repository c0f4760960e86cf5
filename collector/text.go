package collector

import (
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// WriteText writes the probe's metrics in the Prometheus text format
// (0.0.4), byte for byte what expfmt writes for the families Gather returns
// (a test compares the two on every kind of answer), without building the
// protobuf families in between: the /probe handler's text answers skip a
// third of the work of gathering and encoding.
func (r *Result) WriteText(w io.Writer) error {
	// The probe-level samples are few; the device's are ordered in place
	// through a pooled index, so writing copies no sample.
	var headBuf [16]sample
	head := r.probeSeries(headBuf[:0])
	sp := textOrderPool.Get().(*[]int32)
	order := sortedForText(head, r.samples, (*sp)[:0], !r.minersUnordered)
	bp := textBufPool.Get().(*[]byte)
	b := (*bp)[:0]
	var family *metric
	for _, k := range order {
		s := at(head, r.samples, k)
		if s.m != family {
			family = s.m
			b = append(b, s.m.header...)
		}
		if s.text > 0 {
			t := &seriesTexts[s.text-1]
			b = append(b, t.parts[0]...)
			for j, k := range t.slots {
				if v := s.pairs[k].GetValue(); s.plain {
					b = append(b, v...)
				} else {
					b = appendEscaped(b, v, true)
				}
				b = append(b, t.parts[j+1]...)
			}
		} else {
			b = appendSeries(b, s.m, s.pairs)
		}
		b = appendFloat(b, s.value)
		b = append(b, '\n')
	}
	*sp = order
	textOrderPool.Put(sp)
	_, err := w.Write(b)
	*bp = b
	textBufPool.Put(bp)
	return err
}

// appendSeries appends a series' line in the text format up to its value:
// the metric's name, its label pairs, a space.
func appendSeries(b []byte, m *metric, pairs []*dto.LabelPair) []byte {
	b = append(b, m.name...)
	for j, lp := range pairs {
		if j == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(b, lp.GetName()...)
		b = append(b, `="`...)
		b = appendEscaped(b, lp.GetValue(), true)
		b = append(b, '"')
	}
	if len(pairs) > 0 {
		b = append(b, '}')
	}
	return append(b, ' ')
}

// at is the k-th of the samples head, then rest.
func at(head, rest []sample, k int32) *sample {
	if int(k) < len(head) {
		return &head[k]
	}
	return &rest[int(k)-len(head)]
}

// sortedForText orders the samples head, then rest, as expfmt writes a
// registry's families: by metric name, then by label values. It returns
// their numbers (see at) in that order, in order's memory. Families come
// out of a counting sort on the metric's rank, stable, so the series of a
// family keep the order a probe added them in (usually already sorted:
// miners in address order); only a family that is not sorted yet is
// sorted.
//
// minersOrdered says the probe added its miners' series in ascending
// address order and nothing else in the families marked minerOrdered
// (Result.minersUnordered): those families are sorted by construction
// and not checked.
func sortedForText(head, rest []sample, order []int32, minersOrdered bool) []int32 {
	var counts [maxRank + 1]int
	for i := range head {
		counts[head[i].m.rank+1]++
	}
	for i := range rest {
		counts[rest[i].m.rank+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	n := len(head) + len(rest)
	order = slices.Grow(order[:0], n)[:n]
	for i := range head {
		k := head[i].m.rank
		order[counts[k]] = int32(i)
		counts[k]++
	}
	for i := range rest {
		k := rest[i].m.rank
		order[counts[k]] = int32(len(head) + i) //nolint:gosec // G115: a probe holds far fewer series (max_miners, maxUnknownFields)
		counts[k]++
	}
	byLabels := func(a, b int32) int { return labelsCompare(at(head, rest, a).pairs, at(head, rest, b).pairs) }
	start := 0
	for k := range maxRank {
		end := counts[k] // now the end of rank k's series
		fam := order[start:end]
		start = end
		if len(fam) < 2 {
			continue
		}
		if minersOrdered && int(fam[0]) >= len(head) && at(head, rest, fam[0]).m.minerOrdered {
			continue // sorted by construction (metric.minerOrdered)
		}
		if !slices.IsSortedFunc(fam, byLabels) {
			slices.SortFunc(fam, byLabels)
		}
	}
	return order
}

// maxRank bounds the metric table (init checks it).
const maxRank = 255

var textBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// textOrderPool holds WriteText's ordering scratch (numbers, no pointers:
// nothing of a probe stays reachable from the pool).
var textOrderPool = sync.Pool{New: func() any { o := make([]int32, 0, 256); return &o }}

// appendEscaped escapes as the text format does: backslash and newline, and
// in label values the double quote.
func appendEscaped(b []byte, s string, quote bool) []byte {
	if !needsEscape(s) {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// needsEscape is strings.ContainsAny(s, "\\\n\""), cheaper for the short
// strings of an exposition (ContainsAny builds a set on every call).
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if escaped[s[i]] {
			return true
		}
	}
	return false
}

var escaped = [256]bool{'\\': true, '\n': true, '"': true}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	if fb, ok := appendShortDecimal(b, f); ok {
		return fb
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendShortDecimal appends f as strconv.AppendFloat(b, f, 'g', -1, 64)
// does when f is an integer below 1e6 or a decimal with one or two places
// below 1e6 (most of a probe's values: temperatures, pressures, flags), and
// reports whether it did. The output is then the integer n = f×10^k with
// k decimals: n/10^k is the shortest decimal that reads back as f (it
// rounds to f, checked by dividing back, and any shorter one would be an
// integer or have fewer places, tried first), and 'g' writes it without an
// exponent (|f| < 1e6, f ≥ 0.01). A test compares it with strconv.
func appendShortDecimal(b []byte, f float64) ([]byte, bool) {
	if !(f > -1e6 && f < 1e6) {
		return b, false
	}
	for k, scale := range [...]float64{1, 10, 100} {
		v := f * scale
		if v != math.Trunc(v) {
			continue
		}
		n := int64(v)
		if float64(n)/scale != f || (k > 0 && n%10 == 0) {
			return b, false
		}
		if n < 0 {
			b = append(b, '-')
			n = -n
		}
		switch k {
		case 0:
			return strconv.AppendInt(b, n, 10), true
		case 1:
			b = strconv.AppendInt(b, n/10, 10)
			return append(b, '.', byte('0'+n%10)), true
		default:
			b = strconv.AppendInt(b, n/100, 10)
			return append(b, '.', byte('0'+n/10%10), byte('0'+n%10)), true
		}
	}
	return b, false
}

// The text writer writes names as they are, which the text format allows
// only for legacy-valid names; the metric table has no other kind.
func init() {
	if len(probeMetrics) > maxRank {
		panic("collector: more probe metrics than maxRank")
	}
	byName := slices.Clone(probeMetrics)
	slices.SortFunc(byName, func(a, b *metric) int { return strings.Compare(a.name, b.name) })
	for i, m := range byName {
		if i > 0 && byName[i-1].name == m.name {
			panic("collector: two probe metrics named " + m.name)
		}
		m.rank = i
		h := append([]byte("# HELP "), m.name...)
		h = append(h, ' ')
		h = appendEscaped(h, m.help, false)
		h = append(h, "\n# TYPE "...)
		h = append(h, m.name...)
		if m.valueType == prometheus.CounterValue {
			h = append(h, " counter\n"...)
		} else {
			h = append(h, " gauge\n"...)
		}
		m.header = h
	}
	for _, m := range probeMetrics {
		if !model.LegacyValidation.IsValidMetricName(m.name) {
			panic("collector: metric name not valid for the text format: " + m.name)
		}
		for _, l := range m.labels {
			if !model.LegacyValidation.IsValidMetricName(l) || !model.LegacyValidation.IsValidLabelName(l) {
				panic("collector: label name not valid for the text format: " + l)
			}
		}
	}
}
