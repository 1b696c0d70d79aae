package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/netcost/netcost/internal/safetext"
)

func TestAbbreviate(t *testing.T) {
	for _, tt := range []struct {
		in     string
		width  int
		middle bool
		want   string
	}{
		{"shop/products-5c6b7f9d84-kq7lz", 30, true, "shop/products-5c6b7f9d84-kq7lz"},
		{"shop/products-5c6b7f9d84-kq7lz", 16, true, "shop/prod…-kq7lz"},
		{"Amazon SQS (sqs.us-east-1.amazonaws.com)", 16, false, "Amazon SQS (sqs…"},
		// Escapes (\x1b is 4 columns) are never split: all or nothing.
		{"ab\x1bcdefgh", 5, false, "ab…"},
		{"ab\x1bcdefgh", 7, false, "ab\x1b…"},
		{"\u202ename.example", 6, false, "…"},
		// Wide characters (2 columns) are never split, and count 2.
		{"日本語テキスト", 8, false, "日本語…"},
		{"日本語テキスト", 9, true, "日本…スト"},
		// A flag (two regional indicators) is one character.
		{"🇯🇵🇫🇷🇩🇪", 5, false, "🇯🇵…"},
		{"abc", 1, false, "…"},
	} {
		got := abbreviate(tt.in, tt.width, tt.middle)
		if got != tt.want {
			t.Errorf("abbreviate(%q, %d, %v) = %q; want %q", tt.in, tt.width, tt.middle, got, tt.want)
		}
	}
}

// FuzzAbbreviate: an abbreviated cell fits its width and, escaped, is the
// escaped cell's start and end around the ellipsis: no escape, character
// or cluster is split.
func FuzzAbbreviate(f *testing.F) {
	for _, s := range []string{"shop/products-5c6b7f9d84-kq7lz", "a\x1b[31mred", "日本語", "🇯🇵🇫🇷", "e\u0301te\u0301",
		"\xff\xfe", "\u202e"} {
		f.Add(s, 8, true)
	}
	f.Fuzz(func(t *testing.T, s string, width int, middle bool) {
		width = 1 + abs(width)%40
		got := abbreviate(s, width, middle)
		if got == s {
			if textWidth(s) > width {
				t.Fatalf("abbreviate(%q, %d) kept it whole at %d columns", s, width, textWidth(s))
			}
			return
		}
		if w := textWidth(got); w > width {
			t.Fatalf("abbreviate(%q, %d) = %q, %d columns", s, width, got, w)
		}
		i := strings.LastIndex(got, ellipsis)
		head, tail := got[:i], got[i+len(ellipsis):]
		if !strings.HasPrefix(s, head) || !strings.HasSuffix(s, tail) || len(head)+len(tail) >= len(s) {
			t.Fatalf("abbreviate(%q, %d) = %q: not the start and end of it", s, width, got)
		}
		esc := safetext.Escape(s)
		if !strings.HasPrefix(esc, safetext.Escape(head)) || !strings.HasSuffix(esc, safetext.Escape(tail)) {
			t.Fatalf("abbreviate(%q, %d) = %q splits an escape", s, width, got)
		}
		if utf8.ValidString(s) && (!utf8.ValidString(head) || !utf8.ValidString(tail)) {
			t.Fatalf("abbreviate(%q, %d) = %q splits a character", s, width, got)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestFit: a table narrows in its narrowing's order, each step only while
// it is too wide, and every line of its text fits.
func TestFit(t *testing.T) {
	tb := table{
		header: []string{"NAME", "ZONE", "EXTRA", "SIZE", "COST USD"},
		rows: [][]string{
			{"shop/products-5c6b7f9d84-kq7lz", "use1-az1", "something long here", "20.0 GiB", "0.40"},
			{"shop/orders-6f8d9c7b5-m4n8p", "use1-az2", "more", "3.0 GiB", "0.06"},
		},
		notes: []string{"window: 2026-11-20T09:00:00Z to 2026-11-20T10:00:00Z (1h0m0s); monthly figures extrapolate this " +
			"window to 730 hours"},
		narrow: &narrowing{
			first:  [][]string{{"EXTRA"}},
			abbrev: map[string]abbrev{"NAME": {min: 12, middle: true}},
			last:   [][]string{{"ZONE"}},
		},
	}
	for _, tt := range []struct {
		width  int
		header []string
		heads  int // lines of the tallest header; 0: headers untouched
	}{
		{200, []string{"NAME", "ZONE", "EXTRA", "SIZE", "COST USD"}, 0},
		{87, []string{"NAME", "ZONE", "EXTRA", "SIZE", "COST USD"}, 2}, // COST USD on two lines is enough
		{70, []string{"NAME", "ZONE", "SIZE", "COST USD"}, 1},          // EXTRA goes, and COST USD is one line again
		{50, []string{"NAME", "ZONE", "SIZE", "COST USD"}, 2},          // NAME abbreviated to 17
		{40, []string{"NAME", "SIZE", "COST USD"}, 2},                  // ZONE goes too, NAME abbreviated to 18
	} {
		got, heads := tb.fit(tt.width)
		if strings.Join(got.header, ",") != strings.Join(tt.header, ",") {
			t.Errorf("fit(%d) kept %q; want %q", tt.width, got.header, tt.header)
		}
		tallest := 0
		for _, h := range heads {
			tallest = max(tallest, len(h))
		}
		if tallest != tt.heads {
			t.Errorf("fit(%d): headers of %d lines (%q); want %d", tt.width, tallest, heads, tt.heads)
		}
		for _, l := range got.notes {
			if textWidth(l) > tt.width {
				t.Errorf("fit(%d): note line %q is wider", tt.width, l)
			}
		}
		if w := tableWidth(columnWidths(got, heads)); w > tt.width {
			t.Errorf("fit(%d): the table is %d columns wide", tt.width, w)
		}
	}
}

// columnWidths are the widths of the columns of a fitted table: its
// header lines (heads, or the header itself when nil) and its cells.
func columnWidths(t table, heads [][]string) []int {
	w := make([]int, len(t.header))
	for i, h := range t.header {
		lines := []string{h}
		if heads != nil {
			lines = heads[i]
		}
		for _, l := range lines {
			w[i] = max(w[i], textWidth(l))
		}
		for _, r := range t.rows {
			w[i] = max(w[i], textWidth(r[i]))
		}
	}
	return w
}
