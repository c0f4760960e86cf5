package collector

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

// sample is a prometheus.Metric whose label pairs are built once: the label
// sets of the field table never change, so a probe does not rebuild, sort and
// validate them as prometheus.NewConstMetric would (that was a third of the
// conversion's CPU). Label pairs are immutable by the registry's contract, so
// concurrent probes share them. Label values are valid UTF-8 (the table's
// constants, or strings decoded from JSON), and the registry still checks
// every gathered metric.
type sample struct {
	m     *metric
	value float64
	pairs []*dto.LabelPair // sorted by name
}

func (s *sample) Desc() *prometheus.Desc { return s.m.desc }

func (s *sample) Write(m *dto.Metric) error {
	m.Label = s.pairs
	v := s.value
	if s.m.valueType == prometheus.CounterValue {
		m.Counter = &dto.Counter{Value: &v}
	} else {
		m.Gauge = &dto.Gauge{Value: &v}
	}
	return nil
}

// labelPairs pairs names with values, sorted by name.
func labelPairs(names, values []string) []*dto.LabelPair {
	pairs := make([]*dto.LabelPair, len(names))
	for i := range names {
		pairs[i] = &dto.LabelPair{Name: &names[i], Value: &values[i]}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
	return pairs
}

// fieldPairs holds the label pairs of every table field; for per-miner
// fields, the pairs without the leading miner label.
var fieldPairs = map[*field][]*dto.LabelPair{}

func init() {
	for _, s := range schemas {
		for i := range s.fields {
			f := &s.fields[i]
			fieldPairs[f] = labelPairs(f.metric.labels, f.labels)
		}
	}
	for i := range minerSummaryFields {
		f := &minerSummaryFields[i]
		fieldPairs[f] = labelPairs(f.metric.labels, f.labels)
	}
	for i := range minerFields {
		f := &minerFields[i]
		if len(f.metric.labels) == 0 || f.metric.labels[0] != "miner" || len(f.labels) != len(f.metric.labels)-1 {
			panic("collector: per-miner field " + f.field + " must have the miner label first")
		}
		fieldPairs[f] = labelPairs(f.metric.labels[1:], f.labels)
	}
}

// addField records a table field's value.
func (r *Result) addField(f *field, v float64) {
	r.samples = append(r.samples, sample{m: f.metric, value: v, pairs: fieldPairs[f]})
}

// addMinerField records a per-miner field's value; miner is the miner's
// label pair, shared by all its series.
func (r *Result) addMinerField(f *field, v float64, miner *dto.LabelPair) {
	static := fieldPairs[f]
	pairs := make([]*dto.LabelPair, 0, len(static)+1)
	pairs = append(pairs, miner)
	pairs = append(pairs, static...)
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
	r.samples = append(r.samples, sample{m: f.metric, value: v, pairs: pairs})
}

var minerLabel = "miner"

// operationPairs are antspace_controller_ok's label pairs per read operation.
var operationPairs = map[string][]*dto.LabelPair{
	payload.OpCoolerState: labelPairs([]string{"operation"}, []string{payload.OpCoolerState}),
	payload.OpMinerInfo:   labelPairs([]string{"operation"}, []string{payload.OpMinerInfo}),
}

func minerPair(ip string) *dto.LabelPair { return &dto.LabelPair{Name: &minerLabel, Value: &ip} }

// minerFieldNames are the per-miner keys a probe reads: the table's fields,
// then the identity's model and firmware.
var minerFieldNames = [...]string{"GHS_5s", "GHS_avg", "pcb_max_temp", "chip_max_temp", "elapsed", "miner_type", "miner_version"}

var minerFieldIndex = func() map[string]int {
	m := make(map[string]int, len(minerFieldNames))
	for i, n := range minerFieldNames {
		m[n] = i
	}
	return m
}()

func init() {
	if len(minerFields)+2 != len(minerFieldNames) {
		panic("collector: minerFieldNames out of step with minerFields")
	}
	for i := range minerFields {
		if minerFields[i].field != minerFieldNames[i] {
			panic("collector: minerFieldNames out of step with minerFields at " + minerFields[i].field)
		}
	}
}

var identityNames = []string{"firmware", "miner", "model"} // sorted

// addMinerIdentity records antspace_miner_info{miner,model,firmware} 1.
func (r *Result) addMinerIdentity(miner *dto.LabelPair, model, firmware string) {
	pairs := []*dto.LabelPair{
		{Name: &identityNames[0], Value: &firmware},
		miner,
		{Name: &identityNames[2], Value: &model},
	}
	r.samples = append(r.samples, sample{m: metricMinerInfoIdentity, value: 1, pairs: pairs})
}

// Gather implements prometheus.Gatherer: the probe's metric families sorted
// as a Registry sorts them, without a Registry's per-metric hashing and
// checks (a probe's label sets are unique and valid by construction; a test
// compares the two on every kind of answer). It spares the /probe handler a
// registry per probe.
func (r *Result) Gather() ([]*dto.MetricFamily, error) {
	all := r.series()
	metrics := make([]dto.Metric, len(all))
	byMetric := make(map[*metric]*dto.MetricFamily, 32)
	var families []*dto.MetricFamily
	for i := range all {
		s := &all[i]
		mf := byMetric[s.m]
		if mf == nil {
			mf = &dto.MetricFamily{Name: &s.m.name, Help: &s.m.help, Type: dtoType(s.m.valueType)}
			byMetric[s.m] = mf
			families = append(families, mf)
		}
		_ = s.Write(&metrics[i])
		mf.Metric = append(mf.Metric, &metrics[i])
	}
	sort.Slice(families, func(i, j int) bool { return families[i].GetName() < families[j].GetName() })
	for _, mf := range families {
		sort.Slice(mf.Metric, func(i, j int) bool { return labelsLess(mf.Metric[i].Label, mf.Metric[j].Label) })
	}
	return families, nil
}

// labelsLess orders series of one family by their label values, as the
// registry does.
func labelsLess(a, b []*dto.LabelPair) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	for i := range a {
		if va, vb := a[i].GetValue(), b[i].GetValue(); va != vb {
			return va < vb
		}
	}
	return false
}

var (
	typeGauge   = dto.MetricType_GAUGE
	typeCounter = dto.MetricType_COUNTER
)

func dtoType(vt prometheus.ValueType) *dto.MetricType {
	if vt == prometheus.CounterValue {
		return &typeCounter
	}
	return &typeGauge
}
