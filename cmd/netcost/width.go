package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/clipperhouse/uax29/v2/graphemes"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/netcost/netcost/internal/safetext"
)

// terminalWidth is the width of the terminal w writes to, or 0 when w is
// not a terminal (a pipe, a file, a buffer): text tables fit a terminal,
// and keep every column anywhere else.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
		return cols
	}
	return 80 // a terminal that does not say its size
}

// narrowing says how a table narrows to fit a terminal: first its
// headers wrap (COST USD on two lines), then the columns of first go, a
// group at a time, then the columns of abbrev are abbreviated, then the
// columns of last go, a group at a time, each step only while the table
// is still too wide. Columns are named by their header; -o wide keeps
// them all.
type narrowing struct {
	first  [][]string
	abbrev map[string]abbrev
	last   [][]string
}

// abbrev is how a column's cells are abbreviated.
type abbrev struct {
	min    int  // the column keeps at least this width
	middle bool // keep both ends of names (shop/prod…7f9d84-kq7lz); else the start of text
}

// ellipsis marks where an abbreviated cell lost text.
const ellipsis = "…"

// textWidth is the width of s on a terminal once escaped (safeCell), as
// tablewriter measures it.
func textWidth(s string) int { return twwidth.Width(safetext.Escape(s)) }

// tableWidth is the width of a text table with columns of these widths:
// "│ " before each, " │" after the last, " │ " between.
func tableWidth(widths []int) int {
	w := 1
	for _, c := range widths {
		w += c + 3
	}
	return w
}

// fit narrows t to width columns (its narrowing) and wraps its notes.
// Cells are cut before they are escaped, at whole characters (grapheme
// clusters), measured as escaped: an escape such as \x1b is never split.
// heads are the header's lines, nil when every header keeps one line.
func (t table) fit(width int) (out table, heads [][]string) {
	n := len(t.header)
	body, words := make([]int, n), make([]int, n) // the widest cell and header word of each column
	for _, r := range t.rows {
		for i, c := range r {
			body[i] = max(body[i], textWidth(c))
		}
	}
	oneLine, natural := make([]int, n), make([]int, n) // widths with headers on one line, wrapped
	for i, h := range t.header {
		for _, w := range headerWords(h) {
			words[i] = max(words[i], textWidth(strings.TrimRight(w, " ")))
		}
		oneLine[i] = max(body[i], textWidth(h))
		natural[i] = max(body[i], words[i])
	}
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	total := func(w []int) int {
		var kept []int
		for i, k := range keep {
			if k {
				kept = append(kept, w[i])
			}
		}
		return tableWidth(kept)
	}
	t.notes = wrapNotes(t.notes, width)
	if total(oneLine) <= width {
		return t, nil
	}
	smallest := slices.Clone(natural)
	var nar narrowing
	if t.narrow != nil {
		nar = *t.narrow
	}
	for i, h := range t.header {
		if a, ok := nar.abbrev[h]; ok {
			smallest[i] = min(natural[i], max(a.min, words[i]))
		}
	}
	drop := func(group []string) {
		for i, h := range t.header {
			if slices.Contains(group, h) {
				keep[i] = false
			}
		}
	}
	for _, g := range nar.first {
		if total(natural) <= width {
			break
		}
		drop(g)
	}
	for _, g := range nar.last {
		if total(smallest) <= width {
			break
		}
		drop(g)
	}
	// Abbreviate: narrow the widest abbreviated column, a column at a time.
	widths := slices.Clone(natural)
	for excess := total(widths) - width; excess > 0; excess-- {
		c := -1
		for i := range widths {
			if keep[i] && widths[i] > smallest[i] && (c < 0 || widths[i] > widths[c]) {
				c = i
			}
		}
		if c < 0 {
			break // as narrow as it goes: the terminal wraps the rest
		}
		widths[c]--
	}
	// Spare width goes to the columns whose headers wrapped, the cheapest
	// line saved first.
	for spare := width - total(widths); spare > 0; {
		best, need := -1, 0
		for i, h := range t.header {
			if !keep[i] {
				continue
			}
			lines := len(wrapWords(headerWords(h), widths[i]))
			for w := widths[i] + 1; w <= widths[i]+spare && lines > 1; w++ {
				if len(wrapWords(headerWords(h), w)) < lines {
					if best < 0 || w-widths[i] < need {
						best, need = i, w-widths[i]
					}
					break
				}
			}
		}
		if best < 0 {
			break
		}
		widths[best] += need
		spare -= need
	}
	out = table{notes: t.notes}
	for i, h := range t.header {
		if keep[i] {
			out.header = append(out.header, h)
			heads = append(heads, wrapWords(headerWords(h), widths[i]))
		}
	}
	for _, r := range t.rows {
		var row []string
		for i, c := range r {
			if keep[i] {
				row = append(row, abbreviate(c, widths[i], nar.abbrev[t.header[i]].middle))
			}
		}
		out.rows = append(out.rows, row)
	}
	return out, heads
}

// headerWords splits a header where it may wrap: after a space or an
// underscore (inter_az_per_gb), each word keeping what follows it.
func headerWords(h string) []string {
	var words []string
	start := 0
	for i := 0; i < len(h); i++ {
		if h[i] == ' ' || h[i] == '_' {
			words = append(words, h[start:i+1])
			start = i + 1
		}
	}
	return append(words, h[start:])
}

// wrapWords packs words into lines of at most width, breaking only
// between words; the spaces at the line ends go.
func wrapWords(words []string, width int) []string {
	var lines []string
	line := ""
	for _, w := range words {
		if line != "" && textWidth(strings.TrimRight(line+w, " ")) > width {
			lines = append(lines, strings.TrimRight(line, " "))
			line = ""
		}
		line += w
	}
	return append(lines, strings.TrimRight(line, " "))
}

// clusters splits s into the characters a terminal shows (grapheme
// clusters), with the width of each once escaped.
func clusters(s string) (parts []string, widths []int) {
	g := graphemes.FromString(s)
	for g.Next() {
		parts = append(parts, g.Value())
		widths = append(widths, textWidth(g.Value()))
	}
	return parts, widths
}

// abbreviate cuts s to width with an ellipsis: in the middle for names,
// at the end for text. It cuts between characters only.
func abbreviate(s string, width int, middle bool) string {
	if textWidth(s) <= width {
		return s
	}
	room := width - textWidth(ellipsis)
	if room <= 0 {
		return ellipsis
	}
	parts, widths := clusters(s)
	headRoom := room
	if middle { // the start says more (namespace, workload) than the end (replica)
		headRoom = room - room*2/5
	}
	var head, tail strings.Builder
	i, used := 0, 0
	for ; i < len(parts) && used+widths[i] <= headRoom; i++ {
		head.WriteString(parts[i])
		used += widths[i]
	}
	if middle {
		var back []string
		for j := len(parts) - 1; j >= i && used+widths[j] <= room; j-- {
			back = append(back, parts[j])
			used += widths[j]
		}
		for k := len(back) - 1; k >= 0; k-- {
			tail.WriteString(back[k])
		}
	}
	return head.String() + ellipsis + tail.String()
}

// wrapNotes wraps the lines under a table at width, the lines after the
// first of a note indented by two spaces.
func wrapNotes(notes []string, width int) []string {
	var out []string
	for _, n := range notes {
		out = append(out, wrapText(n, width, "", "  ")...)
	}
	return out
}

// wrapText wraps s at spaces into lines of at most width, the first
// starting with first and the others with indent. A word longer than a
// line is cut between characters.
func wrapText(s string, width int, first, indent string) []string {
	if textWidth(first+s) <= width {
		return []string{first + s}
	}
	var lines []string
	line, lineW := first, textWidth(first)
	empty := true // line holds no word yet
	for _, word := range strings.Fields(s) {
		w := textWidth(word)
		if !empty && lineW+1+w > width {
			lines = append(lines, line)
			line, lineW, empty = indent, textWidth(indent), true
		}
		if !empty {
			line += " "
			lineW++
		}
		if lineW+w > width { // longer than a line: cut it
			parts, widths := clusters(word)
			for i, p := range parts {
				if lineW+widths[i] > width && !empty {
					lines = append(lines, line)
					line, lineW = indent, textWidth(indent)
				}
				line += p
				lineW += widths[i]
				empty = false
			}
			continue
		}
		line += word
		lineW += w
		empty = false
	}
	return append(lines, line)
}

// init makes every help text fit the terminal it goes to (fitHelp).
func init() { cli.HelpPrinter = fitHelp(cli.HelpPrinter) }

// fitHelp wraps print, urfave/cli's help printer, so that help on a
// terminal fits its width. Help elsewhere keeps its long lines.
func fitHelp(print func(io.Writer, string, any)) func(io.Writer, string, any) {
	return func(w io.Writer, templ string, data any) {
		width := terminalWidth(w)
		if width == 0 {
			print(w, templ, data)
			return
		}
		var b strings.Builder
		print(&b, templ, data)
		io.WriteString(w, wrapHelp(b.String(), width))
	}
}

// helpColumn finds, in a help line such as "   --limit value, -n value  rows
// to show", the start of its text column: after the first run of two or
// more spaces past the indentation.
var helpColumn = regexp.MustCompile(`^ *\S+(?: \S+)*  +`)

// wrapHelp wraps help text at width. A line with a text column (a flag's
// or a command's usage) wraps under the start of that column, or under
// its own indentation when the column is far right. Lines of prose that
// share their indentation (a description, broken by hand at about 100
// columns) are one paragraph, reflowed when one of them is too wide.
func wrapHelp(help string, width int) string {
	lines := strings.Split(help, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if m := helpColumn.FindString(line); m != "" {
			if textWidth(line) <= width {
				out = append(out, line)
			} else if textWidth(m) <= width/2 {
				out = append(out, wrapText(line[len(m):], width, m, strings.Repeat(" ", textWidth(m)))...)
			} else {
				out = append(out, wrapText(line[indent:], width, line[:indent], strings.Repeat(" ", indent+4))...)
			}
			continue
		}
		// A paragraph: this line and the next ones of prose at its indentation.
		end, wide := i+1, textWidth(line) > width
		for ; end < len(lines); end++ {
			next := lines[end]
			if strings.TrimSpace(next) == "" || len(next)-len(strings.TrimLeft(next, " ")) != indent ||
				helpColumn.MatchString(next) {
				break
			}
			wide = wide || textWidth(next) > width
		}
		if !wide {
			out = append(out, lines[i:end]...)
		} else {
			pad := line[:indent]
			out = append(out, wrapText(strings.Join(lines[i:end], " "), width, pad, pad)...)
		}
		i = end - 1
	}
	return strings.Join(out, "\n")
}
