package collector_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

func gatherText(t *testing.T, r *collector.Result) []byte {
	t.Helper()
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// Result.Gather, which the /probe handler serves, gives exactly what a
// pedantic Registry gathers from the Result, for good answers of both types
// and every kind of bad one.
func TestGatherMatchesRegistry(t *testing.T) {
	type tc struct {
		name     string
		typ      mock.Type
		settings collector.Settings
		m        *mock.Misbehaviour
		opts     mock.Options
	}
	cases := []tc{
		{name: "hk3", typ: mock.HK3, settings: hk3},
		{name: "immersion-auto", typ: mock.Immersion},
		{name: "hk3-faults-many-miners", typ: mock.HK3, opts: mock.Options{AllFaults: true, Miners: 300}},
		{name: "immersion-skip-miners", typ: mock.Immersion, settings: collector.Settings{Type: collector.TypeImmersion, SkipMinerInfo: true}},
		{name: "hk3-scales", typ: mock.HK3, settings: collector.Settings{Type: collector.TypeHK3, Scales: map[string]float64{"distribution_box1_power": 1}}},
		{name: "wrong-module", typ: mock.Immersion, settings: hk3},
	}
	for _, k := range mock.Kinds {
		if k == mock.Slow || k == mock.Hang || k == mock.HugeBody {
			continue
		}
		for _, typ := range []mock.Type{mock.HK3, mock.Immersion} {
			cases = append(cases, tc{name: string(typ) + "-" + string(k), typ: typ, m: &mock.Misbehaviour{Kind: k}})
			cases = append(cases, tc{name: string(typ) + "-minerinfo-" + string(k), typ: typ, m: &mock.Misbehaviour{Kind: k, Operation: collector.OpMinerInfo}})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.opts
			o.Name, o.Type = c.name, c.typ
			srv := startMock(t, o)
			if c.m != nil {
				srv.Misbehave(*c.m)
			}
			res := probe(t, srv.Addr(), c.settings, 5*time.Second)
			want, got := exposition(t, res), gatherText(t, res)
			if !bytes.Equal(got, want) {
				t.Errorf("Gather differs from the registry:\n%s", diffLines(string(want), string(got)))
			}
		})
	}
}
