package payload

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// A validating scanner that accepts exactly what json.Valid accepts (a fuzz
// test compares the two on every input) and, in the same pass, records
// where the outer objects and arrays of an answer end: the envelope,
// params, miner_info and each miner's table. Walking their members then
// jumps over a nested value instead of scanning it again, so a minerInfo
// body is read twice (here and by the miner-table walk) instead of five
// times (json.Valid, the envelope, params, miner_info, the tables).

// maxDepth is encoding/json's nesting limit: json.Valid refuses a document
// nested deeper.
const maxDepth = 10000

// Only containers up to spanDepth levels deep are recorded, and at most
// maxSpans of them, so the index of a hostile body stays small (32 KiB);
// a container not recorded is skipped by scanning, as without an index.
const (
	spanDepth = 4
	maxSpans  = 4096
)

// span is where a recorded object or array starts ('{' or '[') and the
// offset after its closing bracket.
type span struct{ open, end int32 }

// index is the spans of a validated body, in order of their start.
type index struct{ spans []span }

// end returns the offset after the container starting at offset open, or
// -1 when it was not recorded.
func (ix index) end(open int) int {
	s := ix.spans
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if int(s[m].open) < open {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s) && int(s[lo].open) == open {
		return int(s[lo].end)
	}
	return -1
}

// Valid reports whether b is valid JSON, exactly as json.Valid does.
func Valid(b []byte) bool {
	_, ok := validate(b, false)
	return ok
}

// plainInString marks the bytes a JSON string holds as they are: all but
// control characters, '"' and '\\' (encoding/json does not check UTF-8).
var plainInString = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

var isHex = func() (t [256]bool) {
	for _, c := range []byte("0123456789abcdefABCDEF") {
		t[c] = true
	}
	return t
}()

// validate checks b as json.Valid does; with record set it also returns
// the index of b's outer containers.
func validate(b []byte, record bool) (index, bool) {
	if len(b) > math.MaxInt32 {
		record = false
	}
	var ix index
	if record {
		ix.spans = make([]span, 0, min(maxSpans, 8+len(b)/128)) // a minerInfo body has a table per 150-200 bytes
	}
	// stack holds, per open container, its span's number (-1: not
	// recorded) shifted left once, with bit 0 set for an object.
	var stackBuf [16]int32
	stack := stackBuf[:0]
	i := skipSpace(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return index{}, false
		}
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= maxDepth {
				return index{}, false
			}
			si := int32(-1)
			if record && len(stack) < spanDepth && len(ix.spans) < maxSpans {
				// record is off for a body past MaxInt32 and spans stay below
				// maxSpans: the offsets fit.
				si = int32(len(ix.spans))                         //nolint:gosec // G115: below maxSpans
				ix.spans = append(ix.spans, span{open: int32(i)}) //nolint:gosec // G115: len(b) <= MaxInt32 when recording
			}
			j := skipSpace(b, i+1)
			if j < len(b) && (c == '{' && b[j] == '}' || c == '[' && b[j] == ']') {
				i = j + 1
				if si >= 0 {
					ix.spans[si].end = int32(i) //nolint:gosec // G115: len(b) <= MaxInt32 when recording
				}
				break // an empty container is a whole value
			}
			if c == '{' {
				stack = append(stack, si<<1|1)
				if i = member(b, j); i < 0 {
					return index{}, false
				}
			} else {
				stack = append(stack, si<<1)
				i = j
			}
			continue // the first element's value
		case '"':
			if i = skipValidString(b, i); i < 0 {
				return index{}, false
			}
		case 't':
			if len(b)-i < 4 || string(b[i:i+4]) != "true" {
				return index{}, false
			}
			i += 4
		case 'f':
			if len(b)-i < 5 || string(b[i:i+5]) != "false" {
				return index{}, false
			}
			i += 5
		case 'n':
			if len(b)-i < 4 || string(b[i:i+4]) != "null" {
				return index{}, false
			}
			i += 4
		default:
			if i = skipNumber(b, i); i < 0 {
				return index{}, false
			}
		}
		// After a value: close containers, or go on to the next element.
		for {
			i = skipSpace(b, i)
			if len(stack) == 0 {
				return ix, i == len(b)
			}
			if i >= len(b) {
				return index{}, false
			}
			top := stack[len(stack)-1]
			c := b[i]
			if c == ',' {
				if top&1 == 1 {
					i = member(b, skipSpace(b, i+1))
					if i < 0 {
						return index{}, false
					}
				} else {
					i = skipSpace(b, i+1)
				}
				break
			}
			if top&1 == 1 && c != '}' || top&1 == 0 && c != ']' {
				return index{}, false
			}
			i++
			if si := top >> 1; si >= 0 {
				ix.spans[si].end = int32(i) //nolint:gosec // G115: len(b) <= MaxInt32 when recording
			}
			stack = stack[:len(stack)-1]
		}
	}
}

// member checks an object member's key and colon starting at b[i] and
// returns where its value starts (spaces skipped), or -1.
func member(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = skipValidString(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

// skipValidString returns the offset after the valid JSON string starting
// at b[i] == '"', or -1.
func skipValidString(b []byte, i int) int {
	i++
	for {
		i = plainRun(b, i, false)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if len(b)-i < 5 || !isHex[b[i+1]] || !isHex[b[i+2]] || !isHex[b[i+3]] || !isHex[b[i+4]] {
					return -1
				}
				i += 5
			default:
				return -1
			}
		default:
			return -1 // a control character
		}
	}
}

// Eight bytes at a time (SWAR): each of these words holds a byte eight times.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainRun returns the offset of the first byte at or after b[i] that a
// string does not hold as it is: a control character, '"' or '\\', and
// with ascii set also any byte from 0x80. It tests eight bytes at a time:
// the has-less-than and has-zero-byte tests flag no byte below the first
// match (a borrow only runs upwards), so the lowest flag is that byte.
func plainRun(b []byte, i int, ascii bool) int {
	for len(b)-i >= 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ ('"' * ones)
		s := x ^ ('\\' * ones)
		t := (x-0x20*ones)&^x | (q-ones)&^q | (s-ones)&^s
		if ascii {
			t |= x
		}
		if t &= highs; t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
		i += 8
	}
	plain := &plainInString
	if ascii {
		plain = &plainASCII
	}
	for i < len(b) && plain[b[i]] {
		i++
	}
	return i
}

// plainASCII is plainInString without the bytes from 0x80.
var plainASCII = func() (t [256]bool) {
	copy(t[:0x80], plainInString[:0x80])
	return t
}()

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipNumber returns the offset after the JSON number starting at b[i], or
// -1 when none starts there.
func skipNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return -1
	}
	switch {
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}
