package payload

import (
	"encoding/json"
	"maps"
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
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,"]"]}}`, `{"a":"\"}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
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
