// Command netcost finds the workloads behind a Kubernetes cluster's AWS
// inter-AZ and NAT gateway bill, prices their bytes and says what to change.
//
// Usage:
//
//	netcost top --category inter-az --source file:PATH [-o table|json|csv|markdown]
//	netcost resolve IP... [-o table|json]
//	netcost recommend --source file:PATH
//	netcost report --source file:PATH [--slack-webhook URL | --dry-run]
//	netcost prices [--region us-east-1]
//	netcost completion bash|zsh|fish
//
// Results go to stdout, logs to stderr. Exit status: 0 ok, 2 bad usage or
// bad input (one line on stderr says what and how to fix it), 1 otherwise.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/internal/buildinfo"
	"github.com/netcost/netcost/internal/safetext"
	"github.com/netcost/netcost/internal/usage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the CLI and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, reorderArgs(app, args))
	if err == nil {
		return 0
	}
	var ec cli.ExitCoder
	switch {
	case errors.Is(err, usage.Err):
		printError(stderr, err)
		return 2
	case errors.As(err, &ec):
		if err.Error() != "" {
			printError(stderr, err)
		}
		return ec.ExitCode()
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "netcost: interrupted")
		return 130
	}
	printError(stderr, err)
	return 1
}

// printError writes err as netcost's one line on stderr. Errors quote what
// they were given (a record's values, a certificate's names, Slack's
// reply), so the line goes out escaped (safetext).
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "netcost: %s\n", safetext.Escape(err.Error()))
}

// logLevels are what --log-level takes.
var logLevels = []string{"debug", "info", "warn", "error"}

// onUsageError turns urfave/cli's flag parsing errors into usage errors
// that name the flag as typed (flagError) and point to --help.
func onUsageError(cCtx *cli.Context, err error, _ bool) error {
	flags := cCtx.App.Flags
	if cCtx.Command != nil {
		flags = append(slices.Clip(cCtx.Command.Flags), flags...)
	}
	return usage.Errorf("%s (see --help)", flagError(flags, err.Error()))
}

// newApp builds the CLI, writing results to stdout and help, errors and
// logs to stderr.
func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "netcost",
		Usage: "find and cut the AWS inter-AZ and NAT gateway costs of Kubernetes workloads",
		Description: "netcost reads the flow records its agents write (schema 1), prices them the way AWS bills\n" +
			"them, ranks the workloads that cause the bill and proposes changes with monthly savings.",
		Version:                buildinfo.Version(),
		Writer:                 stdout,
		ErrWriter:              stderr,
		HideHelpCommand:        true,
		UseShortOptionHandling: true,
		OnUsageError:           onUsageError,
		ExitErrHandler:         func(*cli.Context, error) {}, // run maps errors to exit codes
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: orList(logLevels) + " (logs go to stderr)",
				EnvVars: []string{"NETCOST_LOG_LEVEL"}},
		},
		Before: func(cCtx *cli.Context) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(cCtx.String("log-level"))); err != nil {
				return usage.Errorf("--log-level %q: want %s", cCtx.String("log-level"), orList(logLevels))
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})))
			return nil
		},
		Action: func(cCtx *cli.Context) error {
			if cCtx.Args().Present() {
				return usage.Errorf("unknown command %q: want top, resolve, recommend, report, prices or completion (see --help)",
					cCtx.Args().First())
			}
			// Bare netcost is a usage error, as bare git is: the help goes
			// to stderr, exit 2. netcost --help prints it to stdout, exit 0.
			cli.HelpPrinter(cCtx.App.ErrWriter, cli.AppHelpTemplate, cCtx.App)
			return cli.Exit("", 2)
		},
		Commands: []*cli.Command{topCommand, resolveCommand, recommendCommand, reportCommand, reconcileCommand,
			pricesCommand, completionCommand},
	}
	for _, c := range app.Commands {
		c.OnUsageError = onUsageError
		c.HelpName = "" // each run of the app prefixes it with the app's name (tests run many)
	}
	return app
}
