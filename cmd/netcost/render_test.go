package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/netcost/netcost/internal/safetext"
)

// hostile is text a record, a certificate, a DNS answer or an HTTP reply
// could carry: a terminal title change and colour (ESC ] 0 ; ... BEL,
// ESC [ 31 m), CR, LF, NUL, a right-to-left override, a C1 CSI, invalid
// UTF-8, a Markdown column separator and a spreadsheet formula.
var hostile = []string{
	"\x1b]0;pwned\a\x1b[31mred",
	"web-1\r\nshop/forged  │ 0.00",
	"nul\x00byte",
	"evil\u202egnp.exe",
	"c1\u009b31m",
	"bad\xff\xfeutf8",
	"a|b",
	"=HYPERLINK(\"http://x\",\"y\")",
}

// assertSafe fails if out holds, on any of its lines, a character that
// safetext would escape: a control or bidi character, or invalid UTF-8.
func assertSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: invalid UTF-8 in the output:\n%q", what, out)
	}
	for n, line := range strings.Split(out, "\n") {
		if i := safetext.Index(line); i >= 0 {
			t.Errorf("%s: line %d holds %q at byte %d:\n%q", what, n+1, line[i:min(i+4, len(line))], i, line)
		}
	}
}

func render(t *testing.T, format string, tb table) string {
	t.Helper()
	var b bytes.Buffer
	if err := renderTable(&b, format, tb); err != nil {
		t.Fatalf("renderTable(%s): %v", format, err)
	}
	return b.String()
}

// plain is tb with every header, cell and note replaced by "x": the same
// structure, so the same number of lines when rendered.
func plain(tb table) table {
	x := func(s []string) []string { return slices.Repeat([]string{"x"}, len(s)) }
	out := table{header: x(tb.header), notes: x(tb.notes)}
	for _, r := range tb.rows {
		out.rows = append(out.rows, x(r))
	}
	return out
}

// checkRendered checks the rendering of tb in format: nothing unsafe, as
// many lines as the same table with plain cells, and for CSV and
// Markdown, every row with as many cells as the header.
func checkRendered(t *testing.T, format string, tb table) string {
	t.Helper()
	out := render(t, format, tb)
	assertSafe(t, format, out)
	if got, want := strings.Count(out, "\n"), strings.Count(render(t, format, plain(tb)), "\n"); got != want {
		t.Errorf("%s: %d lines; the table's structure makes %d:\n%s", format, got, want, out)
	}
	switch format {
	case "csv":
		r := csv.NewReader(strings.NewReader(out))
		r.FieldsPerRecord = len(tb.header)
		recs, err := r.ReadAll()
		if err != nil || len(recs) != 1+len(tb.rows) {
			t.Errorf("csv: %d records, %v; want %d:\n%s", len(recs), err, 1+len(tb.rows), out)
		}
		for _, rec := range recs {
			for _, c := range rec {
				if isFormula(c) {
					t.Errorf("csv: cell %q would run as a formula", c)
				}
			}
		}
	case "markdown":
		lines := strings.Split(out, "\n")
		for _, line := range lines[:2+len(tb.rows)] {
			if a, b := pipes(line, false), pipes(line, true); a != len(tb.header)+1 || b != a {
				t.Errorf("markdown: %d and %d column separators in %q; want %d", a, b, line, len(tb.header)+1)
			}
		}
	}
	return out
}

// pipes counts the unescaped pipes in a Markdown table line: those after
// an even number of backslashes (parity), or after no backslash.
func pipes(line string, parity bool) int {
	n := 0
	for i := range len(line) {
		if line[i] != '|' {
			continue
		}
		k := 0
		for j := i - 1; j >= 0 && line[j] == '\\'; j-- {
			k++
		}
		if parity && k%2 == 0 || !parity && k == 0 {
			n++
		}
	}
	return n
}

// TestRenderEscapesStrangers: text from outside goes out escaped in every
// format, one cell per cell and one line per row.
func TestRenderEscapesStrangers(t *testing.T) {
	tb := table{header: []string{"NAME", "VALUE", "NOTE"}, notes: hostile}
	for _, h := range hostile {
		tb.rows = append(tb.rows, []string{h, "-0.5", h})
	}
	for _, format := range []string{"table", "markdown", "csv"} {
		out := checkRendered(t, format, tb)
		for _, want := range []string{`\x1b]0;pwned\x07\x1b[31mred`, `web-1\x0d\x0ashop/forged`, `nul\x00byte`,
			`evil\u202egnp.exe`, `c1\u009b31m`, `bad\xff\xfeutf8`} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q in\n%s", format, want, out)
			}
		}
	}
	var b bytes.Buffer
	if err := writeJSON(&b, tb.rows); err != nil {
		t.Fatal(err)
	}
	assertSafe(t, "json", b.String())
	var back [][]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for i, r := range back {
		// encoding/json replaces invalid UTF-8 with U+FFFD; everything else decodes as it was.
		var want string
		raw, _ := json.Marshal(tb.rows[i][0])
		json.Unmarshal(raw, &want)
		if r[0] != want {
			t.Errorf("json: %q came back as %q", want, r[0])
		}
	}
}

func TestMarkdownPipes(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":    `a\|b`,
		`a\|b`:   `a\\\|b`,
		`a\\|b`:  `a\\\\\|b`,
		`a\b|`:   `a\b\|`,
		"plain":  "plain",
		`back\\`: `back\\`,
	} {
		if got := safeCell("markdown", in); got != want {
			t.Errorf("safeCell(markdown, %q) = %q; want %q", in, got, want)
		}
	}
	checkRendered(t, "markdown", table{header: []string{"A|", `B\`}, rows: [][]string{{`x\|y`, "|"}, {`\`, `\\|\|`}}})
}

// TestCSVFormulas: cells a spreadsheet would run get an apostrophe;
// numbers, negative ones included, and the "-" placeholder do not.
func TestCSVFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2":                "'=1+2",
		"+1+1":                "'+1+1",
		"-2+3+cmd|' /C calc'": "'-2+3+cmd|' /C calc'",
		"@SUM(A1:A2)":         "'@SUM(A1:A2)",
		"- (x, unverified)":   "'- (x, unverified)",
		"\t=1":                `\x09=1`, // TAB is escaped, so the cell starts with a backslash
		"\r=1":                `\x0d=1`,
		"-":                   "-",
		"-0.5":                "-0.5",
		"+3":                  "+3",
		"-12":                 "-12",
		"-1.5e-3":             "-1.5e-3",
		"-.5":                 "-.5",
		"0.0043":              "0.0043",
		"-.":                  "'-.",
		"-1e":                 "'-1e",
		"shop/web":            "shop/web",
	} {
		if got := safeCell("csv", in); got != want {
			t.Errorf("safeCell(csv, %q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzRenderTable drives every format with arbitrary cells and notes: no
// control, bidi or invalid UTF-8 reaches the output, the output has the
// lines the table's structure makes, and CSV and Markdown rows keep their
// columns.
func FuzzRenderTable(f *testing.F) {
	for _, h := range hostile {
		f.Add(h, "x", "")
	}
	f.Add("a\\|b", "\\", "|")
	f.Add("-1", "@x", "+")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		tb := table{header: []string{a, "H", b}, rows: [][]string{{a, b, c}, {c, "", a}, {b, c, "-"}}, notes: []string{a, c}}
		for _, format := range []string{"table", "markdown", "csv"} {
			checkRendered(t, format, tb)
		}
	})
}

// writeResult writes JSON for -o json, else the table, raw for CSV only.
func TestWriteResult(t *testing.T) {
	for _, tc := range []struct {
		format string
		raw    bool // the table asked for, if any
		want   string
	}{
		{format: "json", want: "{\n  \"n\": 1536\n}\n"},
		{format: "csv", raw: true, want: "N\n1536\n"},
		{format: "markdown", want: "|    N    |\n|:--------|\n| 1.5 KiB |\n"},
		{format: "wide"},
		{format: "table"},
	} {
		var asked []bool
		var b bytes.Buffer
		err := writeResult(&b, tc.format, struct {
			N int `json:"n"`
		}{1536}, func(raw bool) table {
			asked = append(asked, raw)
			return table{header: []string{"N"}, rows: [][]string{{bytesCell(1536, raw)}}}
		})
		switch {
		case err != nil:
			t.Errorf("-o %s: %v", tc.format, err)
		case tc.format == "json" && asked != nil:
			t.Errorf("-o json: a table was laid out (raw %v); want none", asked)
		case tc.format != "json" && !slices.Equal(asked, []bool{tc.raw}):
			t.Errorf("-o %s: tables laid out with raw %v; want one, raw %v", tc.format, asked, tc.raw)
		case tc.want != "" && b.String() != tc.want:
			t.Errorf("-o %s wrote\n%q; want\n%q", tc.format, b.String(), tc.want)
		case !strings.Contains(b.String(), "1.5 KiB") && tc.format != "json" && tc.format != "csv":
			t.Errorf("-o %s wrote\n%s; want the human figure 1.5 KiB", tc.format, b.String())
		}
	}
}
