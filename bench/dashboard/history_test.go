package main

import (
	"bufio"
	"bytes"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

func TestProbeSeriesAddsTargetLabelsAndUp(t *testing.T) {
	text := `# HELP antspace_up Whether the controller answered.
# TYPE antspace_up gauge
antspace_up 1
# TYPE antspace_temperature_celsius gauge
antspace_temperature_celsius{sensor="supply_liquid"} 35.2
antspace_temperature_celsius{sensor="outdoor"} 12
`
	target := map[string]string{"job": "antspace", "instance": "c1", "container": "c1", "site": "north", "type": "hk3"}
	keep := func(ls labels.Labels) bool { return ls.Get("sensor") != "outdoor" }
	ss, err := probeSeries([]byte(text), target, keep)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range ss {
		got = append(got, s.ls.String()+" "+strconv.FormatFloat(s.value, 'g', -1, 64))
	}
	want := []string{
		`{__name__="up", container="c1", instance="c1", job="antspace", site="north", type="hk3"} 1`,
		`{__name__="antspace_temperature_celsius", container="c1", instance="c1", job="antspace", sensor="supply_liquid", site="north", type="hk3"} 35.2`,
		`{__name__="antspace_up", container="c1", instance="c1", job="antspace", site="north", type="hk3"} 1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("series\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

var omLine = regexp.MustCompile(`^([a-z_]+)\{([^}]*)\} (\S+) (\d+(?:\.\d+)?)$`)

// writeOpenMetrics writes valid OpenMetrics for promtool: one TYPE line per
// family before its samples, every series' samples at every step in time
// order, # EOF last; values have the shapes of their series.
func TestWriteOpenMetrics(t *testing.T) {
	mk := func(v float64, kv ...string) series {
		return series{ls: labels.FromStrings(kv...), value: v}
	}
	ss := []series{
		mk(35.2, "__name__", "antspace_temperature_celsius", "container", "c1", "sensor", "supply_liquid"),
		mk(1, "__name__", "antspace_up", "container", "c1"),
		mk(0, "__name__", "antspace_fault_active", "container", "c1", "fault", "leak"),
		mk(1, "__name__", "antspace_fault_active", "container", "c1", "fault", "pump"),
		mk(12, "__name__", "antspace_miners", "container", "c1"),
		mk(36.1, "__name__", "antspace_temperature_celsius", "container", "c2", "sensor", "supply_liquid"),
	}
	to := time.Unix(1_800_000_000, 0)
	from := to.Add(-6 * time.Hour)
	step := 15 * time.Second
	var buf bytes.Buffer
	n, err := writeOpenMetrics(&buf, ss, from, to, step)
	if err != nil {
		t.Fatal(err)
	}
	perSeries := int(6 * time.Hour / step)
	if n != len(ss)*perSeries {
		t.Fatalf("%d samples, want %d", n, len(ss)*perSeries)
	}
	type seen struct {
		last  float64
		count int
		vals  []float64
	}
	series := map[string]*seen{}
	types := map[string]bool{}
	family := ""
	sc := bufio.NewScanner(&buf)
	lines := 0
	var last string
	for sc.Scan() {
		line := sc.Text()
		last = line
		lines++
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			f := strings.Fields(name)
			if len(f) != 2 || f[1] != "gauge" || types[f[0]] {
				t.Fatalf("bad or repeated TYPE line %q", line)
			}
			types[f[0]], family = true, f[0]
			continue
		}
		if line == "# EOF" {
			continue
		}
		m := omLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not an OpenMetrics sample: %q", line)
		}
		if m[1] != family {
			t.Fatalf("sample of %s under family %s", m[1], family)
		}
		ts, _ := strconv.ParseFloat(m[4], 64)
		v, _ := strconv.ParseFloat(m[3], 64)
		key := m[1] + "{" + m[2] + "}"
		s := series[key]
		if s == nil {
			s = &seen{last: float64(from.Unix()) - step.Seconds()}
			series[key] = s
		}
		if ts != s.last+step.Seconds() {
			t.Fatalf("%s: sample at %v after %v, want every %s", key, ts, s.last, step)
		}
		s.last, s.count = ts, s.count+1
		s.vals = append(s.vals, v)
	}
	if last != "# EOF" {
		t.Errorf("last line %q, want # EOF", last)
	}
	if len(series) != len(ss) || len(types) != 4 {
		t.Fatalf("%d series in %d families, want %d in 4", len(series), len(types), len(ss))
	}
	for key, s := range series {
		if s.count != perSeries || s.last != float64(to.Unix())-step.Seconds() {
			t.Errorf("%s: %d samples up to %v", key, s.count, s.last)
		}
	}
	temp := series[`antspace_temperature_celsius{container="c1",sensor="supply_liquid"}`]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range temp.vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo < 35.2*0.94 || hi > 35.2*1.06 || hi-lo < 0.2 || math.Abs(temp.vals[len(temp.vals)-1]-35.2) > 0.2 {
		t.Errorf("temperature wanders %v..%v ending at %v, want within ±6 %% of 35.2, varying, ending near it", lo, hi, temp.vals[len(temp.vals)-1])
	}
	for _, v := range series[`antspace_miners{container="c1"}`].vals {
		if v != 12 {
			t.Fatalf("miners %v, want the count constant", v)
		}
	}
	pump := series[`antspace_fault_active{container="c1",fault="pump"}`].vals
	if pump[len(pump)-1] != 1 || pump[0] != 0 {
		t.Errorf("a fault set now: first %v, last %v; want it set at some time in the window", pump[0], pump[len(pump)-1])
	}
	// The same input gives the same output.
	var again bytes.Buffer
	if _, err := writeOpenMetrics(&again, ss, from, to, step); err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	_, _ = writeOpenMetrics(&first, ss, from, to, step)
	if !bytes.Equal(first.Bytes(), again.Bytes()) {
		t.Error("writeOpenMetrics is not deterministic")
	}
}
