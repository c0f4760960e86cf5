package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Values arrive in whatever type a firmware chose: numbers as numbers or
// strings, flags as bools, 0/1 or words. Parse tolerantly; anything else is an
// error for that one field.

// ErrNull is the error for a JSON null where a value is expected.
var ErrNull = errors.New("null value")

// ParseNumber reads a number sent as a JSON number or a numeric string.
// NaN and infinities are refused.
func ParseNumber(raw json.RawMessage) (float64, error) {
	if v, ok := plainDecimal(raw); ok {
		return v, nil
	}
	if len(raw) > 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		if v, ok := plainDecimal(raw[1 : len(raw)-1]); ok {
			return v, nil
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, errors.New("empty value")
	}
	switch raw[0] {
	case 'n':
		return 0, ErrNull
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("bad string: %w", err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return 0, fmt.Errorf("string %q is not a number", s)
		}
		return finite(v)
	case '{', '[':
		return 0, fmt.Errorf("%s where a number is expected", jsonKind(raw))
	case 't', 'f':
		return 0, errors.New("boolean where a number is expected")
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, fmt.Errorf("not a number: %s", Truncate(raw))
	}
	return finite(v)
}

// plainDecimal reads the plain decimals devices send (an optional minus,
// at most 15 digits with an optional point between two of them, nothing
// else) and reports whether raw was one. Its result is exactly
// strconv.ParseFloat's: the digits make an integer below 2^53 and the
// point divides it by an exact power of ten up to 1e15, so the one IEEE
// division is correctly rounded, as strconv's result is (this is strconv's
// own exact fast path). Anything else (exponents, spaces, signs, longer
// numbers) is left to strconv.
func plainDecimal(raw []byte) (float64, bool) {
	i := 0
	neg := len(raw) > 0 && raw[0] == '-'
	if neg {
		i = 1
	}
	if len(raw)-i > 16 || i == len(raw) {
		return 0, false
	}
	var n uint64
	digits, point := 0, -1
	for ; i < len(raw); i++ {
		c := raw[i]
		if c >= '0' && c <= '9' {
			n = n*10 + uint64(c-'0')
			digits++
			continue
		}
		if c != '.' || point >= 0 || digits == 0 || i == len(raw)-1 {
			return 0, false
		}
		point = digits
	}
	if digits > 15 {
		return 0, false
	}
	v := float64(n)
	if point >= 0 {
		v /= pow10[digits-point]
	}
	if neg {
		v = -v
	}
	return v, true
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

func finite(v float64) (float64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("non-finite number %v", v)
	}
	return v, nil
}

var boolWords = map[string]float64{
	"true": 1, "on": 1, "yes": 1, "y": 1, "1": 1, "auto": 1, "enabled": 1, "enable": 1, "running": 1, "run": 1, "open": 1, "active": 1,
	"false": 0, "off": 0, "no": 0, "n": 0, "0": 0, "manual": 0, "disabled": 0, "disable": 0, "stopped": 0, "stop": 0, "closed": 0, "inactive": 0, "": 0,
}

// ParseBool reads a flag sent as a boolean, 0/1 or a word (on/off, auto/manual,
// running/stopped, ...) as 1 or 0.
func ParseBool(raw json.RawMessage) (float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, errors.New("empty value")
	}
	switch raw[0] {
	case 't':
		if string(raw) == "true" {
			return 1, nil
		}
	case 'f':
		if string(raw) == "false" {
			return 0, nil
		}
	case 'n':
		return 0, ErrNull
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("bad string: %w", err)
		}
		if v, ok := boolWords[strings.ToLower(strings.TrimSpace(s))]; ok {
			return v, nil
		}
		return 0, fmt.Errorf("string %q is not a boolean", s)
	case '{', '[':
		return 0, fmt.Errorf("%s where a boolean is expected", jsonKind(raw))
	default:
		v, err := strconv.ParseFloat(string(raw), 64)
		if err == nil && (v == 0 || v == 1) {
			return v, nil
		}
	}
	return 0, fmt.Errorf("not a boolean: %s", Truncate(raw))
}

// ParseString renders a scalar as a label value.
func ParseString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return "", ErrNull
	}
	if raw[0] == '"' {
		if s, ok := Unquote(raw); ok {
			return s, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("bad string: %w", err)
		}
		return s, nil
	}
	if raw[0] == '{' || raw[0] == '[' {
		return "", fmt.Errorf("%s where a scalar is expected", jsonKind(raw))
	}
	return string(raw), nil
}

// Strings reads label values as ParseString does, handing out one string
// per distinct value: a probe's miners mostly share a few models and
// firmware versions, which then cost no allocation each. Use one Strings
// per probe (its size is bounded by the values it was given).
type Strings map[string]string

// Parse is ParseString, interned.
func (s Strings) Parse(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 1 && raw[0] == '"' {
		if b, ok := unquoteBytes(raw); ok {
			if v, seen := s[string(b)]; seen {
				return v, nil
			}
			v := string(b)
			s[v] = v
			return v, nil
		}
	}
	return ParseString(raw)
}

func jsonKind(raw json.RawMessage) string {
	if raw[0] == '{' {
		return "object"
	}
	return "array"
}

// Truncate shortens a raw value for an error message.
func Truncate(raw []byte) string {
	const limit = 40
	if len(raw) > limit {
		return string(raw[:limit]) + "…"
	}
	return string(raw)
}

// IsNull reports whether raw is the JSON null.
func IsNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}
