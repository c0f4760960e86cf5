package collector_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/antspace-exporter/antspace_exporter/collector"
	"github.com/antspace-exporter/antspace_exporter/device/payload"
	"github.com/antspace-exporter/antspace_exporter/mock"
)

// gatherText renders the Result's own Gather, which /probe serves.
func gatherText(t *testing.T, r *collector.Result) []byte {
	t.Helper()
	return gatherTextFrom(t, r)
}

// checkServedMatchesRegistry checks that Result.Gather and Result.WriteText,
// which /probe serves instead of a registry, give what a registry gives.
func checkServedMatchesRegistry(t *testing.T, res *collector.Result) {
	t.Helper()
	want := exposition(t, res)
	if got := gatherText(t, res); !bytes.Equal(got, want) {
		t.Errorf("Gather differs from the registry:\n%s", diffLines(string(want), string(got)))
	}
	var direct bytes.Buffer
	if err := res.WriteText(&direct); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(direct.Bytes(), want) {
		t.Errorf("WriteText differs from the registry's exposition:\n%s", diffLines(string(want), direct.String()))
	}
}

// Result.Gather and Result.WriteText, which the /probe handler serves, give
// exactly what a pedantic Registry gathers from the Result, for good answers
// of both types and every kind of bad one.
func TestGatherMatchesRegistry(t *testing.T) {
	hk3 := collector.Settings{Module: "hk3", Type: collector.TypeHK3}
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
			cases = append(cases, tc{name: string(typ) + "-minerinfo-" + string(k), typ: typ, m: &mock.Misbehaviour{Kind: k, Operation: payload.OpMinerInfo}})
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
			checkServedMatchesRegistry(t, res)
		})
	}
}

// Label values that need escaping come out as the registry writes them.
func TestWriteTextEscaping(t *testing.T) {
	cooler := []byte(`{"ok":true,"method":"coolerState","params":{"supply_liquid_temp":30.5,"return_liquid_temp":"35",` +
		`"colding_tower_inlet_temp":1e-7,"supply_liquid_pressure":0.25,"cooling_tower_fan1":1,"antbox_internal_temp":-1,` +
		`"longitude_direction":"E\"ast\\\n","latitude_direction":"N\u00e9",` +
		`"weird \"field\"\\\nname":12345678901234567890,"plain_new_field":true}}`)
	miners := []byte(`{"ok":true,"method":"minerInfo","params":{"miner_num":1,"total_hashrate":0.5,"pcb_max_temp":60,"chip_max_temp":70,"chip_temp_mean":65,` +
		`"miner_info":{"127.1.0.1\"x":{"GHS_5s":100.25,"miner_type":"S19\\j","miner_version":"v\n1"}}}}`)
	res := collector.Convert(cooler, miners, collector.Settings{Module: "m\"od", Type: collector.TypeHK3})
	if !res.Up() || res.MinerErr != nil {
		t.Fatal(res.Err, res.MinerErr)
	}
	want := exposition(t, res)
	var got bytes.Buffer
	if err := res.WriteText(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("WriteText differs:\n%s", diffLines(string(want), got.String()))
	}
	if g := gatherText(t, res); !bytes.Equal(g, want) {
		t.Errorf("Gather differs:\n%s", diffLines(string(want), string(g)))
	}
	for _, s := range []string{`longitude_direction="E\"ast\\\n"`, `field="weird \"field\"\\\nname"`, `model="S19\\j"`} {
		if !bytes.Contains(want, []byte(s)) {
			t.Errorf("exposition lacks %s", s)
		}
	}
}
