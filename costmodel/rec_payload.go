package costmodel

import (
	"fmt"

	"github.com/netcost/netcost/internal/flows"
)

// payloadPair is the bytes of one pair of endpoints, both directions in one.
type payloadPair struct {
	bytes  uint64
	use    Usage
	region string
	nat    bool // through a NAT gateway, not between two pods
	cat    flows.Category
}

// foldPairs folds the pairs: the two directions of an in-cluster pair, each
// byte once (the larger of the sender's and the receiver's report), priced
// at both ends.
func foldPairs(pairs map[[2]string]*pairStats) map[[2]string]*payloadPair {
	byPair := map[[2]string]*payloadPair{}
	for k, ps := range pairs {
		key := k
		if ps.inCluster && key[1] < key[0] { // two pods: one row for both directions
			key = [2]string{k[1], k[0]}
		}
		f := byPair[key]
		if f == nil {
			f = &payloadPair{region: ps.region, cat: ps.category}
			byPair[key] = f
		}
		if !ps.inCluster {
			f.bytes += ps.bytes
			f.use.add(ps.use)
			f.nat = true
			continue
		}
		crossed := max(ps.egress, ps.ingress)
		f.bytes += crossed
		f.use.InterAZ += 2 * crossed // metered at both ends
	}
	return byPair
}

// reducePayload proposes compressing and trimming what a pair of endpoints
// exchanges where its bytes cost more than ReducePayloadMinMonthlyUSD and
// neither end is covered by PreferSameZone: no endpoint or routing change
// removes those charges.
func (a *Advisor) reducePayload(prop *proposal) error {
	byPair := foldPairs(a.pairs)
	for _, k := range sortedKeys(byPair, func(k [2]string) string { return k[0] + " " + k[1] }) {
		f := byPair[k]
		p, err := a.m.prices(f.region)
		if err != nil {
			return err
		}
		cost := p.costOf(f.use).Total()
		monthly := cost * prop.month
		if monthly < prop.opt.ReducePayloadMinMonthlyUSD || prop.covered[k[0]] || prop.covered[k[1]] {
			continue
		}
		caveats := []string{fmt.Sprintf("savings assume compression removes %.0f%% of the bytes; measure with a sample of real payloads", prop.opt.CompressionRatio*100)}
		if f.nat {
			caveats = append(caveats, "where NatPerAZ is proposed for the same bytes, each saving assumes the other is not made")
		}
		prop.recs = append(prop.recs, Recommendation{
			Kind: ReducePayload, Target: k[0] + " <-> " + k[1],
			Evidence:       prop.evidence(f.bytes, cost, f.cat.String(), fmt.Sprintf("%s billed per byte between %s and %s, which no endpoint or routing change removes", HumanBytes(f.bytes), k[0], k[1])),
			MonthlyCostUSD: monthly, MonthlySavingsUSD: monthly * prop.opt.CompressionRatio,
			Action:  fmt.Sprintf("compress what %s and %s exchange (gzip or zstd on HTTP/gRPC), batch small messages, and drop unused fields; if one side is a single replica, add one in the other zone so that PreferSameZone can keep the traffic local", k[0], k[1]),
			Caveats: caveats,
		})
	}
	return nil
}
