package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/antspace-exporter/antspace_exporter/device/payload"
)

// maxUnknownFields bounds the generic series a (lying) device can create.
const maxUnknownFields = 200

// DefaultMaxMiners bounds the miners one probe exports when the module sets
// no max_miners. A real container holds a few hundred; each miner is about
// six series, so a lying minerInfo cannot turn into hundreds of thousands.
const DefaultMaxMiners = 1000

// Settings is what a probe needs to know about its module.
type Settings struct {
	Module        string             // name of the module, for antspace_container_info
	Type          Type               // "" detects the type from the payload
	Scales        map[string]float64 // per device field, overrides the default factor
	SkipMinerInfo bool
	MaxBodyBytes  int64 // 0 keeps the client's limit
	// Thresholds are the container's alert-threshold overrides (inventory
	// module and container), exposed as antspace_alert_threshold{name}.
	Thresholds map[string]float64
	MaxMiners  int // miners exported per probe; 0 = DefaultMaxMiners
}

func (s Settings) maxMiners() int {
	if s.MaxMiners <= 0 {
		return DefaultMaxMiners
	}
	return s.MaxMiners
}

// FieldError is one field that was missing or could not be parsed.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) String() string { return e.Field + ": " + e.Reason }

// Result is the outcome of one probe. It is a prometheus.Collector that
// emits every metric of the probe; register it in a fresh registry.
type Result struct {
	Type        Type
	Err         error // why coolerState failed; nil when antspace_up is 1
	MinerErr    error // why minerInfo failed; nil when it succeeded or was skipped
	FieldErrors []FieldError
	Duration    time.Duration
	Timeout     time.Duration
	// MinersDropped counts the miner entries of minerInfo beyond the
	// module's max_miners, not exported (antspace_miners_dropped).
	MinersDropped int
	// NotOK lists the read operations the controller answered with
	// ok:false. Their params are still converted and exported when they
	// parse (a leak the device reports must never be hidden), and
	// antspace_controller_ok{operation} is 0.
	NotOK []string

	minerSkipped bool
	thresholds   []sample // antspace_alert_threshold, sorted by name
	minersParsed bool     // minerInfo's params were read: antspace_miners_dropped is known
	answered     []string // read operations whose envelope was decoded: antspace_controller_ok is known
	samples      []sample // the device's series (see sample.go)

	// minersUnordered: a family marked minerOrdered may be out of order
	// (miners not added in strictly ascending address order, or a series
	// of such a family added by anything but addMinerField); lastMiner is
	// the last miner's address.
	minersUnordered bool
	lastMiner       *string
}

// Up reports whether the container's cooling telemetry was read.
func (r *Result) Up() bool { return r.Err == nil }

// Describe sends nothing: the label sets depend on the payload, so the
// result is an unchecked collector.
func (r *Result) Describe(chan<- *prometheus.Desc) {}

// Collect emits the probe's metrics.
func (r *Result) Collect(ch chan<- prometheus.Metric) {
	all := r.series()
	for i := range all {
		ch <- &all[i]
	}
}

// series is every sample of the probe: the probe-level ones, then the
// device's.
func (r *Result) series() []sample {
	return append(r.probeSeries(make([]sample, 0, 5+len(r.thresholds)+len(r.answered)+1+len(r.samples))), r.samples...)
}

// probeSeries appends the probe-level samples to all.
func (r *Result) probeSeries(all []sample) []sample {
	all = append(all,
		sample{m: metricUp, value: boolValue(r.Up())},
		sample{m: metricProbeDuration, value: r.Duration.Seconds()},
		sample{m: metricProbeTimeout, value: r.Timeout.Seconds()},
		sample{m: metricFieldErrors, value: float64(len(r.FieldErrors))},
	)
	if !r.minerSkipped {
		all = append(all, sample{m: metricMinerInfoUp, value: boolValue(r.MinerErr == nil)})
	}
	all = append(all, r.thresholds...)
	if r.minersParsed {
		all = append(all, sample{m: metricMinersDropped, value: float64(r.MinersDropped)})
	}
	for _, op := range r.answered {
		all = append(all, sample{m: metricControllerOK, value: boolValue(!slices.Contains(r.NotOK, op)), pairs: operationPairs[op]})
	}
	return all
}

// Reader reads a container's answers. device.Client is the real one, over
// HTTP; tests fake it without a socket.
type Reader interface {
	// Read returns the answer to a read operation (payload.OpCoolerState,
	// payload.OpMinerInfo) of the container at address, or why there is
	// none. maxBodyBytes > 0 bounds the answer; 0 keeps the reader's limit.
	// It must return by the time ctx ends.
	Read(ctx context.Context, address, operation string, maxBodyBytes int64) (*payload.Envelope, error)
}

// Probe reads one container through rd and converts its answers. It never
// returns later than ctx allows: the context reaches every read.
func Probe(ctx context.Context, rd Reader, address string, s Settings) *Result {
	r := &Result{Type: s.Type, minerSkipped: s.SkipMinerInfo}
	if len(s.Thresholds) > 0 {
		names := make([]string, 0, len(s.Thresholds))
		for n := range s.Thresholds {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			r.thresholds = append(r.thresholds, sample{m: metricAlertThreshold, value: s.Thresholds[n], pairs: labelPairs(metricAlertThreshold.labels, []string{n})})
		}
	}
	rd = traced(ctx, rd)

	var (
		wg       sync.WaitGroup
		minerEnv *payload.Envelope
		minerErr error
	)
	if !s.SkipMinerInfo {
		wg.Go(func() {
			minerEnv, minerErr = rd.Read(ctx, address, payload.OpMinerInfo, s.MaxBodyBytes)
		})
	}
	coolerEnv, err := rd.Read(ctx, address, payload.OpCoolerState, s.MaxBodyBytes)
	notOK := r.envelope(payload.OpCoolerState, coolerEnv, &err)
	if err == nil {
		err = r.convertCooler(coolerEnv.ParamsObject(), s)
		if err != nil && notOK {
			err = fmt.Errorf("%w (the device answered ok:false)", err)
		}
	}
	r.Err = err
	wg.Wait()

	if !s.SkipMinerInfo {
		notOK := r.envelope(payload.OpMinerInfo, minerEnv, &minerErr)
		if minerErr == nil {
			minerErr = r.convertMiners(minerEnv.ParamsObject(), s)
			if minerErr != nil && notOK {
				minerErr = fmt.Errorf("%w (the device answered ok:false)", minerErr)
			}
		}
		r.MinerErr = minerErr
	}
	return r
}

// envelope records how the controller answered op. An ok:false answer that
// carries params is converted like any other (its error is cleared): the
// old worker ignored ok, and a fault the device reports must not be hidden
// behind "unreachable". It reports whether the answer was ok:false.
func (r *Result) envelope(op string, env *payload.Envelope, err *error) (notOK bool) {
	if env == nil {
		return false
	}
	r.answered = append(r.answered, op)
	if env.OK {
		return false
	}
	r.NotOK = append(r.NotOK, op)
	if len(env.Params) > 0 {
		*err = nil
	}
	return true
}

// add records a series whose label values come from the payload or the
// settings.
func (r *Result) add(m *metric, v float64, labels ...string) {
	if len(labels) != len(m.labels) {
		panic(fmt.Sprintf("collector: %s takes %d label values, got %d", m.name, len(m.labels), len(labels)))
	}
	for i, l := range labels {
		if !utf8.ValidString(l) {
			labels[i] = strings.ToValidUTF8(l, "\uFFFD")
		}
	}
	r.minersUnordered = r.minersUnordered || m.minerOrdered
	r.samples = append(r.samples, sample{m: m, value: v, pairs: labelPairs(m.labels, labels)})
}

func (r *Result) fieldError(name string, err error) {
	r.FieldErrors = append(r.FieldErrors, FieldError{Field: name, Reason: err.Error()})
}

// paramKeys are the params members the field tables read, so decoding
// params copies only the names of unknown fields out of the body.
var paramKeys = func() payload.Keys {
	names := []string{"miner_info"}
	for _, sc := range schemas {
		for i := range sc.fields {
			names = append(names, sc.fields[i].field)
		}
		for k := range sc.special {
			names = append(names, k)
		}
	}
	for i := range minerSummaryFields {
		names = append(names, minerSummaryFields[i].field)
	}
	return payload.NewKeys(names...)
}()

// detectType decides a container's type from which fields it sends.
func detectType(params map[string]json.RawMessage) (Type, error) {
	best, bestScore, tie := Type(""), 0, false
	for _, t := range Types {
		score := 0
		for _, f := range schemas[t].markers {
			if _, ok := params[f]; ok {
				score++
			}
		}
		switch {
		case score > bestScore:
			best, bestScore, tie = t, score, false
		case score == bestScore && score > 0:
			tie = true
		}
	}
	if bestScore == 0 || tie {
		return "", errors.New("cannot detect the container type from the payload; set module=hk3 or module=immersion")
	}
	return best, nil
}

func (r *Result) convertCooler(raw payload.Object, s Settings) error {
	params, err := paramKeys.DecodeParamsObject(raw, nil)
	if err != nil {
		return fmt.Errorf("coolerState: %w", err)
	}
	t := s.Type
	if t == "" {
		if t, err = detectType(params); err != nil {
			return fmt.Errorf("coolerState: %w", err)
		}
	} else if !hasAny(params, schemas[t].markers) {
		other, _ := detectType(params)
		hint := "module=auto"
		if other != "" {
			hint = "module=" + string(other)
		}
		return fmt.Errorf("coolerState: payload has none of the %s fields %v; is the container another type? try %s", t, schemas[t].markers, hint)
	}
	r.Type = t
	sc := schemas[t]

	parsed := 0
	for i := range sc.fields {
		f := &sc.fields[i]
		rawValue, ok := params[f.field]
		if !ok {
			if !f.optional {
				r.FieldErrors = append(r.FieldErrors, FieldError{Field: f.field, Reason: "missing"})
			}
			continue
		}
		var v float64
		if f.kind == kindBool {
			v, err = payload.ParseBool(rawValue)
		} else {
			v, err = parseScaled(rawValue, s.Scales, f)
		}
		if err != nil {
			r.fieldError(f.field, err)
			continue
		}
		parsed++
		r.addField(f, v)
	}
	if parsed == 0 {
		return fmt.Errorf("coolerState: none of the %s fields could be read (%d errors, first: %s)", t, len(r.FieldErrors), firstFieldError(r.FieldErrors))
	}

	r.add(metricContainerInfo, 1, string(t), moduleLabel(s), directionLabel(params, directionLong), directionLabel(params, directionLat))
	r.addUnknown(params, sc)
	return nil
}

func hasAny(params map[string]json.RawMessage, names []string) bool {
	for _, n := range names {
		if _, ok := params[n]; ok {
			return true
		}
	}
	return false
}

func firstFieldError(errs []FieldError) string {
	if len(errs) == 0 {
		return "none"
	}
	return errs[0].String()
}

func moduleLabel(s Settings) string {
	if s.Module != "" {
		return s.Module
	}
	if s.Type == "" {
		return "auto"
	}
	return string(s.Type)
}

func directionLabel(params map[string]json.RawMessage, name string) string {
	raw, ok := params[name]
	if !ok {
		return ""
	}
	v, err := payload.ParseString(raw)
	if err != nil {
		return ""
	}
	return v
}

func scaleOf(scales map[string]float64, f *field) float64 {
	if v, ok := scales[f.field]; ok {
		return v
	}
	return f.scale
}

// parseScaled parses a numeric field and converts it to base units. A
// product that overflows (a device's 1e306 kW) is an error for the field,
// never a ±Inf sample.
func parseScaled(raw json.RawMessage, scales map[string]float64, f *field) (float64, error) {
	v, err := payload.ParseNumber(raw)
	if err != nil {
		return 0, err
	}
	scale := scaleOf(scales, f)
	scaled := v * scale
	if math.IsNaN(scaled) || math.IsInf(scaled, 0) {
		return 0, fmt.Errorf("%v × %v is not a finite number", v, scale)
	}
	return scaled, nil
}

// addUnknown exports numeric and boolean fields a newer firmware sends, so no
// telemetry is silently dropped.
func (r *Result) addUnknown(params map[string]json.RawMessage, sc *schema) {
	var names []string
	for name := range params {
		if _, known := sc.byName[name]; known || sc.special[name] {
			continue
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	n := 0
	for _, name := range names {
		v, err := payload.ParseNumber(params[name])
		if err != nil {
			if v, err = payload.ParseBool(params[name]); err != nil || isQuoted(params[name]) {
				continue // strings, objects and nulls have no gauge value
			}
		}
		if n == maxUnknownFields {
			r.fieldError(name, fmt.Errorf("more than %d unknown fields; the rest are dropped", maxUnknownFields))
			return
		}
		n++
		r.add(metricUnknownField, v, name)
	}
}

func isQuoted(raw json.RawMessage) bool {
	return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("\""))
}

func (r *Result) convertMiners(raw payload.Object, s Settings) error {
	var minersObj payload.Object // the last miner_info, as in params
	params, err := paramKeys.DecodeParamsObject(raw, func(name string, v payload.Object) {
		if name == "miner_info" {
			minersObj = v
		}
	})
	if err != nil {
		return fmt.Errorf("minerInfo: %w", err)
	}
	r.minersParsed = true
	parsed := 0
	for i := range minerSummaryFields {
		f := &minerSummaryFields[i]
		rawValue, ok := params[f.field]
		if !ok {
			r.fieldError("minerInfo."+f.field, errors.New("missing"))
			continue
		}
		v, err := parseScaled(rawValue, s.Scales, f)
		if err != nil {
			r.fieldError("minerInfo."+f.field, err)
			continue
		}
		parsed++
		r.addField(f, v)
	}
	if parsed == 0 {
		return errors.New("minerInfo: none of the summary fields could be read")
	}
	rawMiners, ok := params["miner_info"]
	if !ok || payload.IsNull(rawMiners) {
		return nil // a container without miners yet
	}
	// One pass collects each miner's raw table (the last of duplicate IPs
	// wins, as with encoding/json); the body was validated as a whole, so a
	// table that starts like an object is a well-formed one. Only the first
	// max_miners distinct miners are kept (and indexed); later entries of
	// other miners are counted as dropped, so a lying table costs memory and
	// series in proportion to the cap, not to its length.
	// The walk jumps over each miner's table (the body's index knows where
	// it ends) instead of scanning it.
	type minerRaw struct {
		ip    string
		table payload.Object
		null  bool
	}
	limit := s.maxMiners()
	// The index counts the tables (objects) in miner_info: enough room for
	// a table of distinct miners without growing.
	miners := make([]minerRaw, 0, min(limit, minersObj.IndexedWithin()+1))
	// Entries are collected as they come, duplicates included, until there
	// are limit of them; distinct then keeps the last entry of each
	// address, in address order. Only a table that reaches the limit needs
	// an index of addresses to tell a new miner (dropped) from a duplicate
	// of a kept one.
	distinct := func() {
		slices.SortStableFunc(miners, func(a, b minerRaw) int { return strings.Compare(a.ip, b.ip) })
		out := miners[:0]
		for i := range miners {
			if i+1 < len(miners) && miners[i+1].ip == miners[i].ip {
				continue // a later entry of the same miner wins
			}
			out = append(out, miners[i])
		}
		clear(miners[len(out):])
		miners = out
	}
	var index map[string]int
	refused := false
	valid := minersObj.EachMember(func(key []byte, v payload.Object) {
		null := payload.IsNull(v.Raw())
		if !null && v.Raw()[0] != '{' {
			refused = true // a miner that is not an object refuses the whole table
		}
		if index == nil {
			miners = append(miners, minerRaw{string(key), v, null})
			if len(miners) == limit {
				distinct()
				index = make(map[string]int, len(miners))
				for i := range miners {
					index[miners[i].ip] = i
				}
			}
			return
		}
		if i, dup := index[string(key)]; dup {
			miners[i].table, miners[i].null = v, null
			return
		}
		if len(miners) == limit {
			r.MinersDropped++
			return
		}
		ip := string(key)
		index[ip] = len(miners)
		miners = append(miners, minerRaw{ip, v, null})
	})
	if !valid || refused {
		return fmt.Errorf("minerInfo: miner_info is not an object of miners: %s", payload.Truncate(rawMiners))
	}
	if index == nil {
		distinct()
	} else {
		slices.SortFunc(miners, func(a, b minerRaw) int { return strings.Compare(a.ip, b.ip) })
	}
	// The label pairs of all miners' series come from one allocation each
	// (see minerSlab); a probe's samples grow once.
	slab := newMinerSlab(len(miners))
	r.samples = slices.Grow(r.samples, len(miners)*(len(minerFields)+1))
	var values [len(minerFieldNames)][]byte
	labelValues := payload.Strings{} // models and firmware versions, shared by the miners
	var identity [2]string           // the last miner's model and firmware
	var identityRaw [2][]byte        // as sent (nil: none yet)
	var identityPlain [2]bool        // needing no escapes
	for _, mr := range miners {
		ip := mr.ip
		clear(values[:])
		if !mr.null && !mr.table.EachMember(func(k []byte, v payload.Object) {
			if i := minerFieldAt(k); i >= 0 {
				values[i] = v.Raw()
			}
		}) {
			r.fieldError("minerInfo.miner_info["+ip+"]", errors.New("not an object"))
			continue
		}
		pair := slab.pair(&minerLabel, ip) // the miner's label, shared by its series
		plain := !needsEscape(ip)
		if r.lastMiner != nil && ip <= *r.lastMiner {
			r.minersUnordered = true
		}
		r.lastMiner = pair.Value
		var parsed [len(minerFieldNames) - 2]float64
		var have [len(minerFieldNames) - 2]bool
		for i := range minerFields {
			f := &minerFields[i]
			rawValue := values[i]
			if rawValue == nil {
				continue // per-miner tables vary with miner firmware
			}
			v, err := parseScaled(rawValue, s.Scales, f)
			if err != nil {
				r.fieldError("minerInfo.miner_info["+ip+"]."+f.field, err)
				continue
			}
			parsed[i], have[i] = v, true
		}
		// In the order of their families' series (minerSeriesOrder), so
		// the exposition finds each family sorted already.
		for _, i := range minerSeriesOrder {
			if have[i] {
				r.addMinerField(&minerFields[i], parsed[i], pair, plain, slab)
			}
		}
		// Model and firmware: the previous miner's, mostly.
		for j := range identity {
			raw := values[len(minerFields)+j]
			if identityRaw[j] == nil || !bytes.Equal(raw, identityRaw[j]) {
				identity[j], _ = labelValues.Parse(raw)
				identityRaw[j] = raw
				identityPlain[j] = !needsEscape(identity[j])
			}
		}
		r.addMinerIdentity(pair, identity[0], identity[1], plain && identityPlain[0] && identityPlain[1], slab)
	}
	return nil
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
