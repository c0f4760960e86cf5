package payload

import (
	"bytes"
	"encoding/json"
	"slices"
)

// A one-pass scanner for the controller's answers. encoding/json decoding
// into map[string]json.RawMessage validates every nested value again at each
// level (envelope, params, miner_info) and copies every value; the scanner
// hands out sub-slices of the body instead. Bodies are checked once before
// scanning, by validate (validate.go: what json.Valid accepts, with an index
// of the outer containers the walks jump over), but the scanner itself stays
// safe on any input: it reports false instead of reading out of bounds.

// EachMember calls fn with the key and raw value of every member of the JSON
// object in raw, in order. It returns false when raw is not a well-formed
// object (fn may have been called for the members before the fault).
func EachMember(raw []byte, fn func(key string, value []byte)) bool {
	return EachMemberBytes(raw, func(key, value []byte) { fn(string(key), value) })
}

// EachMemberBytes is EachMember with the key as bytes: a sub-slice of raw
// when the key has no escapes (no allocation), else its decoded text. fn
// must not keep key beyond the call.
func EachMemberBytes(raw []byte, fn func(key, value []byte)) bool {
	return eachMember(raw, 0, len(raw), index{}, func(key []byte, off, end int) { fn(key, raw[off:end:end]) })
}

// eachMember walks the members of the object at b[from:to], calling fn with
// each key and its value's offsets in b. A value that ix knows is jumped
// over, others are scanned.
func eachMember(b []byte, from, to int, ix index, fn func(key []byte, off, end int)) bool {
	raw := b[:to]
	i := skipSpace(raw, from)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return skipSpace(raw, i+1) == len(raw)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return false
		}
		var key []byte
		end := plainRun(raw, i+1, true)
		if end < len(raw) && raw[end] == '"' {
			key, end = raw[i+1:end], end+1 // printable ASCII up to the closing quote: the key as it is
		} else {
			if end = skipString(raw, i); end < 0 {
				return false
			}
			var ok bool
			if key, ok = unquoteBytes(raw[i:end]); !ok {
				return false
			}
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipSpace(raw, i+1)
		vend := -1
		if i < len(raw) && (raw[i] == '{' || raw[i] == '[') {
			vend = ix.end(i)
		}
		if vend < 0 || vend > len(raw) {
			vend = skipValue(raw, i)
		}
		if vend < 0 {
			return false
		}
		fn(key, i, vend)
		i = skipSpace(raw, vend)
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return skipSpace(raw, i+1) == len(raw)
		default:
			return false
		}
	}
}

// Object is a JSON value inside an answer, with what validating the answer
// learnt about it (where its nested objects and arrays end), so walking its
// members jumps over nested values instead of scanning them again. The zero
// Object is no value.
type Object struct {
	buf      []byte // the answer (or the value itself) the offsets refer to
	off, end int
	ix       index // empty: nothing known, values are scanned
}

// ObjectOf returns raw as an Object, without an index.
func ObjectOf(raw []byte) Object { return Object{buf: raw, end: len(raw)} }

// Raw returns the value's bytes.
func (o Object) Raw() []byte { return o.buf[o.off:o.end:o.end] }

// IndexedWithin is how many of the objects and arrays the answer's index
// knows lie inside o (0 without an index): a miner_info's tables, as a
// capacity hint.
func (o Object) IndexedWithin() int {
	s := o.ix.spans
	first, _ := slices.BinarySearchFunc(s, o.off+1, func(sp span, at int) int { return int(sp.open) - at })
	last, _ := slices.BinarySearchFunc(s, o.end, func(sp span, at int) int { return int(sp.open) - at })
	return last - first
}

// EachMember calls fn with the key and value of every member of the object
// o, in order, and reports whether o is a well-formed object (as
// EachMemberBytes: fn must not keep key beyond the call).
func (o Object) EachMember(fn func(key []byte, value Object)) bool {
	return eachMember(o.buf, o.off, o.end, o.ix, func(key []byte, off, end int) {
		fn(key, Object{buf: o.buf, off: off, end: end, ix: o.ix})
	})
}

// ObjectMembers collects an object's members into a map (the last of
// duplicate keys wins, as with encoding/json).
func ObjectMembers(raw []byte) (map[string]json.RawMessage, bool) {
	return Keys(nil).Members(raw)
}

// Keys are the member names a reader expects, each mapped to itself:
// Members uses these strings for the keys it knows instead of copying
// them out of the body.
type Keys map[string]string

// NewKeys returns the Keys of names.
func NewKeys(names ...string) Keys {
	k := make(Keys, len(names))
	for _, n := range names {
		k[n] = n
	}
	return k
}

// Members is ObjectMembers, with the known keys' strings reused.
func (k Keys) Members(raw []byte) (map[string]json.RawMessage, bool) {
	return k.ObjectMembers(ObjectOf(raw), nil)
}

// ObjectMembers is Members of an Object; fn, when not nil, is also called
// with every member's name and value in order (so a caller can keep a
// nested object's Object).
func (k Keys) ObjectMembers(o Object, fn func(name string, v Object)) (map[string]json.RawMessage, bool) {
	m := make(map[string]json.RawMessage, 64)
	ok := o.EachMember(func(key []byte, v Object) {
		name, known := k[string(key)]
		if !known {
			name = string(key)
		}
		m[name] = v.Raw()
		if fn != nil {
			fn(name, v)
		}
	})
	return m, ok
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"', or -1.
// It jumps from quote to quote (bytes.IndexByte) and ends at the first one
// not escaped by an odd run of backslashes.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		backslashes := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return j + 1
		}
		j++
	}
}

// structural marks the bytes skipValue must look at inside an object or
// array; it passes over all others.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			if !structural[b[j]] {
				continue
			}
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !endsScalar[b[j]] {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// endsScalar marks the bytes that end a number or literal.
var endsScalar = [256]bool{',': true, '}': true, ']': true, ' ': true, '\t': true, '\n': true, '\r': true}

// Unquote returns the text of a JSON string token.
func Unquote(tok []byte) (string, bool) {
	b, ok := unquoteBytes(tok)
	return string(b), ok
}

// unquoteBytes is Unquote without a copy for a plain token (printable
// ASCII without escapes): then it returns a sub-slice of tok.
func unquoteBytes(tok []byte) ([]byte, bool) {
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return nil, false
	}
	inner := tok[1 : len(tok)-1]
	if plainRun(inner, 0, true) == len(inner) {
		return inner, true
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil, false
	}
	return []byte(s), true
}
