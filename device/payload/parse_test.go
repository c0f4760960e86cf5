package payload

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		want    float64
		wantErr string
	}{
		{raw: `35.5`, want: 35.5},
		{raw: `-3`, want: -3},
		{raw: `0`, want: 0},
		{raw: `1e3`, want: 1000},
		{raw: `"35.5"`, want: 35.5},
		{raw: `" 7 "`, want: 7},
		{raw: `null`, wantErr: "null"},
		{raw: `"abc"`, wantErr: `"abc" is not a number`},
		{raw: `"NaN"`, wantErr: "non-finite"},
		{raw: `"Inf"`, wantErr: "non-finite"},
		{raw: `true`, wantErr: "boolean where a number"},
		{raw: `{"a":1}`, wantErr: "object where a number"},
		{raw: `[1]`, wantErr: "array where a number"},
		{raw: ``, wantErr: "empty"},
	} {
		got, err := ParseNumber(json.RawMessage(tc.raw))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseNumber(%s) error = %v, want containing %q", tc.raw, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseNumber(%s) = %v, %v; want %v", tc.raw, got, err, tc.want)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		want    float64
		wantErr string
	}{
		{raw: `true`, want: 1},
		{raw: `false`, want: 0},
		{raw: `1`, want: 1},
		{raw: `0`, want: 0},
		{raw: `"auto"`, want: 1},
		{raw: `"Enabled"`, want: 1},
		{raw: `"true"`, want: 1},
		{raw: `"ON"`, want: 1},
		{raw: `"manual"`, want: 0},
		{raw: `"disabled"`, want: 0},
		{raw: `"0"`, want: 0},
		{raw: `2`, wantErr: "not a boolean"},
		{raw: `"maybe"`, wantErr: `"maybe" is not a boolean`},
		{raw: `{}`, wantErr: "object where a boolean"},
		{raw: `null`, wantErr: "null"},
		{raw: `tru`, wantErr: "not a boolean"},
	} {
		got, err := ParseBool(json.RawMessage(tc.raw))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseBool(%s) error = %v, want containing %q", tc.raw, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseBool(%s) = %v, %v; want %v", tc.raw, got, err, tc.want)
		}
	}
}

func TestDecodeParams(t *testing.T) {
	p, err := DecodeParams(json.RawMessage(` {"a": 1, "b": "x", "a": 2} `))
	if err != nil || string(p["a"]) != "2" || string(p["b"]) != `"x"` || len(p) != 2 {
		t.Errorf("members %v, err %v", p, err)
	}
	for raw, want := range map[string]string{``: "no params", `[1]`: "not an object", `"x"`: "not an object", `{"a":}`: "not an object"} {
		if _, err := DecodeParams(json.RawMessage(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", raw, err, want)
		}
	}
}
