package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal of a given size: netcost writes to slave, as
// to a terminal, and the test reads what it shows from master.
type pty struct {
	master, slave *os.File
	out           chan []byte
}

func openPTY(t *testing.T, cols, rows uint16) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pty: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows}); err != nil {
		t.Fatalf("sizing the pty: %v", err)
	}
	p := &pty{master: m, slave: s, out: make(chan []byte, 1)}
	go func() { // read all along: a full pty blocks the writer
		b, _ := io.ReadAll(m) // ends with EIO once the slave is closed
		p.out <- b
	}()
	t.Cleanup(func() { m.Close(); s.Close() })
	return p
}

// onTerminal runs netcost with stdout (and, with errToo, stderr) on a
// pseudo-terminal of cols x rows and returns its exit status and what the
// terminal showed, with the terminal's \r\n as \n.
func onTerminal(t *testing.T, cols, rows uint16, errToo bool, args ...string) (int, string) {
	t.Helper()
	p := openPTY(t, cols, rows)
	var stderr io.Writer = &bytes.Buffer{}
	if errToo {
		stderr = p.slave
	}
	code := run(context.Background(), append([]string{"netcost"}, args...), p.slave, stderr)
	p.slave.Close()
	out := <-p.out
	return code, strings.ReplaceAll(string(out), "\r\n", "\n")
}

// fits fails the test for each line of out wider than cols.
func fits(t *testing.T, cols int, what, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if w := twwidth.Width(l); w > cols {
			t.Errorf("%s on a %d-column terminal: a line of %d columns:\n%s\n%s", what, cols, w, l, out)
			return
		}
	}
}

// TestTablesFitTerminal runs the commands that print tables on a
// pseudo-terminal of 80x24 and of 120x40: every line fits, and -o wide
// prints every column there, the same as through a pipe.
func TestTablesFitTerminal(t *testing.T) {
	env := resolveEnv(t)
	src := "file:" + store
	commands := []struct {
		args    []string
		dropped string // a header that goes at 80 columns
	}{
		{[]string{"top", "-c", "inter-az", "-s", src}, "RECEIVED"},
		{[]string{"top", "-c", "inter-az", "--group-by", "workload", "-s", src}, "RECEIVED"},
		{[]string{"top", "-c", "nat", "-s", src}, "LOCAL IP"},
		{[]string{"top", "-c", "nat", "--group-by", "namespace", "-s", src}, "LOCAL IP"},
		{[]string{"top", "-c", "s3", "-s", src}, "SENT"},
		{[]string{"prices"}, "tgw_"},
		{[]string{"prices", "--region", "us-east-1"}, ""},
		{append([]string{"resolve", "127.0.0.2", "127.0.0.3", "127.0.0.5"}, env...), "CERTIFICATE"},
	}
	for _, size := range []struct{ cols, rows uint16 }{{80, 24}, {120, 40}} {
		for _, c := range commands {
			what := "netcost " + strings.Join(c.args[:min(len(c.args), 4)], " ")
			code, got := onTerminal(t, size.cols, size.rows, false, c.args...)
			if code != 0 {
				t.Fatalf("%s: exit %d", what, code)
			}
			fits(t, int(size.cols), what, got)
			piped := mustRun(t, c.args...)
			_, wide := onTerminal(t, size.cols, size.rows, false, append(c.args, "-o", "wide")...)
			if wide != piped {
				t.Errorf("%s -o wide on a terminal differs from its output through a pipe:\n%s\nthrough a pipe:\n%s",
					what, wide, piped)
			}
			if size.cols == 80 && c.dropped != "" && (strings.Contains(got, c.dropped) || !strings.Contains(wide, c.dropped)) {
				t.Errorf("%s on 80 columns: want %s left out, and back with -o wide:\n%s", what, c.dropped, got)
			}
		}
	}
}

// TestRecommendFitsTerminal: recommend's blocks wrap their prose at a
// terminal's width and keep each command whole on its line, to copy.
func TestRecommendFitsTerminal(t *testing.T) {
	args := []string{"recommend", "-s", "file:" + store}
	piped := mustRun(t, args...)
	for _, cols := range []uint16{80, 120} {
		code, got := onTerminal(t, cols, 24, false, args...)
		if code != 0 {
			t.Fatalf("recommend: exit %d", code)
		}
		var commands []string
		for _, l := range strings.Split(got, "\n") {
			if strings.HasPrefix(l, "   $ ") {
				commands = append(commands, l)
			} else if w := twwidth.Width(l); w > int(cols) {
				t.Errorf("recommend on %d columns: a line of %d columns:\n%s", cols, w, l)
			}
		}
		for _, l := range strings.Split(piped, "\n") {
			if strings.HasPrefix(l, "   $ ") && !slices.Contains(commands, l) {
				t.Errorf("recommend on %d columns: the command %q is not whole on its line:\n%s", cols, l, got)
			}
		}
		if _, wide := onTerminal(t, cols, 24, false, append(args, "-o", "wide")...); wide != piped {
			t.Errorf("recommend -o wide on a terminal differs from its output through a pipe:\n%s", wide)
		}
	}
}

// TestHelpFitsTerminal: help wraps at a terminal's width, on stdout for
// --help and on stderr for bare netcost, and keeps its lines elsewhere.
func TestHelpFitsTerminal(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"top", "--help"}, {"resolve", "--help"}, {"report", "--help"},
		{"completion", "--help"}, {}} {
		code, got := onTerminal(t, 80, 24, true, args...)
		what := "netcost " + strings.Join(args, " ")
		if want := map[bool]int{true: 2, false: 0}[len(args) == 0]; code != want || !strings.Contains(got, "USAGE:") {
			t.Errorf("%s: exit %d; want %d and the help:\n%s", what, code, want, got)
		}
		fits(t, 80, what, got)
	}
	// Through a pipe the lines stay whole: a flag's usage on its line.
	out := mustRun(t, "top", "--help")
	exact := regexp.MustCompile(`(?m)^ +--exact +cloudwatch: .* for small windows and emulators \(default: false\)$`)
	if !exact.MatchString(out) {
		t.Errorf("netcost top --help through a pipe lost its long lines:\n%s", out)
	}
}
