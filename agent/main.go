// Command netcost-agent counts every TCP and UDP byte of the node's pods with
// eBPF, names and classifies the flows the way AWS bills them, and writes
// schema-1 records per window to local files (the default) or stdout.
//
// It runs as a DaemonSet, one per node, with the privileges to load BPF
// programs. Every flag has an environment variable; see -help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/netcost/netcost/internal/buildinfo"
	"github.com/netcost/netcost/internal/usage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, usage.Err):
		fmt.Fprintf(os.Stderr, "netcost-agent: %v\n", err)
		os.Exit(2)
	case err != nil:
		slog.Error("netcost-agent stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	if cfg.version {
		_, err := fmt.Fprintln(stdout, "netcost-agent "+buildinfo.Version())
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return usage.Errorf("%s %q: want debug, info, warn or error", cfg.flag("log-level"), cfg.logLevel)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)
	if cfg.uninstall {
		return uninstall(cfg, log)
	}
	if err := preflight(&cfg); err != nil {
		return err
	}

	return newAgent(cfg, log).run(ctx, stdout)
}
