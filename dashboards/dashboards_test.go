package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/rules"
)

// wantUIDs is the fixed UID of every committed dashboard file.
var wantUIDs = map[string]string{
	"antspace-fleet.json":     FleetUID,
	"antspace-hk3.json":       HK3UID,
	"antspace-immersion.json": ImmersionUID,
}

// Schema versions current Grafana (10.x–12.x) loads without a lossy migration.
const minSchema, maxSchema = 36, 41

// Target labels every device series carries in Prometheus (relabelling/http_sd).
var targetLabels = []string{"container", "type", "site", "instance", "job"}

// Prometheus built-ins the dashboards may query besides the exporter's table.
var builtinMetrics = map[string][]string{
	"up":     nil,
	"ALERTS": {"alertname", "alertstate", "severity", "class", "fault", "component"},
}

// Grafana unit ids the dashboards may use (checked against Grafana's
// valueFormats categories), plus custom "suffix:<text>" units.
var grafanaUnits = map[string]bool{
	"none": true, "short": true, "celsius": true, "watt": true, "hertz": true, "volt": true, "amp": true,
	"percentunit": true, "pressurebar": true, "pressurekpa": true, "lengthm": true, "s": true,
	"Hs": true, "dateTimeAsIso": true, "kwatth": true,
}

func loadFiles(t *testing.T) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	if len(out) != len(wantUIDs) {
		t.Fatalf("dashboard files: got %v, want the %d of wantUIDs", keys(out), len(wantUIDs))
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestCommittedJSONMatchesGenerator(t *testing.T) {
	built, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	files := loadFiles(t)
	if !slices.Equal(keys(built), keys(files)) {
		t.Fatalf("generator writes %v, committed %v", keys(built), keys(files))
	}
	for name, b := range built {
		if !bytes.Equal(b, files[name]) {
			t.Errorf("%s differs from the generator output; run `go generate ./dashboards` and commit", name)
		}
	}
	// The embedded copy CommittedQueries reads is the committed one.
	for name, b := range files {
		e, err := committed.ReadFile(name)
		if err != nil || !bytes.Equal(e, b) {
			t.Errorf("%s: embedded copy differs from the file (rebuild)", name)
		}
	}
}

func TestDashboardStructure(t *testing.T) {
	for name, b := range loadFiles(t) {
		t.Run(name, func(t *testing.T) {
			var generic map[string]any
			if err := json.Unmarshal(b, &generic); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if id, ok := generic["id"]; !ok || id != nil {
				t.Errorf("id = %v (present %v), want null", id, ok)
			}
			if _, ok := generic["__inputs"]; ok {
				t.Error("__inputs present; use the datasource variable instead")
			}
			var d rawDashboard
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatal(err)
			}
			if d.UID != wantUIDs[name] {
				t.Errorf("uid = %q, want %q", d.UID, wantUIDs[name])
			}
			if d.SchemaVersion < minSchema || d.SchemaVersion > maxSchema {
				t.Errorf("schemaVersion = %d, want %d..%d", d.SchemaVersion, minSchema, maxSchema)
			}
			if d.Title == "" {
				t.Error("no title")
			}
			checkVariables(t, name, d)
			checkPanels(t, d)
		})
	}
}

func checkVariables(t *testing.T, file string, d rawDashboard) {
	vars := map[string]rawVariable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	ds, ok := vars["datasource"]
	if !ok || ds.Type != "datasource" || ds.Query != "prometheus" {
		t.Errorf("datasource variable = %+v, want type datasource, query prometheus", ds)
	}
	wantContainer := map[string]string{
		"antspace-fleet.json":     `label_values(antspace_up{job="antspace",site=~"$site"}, container)`,
		"antspace-hk3.json":       `label_values(antspace_container_info{job="antspace",site=~"$site",type="hk3"}, container)`,
		"antspace-immersion.json": `label_values(antspace_container_info{job="antspace",site=~"$site",type="immersion"}, container)`,
	}[file]
	for name, def := range map[string]string{"site": `label_values(antspace_up{job="antspace"}, site)`, "container": wantContainer} {
		v, ok := vars[name]
		if !ok {
			t.Errorf("no %s variable", name)
			continue
		}
		if v.Type != "query" || !v.Multi || !v.IncludeAll || v.Refresh != 2 {
			t.Errorf("variable %s: type %q multi %v includeAll %v refresh %d; want query, multi, includeAll, refresh 2 (time range change)",
				name, v.Type, v.Multi, v.IncludeAll, v.Refresh)
		}
		if v.Datasource == nil || *v.Datasource != *promDS {
			t.Errorf("variable %s: datasource %+v, want %+v", name, v.Datasource, promDS)
		}
		q, _ := v.Query.(map[string]any)
		if v.Definition != def || q["query"] != def {
			t.Errorf("variable %s: definition %q query %v, want %q", name, v.Definition, v.Query, def)
		}
	}
}

func checkPanels(t *testing.T, d rawDashboard) {
	ids := map[int]string{}
	var walk func(ps []rawPanel, nested bool)
	walk = func(ps []rawPanel, nested bool) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup || p.ID <= 0 {
				t.Errorf("panel %q: id %d not unique/positive (also %q)", p.Title, p.ID, prev)
			}
			ids[p.ID] = p.Title
			g := p.GridPos
			if g.W < 1 || g.H < 1 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("panel %q: bad gridPos %+v", p.Title, g)
			}
			if p.Type == "row" {
				if nested {
					t.Errorf("row %q nested in a row", p.Title)
				}
				if p.Title == "" {
					t.Errorf("row %d has no title", p.ID)
				}
				walk(p.Panels, true)
				continue
			}
			checkPanel(t, p)
		}
	}
	walk(d.Panels, false)
	if len(ids) == 0 {
		t.Error("no panels")
	}
}

func checkPanel(t *testing.T, p rawPanel) {
	t.Helper()
	if p.Title == "" {
		t.Errorf("panel %d has no title", p.ID)
	}
	if p.Description == "" {
		t.Errorf("panel %q has no description", p.Title)
	}
	if p.Datasource == nil || *p.Datasource != *promDS {
		t.Errorf("panel %q: datasource %+v, want %+v", p.Title, p.Datasource, promDS)
	}
	if len(p.Targets) == 0 {
		t.Errorf("panel %q has no queries", p.Title)
	}
	refs := map[string]bool{}
	for _, tg := range p.Targets {
		if tg.Datasource == nil || *tg.Datasource != *promDS {
			t.Errorf("panel %q target %s: datasource %+v, want %+v", p.Title, tg.RefID, tg.Datasource, promDS)
		}
		if tg.RefID == "" || refs[tg.RefID] {
			t.Errorf("panel %q: refId %q empty or duplicate", p.Title, tg.RefID)
		}
		refs[tg.RefID] = true
		if strings.TrimSpace(tg.Expr) == "" {
			t.Errorf("panel %q target %s: empty expr", p.Title, tg.RefID)
		}
	}
	if p.FieldConfig == nil {
		t.Errorf("panel %q has no fieldConfig", p.Title)
		return
	}
	def := p.FieldConfig.Defaults
	if def.Unit == "" && len(def.Mappings) == 0 {
		t.Errorf("panel %q has neither a unit nor value mappings", p.Title)
	}
	checkUnit(t, p.Title, def.Unit)
	if def.Thresholds != nil {
		checkThresholds(t, p.Title, *def.Thresholds)
	}
	for _, o := range p.FieldConfig.Overrides {
		for _, pr := range o.Properties {
			switch pr.ID {
			case "unit":
				var u string
				if err := json.Unmarshal(pr.Value, &u); err != nil {
					t.Errorf("panel %q: override unit: %v", p.Title, err)
				}
				checkUnit(t, p.Title, u)
			case "thresholds":
				var th Thresholds
				if err := json.Unmarshal(pr.Value, &th); err != nil {
					t.Errorf("panel %q: override thresholds: %v", p.Title, err)
				}
				checkThresholds(t, p.Title, th)
			}
		}
	}
}

func checkUnit(t *testing.T, panel, unit string) {
	t.Helper()
	if unit == "" || grafanaUnits[unit] {
		return
	}
	if s, ok := strings.CutPrefix(unit, "suffix:"); ok && s != "" {
		return
	}
	t.Errorf("panel %q: unit %q is not a known Grafana unit id", panel, unit)
}

func checkThresholds(t *testing.T, panel string, th Thresholds) {
	t.Helper()
	if th.Mode != "absolute" || len(th.Steps) == 0 || th.Steps[0].Value != nil {
		t.Errorf("panel %q: thresholds %+v: want absolute, first step with null value", panel, th)
		return
	}
	for i := 2; i < len(th.Steps); i++ {
		if *th.Steps[i].Value <= *th.Steps[i-1].Value {
			t.Errorf("panel %q: threshold steps not ascending: %+v", panel, th.Steps)
		}
	}
}

// The MiningOS UI bands, exactly.
func TestUIThresholds(t *testing.T) {
	for name, c := range map[string]struct {
		got  Thresholds
		want string
	}{
		"hk3 temperature": {hk3TempThresholds, "red <21 yellow <30 green <37 orange <40 red"},
		"hk3 pressure":    {hk3PressureThresholds, "red <2 yellow <2.3 green <3.5 orange <4 red"},
		"oil temperature": {oilTempThresholds, "red <33 yellow <42 green <46 orange <48 red"},
	} {
		var sb strings.Builder
		for i, s := range c.got.Steps {
			if i > 0 {
				fmt.Fprintf(&sb, " <%g ", *s.Value)
			}
			sb.WriteString(s.Color)
		}
		if sb.String() != c.want {
			t.Errorf("%s: %s, want %s", name, sb.String(), c.want)
		}
	}
}

// metricTable maps each allowed metric name to its labels.
func metricTable(t *testing.T) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, mi := range collector.Metrics() {
		m[mi.Name] = mi.Labels
	}
	if len(m) == 0 {
		t.Fatal("collector.Metrics() is empty")
	}
	maps.Copy(m, builtinMetrics)
	// The recording rules of the rule bundle (the fleet dashboard reads
	// them): site-level ones carry site (and type), container-level ones the
	// labels of the series they aggregate.
	for _, g := range rules.Groups(rules.DefaultSite()) {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			m[r.Record] = []string{"site", "type"}
		}
	}
	return m
}

var testVars = map[string]string{"site": "site-a|site-b", "container": "hk3-1|imm-1"}

func TestQueriesParseAndUseKnownMetrics(t *testing.T) {
	table := metricTable(t)
	qs, err := CommittedQueries(testVars)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 50 {
		t.Fatalf("only %d queries", len(qs))
	}
	legends := legendFormats(t)
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	for _, q := range qs {
		where := fmt.Sprintf("%s %q %s", q.File, q.Panel, q.RefID)
		expr, err := p.ParseExpr(q.Expr)
		if err != nil {
			t.Errorf("%s: %v\n%s", where, err, q.Expr)
			continue
		}
		// Every selector names a known metric and matches only labels it has.
		allLabels := map[string]bool{}
		for _, l := range targetLabels {
			allLabels[l] = true
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			labels, known := table[vs.Name]
			if !known {
				t.Errorf("%s: metric %q is not in collector.Metrics() (nor a Prometheus built-in)", where, vs.Name)
				return nil
			}
			used[vs.Name] = true
			for _, l := range labels {
				allLabels[l] = true
			}
			for _, m := range vs.LabelMatchers {
				if m.Name == "__name__" || slices.Contains(targetLabels, m.Name) {
					continue
				}
				if !slices.Contains(labels, m.Name) {
					t.Errorf("%s: %s{%s}: label %q is not a label of %s (%v)", where, vs.Name, m, m.Name, vs.Name, labels)
				}
			}
			return nil
		})
		// Grouping and vector-matching labels exist on some metric of the query.
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			var ls []string
			switch e := n.(type) {
			case *parser.AggregateExpr:
				ls = e.Grouping
			case *parser.BinaryExpr:
				if e.VectorMatching != nil {
					ls = append(slices.Clone(e.VectorMatching.MatchingLabels), e.VectorMatching.Include...)
				}
			}
			for _, l := range ls {
				if !allLabels[l] {
					t.Errorf("%s: groups or matches on label %q that no metric of the query has", where, l)
				}
			}
			return nil
		})
		// Legend labels exist on the query's result.
		out, ok := outputLabels(expr, table)
		for _, l := range legendLabels(legends[q.File+"/"+fmt.Sprint(q.PanelID)+"/"+q.RefID]) {
			if ok && !out[l] {
				t.Errorf("%s: legend uses {{%s}}, result has only %v", where, l, keys(out))
			}
		}
	}
	for _, want := range []string{"antspace_up", "antspace_fault_active", "antspace_temperature_celsius", "antspace_miner_info", "ALERTS"} {
		if !used[want] {
			t.Errorf("no dashboard queries %s", want)
		}
	}
}

// Panels that join several table queries with the merge transformation need
// identical result label sets, or rows do not line up.
func TestMergedTablesShareLabels(t *testing.T) {
	table := metricTable(t)
	p := parser.NewParser(parser.Options{})
	for _, d := range files() {
		var ps []*Panel
		var walk func([]*Panel)
		walk = func(in []*Panel) {
			for _, x := range in {
				ps = append(ps, x)
				if x.Panels != nil {
					walk(*x.Panels)
				}
			}
		}
		walk(d.Panels)
		for _, x := range ps {
			if !slices.ContainsFunc(x.Transformations, func(tr Transformation) bool { return tr.ID == "merge" }) {
				continue
			}
			var first []string
			for i, tg := range x.Targets {
				e, err := Substitute(tg.Expr, testVars)
				if err != nil {
					t.Fatal(err)
				}
				expr, err := p.ParseExpr(e)
				if err != nil {
					t.Fatal(err)
				}
				out, ok := outputLabels(expr, table)
				if !ok {
					t.Errorf("%s %q: cannot determine result labels of %s", d.UID, x.Title, tg.RefID)
					continue
				}
				delete(out, "__name__")
				got := keys(out)
				if i == 0 {
					first = got
				} else if !slices.Equal(got, first) {
					t.Errorf("%s %q: %s has labels %v, %s has %v", d.UID, x.Title, x.Targets[0].RefID, first, tg.RefID, got)
				}
			}
		}
	}
}

// outputLabels approximates the label names of an expression's result; ok is
// false for constructs it does not model.
func outputLabels(e parser.Expr, table map[string][]string) (map[string]bool, bool) {
	switch x := e.(type) {
	case *parser.VectorSelector:
		out := map[string]bool{"__name__": true}
		for _, l := range table[x.Name] {
			out[l] = true
		}
		for _, l := range targetLabels {
			if x.Name != "ALERTS" || l != "instance" {
				out[l] = true
			}
		}
		return out, true
	case *parser.MatrixSelector:
		return outputLabels(x.VectorSelector, table)
	case *parser.SubqueryExpr:
		return outputLabels(x.Expr, table)
	case *parser.ParenExpr:
		return outputLabels(x.Expr, table)
	case *parser.NumberLiteral, *parser.StringLiteral:
		return nil, true
	case *parser.Call:
		switch x.Func.Name {
		case "vector":
			return map[string]bool{}, true
		case "time", "scalar", "pi":
			return nil, true
		}
		for _, a := range x.Args {
			if a.Type() == parser.ValueTypeVector || a.Type() == parser.ValueTypeMatrix {
				out, ok := outputLabels(a, table)
				delete(out, "__name__")
				return out, ok
			}
		}
		return nil, true
	case *parser.AggregateExpr:
		in, ok := outputLabels(x.Expr, table)
		switch x.Op {
		case parser.TOPK, parser.BOTTOMK:
			return in, ok
		}
		out := map[string]bool{}
		if x.Without {
			for l := range in {
				if !slices.Contains(x.Grouping, l) && l != "__name__" {
					out[l] = true
				}
			}
		} else {
			for _, l := range x.Grouping {
				out[l] = true
			}
		}
		return out, ok
	case *parser.BinaryExpr:
		lhs, lok := outputLabels(x.LHS, table)
		rhs, rok := outputLabels(x.RHS, table)
		if !lok || !rok {
			return nil, false
		}
		if lhs == nil {
			lhs, rhs = rhs, nil
		}
		if lhs == nil {
			return nil, true // scalar
		}
		out := map[string]bool{}
		for l := range lhs {
			out[l] = true
		}
		switch x.Op {
		case parser.LOR:
			for l := range rhs {
				out[l] = true
			}
		case parser.LAND, parser.LUNLESS:
		default:
			if x.VectorMatching != nil {
				for _, l := range x.VectorMatching.Include {
					out[l] = true
				}
			}
			if !x.Op.IsComparisonOperator() || x.ReturnBool {
				delete(out, "__name__")
			}
		}
		return out, true
	}
	return nil, false
}

// legendFormats maps "file/panelID/refID" to the target's legend format.
func legendFormats(t *testing.T) map[string]string {
	out := map[string]string{}
	for name, b := range loadFiles(t) {
		var d rawDashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range flattenPanels(d.Panels) {
			for _, tg := range p.Targets {
				out[fmt.Sprintf("%s/%d/%s", name, p.ID, tg.RefID)] = tg.LegendFormat
			}
		}
	}
	return out
}

var legendLabelRE = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

func legendLabels(f string) []string {
	var out []string
	for _, m := range legendLabelRE.FindAllStringSubmatch(f, -1) {
		out = append(out, m[1])
	}
	return out
}

// Multi-value variables expand to regex alternations, so they must only be
// used inside =~"...".
func TestMultiValueVariablesOnlyInRegexMatchers(t *testing.T) {
	qs, err := rawCommittedQueries()
	if err != nil {
		t.Fatal(err)
	}
	bad := regexp.MustCompile(`[^~]"\$\{?(site|container)\b|[^"]\$\{?(site|container)\b`)
	for _, q := range qs {
		if m := bad.FindString(q.Expr); m != "" {
			t.Errorf("%s %q %s: %q uses a multi-value variable outside =~\"...\": %s", q.File, q.Panel, q.RefID, m, q.Expr)
		}
		if _, err := Substitute(q.Expr, testVars); err != nil {
			t.Errorf("%s %q: %v", q.File, q.Panel, err)
		}
		// Every device query is scoped to the selected containers, except
		// those reading only site-level recording rules (site:…, no
		// container label), scoped to the selected sites.
		siteLevel := siteLevelRE.MatchString(q.Expr) && strings.Contains(q.Expr, `site=~"$site"`)
		if !strings.Contains(q.Expr, `container=~"$container"`) && !strings.HasPrefix(q.Panel, "variable ") && !siteLevel {
			t.Errorf("%s %q %s: query ignores $container: %s", q.File, q.Panel, q.RefID, q.Expr)
		}
	}
}

// siteLevelRE: a query of one site-level recording rule, aggregated by
// site (and type).
var siteLevelRE = regexp.MustCompile(`^((sum|max) by \(site(, type)?\) \()?site:[a-z_]+:[a-z_]+\{[^}]*\}\)?$`)

func TestSubstitute(t *testing.T) {
	got, err := Substitute(`rate(x{container=~"$container",site=~"${site}"}[$__rate_interval])[$__range:${__interval}]`,
		map[string]string{"container": "a|b", "site": ".*", "__range": "2h"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `rate(x{container=~"a|b",site=~".*"}[1m])[2h:30s]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := Substitute(`x{a="$nope"}`, nil); err == nil {
		t.Error("unknown variable accepted")
	}
}

func TestOptionalQueriesNamePanels(t *testing.T) {
	qs, err := rawCommittedQueries()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[2]string]bool{}
	for _, q := range qs {
		seen[[2]string{q.Dashboard, q.Panel}] = true
	}
	for k := range optional {
		if !seen[k] {
			t.Errorf("optional lists %v, which is no panel", k)
		}
	}
}

// Dashboard links and the fleet's data links point at dashboards that exist.
func TestLinks(t *testing.T) {
	uids := map[string]bool{}
	for _, u := range wantUIDs {
		uids[u] = true
	}
	linkUID := regexp.MustCompile(`^/d/([\w-]+)`)
	dataLinks := 0
	for name, b := range loadFiles(t) {
		var d rawDashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		linked := map[string]bool{}
		for _, l := range d.Links {
			m := linkUID.FindStringSubmatch(l.URL)
			if m == nil || !uids[m[1]] {
				t.Errorf("%s: link %q to %q: no such dashboard", name, l.Title, l.URL)
				continue
			}
			linked[m[1]] = true
		}
		for u := range uids {
			if u != d.UID && !linked[u] {
				t.Errorf("%s: no link to %s", name, u)
			}
		}
		for _, p := range flattenPanels(d.Panels) {
			if p.FieldConfig == nil {
				continue
			}
			for _, o := range p.FieldConfig.Overrides {
				for _, pr := range o.Properties {
					if pr.ID != "links" {
						continue
					}
					var ls []Link
					if err := json.Unmarshal(pr.Value, &ls); err != nil {
						t.Fatal(err)
					}
					for _, l := range ls {
						dataLinks++
						if !strings.Contains(l.URL, "var-container=") || !strings.Contains(l.URL, "${datasource:queryparam}") {
							t.Errorf("%s %q: data link %q does not pass container and datasource", name, p.Title, l.URL)
						}
						for _, typ := range []string{"hk3", "immersion"} {
							u := strings.ReplaceAll(l.URL, "${__data.fields.type}", typ)
							m := linkUID.FindStringSubmatch(u)
							if m == nil || !uids[m[1]] {
								t.Errorf("%s %q: data link %q for type %s: no such dashboard", name, p.Title, l.URL, typ)
							}
						}
					}
				}
			}
		}
	}
	if dataLinks == 0 {
		t.Error("no data links to the container dashboards")
	}
}

func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, Access, URL, UID string
			IsDefault                    bool `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	readYAML(t, "provisioning/datasources.yml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources.yml: %+v", ds)
	}
	d := ds.Datasources[0]
	if d.Type != "prometheus" || d.UID != "prometheus" || d.URL != "http://127.0.0.1:9090" || d.Access != "proxy" || !d.IsDefault {
		t.Errorf("datasource = %+v", d)
	}

	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Type, Folder string
			Options            struct {
				Path                      string `yaml:"path"`
				FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "provisioning/dashboards.yml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 {
		t.Fatalf("dashboards.yml: %+v", dp)
	}
	p := dp.Providers[0]
	if p.Type != "file" || p.Folder != "Antspace" || p.Options.Path == "" || p.Options.FoldersFromFilesStructure {
		t.Errorf("provider = %+v", p)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Rendered for a site whose container job is renamed, every selector of
// every query — panel targets and the template variables' label_values() —
// carries that site's probe selector and none names the default job. The
// only exception is the per-site recorded series (site:…): their rules
// aggregate the job away and carry the selector themselves, so they must be
// records of the rule file rendered for the same site.
func TestEveryQueryCarriesProbeSelector(t *testing.T) {
	const renamed = `job="cooling_containers"`
	s, err := rules.ParseSite(strings.NewReader("probe_selector: '" + renamed + "'\nexporter_selector: 'job=\"cooling_exporter\"'\n"))
	if err != nil {
		t.Fatal(err)
	}
	ruleFile, err := rules.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	files, err := BuildFor(Options{ProbeSelector: s.ProbeSelector})
	if err != nil {
		t.Fatal(err)
	}
	qs, err := rawQueries(files)
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	want, err := p.ParseMetricSelector("{" + renamed + "}")
	if err != nil {
		t.Fatal(err)
	}
	variables, selectors := 0, 0
	for _, q := range qs {
		where := fmt.Sprintf("%s %q %s", q.File, q.Panel, q.RefID)
		if q.RefID == "variable" {
			variables++
		}
		e, err := Substitute(q.Expr, testVars)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		expr, err := p.ParseExpr(e)
		if err != nil {
			t.Errorf("%s: %v\n%s", where, err, e)
			continue
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			selectors++
			if strings.HasPrefix(vs.Name, "site:") {
				if !strings.Contains(string(ruleFile), "record: "+vs.Name+"\n") {
					t.Errorf("%s: %s is not a record of the rules rendered for the same site", where, vs.Name)
				}
				return nil
			}
			if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool { return m.String() == want[0].String() }) {
				t.Errorf("%s: %s lacks the probe selector {%s}", where, vs, renamed)
			}
			return nil
		})
		if strings.Contains(e, `job="antspace"`) {
			t.Errorf("%s still names the default job: %s", where, e)
		}
	}
	// Both places Grafana keeps a variable's query agree (rawQueries reads
	// the definition).
	for name, b := range files {
		var d rawDashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, v := range d.Templating.List {
			if q, ok := v.Query.(map[string]any); ok && q["query"] != v.Definition {
				t.Errorf("%s: variable %s: query %v, definition %q", name, v.Name, q["query"], v.Definition)
			}
		}
	}
	if variables != 2*len(files) || selectors < 100 {
		t.Errorf("checked %d variable queries and %d selectors; want 2 per dashboard and ≥100 selectors", variables, selectors)
	}
}
