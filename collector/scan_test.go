package collector

import (
	"encoding/json"
	"maps"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// The scanner agrees with encoding/json on objects, and refuses what is not
// one without panicking.
func TestEachMemberMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a": 1, "b": "x,}", "c": {"d": [1, {"e": "]"}]}, "f": null, "g": true}`,
		`{"a\"b": "q\\\"", "\u00e9": -1.5e3, "a": 2}`, "{\n\t\"x\" :\r\n [ ] }", `{"dup":1,"dup":2}`, "{\"\xdf\":0}",
	} {
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got, ok := objectMembers([]byte(in))
		if !ok {
			t.Errorf("%s: refused", in)
			continue
		}
		if !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{
		``, `[]`, `"x"`, `1`, `null`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1}x`, `{"a":"1}`, `{"a":[1}`,
		`{"a":1 "b":2}`, `{a:1}`, `{"a":{"b":1}`, `{"a":"\`,
	} {
		if _, ok := objectMembers([]byte(in)); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzEachMember(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,"]"]}}`, `{"a":"\"}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := objectMembers(b) // must not panic on anything
		var want map[string]json.RawMessage
		if json.Unmarshal(b, &want) != nil || want == nil {
			return
		}
		if !ok {
			t.Fatalf("valid object %q refused", b)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, want %d", b, len(got), len(want))
		}
		for k, v := range want {
			if g, found := got[k]; !found || !json.Valid(g) {
				t.Fatalf("%q: member %q = %q, want %q", b, k, g, v)
			}
		}
	})
}

// The one-pass miner table reading keeps encoding/json's semantics: the last
// duplicate wins, null miners still have an identity, escaped strings are
// decoded, and one miner that is not an object refuses the table.
func TestConvertMinersEdgeCases(t *testing.T) {
	const summary = `"miner_num":2,"total_hashrate":1,"pcb_max_temp":1,"chip_max_temp":1,"chip_temp_mean":1`
	body := func(miners string) []byte {
		return []byte(`{"ok":true,"method":"minerInfo","params":{` + summary + `,"miner_info":` + miners + `}}`)
	}
	collect := func(t *testing.T, b []byte) (*Result, map[string]float64) {
		t.Helper()
		var env Envelope
		if err := decodeEnvelope(b, &env); err != nil {
			t.Fatal(err)
		}
		r := &Result{}
		err := r.convertMiners(env.Params, Settings{})
		r.MinerErr = err
		got := map[string]float64{}
		for i := range r.samples {
			var m dto.Metric
			if err := r.samples[i].Write(&m); err != nil {
				t.Fatal(err)
			}
			key := ""
			for _, lp := range m.Label {
				key += lp.GetName() + "=" + lp.GetValue() + ","
			}
			got[key] = m.GetGauge().GetValue()
		}
		return r, got
	}

	r, got := collect(t, body(`{"127.1.0.2":{"GHS_5s":1,"miner_type":"S19 \"j\" Pro\u00e9"},"127.1.0.1":null,"127.1.0.2":{"GHS_5s":2,"elapsed":"7"}}`))
	if r.MinerErr != nil || len(r.FieldErrors) > 0 {
		t.Fatal(r.MinerErr, r.FieldErrors)
	}
	for key, want := range map[string]float64{
		"miner=127.1.0.2,window=5s,":        2e12, // the last duplicate wins
		"miner=127.1.0.2,":                  7,    // elapsed, from the last duplicate
		"firmware=,miner=127.1.0.1,model=,": 1,    // null miner: identity only
		"firmware=,miner=127.1.0.2,model=,": 1,    // model was only in the first duplicate
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v; all: %v", key, v, ok, want, got)
		}
	}
	_, got = collect(t, body(`{"a":{"miner_type":"S19 \"j\" Pro\u00e9","miner_version":"1.0"}}`))
	if _, ok := got[`firmware=1.0,miner=a,model=S19 "j" Proé,`]; !ok {
		t.Errorf("escaped model not decoded: %v", got)
	}
	for _, bad := range []string{`{"a":{"GHS_5s":1},"b":3}`, `{"a":[1]}`, `[1,2]`, `"x"`} {
		if r, _ := collect(t, body(bad)); r.MinerErr == nil {
			t.Errorf("miner_info %s accepted", bad)
		}
	}
}
