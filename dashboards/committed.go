package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

// This file reads the committed dashboard JSON back (not the generator's
// model): the end-to-end suite runs the queries users actually import.

// The committed dashboards: what users import and what CommittedQueries reads.
//
//go:embed *.json
var committed embed.FS

// Query is one PromQL query of a committed dashboard.
type Query struct {
	File      string // dashboard file name, e.g. "antspace-hk3.json"
	Dashboard string // dashboard UID
	Panel     string // panel title, or "variable <name>" for a template variable's query
	PanelID   int    // 0 for template variables
	RefID     string
	Expr      string // PromQL, variables substituted when returned by CommittedQueries
	Instant   bool   // evaluated as an instant query by Grafana
	// Optional is non-empty when the query may legitimately return no
	// series against a healthy fleet, and says when it returns data.
	Optional string
	// Label is the label a template variable's label_values() lists
	// (Expr is its selector); empty for panel targets.
	Label string
	// Width is the panel's width in grid columns (of 24) and
	// MaxDataPoints its maxDataPoints (0: the panel's width in pixels):
	// together they give the step Grafana asks for.
	Width, MaxDataPoints int
}

// optional lists the panels whose queries are empty unless something
// specific happens; keyed by dashboard UID and panel title.
var optional = map[[2]string]string{
	{FleetUID, "Active faults"}:             "a fault flag is set (antspace_fault_active == 1)",
	{FleetUID, "Firing alerts"}:             "an alert of the rule bundle is firing",
	{HK3UID, "Faults"}:                      "a fault flag was set in the time range",
	{ImmersionUID, "Faults"}:                "a fault flag was set in the time range",
	{HK3UID, "Power from energy meters"}:    "the HK3 firmware sends power_a_distribution/power_b_distribution",
	{HK3UID, "Unknown device fields"}:       "the device sends a field the exporter does not know",
	{ImmersionUID, "Unknown device fields"}: "the device sends a field the exporter does not know",
}

// Built-in Grafana variables and the values CommittedQueries uses for them unless
// vars overrides them.
var builtinVars = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "30s",
	"__interval_ms":   "30000",
	"__range":         "1h",
	"__range_s":       "3600",
	"__range_ms":      "3600000",
}

var varRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// Substitute replaces Grafana variable references ($name, ${name},
// ${name:format}) in expr. vars holds the dashboard variables (site,
// container; a multi-value selection is given as a regex alternation such as
// "c1|c2", and every dashboard uses these variables inside =~"..."),
// and may override the built-ins ($__rate_interval 1m, $__interval 30s,
// $__range 1h, ...). An unknown variable is an error.
func Substitute(expr string, vars map[string]string) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(expr, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if v, ok := vars[name]; ok {
			return v
		}
		if v, ok := builtinVars[name]; ok {
			return v
		}
		missing = append(missing, name)
		return m
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("unknown variable(s) %s in %q", strings.Join(missing, ", "), expr)
	}
	return out, nil
}

// CommittedQueries returns every query of the committed dashboards — panel targets
// and the template variables' label_values() selectors — with variables
// substituted by Substitute. Example for an end-to-end test:
//
//	qs, err := dashboards.CommittedQueries(map[string]string{"site": ".*", "container": "hk3-1|imm-1"})
//
// Range-only panel queries are returned too (Instant false); evaluated as
// instant queries they return the panel's latest point. The fleet's "Active
// faults" since/for columns use a subquery with step $__interval (30s by
// default): against a Prometheus only seconds old pass a shorter
// "__interval" (e.g. the scrape interval), or they find no aligned step yet.
func CommittedQueries(vars map[string]string) ([]Query, error) {
	qs, err := rawCommittedQueries()
	if err != nil {
		return nil, err
	}
	for i := range qs {
		e, err := Substitute(qs[i].Expr, vars)
		if err != nil {
			return nil, fmt.Errorf("%s %q %s: %w", qs[i].File, qs[i].Panel, qs[i].RefID, err)
		}
		qs[i].Expr = e
	}
	return qs, nil
}

// CommittedAllValues returns what Grafana puts in place of each template
// variable of the committed dashboard with this UID when "All" is selected:
// the variable's allValue. A multi-value variable without one (Grafana
// would list every value) is an error.
func CommittedAllValues(uid string) (map[string]string, error) {
	names, err := fs.Glob(committed, "*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := committed.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var d rawDashboard
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if d.UID != uid {
			continue
		}
		vars := map[string]string{}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			if v.AllValue == "" {
				return nil, fmt.Errorf("%s: variable %s has no allValue", name, v.Name)
			}
			vars[v.Name] = v.AllValue
		}
		return vars, nil
	}
	return nil, fmt.Errorf("no committed dashboard with UID %q", uid)
}

// labelValuesRE matches label_values(<selector>, <label>) and label_values(<label>).
var labelValuesRE = regexp.MustCompile(`^label_values\((?:(.*),\s*)?(\w+)\)$`)

// rawCommittedQueries returns every query of the committed dashboards as written,
// Grafana variables not substituted.
func rawCommittedQueries() ([]Query, error) {
	names, err := fs.Glob(committed, "*.json")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, name := range names {
		b, err := committed.ReadFile(name)
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return rawQueries(files)
}

// rawQueries returns every query of the dashboard files (by file name) as
// written, in file name order.
func rawQueries(files map[string][]byte) ([]Query, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var qs []Query
	for _, name := range names {
		var d rawDashboard
		if err := json.Unmarshal(files[name], &d); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			def := v.Definition
			m := labelValuesRE.FindStringSubmatch(strings.TrimSpace(def))
			if m == nil || m[1] == "" {
				return nil, fmt.Errorf("%s: variable %s: want label_values(<selector>, <label>), got %q", name, v.Name, def)
			}
			qs = append(qs, Query{File: name, Dashboard: d.UID, Panel: "variable " + v.Name, RefID: "variable", Expr: m[1], Instant: true, Label: m[2]})
		}
		for _, p := range flattenPanels(d.Panels) {
			for _, t := range p.Targets {
				qs = append(qs, Query{
					File: name, Dashboard: d.UID, Panel: p.Title, PanelID: p.ID, RefID: t.RefID,
					Expr: t.Expr, Instant: t.Instant && !t.Range,
					Optional: optional[[2]string{d.UID, p.Title}],
					Width:    p.GridPos.W, MaxDataPoints: p.MaxDataPoints,
				})
			}
		}
	}
	return qs, nil
}

// rawDashboard is the part of the dashboard JSON CommittedQueries and the tests read.
type rawDashboard struct {
	ID            *int       `json:"id"`
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	SchemaVersion int        `json:"schemaVersion"`
	Panels        []rawPanel `json:"panels"`
	Templating    struct {
		List []rawVariable `json:"list"`
	} `json:"templating"`
	Links []Link `json:"links"`
}

type rawVariable struct {
	Name       string         `json:"name"`
	AllValue   string         `json:"allValue"`
	Type       string         `json:"type"`
	Query      any            `json:"query"`
	Definition string         `json:"definition"`
	Datasource *DatasourceRef `json:"datasource"`
	Multi      bool           `json:"multi"`
	IncludeAll bool           `json:"includeAll"`
	Refresh    int            `json:"refresh"`
}

type rawPanel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *DatasourceRef `json:"datasource"`
	GridPos     GridPos        `json:"gridPos"`
	// MaxDataPoints is the panel's maxDataPoints (0 when not set).
	MaxDataPoints int `json:"maxDataPoints"`
	FieldConfig   *struct {
		Defaults struct {
			Unit       string            `json:"unit"`
			Mappings   []json.RawMessage `json:"mappings"`
			Thresholds *Thresholds       `json:"thresholds"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher    Matcher `json:"matcher"`
			Properties []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Targets []struct {
		Datasource   *DatasourceRef `json:"datasource"`
		Expr         string         `json:"expr"`
		RefID        string         `json:"refId"`
		Instant      bool           `json:"instant"`
		Range        bool           `json:"range"`
		LegendFormat string         `json:"legendFormat"`
	} `json:"targets"`
	Panels []rawPanel `json:"panels"`
}

// flattenPanels returns the panels with the panels of collapsed rows
// inlined after their row.
func flattenPanels(ps []rawPanel) []rawPanel {
	var out []rawPanel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flattenPanels(p.Panels)...)
	}
	return out
}
