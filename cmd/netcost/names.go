package main

import (
	"context"
	"net/netip"
	"strings"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/resolve"
)

// naming is what top shows of who is behind a row's remote end.
type naming struct {
	name, belongsTo string
	unverified      bool // the name comes from a certificate that did not verify
	unnamed         bool // a public remote address nothing named, and not asked
}

// resolveRemotes asks r who is behind the rows' remote addresses that are
// not the cluster's own and that the records do not name already (the
// agent learns names from what the pod itself saw, which beats what the
// address says to the user's machine), and saves r's cache. The answers
// are keyed by IP.
func resolveRemotes(ctx context.Context, r *resolve.Resolver, rows []costmodel.Row) map[string]resolve.Result {
	var ips []netip.Addr
	for _, row := range rows {
		if row.Remote.Name != "" {
			continue
		}
		if ip, err := netip.ParseAddr(row.Remote.IP); err == nil && !inCluster(row.Remote) {
			ips = append(ips, ip)
		}
	}
	// The table waits for no address longer than --resolve-timeout, and
	// for all of them together at most four rounds of it.
	ctx, cancel := context.WithTimeout(ctx, 4*r.Timeout)
	defer cancel()
	resolved := map[string]resolve.Result{}
	for _, res := range r.Resolve(ctx, ips) {
		resolved[res.IP] = res
	}
	saveCache(r)
	return resolved
}

// nameRows names the rows' remote ends, aligned with rows: from the
// records (remote_name, remote_aws_service), and from resolved, the
// resolver's answers with --resolve (nil without).
func nameRows(rows []costmodel.Row, resolved map[string]resolve.Result) []naming {
	out := make([]naming, len(rows))
	for i, row := range rows {
		if inCluster(row.Remote) {
			continue
		}
		res, ok := resolved[row.Remote.IP]
		var names []string
		if row.Remote.Name != "" && row.Remote.Name != costmodel.Several {
			names = append(names, row.Remote.Name)
		}
		names = append(names, res.Names()...)
		svc, region := orEmpty(row.Remote.AWSService, res.AWSService), orEmpty(row.Remote.Region, res.AWSRegion)
		n := naming{}
		if len(names) > 0 {
			n.name = names[0]
			n.unverified = row.Remote.Name == "" && !res.Verified()
		}
		if len(names) > 0 || svc != "" || ok {
			n.belongsTo = resolve.BelongsTo(names, svc, region)
		} else {
			ip, err := netip.ParseAddr(row.Remote.IP)
			n.unnamed = err == nil && ip.IsGlobalUnicast() && !ip.IsPrivate()
		}
		out[i] = n
	}
	return out
}

// orEmpty is a, or b when a is empty; "" when a says that grouped records
// disagree.
func orEmpty(a, b string) string {
	if a == costmodel.Several {
		return ""
	}
	if a != "" {
		return a
	}
	return b
}

// inCluster: the remote end is one of the cluster's pods or nodes, named already.
func inCluster(e costmodel.Endpoint) bool {
	return e.Pod != "" || e.Node != "" || e.Workload != ""
}

// belongsToCell is the table's BELONGS_TO: who, and by which name.
func (n naming) belongsToCell() string {
	var detail []string
	if n.name != "" && n.name != n.belongsTo {
		detail = append(detail, n.name)
	}
	if n.unverified {
		detail = append(detail, "unverified")
	}
	if len(detail) == 0 {
		return orDash(n.belongsTo)
	}
	return orDash(n.belongsTo) + " (" + strings.Join(detail, ", ") + ")"
}

// resolveNote points at --resolve when the table has public remote
// addresses that nothing named.
func resolveNote(names []naming) string {
	for _, n := range names {
		if n.unnamed {
			return "some remote addresses have no name: add --resolve to ask them " +
				"(TLS certificate, reverse DNS, AWS ip-ranges)"
		}
	}
	return ""
}
