package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// ruleSet is the recording rules of a rule file, in file order: what a
// dashboard query reads when it names a recorded series, and in which order
// promtool must backfill them.
type ruleSet struct {
	records []string               // names, in file order
	expr    map[string]parser.Expr // record name -> its expression
	group   map[string]string      // record name -> its group's name
}

var promql = parser.NewParser(parser.Options{})

// parseRules reads the recording rules of a Prometheus rule file (alerting
// rules are skipped). A record defined twice is an error: its expansion
// would be ambiguous.
func parseRules(b []byte) (*ruleSet, error) {
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	rs := &ruleSet{expr: map[string]parser.Expr{}, group: map[string]string{}}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record == "" {
				continue
			}
			if _, dup := rs.expr[r.Record]; dup {
				return nil, fmt.Errorf("record %s defined twice", r.Record)
			}
			e, err := promql.ParseExpr(r.Expr)
			if err != nil {
				return nil, fmt.Errorf("record %s: %w", r.Record, err)
			}
			rs.records = append(rs.records, r.Record)
			rs.expr[r.Record] = e
			rs.group[r.Record] = g.Name
		}
	}
	return rs, nil
}

// expand returns expr with every selector of a recorded series replaced by
// the rule's expression (recursively, for rules that read other rules),
// the selector's matchers moved onto the selectors inside the rule. That is
// what a dashboard without recording rules would have to ask. n is how many
// selectors were replaced.
//
// Moving a matcher inside is exact when its label passes through the rule
// unchanged (not aggregated away, not rewritten); expand checks the
// aggregations and refuses label_replace/label_join and references inside a
// range selector or with offset/@, which it cannot move. Matchers of the
// fleet dashboard are on target labels (job, site, container), the same on
// both sides of every binary operation of the rules.
func (rs *ruleSet) expand(expr string) (out string, n int, err error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return "", 0, err
	}
	e, n, err = rs.rewrite(e, 0)
	if err != nil {
		return "", 0, err
	}
	return e.String(), n, nil
}

func (rs *ruleSet) rewrite(e parser.Expr, depth int) (parser.Expr, int, error) {
	if depth > 20 {
		return nil, 0, fmt.Errorf("recording rules nest deeper than 20 (a cycle?)")
	}
	n := 0
	sub := func(x *parser.Expr) error {
		if *x == nil {
			return nil
		}
		r, k, err := rs.rewrite(*x, depth)
		if err != nil {
			return err
		}
		*x, n = r, n+k
		return nil
	}
	var err error
	switch x := e.(type) {
	case *parser.VectorSelector:
		rule, ok := rs.expr[x.Name]
		if !ok {
			return x, 0, nil
		}
		if x.OriginalOffset != 0 || x.OriginalOffsetExpr != nil || x.Timestamp != nil || x.StartOrEnd != 0 {
			return nil, 0, fmt.Errorf("%s: offset or @ on a recorded series is not expanded", x)
		}
		body, err := promql.ParseExpr(rule.String()) // a fresh copy to edit
		if err != nil {
			return nil, 0, err
		}
		for _, m := range x.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				continue
			}
			if err := pushMatcher(body, m); err != nil {
				return nil, 0, fmt.Errorf("%s into %s: %w", m, x.Name, err)
			}
		}
		body, k, err := rs.rewrite(body, depth+1)
		if err != nil {
			return nil, 0, err
		}
		return &parser.ParenExpr{Expr: body}, k + 1, nil
	case *parser.MatrixSelector:
		if vs, ok := x.VectorSelector.(*parser.VectorSelector); ok {
			if _, rec := rs.expr[vs.Name]; rec {
				return nil, 0, fmt.Errorf("%s: a recorded series in a range selector is not expanded", x)
			}
		}
	case *parser.AggregateExpr:
		err = errorsJoin(sub(&x.Expr), sub(&x.Param))
	case *parser.BinaryExpr:
		err = errorsJoin(sub(&x.LHS), sub(&x.RHS))
	case *parser.Call:
		for i := range x.Args {
			err = errorsJoin(err, sub(&x.Args[i]))
		}
	case *parser.SubqueryExpr:
		err = sub(&x.Expr)
	case *parser.ParenExpr:
		err = sub(&x.Expr)
	case *parser.UnaryExpr:
		err = sub(&x.Expr)
	case *parser.StepInvariantExpr:
		err = sub(&x.Expr)
	}
	return e, n, err
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pushMatcher adds m to every vector selector of e (unless it has that very
// matcher already), after checking that m's label reaches e's result
// unchanged.
func pushMatcher(e parser.Expr, m *labels.Matcher) error {
	var err error
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		switch x := node.(type) {
		case *parser.AggregateExpr:
			if x.Without == slices.Contains(x.Grouping, m.Name) {
				err = fmt.Errorf("%s aggregates label %s away", x.Op, m.Name)
			}
		case *parser.Call:
			if strings.HasPrefix(x.Func.Name, "label_") {
				err = fmt.Errorf("%s may rewrite label %s", x.Func.Name, m.Name)
			}
		case *parser.VectorSelector:
			for _, have := range x.LabelMatchers {
				if have.Name == m.Name && have.Type == m.Type && have.Value == m.Value {
					return nil
				}
			}
			x.LabelMatchers = append(x.LabelMatchers, m)
		}
		return nil
	})
	return err
}

// levels orders the recording rules for backfilling: promtool evaluates
// the rules of one run against the server's data only, so a rule that reads
// another rule's series must be backfilled in a later run, after the
// other's blocks are in place. Level 0 reads raw series only.
func (rs *ruleSet) levels() [][]string {
	level := map[string]int{}
	var of func(name string) int
	of = func(name string) int {
		if l, ok := level[name]; ok {
			return l
		}
		level[name] = 0 // a cycle ends here (Prometheus would reject it anyway)
		l := 0
		parser.Inspect(rs.expr[name], func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok {
				if _, rec := rs.expr[vs.Name]; rec {
					l = max(l, of(vs.Name)+1)
				}
			}
			return nil
		})
		level[name] = l
		return l
	}
	var out [][]string
	for _, r := range rs.records {
		l := of(r)
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], r)
	}
	return out
}

// ruleFile renders the named recording rules as a rule file (one group per
// group of the source, the rules in source order) for promtool.
func (rs *ruleSet) ruleFile(names []string) []byte {
	var b strings.Builder
	b.WriteString("groups:\n")
	group := ""
	for _, r := range rs.records {
		if !slices.Contains(names, r) {
			continue
		}
		if rs.group[r] != group {
			group = rs.group[r]
			fmt.Fprintf(&b, "  - name: %q\n    rules:\n", group)
		}
		fmt.Fprintf(&b, "      - record: %s\n        expr: %q\n", r, rs.expr[r].String())
	}
	return []byte(b.String())
}

// rawSelectors returns the selectors of exprs that read stored raw series:
// not recorded series (name in rs) and not ALERTS, which the rule engine
// writes. These are the series the dashboard reads.
func (rs *ruleSet) rawSelectors(exprs []string) ([][]*labels.Matcher, error) {
	var out [][]*labels.Matcher
	seen := map[string]bool{}
	for _, s := range exprs {
		e, err := promql.ParseExpr(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
			vs, ok := node.(*parser.VectorSelector)
			if !ok || vs.Name == "ALERTS" || vs.Name == "ALERTS_FOR_STATE" {
				return nil
			}
			if _, rec := rs.expr[vs.Name]; rec {
				return nil
			}
			key := fmt.Sprint(vs.LabelMatchers)
			if !seen[key] {
				seen[key] = true
				out = append(out, vs.LabelMatchers)
			}
			return nil
		})
	}
	return out, nil
}

// matchesAny says whether the series ls is selected by one of sels.
func matchesAny(ls labels.Labels, sels [][]*labels.Matcher) bool {
	for _, ms := range sels {
		ok := true
		for _, m := range ms {
			if !m.Matches(ls.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
