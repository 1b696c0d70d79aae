package main

import (
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves the flags that follow a command's arguments before
// them, so that `netcost resolve 1.2.3.4 -o json` reads as `netcost
// resolve -o json 1.2.3.4`, as kubectl reads it: urfave/cli v2 (Go's flag
// package) stops reading flags at the first argument. A flag keeps the
// value that follows it when it takes one (--limit -3 too); "--" still ends
// the flags, and a lone "-" is an argument. A global flag (--log-level)
// given after the command moves before it; with --help, the arguments
// go. Everything else, unknown flags
// included, is left for urfave/cli to judge.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	global := []string{args[0]}
	i := 1
	for ; i < len(args) && isFlag(args[i]); i++ {
		global = append(global, args[i])
		if takesValue(app.Flags, args[i]) && i+1 < len(args) {
			i++
			global = append(global, args[i])
		}
	}
	if i == len(args) || args[i] == "--" {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	var flags, positional []string
	dashes := false
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			positional = append(positional, rest[j+1:]...)
			dashes = true
			j = len(rest)
		case !isFlag(a):
			positional = append(positional, a)
		case lookupFlag(cmd.Flags, a) == nil && lookupFlag(app.Flags, a) != nil:
			global = append(global, a)
			if takesValue(app.Flags, a) && j+1 < len(rest) {
				j++
				global = append(global, rest[j])
			}
		default:
			flags = append(flags, a)
			if takesValue(cmd.Flags, a) && j+1 < len(rest) {
				j++
				flags = append(flags, rest[j])
			}
		}
	}
	// With --help the arguments do not matter, and urfave/cli would take
	// the first for a help topic.
	if slices.ContainsFunc(flags, func(a string) bool { return slices.Contains(cli.HelpFlag.Names(), flagName(a)) }) {
		positional, dashes = nil, false
	}
	out := append(append(global, args[i]), flags...)
	if dashes {
		out = append(out, "--")
	}
	return append(out, positional...)
}

// isFlag: argument a is a flag (-x, --x, --x=v); "-" (stdin) and "--" (the end of flags) are not.
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// flagName is the name in a flag argument: "limit" in --limit=5 or -limit.
func flagName(a string) string {
	name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	if k := strings.IndexByte(name, '='); k >= 0 {
		name = name[:k]
	}
	return name
}

// lookupFlag returns the flag among flags that argument a names, or nil.
func lookupFlag(flags []cli.Flag, a string) cli.Flag {
	name := flagName(a)
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// takesValue: the flag argument a is a known flag that takes its value
// from the next argument (not --flag=value, not a bool flag).
func takesValue(flags []cli.Flag, a string) bool {
	if strings.Contains(a, "=") {
		return false
	}
	f, ok := lookupFlag(flags, a).(cli.DocGenerationFlag)
	return ok && f.TakesValue()
}

// dashed writes a flag name as users type it: -o, --limit.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// goFlagError matches the errors of Go's flag package, which name every
// flag with one dash (-limit).
var goFlagError = regexp.MustCompile(`^(flag provided but not defined: |flag needs an argument: |` +
	`invalid value (".*") for flag |invalid boolean value (".*") for )-([^\s:=]+)(.*)$`)

// flagError rewrites an error of Go's flag package to name the flag as
// users type it, and says what a bad value should look like.
func flagError(flags []cli.Flag, msg string) string {
	m := goFlagError.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	name := dashed(m[4])
	value := m[2] + m[3]
	if value == "" {
		return m[1] + name + m[5]
	}
	want := ""
	switch lookupFlag(flags, name).(type) {
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		want = "a whole number"
	case *cli.Float64Flag:
		want = "a number"
	case *cli.DurationFlag:
		want = "a duration such as 90s, 5m or 1h30m"
	case *cli.BoolFlag:
		want = "true or false"
	default:
		return m[1] + name + m[5]
	}
	return name + " " + value + ": want " + want
}
