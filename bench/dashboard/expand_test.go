package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

const testRules = `groups:
  - name: g1
    rules:
      - record: container:power:sum
        expr: sum without (source) (power{job="a", source=~"box.*"})
      - alert: Ignored
        expr: power > 1
      - record: site:power:sum
        expr: sum by (site) (container:power:sum)
  - name: g2
    rules:
      - record: site:down:count
        expr: sum by (site) ((1 - up_a{job="a"}) or on (job, instance) (1 - up{job="a"}))
      - record: total:power:sum
        expr: sum(site:power:sum)
`

func mustRules(t *testing.T, s string) *ruleSet {
	t.Helper()
	rs, err := parseRules([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestExpandReplacesRecordsRecursivelyWithMatchersInside(t *testing.T) {
	rs := mustRules(t, testRules)
	if want := []string{"container:power:sum", "site:power:sum", "site:down:count", "total:power:sum"}; !slices.Equal(rs.records, want) {
		t.Fatalf("records %v, want %v (alerts skipped, file order)", rs.records, want)
	}
	for _, c := range []struct {
		in, want string
		n        int
	}{
		{`sum by (container) (container:power:sum{job="a",site=~"s.*",container=~".+"})`,
			`sum by (container) ((sum without (source) (power{container=~".+",job="a",site=~"s.*",source=~"box.*"})))`, 1},
		{`sum by (site) (site:power:sum{site=~"x"})`,
			`sum by (site) ((sum by (site) ((sum without (source) (power{job="a",site=~"x",source=~"box.*"})))))`, 2},
		{`site:down:count{site="n"}`,
			`(sum by (site) ((1 - up_a{job="a",site="n"}) or on (job, instance) (1 - up{job="a",site="n"})))`, 1},
		{`count(up{job="a"} == 0) or vector(0)`, `count(up{job="a"} == 0) or vector(0)`, 0},
	} {
		got, n, err := rs.expand(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got != c.want || n != c.n {
			t.Errorf("expand(%s)\n got  %s (%d)\n want %s (%d)", c.in, got, n, c.want, c.n)
		}
	}
}

func TestExpandRefusesWhatItCannotMoveExactly(t *testing.T) {
	rs := mustRules(t, testRules)
	for _, in := range []string{
		`total:power:sum{site="n"}`,        // sum() drops site
		`site:power:sum{container="c"}`,    // by (site) drops container
		`rate(container:power:sum[5m])`,    // inside a range selector
		`container:power:sum offset 5m`,    // offset
		`container:power:sum @ 1700000000`, // @
	} {
		if got, _, err := rs.expand(in); err == nil {
			t.Errorf("expand(%s) = %s, want an error", in, got)
		}
	}
}

func TestLevelsAndRuleFiles(t *testing.T) {
	rs := mustRules(t, testRules)
	got := rs.levels()
	want := [][]string{{"container:power:sum", "site:down:count"}, {"site:power:sum"}, {"total:power:sum"}}
	if len(got) != len(want) {
		t.Fatalf("levels %v, want %v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("levels %v, want %v", got, want)
		}
	}
	// A level's rule file holds exactly its rules, in their groups, and parses back.
	back := mustRules(t, string(rs.ruleFile(got[0])))
	if !slices.Equal(back.records, got[0]) || back.group["site:down:count"] != "g2" || back.group["container:power:sum"] != "g1" {
		t.Errorf("rule file of level 0 parses back as %v %v", back.records, back.group)
	}
	if back.expr["site:down:count"].String() != rs.expr["site:down:count"].String() {
		t.Errorf("expression changed: %s", back.expr["site:down:count"])
	}
}

func TestRawSelectorsSkipRecordsAndAlerts(t *testing.T) {
	rs := mustRules(t, testRules)
	sels, err := rs.rawSelectors([]string{`sum(container:power:sum{job="a"}) / count(up{job="a"})`, `ALERTS{alertstate="firing"}`, `up{job="a"}`})
	if err != nil {
		t.Fatal(err)
	}
	if len(sels) != 1 {
		t.Fatalf("selectors %v, want only up{job=\"a\"} once", sels)
	}
	up := labels.FromStrings("__name__", "up", "job", "a", "instance", "c1")
	other := labels.FromStrings("__name__", "up", "job", "b")
	if !matchesAny(up, sels) || matchesAny(other, sels) {
		t.Errorf("matchesAny: up{job=a} %v, up{job=b} %v", matchesAny(up, sels), matchesAny(other, sels))
	}
}

// Every query of the fleet dashboard expands against the project's rule
// file, and no recorded series is left in the expanded queries.
func TestFleetDashboardExpandsAgainstTheRuleFile(t *testing.T) {
	b, err := os.ReadFile("../../rules/antspace.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	rs := mustRules(t, string(b))
	qs, err := fleetQueries(grafanaView{Range: 6 * 3600e9, MinInterval: 15e9, ScreenPx: 1920})
	if err != nil {
		t.Fatal(err)
	}
	expanded := 0
	for _, q := range qs {
		e, n, err := rs.expand(q.Expr)
		if err != nil {
			t.Errorf("%s: %v", q.name(), err)
			continue
		}
		expanded += n
		for _, r := range rs.records {
			if strings.Contains(e, r) {
				t.Errorf("%s: %s left in %s", q.name(), r, e)
			}
		}
	}
	if expanded < 10 {
		t.Errorf("%d recorded series expanded over the fleet dashboard, want the dashboard's many (≥ 10)", expanded)
	}
}
