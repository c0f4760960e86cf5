package collector

import (
	"bytes"
	"slices"
	"sort"
	"strings"

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

	// text, for the series of a table field, is its line in the text
	// format up to the value, made once: seriesTexts[text-1] (0: WriteText
	// builds it). A number, not a pointer: no write barrier, nothing more
	// for the GC to scan. plain: the miner's address needs no escaping.
	text  int32
	plain bool
}

// seriesText is a series in the text format up to its value, made once:
// parts[0], then for each slot the value of that pair (escaped, unless the
// sample is plain) and the next part. Table fields have no slot, per-miner
// fields the miner's, the identity series all three. Built by the code that
// writes any other series (seriesTextOf).
type seriesText struct {
	parts [][]byte
	slots []int // pairs whose values are the probe's
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
		pairs[i] = &dto.LabelPair{Name: &names[i], Value: &values[i]} //nolint:gosec // G602: every caller passes a value per name (the metric table's labels)
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
	return pairs
}

// init sets every table field's label pairs; for per-miner fields, the
// pairs without the leading miner label.
func init() {
	for _, s := range schemas {
		for i := range s.fields {
			f := &s.fields[i]
			f.pairs = labelPairs(f.metric.labels, f.labels)
		}
	}
	for i := range minerSummaryFields {
		f := &minerSummaryFields[i]
		f.pairs = labelPairs(f.metric.labels, f.labels)
	}
	for i := range minerFields {
		f := &minerFields[i]
		if len(f.metric.labels) == 0 || f.metric.labels[0] != "miner" || len(f.labels) != len(f.metric.labels)-1 {
			panic("collector: per-miner field " + f.field + " must have the miner label first")
		}
		f.pairs = labelPairs(f.metric.labels[1:], f.labels)
	}
}

// addField records a table field's value.
func (r *Result) addField(f *field, v float64) {
	r.minersUnordered = r.minersUnordered || f.metric.minerOrdered
	r.samples = append(r.samples, sample{m: f.metric, value: v, pairs: f.pairs, text: f.text})
}

// addMinerField records a per-miner field's value; miner is the miner's
// label pair, shared by all its series. The pairs are the field's static
// pairs with the miner's inserted where its name sorts (field.minerAt).
// plain says the miner's address needs no escaping in the text format.
func (r *Result) addMinerField(f *field, v float64, miner *dto.LabelPair, plain bool, slab *minerSlab) {
	static := f.pairs
	at := f.minerAt
	pairs := slab.pairs(len(static) + 1)
	copy(pairs, static[:at])
	pairs[at] = miner
	copy(pairs[at+1:], static[at:])
	r.samples = append(r.samples, sample{m: f.metric, value: v, pairs: pairs, text: f.text, plain: plain})
}

var minerLabel = "miner"

// operationPairs are antspace_controller_ok's label pairs per read operation.
var operationPairs = map[string][]*dto.LabelPair{
	payload.OpCoolerState: labelPairs([]string{"operation"}, []string{payload.OpCoolerState}),
	payload.OpMinerInfo:   labelPairs([]string{"operation"}, []string{payload.OpMinerInfo}),
}

// minerPairsPerMiner is the most label pairs a miner's series take: every
// per-miner field's static pairs plus the miner's, and the identity's three.
var minerPairsPerMiner = 3

func init() {
	for i := range minerFields {
		f := &minerFields[i]
		static := f.pairs
		f.minerAt, _ = slices.BinarySearchFunc(static, minerLabel, func(p *dto.LabelPair, name string) int { return strings.Compare(p.GetName(), name) })
		minerPairsPerMiner += len(static) + 1
	}
	for _, s := range schemas {
		for i := range s.fields {
			f := &s.fields[i]
			f.text = seriesTextOf(f.metric, f.pairs)
		}
	}
	for i := range minerSummaryFields {
		f := &minerSummaryFields[i]
		f.text = seriesTextOf(f.metric, f.pairs)
	}
	for i := range minerFields {
		f := &minerFields[i]
		f.text = seriesTextOf(f.metric, slices.Insert(slices.Clone(f.pairs), f.minerAt, &dto.LabelPair{Name: &minerLabel}))
	}
	identity := make([]*dto.LabelPair, len(identityNames))
	for i := range identity {
		identity[i] = &dto.LabelPair{Name: &identityNames[i]}
	}
	identityText = seriesTextOf(metricMinerInfoIdentity, identity)
}

// identityText is antspace_miner_info's series text.
var identityText int32

// seriesTextOf makes a series text for m with pairs, a pair without a
// value being a slot for the probe's, and returns its number (sample.text).
func seriesTextOf(m *metric, pairs []*dto.LabelPair) int32 {
	const placeholder = "\x00" // in no name, help or table value
	var t seriesText
	full := slices.Clone(pairs)
	for i, p := range full {
		if p.Value == nil {
			full[i] = &dto.LabelPair{Name: p.Name, Value: new(placeholder)}
			t.slots = append(t.slots, i)
		}
	}
	t.parts = bytes.Split(appendSeries(nil, m, full), []byte(placeholder))
	if len(t.parts) != len(t.slots)+1 {
		panic("collector: the series text of " + m.name + " has no single place for each value")
	}
	seriesTexts = append(seriesTexts, t)
	return int32(len(seriesTexts)) //nolint:gosec // G115: one per table field
}

// init marks the metrics whose families are sorted by construction when
// miners come in address order (metric.minerOrdered): every field of the
// metric is per-miner, with the miner's pair at the same place and the
// same pairs before it (so two miners' series compare by address first),
// and no table field that is not per-miner has it (anything else adding
// such a series marks the probe's Result.minersUnordered).
func init() {
	for i := range minerFields {
		minerFields[i].metric.minerOrdered = true
	}
	for _, s := range schemas {
		for i := range s.fields {
			s.fields[i].metric.minerOrdered = false
		}
	}
	for i := range minerSummaryFields {
		minerSummaryFields[i].metric.minerOrdered = false
	}
	metricMinerInfoIdentity.minerOrdered = false // firmware sorts before the miner
	for i := range minerFields {
		for j := range i {
			a, b := &minerFields[i], &minerFields[j]
			if a.metric != b.metric {
				continue
			}
			if a.minerAt != b.minerAt || len(a.pairs) != len(b.pairs) {
				a.metric.minerOrdered = false
				continue
			}
			for k := range a.minerAt {
				if a.pairs[k].GetName() != b.pairs[k].GetName() || a.pairs[k].GetValue() != b.pairs[k].GetValue() {
					a.metric.minerOrdered = false
				}
			}
		}
	}
}

// seriesTexts are the table fields' series texts (sample.text), set by
// init.
var seriesTexts []seriesText

// minerSlab hands out the label pairs of a probe's miners from three
// allocations instead of several per series. Label pairs are immutable once
// handed out (the registry's contract), and the slab's arrays never grow, so
// the pointers stay valid.
type minerSlab struct {
	ptrs []*dto.LabelPair
	lps  []dto.LabelPair
	strs []string

	model, firmware map[string]*dto.LabelPair // the identity's shared pairs (addMinerIdentity)
	// the last of each handed out: miners in a row mostly share them
	lastModel, lastFirmware *dto.LabelPair
}

// newMinerSlab sizes a slab for miners miners: a pair for each miner's
// address, and a few for the models and firmware versions they share
// (more distinct ones come from the heap).
func newMinerSlab(miners int) *minerSlab {
	return &minerSlab{
		ptrs: make([]*dto.LabelPair, 0, miners*minerPairsPerMiner),
		lps:  make([]dto.LabelPair, 0, miners+8),
		strs: make([]string, 0, miners+8),
	}
}

// pairs returns n label pair slots; beyond the slab's size it allocates.
func (s *minerSlab) pairs(n int) []*dto.LabelPair {
	if len(s.ptrs)+n > cap(s.ptrs) {
		return make([]*dto.LabelPair, n)
	}
	p := s.ptrs[len(s.ptrs) : len(s.ptrs)+n : len(s.ptrs)+n]
	s.ptrs = s.ptrs[:len(s.ptrs)+n]
	return p
}

// pair returns a label pair name=value.
func (s *minerSlab) pair(name *string, value string) *dto.LabelPair {
	if len(s.lps) == cap(s.lps) || len(s.strs) == cap(s.strs) {
		v := value // only here on the heap
		return &dto.LabelPair{Name: name, Value: &v}
	}
	s.strs = append(s.strs, value)
	s.lps = s.lps[:len(s.lps)+1]
	p := &s.lps[len(s.lps)-1]
	p.Name, p.Value = name, &s.strs[len(s.strs)-1]
	return p
}

// minerFieldNames are the per-miner keys a probe reads: the table's fields,
// then the identity's model and firmware.
var minerFieldNames = [...]string{"GHS_5s", "GHS_avg", "pcb_max_temp", "chip_max_temp", "elapsed", "miner_type", "miner_version"}

// minerFieldAt is the index of key in minerFieldNames, or -1 (a switch:
// cheaper than hashing the key of every member of every miner's table).
func minerFieldAt(key []byte) int {
	switch string(key) {
	case "GHS_5s":
		return 0
	case "GHS_avg":
		return 1
	case "pcb_max_temp":
		return 2
	case "chip_max_temp":
		return 3
	case "elapsed":
		return 4
	case "miner_type":
		return 5
	case "miner_version":
		return 6
	}
	return -1
}

// minerSeriesOrder is the order a miner's field series are added in: by
// metric, then by their static label values, so that with miners in
// address order each per-miner family comes out sorted for the exposition
// (pcb_max is in the table before chip_max). Field errors keep the table's
// order.
var minerSeriesOrder = func() []int {
	order := make([]int, len(minerFields))
	for i := range order {
		order[i] = i
	}
	return order
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
	for i, n := range minerFieldNames {
		if minerFieldAt([]byte(n)) != i {
			panic("collector: minerFieldAt out of step with minerFieldNames at " + n)
		}
	}
	// After the init that sets the fields' pairs (above in this file).
	slices.SortStableFunc(minerSeriesOrder, func(a, b int) int {
		fa, fb := &minerFields[a], &minerFields[b]
		if c := strings.Compare(fa.metric.name, fb.metric.name); c != 0 {
			return c
		}
		return labelsCompare(fa.pairs, fb.pairs)
	})
}

var identityNames = []string{"firmware", "miner", "model"} // sorted

// addMinerIdentity records antspace_miner_info{miner,model,firmware} 1.
// Miners mostly share a few models and firmware versions: their label
// pairs are made once per probe and shared (label pairs are immutable).
// plain says none of the three values needs escaping in the text format.
func (r *Result) addMinerIdentity(miner *dto.LabelPair, model, firmware string, plain bool, slab *minerSlab) {
	pairs := slab.pairs(3)
	pairs[0] = slab.shared(&slab.firmware, &slab.lastFirmware, &identityNames[0], firmware)
	pairs[1] = miner
	pairs[2] = slab.shared(&slab.model, &slab.lastModel, &identityNames[2], model)
	r.samples = append(r.samples, sample{m: metricMinerInfoIdentity, value: 1, pairs: pairs, text: identityText, plain: plain})
}

// shared returns the pair name=value of the probe's pairs in *m, made on
// first use.
func (s *minerSlab) shared(m *map[string]*dto.LabelPair, last **dto.LabelPair, name *string, value string) *dto.LabelPair {
	if p := *last; p != nil && *p.Value == value {
		return p
	}
	if p, ok := (*m)[value]; ok {
		*last = p
		return p
	}
	if *m == nil {
		*m = make(map[string]*dto.LabelPair, 4)
	}
	p := s.pair(name, value)
	(*m)[value] = p
	*last = p
	return p
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

// labelsCompare is labelsLess as a three-way comparison.
func labelsCompare(a, b []*dto.LabelPair) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	for i := range a {
		if a[i] == b[i] {
			continue // a shared pair (a field's static labels, a miner's)
		}
		if c := strings.Compare(a[i].GetValue(), b[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
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
