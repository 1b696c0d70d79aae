package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/usage"
)

// shells are the shells netcost completion writes a script for.
var shells = []string{"bash", "zsh", "fish"}

const completionName = "completion"

var completionCommand = &cli.Command{
	Name:      completionName,
	Usage:     "print a shell completion script: bash, zsh or fish",
	UsageText: "netcost completion bash|zsh|fish",
	ArgsUsage: "bash|zsh|fish",
	Description: "The script completes commands, flags, and the values of --category, -o, --group-by,\n" +
		"--region, --log-level and --source. Load it in the running shell:\n" +
		"  bash: source <(netcost completion bash)\n" +
		"  zsh:  source <(netcost completion zsh)    (after compinit)\n" +
		"  fish: netcost completion fish | source\n" +
		"or, for every new shell, save it as ~/.local/share/bash-completion/completions/netcost (bash),\n" +
		"as _netcost in a directory of $fpath (zsh), or as ~/.config/fish/completions/netcost.fish (fish).",
	Action: func(cCtx *cli.Context) error {
		if cCtx.NArg() != 1 {
			return usage.Errorf("completion needs one shell: bash, zsh or fish, as in netcost completion bash")
		}
		shell := cCtx.Args().First()
		if !slices.Contains(shells, shell) {
			return usage.Errorf("unknown shell %q: want bash, zsh or fish", shell)
		}
		return runCompletion(cCtx.Context, cCtx.App.Writer, completionSpec(cCtx.App), shell)
	},
}

// compFlag is a flag as the completion scripts see it.
type compFlag struct {
	Names  []string // as typed: --category, -c
	Usage  string   // its first clause, for the shells that show one
	Value  bool     // takes a value
	Values []string // the values to offer, if it takes one of a few
	Files  bool     // its value is a file name
}

// compCommand is a command, or the app itself (Name "").
type compCommand struct {
	Name, Usage string
	Flags       []compFlag
	Args        []string // the values of its arguments, if they are one of a few
	TakesArgs   bool     // it takes arguments (so a bare word is not offered a flag)
}

// compData is what the scripts' templates see.
type compData struct {
	Global   compCommand   // the app's own flags
	Commands []compCommand // its commands
	Cases    []valueCase   // bash: what follows each command's flags that take a value
}

// valueCase is what to offer after the (command, flag) pairs of Patterns,
// as "top --category": values, file names, or nothing.
type valueCase struct {
	Patterns []string
	Values   []string
	Files    bool
}

// completionSpec describes the app's commands and flags for the scripts.
func completionSpec(app *cli.App) compData {
	d := compData{Global: compCommand{Flags: compFlags("", withFlags(app.Flags, cli.HelpFlag, cli.VersionFlag))}}
	for _, c := range app.Commands {
		if c.Hidden {
			continue
		}
		cc := compCommand{Name: c.Name, Usage: c.Usage, Flags: compFlags(c.Name, withFlags(c.Flags, cli.HelpFlag)),
			TakesArgs: c.ArgsUsage != ""}
		if c.Name == completionName {
			cc.Args = shells
		}
		d.Commands = append(d.Commands, cc)
	}
	// One case per distinct answer keeps the bash script short.
	index := map[string]int{}
	for _, c := range append([]compCommand{d.Global}, d.Commands...) {
		for _, f := range c.Flags {
			if !f.Value {
				continue
			}
			key := fmt.Sprint(f.Files, f.Values)
			i, ok := index[key]
			if !ok {
				i = len(d.Cases)
				index[key] = i
				d.Cases = append(d.Cases, valueCase{Values: f.Values, Files: f.Files})
			}
			for _, n := range f.Names {
				d.Cases[i].Patterns = append(d.Cases[i].Patterns, c.Name+" "+n)
			}
		}
	}
	return d
}

// withFlags adds to flags those of more it lacks (urfave/cli adds --help
// and --version when the app runs).
func withFlags(flags []cli.Flag, more ...cli.Flag) []cli.Flag {
	out := slices.Clip(flags)
	for _, m := range more {
		if !slices.ContainsFunc(out, func(f cli.Flag) bool { return f.Names()[0] == m.Names()[0] }) {
			out = append(out, m)
		}
	}
	return out
}

// compFlags describes command cmd's visible flags for the scripts: their
// names, first usage clause, and the values or files they take.
func compFlags(cmd string, flags []cli.Flag) []compFlag {
	var out []compFlag
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		cf := compFlag{}
		for _, n := range f.Names() {
			cf.Names = append(cf.Names, dashed(n))
		}
		if df, ok := f.(cli.DocGenerationFlag); ok {
			cf.Value = df.TakesValue()
			cf.Usage = firstClause(df.GetUsage())
		}
		if sf, ok := f.(*cli.StringFlag); ok {
			cf.Files = sf.TakesFile
		}
		if cf.Value {
			cf.Values = flagValues(cmd, f.Names()[0])
		}
		out = append(out, cf)
	}
	return out
}

// flagValues are the values the completion scripts offer after a flag of
// command cmd that takes one of a few; TestCompletionValues checks that
// each is accepted.
func flagValues(cmd, name string) []string {
	switch name {
	case "category":
		var names []string
		for _, c := range flows.Categories {
			names = append(names, c.CLIName())
		}
		return names
	case "group-by":
		return []string{costmodel.ByPod.String(), costmodel.ByWorkload.String(), costmodel.ByNamespace.String()}
	case "output":
		if cmd == resolveCommand.Name {
			return resolveFormats
		}
		return outputFormats
	case "region":
		return costmodel.DefaultTable().RegionNames()
	case "log-level":
		return logLevels
	case "source":
		return []string{"file:", "cloudwatch", "nfm"}
	}
	return nil
}

// firstClause shortens a flag's usage to what a completion menu shows.
func firstClause(s string) string {
	for _, sep := range []string{"; ", " ("} {
		if i := strings.Index(s, sep); i > 0 {
			s = s[:i]
		}
	}
	return s
}

// runCompletion writes to w the completion script of shell (one of
// shells) for the app that spec describes.
func runCompletion(_ context.Context, w io.Writer, spec compData, shell string) error {
	tmpl := template.Must(template.New(shell).Funcs(template.FuncMap{
		"join": strings.Join,
		"zsh":  zshQuote,
		"fish": fishQuote,
	}).Parse(completionScripts[shell]))
	if err := tmpl.Execute(w, spec); err != nil {
		return fmt.Errorf("writing the %s completion script: %w", shell, err)
	}
	return nil
}

// zshQuote makes s safe inside a single-quoted _arguments description.
func zshQuote(s string) string {
	return strings.NewReplacer("'", `'\''`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

// fishQuote makes s safe inside a fish single-quoted string.
func fishQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s)
}

// completionScripts are the scripts' templates, over compData.
var completionScripts = map[string]string{
	"bash": `# bash completion for netcost.
# Load it in this shell with: source <(netcost completion bash)
_netcost() {
	local -a words=()
	local i w cur prev= cmd= flag= values= join=
	# bash splits "--flag=value" and "file:PATH" into words at = and :
	# (COMP_WORDBREAKS): join them back.
	for ((i = 0; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -n $join || $w == [=:] ]] && ((i > 1)); then
			words[${#words[@]}-1]+=$w
		else
			words+=("$w")
		fi
		join=
		[[ $w == [=:] ]] && join=1
	done
	cur=${words[${#words[@]}-1]}
	((${#words[@]} > 1)) && prev=${words[${#words[@]}-2]}
	if [[ $cur == -*=* ]]; then
		flag=${cur%%=*}
		cur=${cur#*=}
	elif [[ $prev == -* ]]; then
		flag=$prev
	fi
	# The command: the first word past the app's flags and their values.
	for ((i = 1; i < ${#words[@]} - 1; i++)); do
		case ${words[i]} in
{{- range .Global.Flags}}{{if .Value}}
		{{join .Names "|"}}) ((i++)) ;;
{{- end}}{{end}}
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done
	case "$cmd $flag" in
{{- range .Cases}}
	{{range $i, $p := .Patterns}}{{if $i}}|{{end}}"{{$p}}"{{end}})
		{{- if .Values}}
		values="{{join .Values " "}}"
		{{- else if .Files}}
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		{{- else}}
		COMPREPLY=()
		return
		{{- end}}
		;;
{{- end}}
	esac
	if [[ -n $values ]]; then
		if [[ $cur == file:* && " $values " == *" file: "* ]]; then
			# Past "file:", bash completes the path alone.
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -f -- "${cur#file:}"))
			return
		fi
		COMPREPLY=($(compgen -W "$values" -- "$cur"))
		[[ ${COMPREPLY[*]} == *: ]] && compopt -o nospace 2>/dev/null
		return
	fi
	case $cmd in
	"")
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "{{range .Global.Flags}}{{join .Names " "}} {{end}}" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "{{range .Commands}}{{.Name}} {{end}}" -- "$cur"))
		fi
		;;
{{- range .Commands}}
	{{.Name}})
		{{- if .TakesArgs}}
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "{{range .Flags}}{{join .Names " "}} {{end}}" -- "$cur"))
		else
			COMPREPLY=({{if .Args}}$(compgen -W "{{join .Args " "}}" -- "$cur"){{end}})
		fi
		{{- else}}
		COMPREPLY=($(compgen -W "{{range .Flags}}{{join .Names " "}} {{end}}" -- "$cur"))
		{{- end}}
		;;
{{- end}}
	esac
}
complete -F _netcost netcost
`,

	"zsh": `#compdef netcost
# zsh completion for netcost.
# Load it in this shell with: source <(netcost completion zsh)
# or save it as _netcost in a directory of $fpath before compinit runs.

_netcost() {
	local curcontext=$curcontext state line ret=1
	typeset -A opt_args
	_arguments -C \
{{- range .Global.Flags}}
		{{template "zflag" .}} \
{{- end}}
		'1:command:->command' \
		'*::argument:->argument' && ret=0
	case $state in
	command)
		local -a commands=(
{{- range .Commands}}
			'{{zsh .Name}}:{{zsh .Usage}}'
{{- end}}
		)
		_describe -t commands command commands && ret=0
		;;
	argument)
		curcontext=${curcontext%:*:*}:netcost-$line[1]:
		case $line[1] in
{{- range .Commands}}
		{{.Name}})
			_arguments{{range .Flags}} \
				{{template "zflag" .}}
{{- end}}{{if .Args}} \
				'*:{{.Name}}:({{join .Args " "}})'{{else if .TakesArgs}} \
				'*:argument: '{{end}} && ret=0
			;;
{{- end}}
		esac
		;;
	esac
	return ret
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
	_netcost "$@"
else
	compdef _netcost netcost
fi
{{define "zflag" -}}
{{- if gt (len .Names) 1}}'({{join .Names " "}})'{ {{- range $i, $n := .Names}}
{{- if $i}},{{end}}{{$n}}{{if and $.Value (ne (len $n) 2)}}={{end}}{{end -}} }
{{- else}}{{index .Names 0}}{{if and .Value (ne (len (index .Names 0)) 2)}}={{end}}{{end -}}
'[{{zsh .Usage}}]
{{- if .Value}}:value:{{if .Values}}({{zsh (join .Values " ")}}){{else if .Files}}_files{{else}} {{end}}{{end}}'
{{- end}}`,

	"fish": `# fish completion for netcost.
# Load it in this shell with: netcost completion fish | source
complete -c netcost -f
{{- range .Global.Flags}}
complete -c netcost -n __fish_use_subcommand{{template "fflag" .}}
{{- end}}
{{- range .Commands}}
complete -c netcost -n __fish_use_subcommand -a {{.Name}} -d '{{fish .Usage}}'
{{- end}}
{{- range .Commands}}{{$cmd := .Name}}
{{- range .Flags}}
complete -c netcost -n '__fish_seen_subcommand_from {{$cmd}}'{{template "fflag" .}}
{{- end}}
{{- if .Args}}
complete -c netcost -n '__fish_seen_subcommand_from {{$cmd}}' -a '{{join .Args " "}}'
{{- end}}
{{- end}}
{{define "fflag" -}}
{{- range .Names}}{{if eq (len .) 2}} -s {{slice . 1}}{{else}} -l {{slice . 2}}{{end}}{{end -}}
{{- if .Values}} -x -a '{{join .Values " "}}'{{else if .Files}} -r -F{{else if .Value}} -x{{end}} -d '{{fish .Usage}}'
{{- end}}`,
}
