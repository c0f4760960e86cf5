package dashboards

// What makes a panel render right in Grafana 10.4–12.x, as rules over the
// committed JSON (issue 17: these defects passed every structural test and
// misled an operator looking at the dashboards in a browser). The rules read
// the JSON generically, so they judge any dashboard file, generated or not.

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// jpanel is one panel of a committed dashboard, read generically.
type jpanel struct {
	file string
	m    map[string]any
}

func (p jpanel) String() string { return fmt.Sprintf("%s %q", p.file, p.str("title")) }

// get walks nested objects: p.get("fieldConfig", "defaults", "color").
func (p jpanel) get(path ...string) any { return dig(p.m, path...) }

func (p jpanel) str(path ...string) string { s, _ := p.get(path...).(string); return s }

func (p jpanel) list(path ...string) []any { l, _ := p.get(path...).([]any); return l }

func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func num(v any) float64 {
	f, ok := v.(float64)
	if !ok {
		return math.NaN()
	}
	return f
}

// committedPanels returns every panel of the committed dashboards except
// rows, panels of collapsed rows included.
func committedPanels(t *testing.T) []jpanel {
	t.Helper()
	var out []jpanel
	var walk func(file string, ps []any)
	walk = func(file string, ps []any) {
		for _, x := range ps {
			m, _ := x.(map[string]any)
			if m["type"] == "row" {
				sub, _ := m["panels"].([]any)
				walk(file, sub)
				continue
			}
			out = append(out, jpanel{file: file, m: m})
		}
	}
	for name, b := range loadFiles(t) {
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		ps, _ := d["panels"].([]any)
		walk(name, ps)
	}
	if len(out) < 30 {
		t.Fatalf("only %d panels", len(out))
	}
	return out
}

// overrides returns the panel's overrides as (matcher, property id → value).
type override struct {
	matcherID, match string
	props            map[string]any
}

func (p jpanel) overrides() []override {
	var out []override
	for _, o := range p.list("fieldConfig", "overrides") {
		ov := override{matcherID: fmt.Sprint(dig(o, "matcher", "id")), match: fmt.Sprint(dig(o, "matcher", "options")), props: map[string]any{}}
		ps, _ := dig(o, "properties").([]any)
		for _, pr := range ps {
			ov.props[fmt.Sprint(dig(pr, "id"))] = dig(pr, "value")
		}
		out = append(out, ov)
	}
	return out
}

// 1. A state timeline that merges values while coloured by thresholds
// replaces each value by its threshold bucket: the value mappings are
// ignored, every lane is drawn in the base colour (green) and the tooltip
// reads "-∞+". A fault panel showed green through 40 minutes of faults.
func TestStateTimelinesColourByMappings(t *testing.T) {
	n := 0
	for _, p := range committedPanels(t) {
		merge, _ := p.get("options", "mergeValues").(bool)
		modes := []string{p.str("fieldConfig", "defaults", "color", "mode")}
		for _, o := range p.overrides() {
			if c, ok := o.props["color"]; ok {
				modes = append(modes, fmt.Sprint(dig(c, "mode")))
			}
		}
		if merge && slices.Contains(modes, "thresholds") {
			t.Errorf("%s: mergeValues with colour mode thresholds draws threshold buckets, not the value mappings (use colour mode fixed)", p)
		}
		typ := p.str("type")
		if typ != "state-timeline" && typ != "status-history" {
			continue
		}
		n++
		if modes[0] != "fixed" {
			t.Errorf("%s: colour mode %q; a state panel colours by its value mappings over a fixed (grey) colour", p, modes[0])
		}
		mappingSets := [][]any{p.list("fieldConfig", "defaults", "mappings")}
		for _, o := range p.overrides() {
			if m, ok := o.props["mappings"].([]any); ok {
				mappingSets = append(mappingSets, m)
			}
		}
		for _, ms := range mappingSets {
			values := 0
			for _, m := range ms {
				if dig(m, "type") != "value" {
					continue
				}
				opts, _ := dig(m, "options").(map[string]any)
				for v, r := range opts {
					values++
					if c, _ := dig(r, "color").(string); c == "" {
						t.Errorf("%s: value %s maps to %q without a colour", p, v, dig(r, "text"))
					}
				}
			}
			if values < 2 {
				t.Errorf("%s: mappings %v map fewer than two values (0 and 1)", p, ms)
			}
		}
	}
	if n == 0 {
		t.Error("no state timelines")
	}
}

// Panel header geometry at a 1600 px wide browser: about 55 px per grid unit
// (24 units beside the docked menu), 7.5 px per title character. The header
// also holds its padding, the info icon of a described panel and the
// menu/status icons Grafana reserves at the right; calibrated on what issue 17
// saw in Grafana 12.4: 3-unit stats cut "Supply flow" (11 characters) to
// "Suppl…" and "Containers up" to "Conta…".
const (
	headerPx   = 64 // padding and menu
	infoIconPx = 24 // the description's (i) and its gap
)

// 2. Titles must fit their tile, or the operator reads "Conta…" twice.
func TestTitlesFitTiles(t *testing.T) {
	for _, p := range committedPanels(t) {
		w := num(p.get("gridPos", "w"))
		need := pxPerChar*float64(len([]rune(p.str("title")))) + headerPx
		if p.str("description") != "" {
			need += infoIconPx
		}
		if have := pxPerGridUnit * w; need > have {
			t.Errorf("%s: title needs %.0f px, a %g-unit tile has %.0f: shorten it or widen the tile", p, need, w, have)
		}
	}
}

// Characters of the widest value of a table column, by field name; value
// fields by unit. The generator declares its own; these are the test's.
func contentChars(t *testing.T, field, unit string) int {
	switch field {
	case "alertname":
		return longestAlertName(t)
	case "fault", "component", "field":
		return 30 // "cooling_tower_liquid_level_low", "power_distribution_temp_sensor"
	case "miner":
		return 15 // IPv4
	case "container", "site":
		return 12
	case "type":
		return 9
	}
	switch unit {
	case "dateTimeAsIso":
		return 19
	case "s":
		return 10 // "3.25 weeks"
	}
	if strings.HasPrefix(field, "Value") {
		return 8 // "612.3 kW", "45.3 °C", "No data"
	}
	return 0
}

func longestAlertName(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("../rules/antspace.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			n = max(n, len(r.Alert))
		}
	}
	if n == 0 {
		t.Fatal("no alert names in the rule bundle")
	}
	return n
}

func TestAlertNameChars(t *testing.T) {
	if got := longestAlertName(t); alertNameChars < got {
		t.Errorf("alertNameChars = %d, the longest alert name has %d", alertNameChars, got)
	}
}

// 3. A table shows what it lists, and all of it fits at 1600 px: columns
// beyond the panel's width are cut (the fleet table hid power, hash rate,
// miners and faults), and an exclude list lets every label it does not know
// in (type, site, instance, class leaked into Active faults).
func TestTablesShowListedColumnsThatFit(t *testing.T) {
	n := 0
	for _, p := range committedPanels(t) {
		if p.str("type") != "table" {
			continue
		}
		n++
		var include []string
		for _, tr := range p.list("transformations") {
			switch dig(tr, "id") {
			case "organize":
				ex, _ := dig(tr, "options", "excludeByName").(map[string]any)
				for f, v := range ex {
					if v == true {
						t.Errorf("%s: organize excludes %q: list the columns to show (filterFieldsByName include) instead of those to hide", p, f)
					}
				}
			case "filterFieldsByName":
				for _, x := range dig(tr, "options", "include", "names").([]any) {
					include = append(include, x.(string))
				}
			}
		}
		if len(include) == 0 {
			t.Errorf("%s: no filterFieldsByName include list: every label of the queries becomes a column", p)
			continue
		}
		type colInfo struct {
			header, unit string
			width        float64
		}
		cols := map[string]*colInfo{}
		for _, f := range include {
			cols[f] = &colInfo{header: f, unit: p.str("fieldConfig", "defaults", "unit"), width: math.NaN()}
		}
		for _, o := range p.overrides() {
			c, ok := cols[o.match]
			if o.matcherID != "byName" || !ok {
				continue
			}
			if v, ok := o.props["displayName"].(string); ok {
				c.header = v
			}
			if v, ok := o.props["unit"].(string); ok {
				c.unit = v
			}
			if v, ok := o.props["custom.width"]; ok {
				c.width = num(v)
			}
		}
		total := 0.0
		for _, f := range include {
			c := cols[f]
			if math.IsNaN(c.width) {
				t.Errorf("%s: column %q has no width (custom.width): Grafana gives it at least 150 px", p, f)
				c.width = 150
			}
			total += c.width
			if need := pxPerChar*float64(len([]rune(c.header))) + headerIcons + cellPadding; c.width < need {
				t.Errorf("%s: column %q header %q needs %.0f px, has %.0f", p, f, c.header, need, c.width)
			}
			if need := pxPerChar*float64(contentChars(t, f, c.unit)) + cellPadding; c.width < need {
				t.Errorf("%s: column %q values need %.0f px, has %.0f", p, f, need, c.width)
			}
		}
		if have := pxPerGridUnit*num(p.get("gridPos", "w")) - cellPadding; total > have {
			t.Errorf("%s: columns are %.0f px wide, the panel has %.0f: the last ones are cut", p, total, have)
		}
	}
	if n == 0 {
		t.Error("no tables")
	}
}

// judge is the series a MiningOS UI colour band judges: a metric and, when
// set, the sensor label values it applies to.
type judge struct {
	metric  string
	sensors []string
}

// bands maps each UI band to the series it judges.
var bands = map[string][]judge{
	bandKey(hk3TempThresholds): {
		{"antspace_temperature_celsius", []string{"supply_liquid"}},
		{"antspace_supply_liquid_setpoint_celsius", nil},
	},
	bandKey(hk3PressureThresholds): {
		{"antspace_pressure_pascals", []string{"supply_liquid"}},
	},
	bandKey(oilTempThresholds): {
		{"antspace_temperature_celsius", []string{"secondary_supply1", "secondary_supply2"}},
		{"antspace_supply_liquid_setpoint_celsius", nil},
	},
}

func bandKey(th Thresholds) string {
	b, _ := json.Marshal(th)
	var v any
	_ = json.Unmarshal(b, &v)
	return fmt.Sprint(v)
}

// judges reports whether js cover every series the selector selects.
func judges(js []judge, vs *parser.VectorSelector) bool {
	var sensors []string
	known := false
	for _, j := range js {
		if j.metric != vs.Name {
			continue
		}
		if j.sensors == nil {
			return true
		}
		known = true
		sensors = append(sensors, j.sensors...)
	}
	if !known {
		return false
	}
	for _, m := range vs.LabelMatchers {
		if m.Name != "sensor" {
			continue
		}
		switch m.Type {
		case labels.MatchEqual:
			return slices.Contains(sensors, m.Value)
		case labels.MatchRegexp:
			for alt := range strings.SplitSeq(m.Value, "|") {
				if !slices.Contains(sensors, alt) {
					return false
				}
			}
			return true
		}
	}
	return false // every sensor of the metric
}

// 4. Threshold lines span the whole axis, and band colours apply to every
// value: a supply band over a return temperature (41.9 °C above the red
// 40 °C supply line) reads as an alarm that is none. A UI band belongs on
// panels (or columns) whose every series it judges.
func TestBandsOnlyOverJudgedSeries(t *testing.T) {
	n := 0
	for _, p := range committedPanels(t) {
		if p.str("type") == "timeseries" && p.str("fieldConfig", "defaults", "custom", "thresholdsStyle", "mode") == "off" &&
			p.str("fieldConfig", "defaults", "color", "mode") != "thresholds" {
			continue // thresholds neither drawn nor colouring the lines
		}
		targets := map[string]string{}
		var refs []string
		for _, tg := range p.list("targets") {
			targets[fmt.Sprint(dig(tg, "refId"))] = fmt.Sprint(dig(tg, "expr"))
			refs = append(refs, fmt.Sprint(dig(tg, "refId")))
		}
		// Bands of the panel: for a table a column's band judges its query
		// ("Value #X" is refId X); otherwise the bands of the panel together
		// judge every query.
		type use struct {
			js   []judge
			refs []string
		}
		var uses []use
		var panelJS []judge
		if js, ok := bands[bandKey(thresholdsOf(p.get("fieldConfig", "defaults", "thresholds")))]; ok {
			panelJS = append(panelJS, js...)
		}
		for _, o := range p.overrides() {
			js, ok := bands[bandKey(thresholdsOf(o.props["thresholds"]))]
			if !ok {
				continue
			}
			if ref, isCol := strings.CutPrefix(o.match, "Value #"); isCol && p.str("type") == "table" {
				uses = append(uses, use{js, []string{ref}})
				continue
			}
			panelJS = append(panelJS, js...)
		}
		if panelJS != nil {
			uses = append(uses, use{panelJS, refs})
		}
		for _, u := range uses {
			n++
			for _, ref := range u.refs {
				e, err := Substitute(targets[ref], testVars)
				if err != nil {
					t.Fatal(err)
				}
				expr, err := parser.NewParser(parser.Options{}).ParseExpr(e)
				if err != nil {
					t.Fatalf("%s %s: %v", p, ref, err)
				}
				parser.Inspect(expr, func(nd parser.Node, _ []parser.Node) error {
					if vs, ok := nd.(*parser.VectorSelector); ok && !judges(u.js, vs) {
						t.Errorf("%s %s: a UI band is drawn over %s, which it does not judge", p, ref, vs)
					}
					return nil
				})
			}
		}
	}
	if n == 0 {
		t.Error("no panel uses a UI band")
	}
}

func thresholdsOf(v any) Thresholds {
	var th Thresholds
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &th)
	return th
}

// 5. Links between dashboards carry datasource, site and time, never the
// container (the dashboards list different containers: fleet all, HK3 and
// immersion their own type; an immersion container opened the HK3 dashboard
// empty). Data links to a container's own dashboard pass it too.
func TestLinksCarryDatasourceSiteTime(t *testing.T) {
	for name, b := range loadFiles(t) {
		var d struct {
			Links []map[string]any `json:"links"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, l := range d.Links {
			url, _ := l["url"].(string)
			if l["includeVars"] == true {
				t.Errorf("%s: link %q includes all variables (container too)", name, l["title"])
			}
			if l["keepTime"] != true {
				t.Errorf("%s: link %q does not keep the time range", name, l["title"])
			}
			for _, want := range []string{"${datasource:queryparam}", "${site:queryparam}"} {
				if !strings.Contains(url, want) {
					t.Errorf("%s: link %q url %q lacks %s", name, l["title"], url, want)
				}
			}
			if strings.Contains(url, "container") {
				t.Errorf("%s: link %q url %q passes the container", name, l["title"], url)
			}
		}
	}
	n := 0
	for _, p := range committedPanels(t) {
		for _, o := range p.overrides() {
			ls, _ := o.props["links"].([]any)
			for _, l := range ls {
				n++
				url := fmt.Sprint(dig(l, "url"))
				for _, want := range []string{"${datasource:queryparam}", "${site:queryparam}", "${__url_time_range}"} {
					if !strings.Contains(url, want) {
						t.Errorf("%s: data link %q lacks %s", p, url, want)
					}
				}
				if strings.Contains(url, "container") && !strings.HasPrefix(url, "/d/antspace-${__data.fields.type}?") {
					t.Errorf("%s: data link %q passes a container to a dashboard that need not list its type", p, url)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no data links")
	}
}

// isNoData reports whether mappings map a missing value to grey "No data"
// (or "Down").
func isNoData(mappings []any) bool {
	for _, m := range mappings {
		if dig(m, "type") != "special" {
			continue
		}
		match := fmt.Sprint(dig(m, "options", "match"))
		text := strings.ToLower(fmt.Sprint(dig(m, "options", "result", "text")))
		color := strings.ToLower(fmt.Sprint(dig(m, "options", "result", "color")))
		if (match == "null" || match == "null+nan") && (text == "no data" || text == "down") &&
			slices.Contains([]string{"#808080", "gray", "grey", "text"}, color) {
			return true
		}
	}
	return false
}

var (
	totalRE    = regexp.MustCompile(`^sum\(`)
	expectedRE = regexp.MustCompile(`\bup\{[^}]*job="antspace"`)
)

// 6. Missing data is grey and says so: a down container's tiles showed
// green "No data" (Grafana colours a missing value with the base
// threshold, green), Active faults included. And a total that lost a
// container (fleet power 1.91 → 1.33 MW) says it covers fewer containers.
func TestMissingDataIsGrey(t *testing.T) {
	for _, p := range committedPanels(t) {
		switch p.str("type") {
		case "stat", "bargauge", "state-timeline", "status-history", "gauge":
			if !isNoData(p.list("fieldConfig", "defaults", "mappings")) {
				t.Errorf("%s: no mapping of a missing value to grey \"No data\"", p)
			}
		case "table":
			for _, o := range p.overrides() {
				cell := fmt.Sprint(dig(o.props["custom.cellOptions"], "type"))
				if cell != "color-background" {
					continue
				}
				ms, _ := o.props["mappings"].([]any)
				if !isNoData(ms) {
					t.Errorf("%s: column %q is coloured but maps no missing value to grey \"No data\"", p, o.match)
				}
			}
		}
		if p.str("type") != "stat" {
			continue
		}
		total, coverage := false, false
		for _, tg := range p.list("targets") {
			e := fmt.Sprint(dig(tg, "expr"))
			total = total || totalRE.MatchString(e)
			coverage = coverage || expectedRE.MatchString(e)
		}
		// Fault flags set counts flags (a sum of the per-container count
		// since container:antspace_fault_active:sum), not a measured
		// quantity: a container that does not answer sets none, and the
		// stat beside it, Containers down, says so.
		if p.str("title") == "Fault flags set" {
			total = false
		}
		if total && !coverage {
			t.Errorf("%s: a total over containers without the share of containers it covers", p)
		}
	}
}

// 7. Time series axes: fixed decimals repeat tick labels ("7.0 °C" twice),
// SI-scaled units repeat them on a narrow range ("1.25 PH/s" several
// times), fill under many unstacked series merges into a block, and lengthm
// switches between mm and m around 1 m.
func TestTimeSeriesAxes(t *testing.T) {
	for _, p := range committedPanels(t) {
		if p.str("type") != "timeseries" {
			continue
		}
		def := func(k ...string) any { return p.get(append([]string{"fieldConfig", "defaults"}, k...)...) }
		if def("decimals") != nil {
			t.Errorf("%s: decimals fixed on a time series repeat axis ticks", p)
		}
		unit, _ := def("unit").(string)
		if (unit == "watt" || unit == "Hs") && def("min") == nil && def("custom", "axisSoftMin") == nil {
			t.Errorf("%s: SI-scaled unit %s without an axis from 0 repeats tick labels", p, unit)
		}
		if unit == "lengthm" {
			t.Errorf("%s: lengthm switches between mm and m", p)
		}
		stacked := fmt.Sprint(def("custom", "stacking", "mode")) == "normal"
		if fill := num(def("custom", "fillOpacity")); !stacked && fill > 0 {
			t.Errorf("%s: unstacked series filled (%g): several fill into a block", p, fill)
		}
		if strings.HasPrefix(p.str("title"), "Total") && !stacked {
			t.Errorf("%s: a total drawn as unstacked lines per series", p)
		}
	}
}
