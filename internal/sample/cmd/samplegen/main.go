// Command samplegen writes a deterministic sample store of schema-1 flow
// records: by default the two-node "shop" scenario of package sample (the
// store in testdata/store), or, with -records N, a benchmark store of exactly
// N records made of many copies of the scenario cluster.
//
// Usage:
//
//	samplegen [-o DIR] [-records N] [-seed S]
//
// Exit status: 0 ok, 2 bad usage, 1 anything else.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/netcost/netcost/internal/sample"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("samplegen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("o", "testdata/store", "the directory to write the store to (created if missing)")
	records := fs.Int64("records", 0, "0 writes the scenario store; N > 0 writes a benchmark store of exactly N records")
	seed := fs.Uint64("seed", sample.DefaultOptions().Seed, "the seed of the byte counts' random variation")
	usage := func() {
		fmt.Fprintln(stderr, "usage: samplegen [-o DIR] [-records N] [-seed S]")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return 0
		}
		fmt.Fprintf(stderr, "samplegen: %v (run samplegen -h for usage)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "samplegen: unexpected argument %q: samplegen takes flags only (run samplegen -h for usage)\n", fs.Arg(0))
		return 2
	}
	if *records < 0 {
		fmt.Fprintf(stderr, "samplegen: -records %d: want 0 (the scenario) or a positive count\n", *records)
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "samplegen: -o is empty: give the directory to write the store to")
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	began := time.Now()
	if *records == 0 {
		opt := sample.DefaultOptions()
		opt.Seed = *seed
		truth, err := sample.WriteStore(*dir, opt)
		if err != nil {
			fmt.Fprintf(stderr, "samplegen: %v\n", err)
			return 1
		}
		log.Info("wrote the sample store", "dir", *dir, "records", truth.Records,
			"start", truth.Start.Format(time.RFC3339), "end", truth.End.Format(time.RFC3339),
			"took", time.Since(began).Round(time.Millisecond))
		return 0
	}
	if err := sample.WriteScaled(*dir, *records, *seed); err != nil {
		fmt.Fprintf(stderr, "samplegen: %v\n", err)
		return 1
	}
	log.Info("wrote the scaled sample store", "dir", *dir, "records", *records,
		"took", time.Since(began).Round(time.Millisecond))
	return 0
}
