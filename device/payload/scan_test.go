package payload

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
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
		got, ok := ObjectMembers([]byte(in))
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
		if _, ok := ObjectMembers([]byte(in)); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzEachMember(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,"]"]}}`, `{"a":"\"}`, `{`,
		`{"ok":1,"params":{"x":[],"miner_info":{"a":{"b":1.5e3,"c":[{}]},"b":null}}}`, `[-0.5E+2,"\u00e9\n",true,false,null]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// The validating scanner accepts and refuses exactly what
		// encoding/json does, and an answer's index walks the same
		// members as the plain scanner.
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid %v", b, got, want)
		}
		var env Envelope
		if DecodeEnvelope(b, &env) == nil && len(env.Params) > 0 {
			checkSameMembers(t, env.ParamsObject(), ObjectOf(env.Params))
		}
		got, ok := ObjectMembers(b) // must not panic on anything
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

func TestKeysMembers(t *testing.T) {
	keys := NewKeys("a", "b")
	got, ok := keys.Members([]byte(`{"a":1,"\u0062":2,"c":3,"a":4}`))
	if !ok {
		t.Fatal("not an object")
	}
	want := map[string]string{"a": "4", "b": "2", "c": "3"} // escaped key decoded, last duplicate wins
	if len(got) != len(want) {
		t.Fatalf("members %v, want %v", got, want)
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
	if _, ok := keys.Members([]byte(`[1]`)); ok {
		t.Error("an array is not an object")
	}
}

// Valid accepts exactly what json.Valid accepts.
func TestValidMatchesEncodingJSON(t *testing.T) {
	deep := func(n int, opening, closing string) string {
		return strings.Repeat(opening, n) + strings.Repeat(closing, n)
	}
	for _, in := range []string{
		``, ` `, `{}`, `[]`, ` {} `, `{} {}`, `{`, `}`, `[`, `]`, `[1,]`, `[,1]`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":}`,
		`{1:1}`, `{"a":1 "b":2}`, `[1 2]`, `{"a":[1,{"b":"]"}]}`, `{"a":{}}`, `{"a":[]}`, `[[],{}, [ ] ,{ }]`,
		`0`, `-0`, `-`, `01`, `-01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e+5`, `1E-5`, `1.5e3`, `-1.5E+3`, `1x`, `+1`, `0x1`, `1.e5`,
		`true`, `false`, `null`, `tru`, `nul`, `falsey`, `True`, `nan`, `Infinity`,
		`""`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\a"`, `"\u00e9"`, `"\u00G9"`, `"\u00e"`, `"\u"`, "\"\x01\"", "\"\x1f\"", "\"\x7f\"",
		"\"\xff\xfe\"", "{\"\xdf\":0}", "\"a\nb\"", `"\uD800"`, "\t{\r\n\"a\"\t:\n1\r}\n", "\v{}", "\u00a0{}", `{"a":1}x`, `[1]]`, `[1}`, `{"a":1]`,
		deep(10000, "[", "]"), deep(10001, "[", "]"), deep(9999, "[", "]"), strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
		strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001), strings.Repeat("[", 9999) + "[[]]" + strings.Repeat("]", 9999),
		strings.Repeat("[", 9999) + "[]" + strings.Repeat("]", 9999), strings.Repeat("[", 10000) + "[]" + strings.Repeat("]", 10000),
	} {
		if got, want := Valid([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("Valid(%.60q) = %v, json.Valid %v", in, got, want)
		}
	}
}

// An Object from a decoded envelope walks the same members as the raw
// scanner, whatever was indexed.
func TestObjectMembersMatchRaw(t *testing.T) {
	body := []byte(`{"ok":true,"params":{"a":1,"miner_info":{"x":{"b":[1,{"c":"}"}]},"y":null,"z":{}},"d":[[],{}]},"method":"m"}`)
	var env Envelope
	if err := DecodeEnvelope(body, &env); err != nil {
		t.Fatal(err)
	}
	checkSameMembers(t, env.ParamsObject(), ObjectOf(env.Params))
	if len(env.ParamsObject().ix.spans) == 0 {
		t.Error("params of a decoded envelope have no index")
	}
	// miner_info holds two tables within the index's depth ("x", "z"); the
	// array in x is deeper; params hold those, miner_info and d's three.
	env.ParamsObject().EachMember(func(k []byte, v Object) {
		want := map[string]int{"a": 0, "miner_info": 2, "d": 2}[string(k)]
		if got := v.IndexedWithin(); got != want {
			t.Errorf("%s: %d indexed within, want %d", k, got, want)
		}
	})
	if got := env.ParamsObject().IndexedWithin(); got != 6 {
		t.Errorf("params: %d indexed within, want 6", got)
	}
	if got := ObjectOf(env.Params).IndexedWithin(); got != 0 {
		t.Errorf("without an index: %d", got)
	}
}

func checkSameMembers(t *testing.T, indexed, plain Object) {
	t.Helper()
	type member struct{ k, v string }
	var a, b []member
	okA := indexed.EachMember(func(k []byte, v Object) {
		a = append(a, member{string(k), string(v.Raw())})
		if r := v.Raw(); len(r) > 0 && r[0] == '{' {
			checkSameMembers(t, v, ObjectOf(r))
		}
	})
	okB := plain.EachMember(func(k []byte, v Object) { b = append(b, member{string(k), string(v.Raw())}) })
	if okA != okB || !slices.Equal(a, b) {
		t.Errorf("indexed walk %v %q, plain %v %q", okA, a, okB, b)
	}
}

// plainRun finds the first byte that is not plain wherever it sits among
// the eight-byte words, for every byte value.
func TestPlainRun(t *testing.T) {
	for _, ascii := range []bool{false, true} {
		for c := range 256 {
			plain := c >= 0x20 && c != '"' && c != '\\' && (!ascii || c < 0x80)
			for at := range 20 {
				b := []byte(strings.Repeat("a", 20))
				b[at] = byte(c)
				want := at
				if plain {
					want = len(b)
				}
				for from := 0; from <= at; from += 3 {
					if got := plainRun(b, from, ascii); got != want {
						t.Fatalf("plainRun(%q, %d, %v) = %d, want %d", b, from, ascii, got, want)
					}
				}
			}
		}
	}
}
