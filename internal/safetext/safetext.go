package safetext

import (
	"strings"
	"unicode/utf8"
)

// Escape returns s with every control character (C0 including TAB, CR and
// LF, DEL, C1), bidi control (U+061C, U+200E, U+200F, U+202A-U+202E,
// U+2066-U+2069), line or paragraph separator (U+2028, U+2029) and byte of
// invalid UTF-8 replaced by a visible escape: \xNN for a byte below 0x80 or
// not part of valid UTF-8, \uNNNN for the others. A backslash is not
// escaped: the output is for people, not to be parsed back. When s holds
// none of these, Escape returns s itself without allocating.
func Escape(s string) string {
	i := Index(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			writeByteEscape(&b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			writeByteEscape(&b, c)
		case unsafe(r):
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[r>>shift&0xf])
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

const hex = "0123456789abcdef"

func writeByteEscape(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&0xf])
}

// Index returns the index of the first byte of s that Escape would
// replace, or -1 if there is none.
func Index(s string) int {
	i := 0
	// Eight bytes at a time while they are all printable ASCII: most text
	// netcost shows is, and this runs on every table cell.
	for ; i+8 <= len(s); i += 8 {
		v := load64(s[i:])
		if ((v-ones*0x20)|(v+ones)|v)&high != 0 {
			break // a byte below 0x20, at 0x7f or above: look at it alone
		}
	}
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return i
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafe(r) {
			return i
		}
		i += n
	}
	return -1
}

// load64 reads s's first eight bytes as a little-endian word (one load
// once compiled).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// unsafe reports whether r, a valid rune at or above U+0080, is one Escape
// replaces.
func unsafe(r rune) bool {
	switch {
	case r <= 0x9f: // C1 controls
		return true
	case r < 0x061c:
		return false
	case r == 0x061c, r == 0x200e, r == 0x200f: // Arabic letter mark, LRM, RLM
		return true
	case r >= 0x2028 && r <= 0x202e: // line and paragraph separators, LRE..RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI..PDI
		return true
	}
	return false
}

// JSON makes JSON text that encoding/json wrote as safe to show as Escape
// makes other text, and decodes to the same values: encoding/json escapes
// C0 controls and U+2028/U+2029 but leaves DEL, the C1 controls and the
// bidi controls as they are, and JSON replaces these by \u escapes. The
// indentation's newlines are left alone. When b holds none of these, JSON
// returns b itself.
func JSON(b []byte) []byte {
	i := jsonIndex(b)
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, n := rune(b[i]), 1
		if b[i] >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(b[i:])
		}
		if r == 0x7f || r >= utf8.RuneSelf && unsafe(r) {
			out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// jsonIndex is the index of the first character in b that JSON replaces, or -1.
func jsonIndex(b []byte) int {
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == 0x7f:
			return i
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r != utf8.RuneError && unsafe(r) {
				return i
			}
			i += n
		}
	}
	return -1
}
