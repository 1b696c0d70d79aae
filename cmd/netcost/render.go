package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/safetext"
)

// table is rendered output before it is formatted: the same cells become
// a text table, Markdown or CSV.
type table struct {
	header []string
	rows   [][]string
	notes  []string   // lines printed under a text or Markdown table, not in CSV
	narrow *narrowing // how the text table narrows to a terminal; nil: only its headers wrap
}

// renderTable writes t as a text table, Markdown or CSV. Every cell and
// note goes out through safeCell: names come from records, certificates
// and DNS, and none may steer the terminal or forge a row. A text table
// on a terminal fits its width (t.narrow); -o wide, or a text table
// anywhere else, keeps every column.
func renderTable(w io.Writer, format string, t table) error {
	var heads [][]string
	switch format {
	case "table":
		if width := terminalWidth(w); width > 0 {
			t, heads = t.fit(width)
		}
	case "wide":
		format = "table"
	}
	t = t.safe(format)
	for i, h := range heads {
		t.header[i] = strings.Join(safeCells(format, h), "\n")
	}
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(t.header); err != nil {
			return fmt.Errorf("writing csv: %w", err)
		}
		if err := cw.WriteAll(t.rows); err != nil {
			return fmt.Errorf("writing csv: %w", err)
		}
		return nil
	case "markdown":
		tbl := tablewriter.NewTable(w, tablewriter.WithRenderer(renderer.NewMarkdown()),
			tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
		if err := fill(tbl, t); err != nil {
			return err
		}
		if len(t.notes) > 0 {
			fmt.Fprintln(w)
		}
		for _, n := range t.notes {
			fmt.Fprintf(w, "%s  \n", n)
		}
		return nil
	default:
		tbl := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
		if err := fill(tbl, t); err != nil {
			return err
		}
		for _, n := range t.notes {
			fmt.Fprintln(w, n)
		}
		return nil
	}
}

// safe is t with every header, cell and note passed through safeCell.
func (t table) safe(format string) table {
	out := table{header: safeCells(format, t.header), rows: make([][]string, len(t.rows)),
		notes: make([]string, len(t.notes))}
	for i, r := range t.rows {
		out.rows[i] = safeCells(format, r)
	}
	for i, n := range t.notes {
		out.notes[i] = safeCell(format, n)
	}
	return out
}

// safeCells is safeCell over a row of cells.
func safeCells(format string, cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = safeCell(format, c)
	}
	return out
}

// safeCell makes s safe to show in format: control and bidi characters
// escaped (safetext), a Markdown cell's pipes escaped so that they do not
// split it, and a CSV cell that a spreadsheet would run as a formula
// prefixed with an apostrophe.
func safeCell(format, s string) string {
	s = safetext.Escape(s)
	switch format {
	case "markdown":
		return markdownCell(s)
	case "csv":
		if isFormula(s) {
			return "'" + s
		}
	}
	return s
}

// markdownCell escapes the pipes in s as \|, doubling any backslashes just
// before one, so that a pipe never ends the cell whether a Markdown reader
// takes \\| as an escaped backslash or as an escaped pipe.
func markdownCell(s string) string {
	if !strings.Contains(s, "|") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '|' {
			for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
				b.WriteByte('\\')
			}
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isFormula reports whether a spreadsheet opening the CSV would read s as
// a formula: it starts with =, +, - or @ (OWASP's CSV injection list; TAB
// and CR are escaped before this). Numbers such as -0.5 and the lone "-"
// netcost writes for "none" are data and stay as they are.
func isFormula(s string) bool {
	if s == "" || s == "-" || !strings.ContainsRune("=+-@", rune(s[0])) {
		return false
	}
	return !number.MatchString(s)
}

// number is a decimal number: an optional sign, digits with an optional
// fraction, an optional exponent.
var number = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// fill hands t's header and rows to tablewriter and renders them.
func fill(tbl *tablewriter.Table, t table) error {
	tbl.Header(toAny(t.header)...)
	for _, r := range t.rows {
		if err := tbl.Append(toAny(r)...); err != nil {
			return fmt.Errorf("building table: %w", err)
		}
	}
	if err := tbl.Render(); err != nil {
		return fmt.Errorf("rendering table: %w", err)
	}
	return nil
}

// toAny converts cells to the []any that tablewriter takes.
func toAny(s []string) []any {
	a := make([]any, len(s))
	for i, v := range s {
		a[i] = v
	}
	return a
}

// writeResult writes a command's result to w in format (one of
// outputFormats or resolveFormats): v as JSON, else the table that
// makeTable lays out, raw (exact numbers, one line a cell) for CSV.
func writeResult(w io.Writer, format string, v any, makeTable func(raw bool) table) error {
	if format == "json" {
		return writeJSON(w, v)
	}
	return renderTable(w, format, makeTable(format == "csv"))
}

// writeJSON writes v as indented JSON, with the characters encoding/json
// leaves raw (bidi and C1 controls) escaped too (safetext.JSON).
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	if _, err := w.Write(safetext.JSON(b.Bytes())); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	return nil
}

// usd formats dollars for people: cents, or four decimals below a cent
// so that small costs do not show as 0.00.
func usd(v float64) string {
	switch {
	case v == 0:
		return "0.00"
	case v < 0.01:
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// orDash returns the first of s that is not empty, else "-" for an empty cell.
func orDash(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return "-"
}

// joinNonEmpty joins the strings of s that are not empty with sep.
func joinNonEmpty(sep string, s ...string) string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, sep)
}

// bytesCell is a byte count in a table: for people (flows.HumanBytes), or
// exact (raw) for CSV.
func bytesCell(b uint64, raw bool) string {
	if raw {
		return strconv.FormatUint(b, 10)
	}
	return flows.HumanBytes(b)
}

// usdCell is dollars in a table: for people (usd), or to a millionth (raw)
// for CSV.
func usdCell(v float64, raw bool) string {
	if raw {
		return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
	}
	return usd(v)
}
