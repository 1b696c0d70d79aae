package flows

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
)

// scanner walks one JSON line.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) null() bool { return s.literal("null") }

// literal consumes lit (true, false or null) if the input continues with it.
func (s *scanner) literal(lit string) bool {
	if s.i < len(s.b) && s.b[s.i] == lit[0] && bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.i += len(lit)
		return true
	}
	return false
}

// str reads a JSON string and returns its raw contents and whether it needs
// unescaping or checking (it holds a backslash or a byte outside printable
// ASCII: DEL, or a byte of a multi-byte character).
func (s *scanner) str() ([]byte, bool, error) {
	if !s.consume('"') {
		return nil, false, errNotString
	}
	start := s.i
	b := s.b
	// Look at 8 bytes at a time for a quote, a backslash or a non-ASCII byte.
	i := start
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		// v-0x20 sets the high bit of a byte below 0x20, v+1 of DEL, v of a
		// byte above: a borrow or a carry only flags bytes above one of these.
		m := hasZeroByte(v^(swarOnes*'"')) | hasZeroByte(v^(swarOnes*'\\')) | ((v-swarOnes*0x20)|(v+swarOnes)|v)&swarHigh
		if m == 0 {
			continue
		}
		j := i + bits.TrailingZeros64(m)/8
		switch c := b[j]; {
		case c == '"':
			s.i = j + 1
			return b[start:j], false, nil
		case c < 0x20:
			return nil, false, errControl
		}
		return s.strSlow(start)
	}
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return b[start:i], false, nil
		case c < 0x20:
			return nil, false, errControl
		case c == '\\' || c >= 0x7f:
			return s.strSlow(start)
		}
	}
	return nil, false, errUnterminated
}

const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// hasZeroByte sets the high bit of the lowest zero byte of v (and maybe of
// bytes above it, which callers ignore).
func hasZeroByte(v uint64) uint64 { return (v - swarOnes) &^ v & swarHigh }

func (s *scanner) strSlow(start int) ([]byte, bool, error) {
	s.i = start
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return nil, false, errUnterminated
		}
		end := s.i + j
		// Count the backslashes before the quote: an odd number escapes it.
		k := end
		for k > start && s.b[k-1] == '\\' {
			k--
		}
		s.i = end + 1
		if (end-k)%2 == 0 {
			v := s.b[start:end]
			for _, c := range v {
				if c < 0x20 {
					return nil, false, errControl
				}
			}
			return v, bytes.IndexByte(v, '\\') >= 0 || !isPlain(v), nil
		}
	}
}

// isPlain reports whether b is printable ASCII (control characters below
// 0x20 are refused before this is asked).
func isPlain(b []byte) bool {
	for _, c := range b {
		if c >= 0x7f {
			return false
		}
	}
	return true
}

type scanError string

func (e scanError) Error() string { return string(e) }

const (
	errNotString    scanError = "not a string"
	errUnterminated scanError = "unterminated string"
	errControl      scanError = "control character in a string (escape it)"
	errEscape       scanError = "invalid escape in a string"
)

// unescape decodes a JSON string's escapes (and replaces invalid UTF-8, as
// encoding/json does); it is the rare path, so it leaves the work to
// encoding/json.
func unescape(raw []byte) ([]byte, error) {
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return nil, errEscape
	}
	return []byte(s), nil
}

// uint reads a non-negative integer.
func (s *scanner) uint(key string) (uint64, error) {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		j := s.i + 1
		for j < len(s.b) && (s.b[j] >= '0' && s.b[j] <= '9' || s.b[j] == '.') {
			j++
		}
		return 0, fieldErr(key, "negative value %s; want a non-negative integer", s.b[s.i:j])
	}
	start := s.i
	var n uint64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		d := uint64(s.b[s.i] - '0')
		if s.i-start >= 19 && n > (1<<64-1-d)/10 { // 19 digits always fit
			return 0, fieldErr(key, "number too large")
		}
		n = n*10 + d
		s.i++
	}
	if s.i == start {
		end := s.i
		for end < len(s.b) && end-start < 20 && s.b[end] != ',' && s.b[end] != '}' {
			end++
		}
		return 0, fieldErr(key, "want a non-negative integer, got %s", s.b[start:end])
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, fieldErr(key, "want an integer, got a fraction or exponent")
	}
	if s.i-start > 1 && s.b[start] == '0' {
		return 0, fieldErr(key, "leading zero in %s", s.b[start:s.i])
	}
	return n, nil
}

// skip skips any JSON value.
func (s *scanner) skip(depth int) error {
	if depth > 64 {
		return fieldErr("record", "nested too deeply")
	}
	if s.i >= len(s.b) {
		return fieldErr("record", "truncated JSON")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, err := s.str()
		if err != nil {
			return fieldErr("record", "%v", err)
		}
		return nil
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		s.i++
		s.ws()
		if s.consume(closer) {
			return nil
		}
		for {
			s.ws()
			if c == '{' {
				if _, _, err := s.str(); err != nil {
					return fieldErr("record", "bad key: %v", err)
				}
				s.ws()
				if !s.consume(':') {
					return fieldErr("record", "want ':' at byte %d", s.i+1)
				}
				s.ws()
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.consume(',') {
				continue
			}
			if s.consume(closer) {
				return nil
			}
			return fieldErr("record", "want ',' or '%c' at byte %d", closer, s.i+1)
		}
	default:
		start := s.i
		for s.i < len(s.b) {
			c := s.b[s.i]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				break
			}
			s.i++
		}
		lit := s.b[start:s.i]
		switch string(lit) {
		case "true", "false", "null":
			return nil
		}
		if !validNumber(lit) {
			return fieldErr("record", "invalid JSON value %q", lit)
		}
		return nil
	}
}

// validNumber reports whether b is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}
