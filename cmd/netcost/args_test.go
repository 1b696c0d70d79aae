package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, tt := range []struct{ in, want string }{
		{"resolve 1.2.3.4 -o json", "resolve -o json 1.2.3.4"},
		{"resolve 1.2.3.4 --output=json 5.6.7.8", "resolve --output=json 1.2.3.4 5.6.7.8"},
		{"resolve 1.2.3.4 --no-cache 5.6.7.8", "resolve --no-cache 1.2.3.4 5.6.7.8"}, // a bool flag takes no value
		{"resolve 1.2.3.4 -- -o json", "resolve -- 1.2.3.4 -o json"},
		{"resolve -o json -- -1", "resolve -o json -- -1"},
		{"resolve 1.2.3.4 - -o json", "resolve -o json 1.2.3.4 -"},
		{"top extra -c nat --limit -3", "top -c nat --limit -3 extra"},
		{"top -c nat --strict=false extra", "top -c nat --strict=false extra"},
		{"top extra --unknown x", "top --unknown extra x"}, // unknown: no value, urfave/cli says it is unknown
		{"--log-level debug prices us-east-1 -o csv", "--log-level debug prices -o csv us-east-1"},
		{"prices -o csv --log-level debug", "--log-level debug prices -o csv"},
		{"resolve 1.2.3.4 --help", "resolve --help"},
		{"resolve -h 1.2.3.4", "resolve -h"},
		{"completion bash -h", "completion -h"},
		{"topp 1 -o json", "topp 1 -o json"},
		{"--log-level", "--log-level"},
		{"-- top", "-- top"},
		{"", ""},
	} {
		args := append([]string{"netcost"}, strings.Fields(tt.in)...)
		want := append([]string{"netcost"}, strings.Fields(tt.want)...)
		if got := reorderArgs(app, args); !slices.Equal(got, want) {
			t.Errorf("reorderArgs(%q) = %q; want %q", tt.in, got[1:], want[1:])
		}
	}
}

// TestFlagsAfterArguments: flags after a command's arguments are read, in
// every shape, as kubectl reads them.
func TestFlagsAfterArguments(t *testing.T) {
	env := resolveEnv(t)
	for _, args := range [][]string{
		{"resolve", "127.0.0.2", "-o", "json"},
		{"resolve", "127.0.0.2", "--output=json"},
		{"resolve", "127.0.0.2", "--output", "json", "127.0.0.6"},
	} {
		out := mustRun(t, append(args, env...)...)
		if !strings.HasPrefix(out, "{") || !strings.Contains(out, `"ip": "127.0.0.2"`) {
			t.Errorf("netcost %s: want JSON:\n%s", strings.Join(args, " "), out)
		}
	}
	// A flag after a command that takes no argument: read as before one.
	front := mustRun(t, "top", "-o", "json", "-c", "nat", "-s", "file:"+store)
	if back := mustRun(t, "top", "-c", "nat", "-s", "file:"+store, "-o", "json", "--log-level", "error"); back != front {
		t.Errorf("top with -o json last printed another answer:\n%s", back)
	}
	// After "--", an argument that starts with "-" is an argument.
	wantUsageError(t, append(append([]string{"resolve"}, env...), "--", "-o"), `"-o" is not an IP address`)
}

// TestFlagErrors: errors from parsing the command line name each flag as
// it is typed, and say what its value should look like.
func TestFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"top", "--categroy", "nat"}, "flag provided but not defined: --categroy (see --help)"},
		{[]string{"--log-levl", "debug", "prices"}, "flag provided but not defined: --log-levl (see --help)"},
		{[]string{"top", "-c", "nat", "--limit"}, "flag needs an argument: --limit (see --help)"},
		{[]string{"top", "-c", "nat", "--limit", "ten"}, `--limit "ten": want a whole number (see --help)`},
		{[]string{"top", "-c", "nat", "-n", "ten"}, `-n "ten": want a whole number (see --help)`},
		{[]string{"top", "-c", "nat", "--strict=maybe"}, `--strict "maybe": want true or false (see --help)`},
		{[]string{"recommend", "--min-savings", "lots"}, `--min-savings "lots": want a number (see --help)`},
		{[]string{"resolve", "--resolve-timeout", "5", "127.0.0.1"},
			`--resolve-timeout "5": want a duration such as 90s, 5m or 1h30m`},
		{[]string{"prices", "-o"}, "flag needs an argument: -o (see --help)"},
	} {
		wantUsageError(t, tt.args, tt.want)
	}
}
