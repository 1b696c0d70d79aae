package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
)

// shell returns the path of a shell the completion tests run, skipping
// without it, or failing in CI (NETCOST_REQUIRE_ROOT=1, after .ci/deps).
func shell(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
			t.Fatalf("%s is missing (apt-get install %s, or bash .ci/deps), and NETCOST_REQUIRE_ROOT=1 forbids "+
				"skipping", name, name)
		}
		t.Skipf("%s is missing (apt-get install %s): its completion script is not run", name, name)
	}
	return path
}

// completionScript writes netcost completion SHELL to a file.
func completionScript(t *testing.T, sh string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netcost."+sh)
	if err := os.WriteFile(path, []byte(mustRun(t, "completion", sh)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var categoryNames = []string{"intra-az", "inter-az", "inter-vpc", "inter-region", "s3", "dynamodb", "nat", "internet",
	"unclassified"}

// TestCompletionBash sources the script in bash and asks its completion
// function, as bash does on Tab: COMP_WORDS as bash splits the line (at =
// and : too), COMP_CWORD the word under the cursor.
func TestCompletionBash(t *testing.T) {
	bash := shell(t, "bash")
	script := completionScript(t, "bash")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "flows.jsonl"), nil, 0o644)
	os.Mkdir(filepath.Join(dir, "store"), 0o755)
	for _, tt := range []struct {
		words []string // the last is the word under the cursor
		want  []string
	}{
		{[]string{""}, []string{"top", "resolve", "recommend", "report", "reconcile", "prices", "completion"}},
		{[]string{"re"}, []string{"resolve", "recommend", "report", "reconcile"}},
		{[]string{"--"}, []string{"--log-level", "--help", "--version"}},
		{[]string{"--log-level", ""}, []string{"debug", "info", "warn", "error"}},
		{[]string{"--log-level", "debug", "pr"}, []string{"prices"}},
		{[]string{"--log-level", "=", "debug", "pr"}, []string{"prices"}},
		{[]string{"top", "--category", ""}, categoryNames},
		{[]string{"top", "-c", "inter-"}, []string{"inter-az", "inter-vpc", "inter-region"}},
		{[]string{"top", "--category", "=", "n"}, []string{"nat"}},
		{[]string{"top", "--category", "="}, categoryNames},
		{[]string{"top", "--group-by", ""}, []string{"pod", "workload", "namespace"}},
		{[]string{"top", "-o", ""}, []string{"table", "wide", "json", "csv", "markdown"}},
		{[]string{"recommend", "--output", "=", "m"}, []string{"markdown"}},
		{[]string{"resolve", "1.2.3.4", "-o", ""}, []string{"table", "wide", "json"}},
		{[]string{"prices", "--region", "us-east-"}, []string{"us-east-1", "us-east-2"}},
		{[]string{"prices", "-r", "eu-west-"}, []string{"eu-west-1", "eu-west-2", "eu-west-3"}},
		{[]string{"top", "--source", "c"}, []string{"cloudwatch"}},
		{[]string{"top", "-s", "fi"}, []string{"file:"}},
		{[]string{"top", "--source", "file", ":", "fl"}, []string{"flows.jsonl"}},
		{[]string{"top", "--source", "=", "file", ":", "st"}, []string{"store"}},
		{[]string{"top", "--prices", "fl"}, []string{"flows.jsonl"}},
		{[]string{"top", "--limit", ""}, nil},
		{[]string{"top", "--gr"}, []string{"--group-by"}},
		{[]string{"top", "-c", "nat", "--st"}, []string{"--strict", "--start"}},
		{[]string{"top", "--resolve", "--no"}, []string{"--no-cache"}},
		{[]string{"prices", ""}, []string{"--region", "-r", "--output", "-o", "--prices", "--help", "-h"}},
		{[]string{"resolve", ""}, nil},
		{[]string{"resolve", "--no"}, []string{"--no-cache"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"completion", "z"}, []string{"zsh"}},
	} {
		words := append([]string{"netcost"}, tt.words...)
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c",
			`source "$1" && COMP_WORDS=(`+strings.Join(quoted, " ")+`) && `+
				`COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _netcost; printf '%s\n' "${COMPREPLY[@]}"`, "bash", script)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		got := strings.Fields(string(out))
		if !slices.Equal(sorted(got), sorted(tt.want)) {
			t.Errorf("netcost %s<Tab> offers %q; want %q", strings.Join(tt.words, " "), got, tt.want)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestCompletionValues: every value the scripts offer is one netcost takes.
func TestCompletionValues(t *testing.T) {
	spec := completionSpec(newApp(nil, nil))
	n := 0
	for _, c := range append([]compCommand{spec.Global}, spec.Commands...) {
		for _, f := range c.Flags {
			for _, v := range f.Values {
				n++
				var err error
				switch name := strings.TrimLeft(f.Names[0], "-"); name {
				case "category":
					_, err = flows.ParseCategory(v)
				case "group-by":
					_, err = costmodel.ParseGroupBy(v)
				case "output":
					if c.Name == "resolve" {
						if !slices.Contains([]string{"table", "wide", "json"}, v) {
							err = os.ErrInvalid
						}
					} else {
						_, err = parseOutput(v)
					}
				case "region":
					_, err = costmodel.DefaultTable().Lookup(v)
				case "log-level":
					var l slog.Level
					err = l.UnmarshalText([]byte(v))
				case "source":
					if !slices.Contains([]string{"file:", "cloudwatch", "nfm"}, v) {
						err = os.ErrInvalid
					}
				default:
					t.Errorf("netcost %s %s offers values that no test checks: %q", c.Name, f.Names[0], f.Values)
				}
				if err != nil {
					t.Errorf("netcost %s %s offers %q, which netcost rejects: %v", c.Name, f.Names[0], v, err)
				}
			}
		}
	}
	if n < len(categoryNames) {
		t.Errorf("the scripts offer %d values in all; want at least the categories", n)
	}
}

// TestCompletionUsage: the shell is one of three.
func TestCompletionUsage(t *testing.T) {
	wantUsageError(t, []string{"completion"}, "completion needs one shell: bash, zsh or fish")
	wantUsageError(t, []string{"completion", "tcsh"}, `unknown shell "tcsh": want bash, zsh or fish`)
	wantUsageError(t, []string{"completion", "bash", "zsh"}, "completion needs one shell")
}

type shellCase struct {
	line string
	want []string
}

// shellCases are lines typed before Tab, and what completing them offers,
// for the shells whose completion runs from a whole line.
var shellCases = []shellCase{
	{"netcost ", []string{"top", "resolve", "recommend", "report", "reconcile", "prices", "completion"}},
	{"netcost re", []string{"resolve", "recommend", "report", "reconcile"}},
	{"netcost --log-level ", []string{"debug", "info", "warn", "error"}},
	{"netcost top --category ", categoryNames},
	{"netcost top -c inter-", []string{"inter-az", "inter-vpc", "inter-region"}},
	{"netcost top --group-by ", []string{"pod", "workload", "namespace"}},
	{"netcost top --output=", []string{"table", "wide", "json", "csv", "markdown"}},
	{"netcost recommend -o m", []string{"markdown"}},
	{"netcost resolve 1.2.3.4 -o ", []string{"table", "wide", "json"}},
	{"netcost prices --region us-east-", []string{"us-east-1", "us-east-2"}},
	{"netcost top --source c", []string{"cloudwatch"}},
	{"netcost top -s fi", []string{"file:"}},
	{"netcost top --gr", []string{"--group-by"}},
	{"netcost top -c nat --no", []string{"--no-cache"}},
	{"netcost completion ", []string{"bash", "zsh", "fish"}},
}

// TestCompletionZsh loads the script in an interactive zsh (on a
// pseudo-terminal, through zsh/zpty), types each line and presses Tab.
func TestCompletionZsh(t *testing.T) {
	zsh := shell(t, "zsh")
	script := completionScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	zshComplete(t, zsh, script, shellCases)
	// Saved as _netcost in a directory of $fpath, compinit loads it.
	fpath := t.TempDir()
	os.Rename(script, filepath.Join(fpath, "_netcost"))
	zshComplete(t, zsh, fpath, shellCases[:4])
}

// zshComplete runs testdata/complete.zsh over cases.
func zshComplete(t *testing.T, zsh, script string, cases []shellCase) {
	t.Helper()
	args := []string{"-f", "testdata/complete.zsh", script}
	for _, c := range cases {
		args = append(args, c.line)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, zsh, args...).Output()
	if err != nil {
		t.Fatalf("zsh complete.zsh: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("complete.zsh printed %d lines for %d cases:\n%s", len(lines), len(cases), out)
	}
	match := regexp.MustCompile(`<([^<>\x00-\x1f]*)>`)
	for i, c := range cases {
		var got []string
		for _, m := range match.FindAllStringSubmatch(lines[i], -1) {
			if m[1] != "TAB42" && !slices.Contains(got, m[1]) { // <TAB42>: the Tab is done
				got = append(got, m[1])
			}
		}
		if !slices.Equal(sorted(got), sorted(c.want)) {
			t.Errorf("zsh (%s): %q<Tab> offers %q; want %q", filepath.Base(script), c.line, got, c.want)
		}
	}
}

// TestCompletionFish loads the script in fish and asks what completing
// each line offers (complete -C, what fish runs on Tab).
func TestCompletionFish(t *testing.T) {
	fish := shell(t, "fish")
	script := completionScript(t, "fish")
	if out, err := exec.Command(fish, "--no-execute", script).CombinedOutput(); err != nil {
		t.Fatalf("fish --no-execute: %v\n%s", err, out)
	}
	for _, c := range shellCases {
		out, err := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C"$argv[2]"`, script, c.line).Output()
		if err != nil {
			t.Fatalf("fish: %v\n%s", err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			// A candidate, a tab, its description; --output=json for --output=.
			cand, _, _ := strings.Cut(l, "\t")
			if _, v, ok := strings.Cut(cand, "="); ok && strings.HasSuffix(c.line, "=") {
				cand = v
			}
			if cand != "" {
				got = append(got, cand)
			}
		}
		if !slices.Equal(sorted(got), sorted(c.want)) {
			t.Errorf("fish: %q<Tab> offers %q; want %q", c.line, got, c.want)
		}
	}
}
