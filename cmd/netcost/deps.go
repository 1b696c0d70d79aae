package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/report"
	"github.com/netcost/netcost/internal/resolve"
)

// deps are what the commands' run functions work with beyond what they
// were asked. Each Action fills them with newDeps or loadDeps; tests fill
// in their own, such as a Slack client that counts its requests.
type deps struct {
	model *costmodel.Model // prices records and holds the price table; nil for commands without --prices
	// newResolver builds the resolver that names remote addresses, once
	// the command needs one (top reads its records first).
	newResolver func(context.Context, resolverOptions) (*resolve.Resolver, error)
	post        report.PostOptions // how report reaches Slack: the HTTP client, retries, logs
	stderr      io.Writer          // for lines that say what was done, apart from the result
}

// newDeps returns the deps of cCtx's command, without a cost model.
func newDeps(cCtx *cli.Context) deps {
	return deps{newResolver: newResolver, post: report.PostOptions{Logger: slog.Default()},
		stderr: cCtx.App.ErrWriter}
}

// loadDeps returns the deps of a command that prices records: newDeps's,
// with the cost model of --prices, --internet-egress-tb-month and
// --tgw-peer-external (loadPricing).
func loadDeps(cCtx *cli.Context) (deps, error) {
	d := newDeps(cCtx)
	t, o, err := loadPricing(cCtx)
	if err != nil {
		return d, err
	}
	d.model = costmodel.NewWithOptions(t, o)
	return d, nil
}
