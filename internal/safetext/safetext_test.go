package safetext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"shop/products-7d4b9", "shop/products-7d4b9"},
		{"café ☕ 東京 \\x1b", "café ☕ 東京 \\x1b"}, // letters, symbols and a literal backslash stay
		{"\x1b]0;owned\a\x1b[31mred", `\x1b]0;owned\x07\x1b[31mred`},
		{"a\r\nb\tc\x00d\x7f", `a\x0d\x0ab\x09c\x00d\x7f`},
		{"evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069", `\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069`},
		{"line\u2028para\u2029", `line\u2028para\u2029`},
		{"c1:\u0085\u009b\u0080", `c1:\u0085\u009b\u0080`},
		{"\u00a0\u200b\u2030\ufffd", "\u00a0\u200b\u2030\ufffd"}, // outside the set: unchanged
		{"bad\xff\xc3(\xe2\x80", `bad\xff\xc3(\xe2\x80`},
		{"\xed\xa0\x80", `\xed\xa0\x80`}, // a surrogate encoded in UTF-8 is invalid
		{strings.Repeat("abcdefgh", 3) + "\x1b", strings.Repeat("abcdefgh", 3) + `\x1b`},
	} {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestIndex(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"", -1},
		{"plain ascii that is longer than eight", -1},
		{"0123456789\x1b", 10},
		{"01234567\x7f", 8},
		{"é\u202e", 2},
		{"0123456789abcdef\xff", 16},
		{"~~~~~~~~~~~~~~~~\u2069", 16}, // 0x7e next to the range's end
	} {
		if got := Index(tt.in); got != tt.want {
			t.Errorf("Index(%q) = %d; want %d", tt.in, got, tt.want)
		}
	}
}

func TestEscapeAllocatesNothingWhenClean(t *testing.T) {
	for _, s := range []string{"shop/products-7d4b9", "Amazon SQS (sqs.us-east-1.amazonaws.com, unverified)", "Zürich 東京"} {
		if n := testing.AllocsPerRun(100, func() { _ = Escape(s) }); n != 0 {
			t.Errorf("Escape(%q) allocated %v times; want 0", s, n)
		}
	}
}

// reference is Escape written from Unicode's own tables: Cc (C0, DEL, C1),
// Bidi_Control, Zl and Zp.
func reference(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1, r < 0x80 && unicode.Is(unicode.Cc, r):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsOneOf([]*unicode.RangeTable{unicode.Cc, unicode.Bidi_Control, unicode.Zl, unicode.Zp}, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "shop/web", "\x1b]0;x\a\x1b[31m", "a\r\nb\x00", "\u202e\u2066", "\xff\xfe", "é\u0085", "0123456\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Escape(s)
		if want := reference(s); got != want {
			t.Fatalf("Escape(%q) = %q; want %q", s, got, want)
		}
		if !utf8.ValidString(got) || Index(got) >= 0 {
			t.Fatalf("Escape(%q) = %q, which still needs escaping at %d", s, got, Index(got))
		}
		if i := Index(s); (i < 0) != (got == s) || i >= 0 && got[:i] != s[:i] {
			t.Fatalf("Index(%q) = %d but Escape gave %q", s, i, got)
		}
	})
}

// FuzzJSON: JSON leaves encoding/json's output decoding to the same value,
// with nothing on any of its lines that Escape would replace.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]0;x\a\u202e\u0085\x7f", "\u2028\xff<&>", "é\u2066"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string][]string{"k": {s, s}}); err != nil {
			t.Fatal(err)
		}
		got := JSON(b.Bytes())
		var before, after any
		if err := json.Unmarshal(b.Bytes(), &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &after); err != nil {
			t.Fatalf("JSON(%s) = %s, which does not decode: %v", b.Bytes(), got, err)
		}
		if fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("JSON(%s) = %s decodes to %v; want %v", b.Bytes(), got, after, before)
		}
		for _, line := range strings.Split(string(got), "\n") {
			if i := Index(line); i >= 0 {
				t.Fatalf("JSON(%q) = %q: %q still needs escaping at %d", b.Bytes(), got, line, i)
			}
		}
		if bytes.Equal(got, b.Bytes()) != (&got[0] == &b.Bytes()[0]) {
			t.Fatalf("JSON(%q) copied without changing anything, or changed in place", b.Bytes())
		}
	})
}

func BenchmarkEscape(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"short", "shop/products-7d4b9"},
		{"long", "Amazon SQS (sqs.us-east-1.amazonaws.com, unverified): 40.0 GiB of inter-AZ traffic to Service shop/products"},
		{"utf8", "Zürich-東京-Москва-workload"},
		{"dirty", "web\x1b]0;owned\a\x1b[31m\u202epod"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.s)))
			b.ReportAllocs()
			for b.Loop() {
				_ = Escape(bc.s)
			}
		})
	}
}
