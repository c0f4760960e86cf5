package dashboards

// This file holds the subset of the classic Grafana dashboard JSON model the
// generator emits, and small helpers to build panels. The committed
// *.json files are the artefact; these types only exist to produce them.
//
// The helpers encode what makes a panel render right in Grafana 10.4–12.x
// (rules_test.go checks every panel against them): state timelines colour by
// value mappings, never by merged thresholds; every coloured value maps "no
// data" to grey; tables show exactly the columns they list, each with a width;
// threshold lines only on panels whose series they judge.

import "math"

// SchemaVersion is the dashboard schemaVersion written to every dashboard
// (Grafana 10.4/11.x save this version; newer Grafana migrates it on load).
const SchemaVersion = 39

// DatasourceRef is the datasource every panel and target uses: the
// dashboard's `datasource` template variable.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

var promDS = &DatasourceRef{Type: "prometheus", UID: "${datasource}"}

// Dashboard is a classic Grafana dashboard.
type Dashboard struct {
	Annotations          Annotations    `json:"annotations"`
	Description          string         `json:"description"`
	Editable             bool           `json:"editable"`
	FiscalYearStartMonth int            `json:"fiscalYearStartMonth"`
	GraphTooltip         int            `json:"graphTooltip"`
	ID                   *int           `json:"id"`
	Links                []Link         `json:"links"`
	Panels               []*Panel       `json:"panels"`
	Refresh              string         `json:"refresh"`
	SchemaVersion        int            `json:"schemaVersion"`
	Tags                 []string       `json:"tags"`
	Templating           Templating     `json:"templating"`
	Time                 TimeRange      `json:"time"`
	Timepicker           map[string]any `json:"timepicker"`
	Timezone             string         `json:"timezone"`
	Title                string         `json:"title"`
	UID                  string         `json:"uid"`
	Version              int            `json:"version"`
	WeekStart            string         `json:"weekStart"`
}

// Annotations is the dashboard's annotation list (only Grafana's built-in).
type Annotations struct {
	List []map[string]any `json:"list"`
}

// Templating holds the template variables.
type Templating struct {
	List []Variable `json:"list"`
}

// TimeRange is the default time range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Link is a dashboard link or a data link.
type Link struct {
	AsDropdown  *bool    `json:"asDropdown,omitempty"`
	Icon        string   `json:"icon,omitempty"`
	IncludeVars *bool    `json:"includeVars,omitempty"`
	KeepTime    *bool    `json:"keepTime,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	TargetBlank *bool    `json:"targetBlank,omitempty"`
	Title       string   `json:"title"`
	Tooltip     string   `json:"tooltip,omitempty"`
	Type        string   `json:"type,omitempty"`
	URL         string   `json:"url"`
}

// Variable is a template variable.
type Variable struct {
	AllValue    string         `json:"allValue,omitempty"`
	Current     map[string]any `json:"current"`
	Datasource  *DatasourceRef `json:"datasource,omitempty"`
	Definition  string         `json:"definition,omitempty"`
	Description string         `json:"description,omitempty"`
	Hide        int            `json:"hide"`
	IncludeAll  bool           `json:"includeAll"`
	Label       string         `json:"label"`
	Multi       bool           `json:"multi"`
	Name        string         `json:"name"`
	Options     []any          `json:"options"`
	Query       any            `json:"query"`
	Refresh     int            `json:"refresh"`
	Regex       string         `json:"regex"`
	SkipURLSync bool           `json:"skipUrlSync"`
	Sort        int            `json:"sort"`
	Type        string         `json:"type"`
}

// VariableQuery is the Prometheus datasource's variable query object.
type VariableQuery struct {
	Query string `json:"query"`
	RefID string `json:"refId"`
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Panel is a dashboard panel or row.
type Panel struct {
	Collapsed       *bool            `json:"collapsed,omitempty"`
	Datasource      *DatasourceRef   `json:"datasource,omitempty"`
	Description     string           `json:"description,omitempty"`
	FieldConfig     *FieldConfig     `json:"fieldConfig,omitempty"`
	GridPos         GridPos          `json:"gridPos"`
	ID              int              `json:"id"`
	MaxDataPoints   int              `json:"maxDataPoints,omitempty"`
	Options         map[string]any   `json:"options,omitempty"`
	Panels          *[]*Panel        `json:"panels,omitempty"`
	Targets         []Target         `json:"targets,omitempty"`
	Title           string           `json:"title"`
	Transformations []Transformation `json:"transformations,omitempty"`
	Type            string           `json:"type"`

	// layout hints for the builder, not serialised
	w, h int
}

// Transformation is a Grafana data transformation.
type Transformation struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

// Target is a Prometheus query.
type Target struct {
	Datasource   *DatasourceRef `json:"datasource"`
	EditorMode   string         `json:"editorMode"`
	Exemplar     bool           `json:"exemplar"`
	Expr         string         `json:"expr"`
	Format       string         `json:"format"`
	Instant      bool           `json:"instant"`
	LegendFormat string         `json:"legendFormat"`
	Range        bool           `json:"range"`
	RefID        string         `json:"refId"`
}

// FieldConfig is a panel's field configuration.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []Override    `json:"overrides"`
}

// FieldDefaults are the panel-wide field defaults.
type FieldDefaults struct {
	Color      map[string]any `json:"color,omitempty"`
	Custom     map[string]any `json:"custom,omitempty"`
	Decimals   *int           `json:"decimals,omitempty"`
	Mappings   []Mapping      `json:"mappings"`
	Max        *float64       `json:"max,omitempty"`
	Min        *float64       `json:"min,omitempty"`
	NoValue    string         `json:"noValue,omitempty"`
	Thresholds Thresholds     `json:"thresholds"`
	Unit       string         `json:"unit,omitempty"`
}

// Thresholds colour values by absolute steps.
type Thresholds struct {
	Mode  string `json:"mode"`
	Steps []Step `json:"steps"`
}

// Step is one threshold step; the first has a nil (null) value.
type Step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

// Mapping is a value mapping: Type "value" with Options
// map[string]MappingValue, or Type "special" with SpecialMatch options.
type Mapping struct {
	Type    string `json:"type"`
	Options any    `json:"options"`
}

// SpecialMatch maps a special value ("null+nan": no value) to a result.
type SpecialMatch struct {
	Match  string       `json:"match"`
	Result MappingValue `json:"result"`
}

// MappingValue is the display text and colour of a mapped value.
type MappingValue struct {
	Color string `json:"color,omitempty"`
	Index int    `json:"index"`
	Text  string `json:"text"`
}

// Override applies properties to matching fields.
type Override struct {
	Matcher    Matcher    `json:"matcher"`
	Properties []Property `json:"properties"`
}

// Matcher selects fields for an override.
type Matcher struct {
	ID      string `json:"id"`
	Options string `json:"options"`
}

// Property is one overridden field property.
type Property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// ---- helpers -------------------------------------------------------------

// steps builds thresholds from a base colour and (value, colour) pairs.
func steps(base string, pairs ...any) Thresholds {
	t := Thresholds{Mode: "absolute", Steps: []Step{{Color: base}}}
	for i := 0; i+1 < len(pairs); i += 2 {
		var v float64
		switch x := pairs[i].(type) {
		case int:
			v = float64(x)
		case float64:
			v = x
		default:
			panic("threshold value must be a number")
		}
		t.Steps = append(t.Steps, Step{Color: pairs[i+1].(string), Value: new(v)})
	}
	return t
}

// Colour thresholds of the MiningOS UI ("amber" is Grafana's yellow).
var (
	hk3TempThresholds      = steps("red", 21, "yellow", 30, "green", 37, "orange", 40, "red")
	hk3PressureThresholds  = steps("red", 2, "yellow", 2.3, "green", 3.5, "orange", 4, "red")
	oilTempThresholds      = steps("red", 33, "yellow", 42, "green", 46, "orange", 48, "red")
	neutralThresholds      = steps("green")
	zeroGoodThresholds     = steps("green", 1, "red")
	nonZeroGoodThresholds  = steps("red", 1, "green")
	alertCriticalThreshold = steps("green", 1, "red")
	alertHighThreshold     = steps("green", 1, "orange")
	alertMediumThreshold   = steps("green", 1, "yellow")
)

// valueMap builds a value mapping from (value, text, colour) triples, plus
// the no-data mapping.
func valueMap(triples ...string) []Mapping {
	opts := map[string]MappingValue{}
	for i := 0; i+2 < len(triples); i += 3 {
		opts[triples[i]] = MappingValue{Text: triples[i+1], Color: triples[i+2], Index: i / 3}
	}
	return []Mapping{{Type: "value", Options: opts}, noDataMapping(len(triples) / 3)}
}

// Grey is the colour of "off" states and of missing data.
const offGrey = "#808080"

// noDataText is what a coloured value shows when its series is missing
// (container down, exporter down): grey, never the colour of a good value.
const noDataText = "No data"

// noDataMapping maps a missing value (null, NaN) to grey "No data". Grafana
// applies it to a stat or cell without any series too (the "No data" it
// would otherwise draw in the base threshold colour, green).
func noDataMapping(index int) Mapping {
	return Mapping{Type: "special", Options: SpecialMatch{Match: "null+nan", Result: MappingValue{Text: noDataText, Color: offGrey, Index: index}}}
}

// noData is the mapping list of a numeric value coloured by thresholds.
func noData() []Mapping { return []Mapping{noDataMapping(0)} }

var (
	upMapping      = valueMap("0", "Down", "red", "1", "Up", "green")
	onOffMapping   = valueMap("0", "Off", offGrey, "1", "On", "green")
	faultMapping   = valueMap("0", "OK", "green", "1", "FAULT", "red")
	plcMapping     = valueMap("0", "Connected", "green", "1", "Disconnected", "red")
	enabledMapping = valueMap("0", "Disabled", offGrey, "1", "Enabled", "blue")
	yesNoMapping   = valueMap("0", "No", offGrey, "1", "Yes", "green")
	switchMapping  = valueMap("0", "Inactive", offGrey, "1", "Active", "blue")
	successMapping = valueMap("0", "Failed", "red", "1", "OK", "green")
)

// query is a range query drawn as a time series.
func query(expr, legend string) Target {
	return Target{Datasource: promDS, EditorMode: "code", Expr: expr, Format: "time_series", LegendFormat: legend, Range: true}
}

// instant is an instant query drawn with the given legend (stat, bar gauge).
func instant(expr, legend string) Target {
	return Target{Datasource: promDS, EditorMode: "code", Expr: expr, Format: "time_series", Instant: true, LegendFormat: legend}
}

// tableQuery is an instant query in table format.
func tableQuery(expr string) Target {
	return Target{Datasource: promDS, EditorMode: "code", Expr: expr, Format: "table", Instant: true, LegendFormat: "__auto"}
}

func newPanel(typ, title, desc, unit string, w, h int, targets []Target) *Panel {
	for i := range targets {
		targets[i].RefID = string(rune('A' + i))
	}
	return &Panel{
		Type:        typ,
		Title:       title,
		Description: desc,
		Datasource:  promDS,
		Targets:     targets,
		FieldConfig: &FieldConfig{
			Defaults:  FieldDefaults{Unit: unit, Mappings: []Mapping{}, Thresholds: neutralThresholds, Color: map[string]any{"mode": "palette-classic"}},
			Overrides: []Override{},
		},
		w: w, h: h,
	}
}

// timeseries draws lines without fill (filled lines of several series merge
// into a solid block); stacked() fills. It sets no decimals: fixed decimals
// repeat axis ticks ("7.0 °C" twice), Grafana picks them from the tick step.
func timeseries(title, desc, unit string, w, h int, targets ...Target) *Panel {
	p := newPanel("timeseries", title, desc, unit, w, h, targets)
	p.FieldConfig.Defaults.Custom = map[string]any{
		"axisBorderShow":    false,
		"axisCenteredZero":  false,
		"axisColorMode":     "text",
		"axisLabel":         "",
		"axisPlacement":     "auto",
		"barAlignment":      0,
		"drawStyle":         "line",
		"fillOpacity":       0,
		"gradientMode":      "none",
		"hideFrom":          map[string]any{"legend": false, "tooltip": false, "viz": false},
		"insertNulls":       false,
		"lineInterpolation": "linear",
		"lineWidth":         1,
		"pointSize":         4,
		"scaleDistribution": map[string]any{"type": "linear"},
		"showPoints":        "never",
		"spanNulls":         false,
		"stacking":          map[string]any{"group": "A", "mode": "none"},
		"thresholdsStyle":   map[string]any{"mode": "off"},
	}
	// SI-scaled units (W → kW → MW, H/s → PH/s) repeat tick labels on a
	// narrow range; an axis from zero keeps them distinct.
	if unit == "watt" || unit == "Hs" {
		p.FieldConfig.Defaults.Custom["axisSoftMin"] = 0
	}
	p.Options = map[string]any{
		"legend":  map[string]any{"calcs": []string{"lastNotNull", "min", "max"}, "displayMode": "table", "placement": "bottom", "showLegend": true},
		"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
	}
	return p
}

// valuePanel is a panel that reduces each series to its last value (stat,
// bar gauge), coloured by thresholds, missing values grey "No data".
func valuePanel(typ, title, desc, unit string, w, h int, targets []Target, options map[string]any) *Panel {
	p := newPanel(typ, title, desc, unit, w, h, targets)
	p.FieldConfig.Defaults.Color = map[string]any{"mode": "thresholds"}
	p.FieldConfig.Defaults.Mappings = noData()
	options["reduceOptions"] = map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false}
	p.Options = options
	return p
}

// stat tiles are all 4 high today; h stays so every panel constructor reads
// (title, desc, unit, w, h, targets).
func stat(title, desc, unit string, w, h int, targets ...Target) *Panel { //nolint:unparam // see above
	return valuePanel("stat", title, desc, unit, w, h, targets, map[string]any{
		"colorMode": "value", "graphMode": "area", "justifyMode": "auto", "orientation": "auto",
		"showPercentChange": false, "textMode": "auto", "wideLayout": true,
	})
}

func bargauge(title, desc, unit string, w, h int, targets ...Target) *Panel {
	return valuePanel("bargauge", title, desc, unit, w, h, targets, map[string]any{
		"displayMode": "basic", "minVizHeight": 16, "minVizWidth": 8, "namePlacement": "left",
		"orientation": "horizontal", "showUnfilled": true, "sizing": "auto", "valueMode": "color",
	})
}

// stateTimeline colours each state by its value mapping. The colour mode is
// fixed (grey for a value without mapping): with mode "thresholds",
// mergeValues merges by threshold bucket and drops the mappings, so every
// lane is drawn in the base colour (green) whatever the value.
func stateTimeline(title, desc string, mappings []Mapping, w, h int, targets ...Target) *Panel {
	p := newPanel("state-timeline", title, desc, "", w, h, targets)
	p.FieldConfig.Defaults.Color = map[string]any{"mode": "fixed", "fixedColor": offGrey}
	p.FieldConfig.Defaults.Mappings = mappings
	p.FieldConfig.Defaults.Custom = map[string]any{
		"fillOpacity": 80,
		"hideFrom":    map[string]any{"legend": false, "tooltip": false, "viz": false},
		"insertNulls": false,
		"lineWidth":   0,
		"spanNulls":   false,
	}
	p.Options = map[string]any{
		"alignValue":  "left",
		"legend":      map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": false},
		"mergeValues": true,
		"rowHeight":   0.9,
		"showValue":   "never",
		"tooltip":     map[string]any{"mode": "single", "sort": "none"},
	}
	return p
}

// table takes a unit like the other panel constructors, though every table
// today mixes columns and passes "none".
func table(title, desc, unit string, w, h int, targets ...Target) *Panel { //nolint:unparam // see above
	p := newPanel("table", title, desc, unit, w, h, targets)
	p.FieldConfig.Defaults.Color = map[string]any{"mode": "thresholds"}
	p.FieldConfig.Defaults.Custom = map[string]any{
		"align":       "auto",
		"cellOptions": map[string]any{"type": "auto"},
		"filterable":  true,
		"inspect":     false,
	}
	p.Options = map[string]any{
		"cellHeight": "sm",
		"footer":     map[string]any{"countRows": false, "fields": "", "reducer": []string{"sum"}, "show": false},
		"showHeader": true,
	}
	return p
}

// ---- panel modifiers -------------------------------------------------------

func (p *Panel) thresholds(t Thresholds) *Panel {
	p.FieldConfig.Defaults.Thresholds = t
	return p
}

// showThresholds draws the thresholds as dashed lines across the whole
// panel: use it only where every series is one the bands judge (a supply
// band over a return temperature reads as an alarm that is not one).
func (p *Panel) showThresholds() *Panel {
	p.FieldConfig.Defaults.Custom["thresholdsStyle"] = map[string]any{"mode": "dashed"}
	return p
}

// mappings sets the value mappings (valueMap includes the no-data mapping).
func (p *Panel) mappings(m []Mapping) *Panel {
	p.FieldConfig.Defaults.Mappings = m
	return p
}

func (p *Panel) minMax(lo, hi float64) *Panel {
	p.FieldConfig.Defaults.Min = new(lo)
	p.FieldConfig.Defaults.Max = new(hi)
	return p
}

func (p *Panel) decimals(n int) *Panel {
	p.FieldConfig.Defaults.Decimals = &n
	return p
}

// stacked stacks the series (the top edge is the total) and fills them, so
// equal series stay visible instead of drawing one line.
func (p *Panel) stacked() *Panel {
	p.FieldConfig.Defaults.Custom["stacking"] = map[string]any{"group": "A", "mode": "normal"}
	p.FieldConfig.Defaults.Custom["fillOpacity"] = 25
	return p
}

func (p *Panel) override(matcherID, match string, props ...Property) *Panel {
	p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, Override{
		Matcher:    Matcher{ID: matcherID, Options: match},
		Properties: props,
	})
	return p
}

func (p *Panel) option(key string, v any) *Panel {
	p.Options[key] = v
	return p
}

func (p *Panel) transform(id string, opts map[string]any) {
	p.Transformations = append(p.Transformations, Transformation{ID: id, Options: opts})
}

func prop(id string, v any) Property { return Property{ID: id, Value: v} }

// dashedSeries draws matching series as dashed lines (setpoints).
func dashedSeries() []Property {
	return []Property{
		prop("custom.lineStyle", map[string]any{"dash": []int{10, 10}, "fill": "dash"}),
		prop("custom.fillOpacity", 0),
	}
}

// ---- layout ----------------------------------------------------------------

// layout places panels left to right on the 24-column grid, wrapping rows.
type layout struct {
	id     int
	x, y   int
	rowH   int
	panels []*Panel
	// collapsed row currently receiving panels, if any
	open *Panel
}

func (l *layout) nextID() int {
	l.id++
	return l.id
}

func (l *layout) newline() {
	if l.x > 0 {
		l.y += l.rowH
		l.x = 0
		l.rowH = 0
	}
}

// row starts a new (expanded) row.
func (l *layout) row(title string) {
	l.newline()
	l.open = nil
	empty := []*Panel{}
	l.panels = append(l.panels, &Panel{Type: "row", Title: title, ID: l.nextID(), Collapsed: new(false), Panels: &empty, GridPos: GridPos{H: 1, W: 24, X: 0, Y: l.y}})
	l.y++
}

// collapsedRow starts a collapsed row: following panels nest inside it.
func (l *layout) collapsedRow(title string) {
	l.newline()
	empty := []*Panel{}
	r := &Panel{Type: "row", Title: title, ID: l.nextID(), Collapsed: new(true), Panels: &empty, GridPos: GridPos{H: 1, W: 24, X: 0, Y: l.y}}
	l.panels = append(l.panels, r)
	l.open = r
	l.y++
}

func (l *layout) add(ps ...*Panel) {
	for _, p := range ps {
		if l.x+p.w > 24 {
			l.newline()
		}
		p.ID = l.nextID()
		p.GridPos = GridPos{H: p.h, W: p.w, X: l.x, Y: l.y}
		l.x += p.w
		if p.h > l.rowH {
			l.rowH = p.h
		}
		if l.open != nil {
			*l.open.Panels = append(*l.open.Panels, p)
		} else {
			l.panels = append(l.panels, p)
		}
	}
}

// ---- table columns ---------------------------------------------------------

// Width model of Grafana's panels at a 1600 px wide browser window (docked
// menu): about 55 px per grid unit, 7.5 px per character of 14 px text.
const (
	pxPerGridUnit = 55
	pxPerChar     = 7.5
	// cellPadding is a table cell's horizontal padding; headerIcons the
	// sort arrow and filter icon of a filterable column header.
	cellPadding = 16
	headerIcons = 32
)

// column is one column a table shows.
type column struct {
	field string // field name after the transformations, e.g. "container" or "Value #B"
	name  string // header
	chars int    // characters of the widest value (e.g. "612.3 kW" 8)
	props []Property
}

// col is a column of field with header name whose values are at most chars
// characters wide.
func col(field, name string, chars int, props ...Property) column {
	return column{field: field, name: name, chars: chars, props: props}
}

// width is the column's width in px: the header with its icons or the
// widest value, whichever is wider, rounded up to 10 px.
func (c column) width() int {
	w := max(pxPerChar*float64(len([]rune(c.name)))+headerIcons, pxPerChar*float64(c.chars)) + cellPadding
	return int(math.Ceil(w/10)) * 10
}

// colored colours the whole cell by the field's mappings and thresholds;
// missing values map to grey "No data".
func colored(mappings []Mapping) []Property {
	if mappings == nil {
		mappings = noData()
	}
	return []Property{prop("mappings", mappings), prop("custom.cellOptions", map[string]any{"type": "color-background"})}
}

// columns makes the table show exactly cols, in this order, each with its
// header and width: a filterFieldsByName include (labels the queries carry
// and the table does not list stay out; an exclude list would let every new
// label in), then an organize for the order.
func (p *Panel) columns(cols ...column) *Panel {
	var names []string
	index := map[string]any{}
	for i, c := range cols {
		names = append(names, c.field)
		index[c.field] = i
		props := []Property{prop("custom.width", c.width())}
		if c.name != c.field {
			props = append([]Property{prop("displayName", c.name)}, props...)
		}
		p.override("byName", c.field, append(props, c.props...)...)
	}
	p.transform("filterFieldsByName", map[string]any{"include": map[string]any{"names": names}})
	p.transform("organize", map[string]any{"excludeByName": map[string]any{}, "indexByName": index, "renameByName": map[string]any{}})
	return p
}
