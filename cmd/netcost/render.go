package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// table is rendered output before it is formatted: the same cells become
// a text table, Markdown or CSV.
type table struct {
	header []string
	rows   [][]string
	notes  []string // lines printed under a text or Markdown table, not in CSV
}

func renderTable(w io.Writer, format string, t table) error {
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

func toAny(s []string) []any {
	a := make([]any, len(s))
	for i, v := range s {
		a[i] = v
	}
	return a
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	return nil
}

func usd(v float64) string {
	switch {
	case v == 0:
		return "0.00"
	case v < 0.01:
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func orDash(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return "-"
}

func joinNonEmpty(sep string, s ...string) string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, sep)
}
