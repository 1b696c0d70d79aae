package costmodel

import (
	"cmp"
	"fmt"

	"github.com/netcost/netcost/internal/flows"
)

// pairStats is what one pair of endpoints exchanged. For two of the
// cluster's own endpoints the reports are kept by direction and side, so
// that a byte both agents reported counts once.
type pairStats struct {
	bytesCost              // NAT to the internet: the records' bytes and cost
	egress, ingress uint64 // in-cluster: sender's and receiver's reports, one direction
	region          string
	inCluster       bool
	category        flows.Category // INTER_AZ or NAT_GATEWAY
}

// addPair notes a record of the bytes ReducePayload is for: those that no
// endpoint removes, inter-AZ traffic and NAT traffic to the internet that
// is neither AWS nor a known SaaS.
func (a *Advisor) addPair(r *flows.Record, u Usage, isSaaS bool) {
	toInternet := r.ViaNAT() && r.RemoteAWSService == "" && r.Category == flows.NATGateway && !isSaaS
	if u == (Usage{}) || !(r.Category == flows.InterAZ && r.Via == "" || toInternet) {
		return // not billed, or not bytes ReducePayload is for
	}
	from := endpointName(r.LocalNamespace, r.LocalWorkload, r.LocalPod, r.LocalIP)
	to := endpointName(r.RemoteNamespace, r.RemoteWorkload, r.RemotePod, cmp.Or(r.RemoteName, r.RemoteIP))
	inCluster := r.Category == flows.InterAZ && r.RemoteInCluster()
	k := [2]string{from, to}
	if inCluster && r.Direction == flows.Ingress {
		k = [2]string{to, from} // keyed by sender and receiver
	}
	ps := a.pairs[k]
	if ps == nil {
		ps = &pairStats{region: clonestr(r.Region), inCluster: inCluster, category: r.Category}
		a.pairs[[2]string{clonestr(k[0]), clonestr(k[1])}] = ps
	}
	switch {
	case !inCluster:
		ps.add(r.Bytes, u)
	case r.Direction == flows.Egress:
		ps.egress += r.Bytes
	default:
		ps.ingress += r.Bytes
	}
}

// endpointName names one end of a pair: its workload, else its pod, else
// its address (or hostname).
func endpointName(ns, workload, pod, ip string) string {
	switch {
	case workload != "":
		return ns + "/" + workload
	case pod != "":
		return ns + "/" + pod
	}
	return ip
}

// mergePairs adds the pairs of b into a.
func mergePairs(a, b map[[2]string]*pairStats) {
	for k, bp := range b {
		if ap := a[k]; ap != nil {
			ap.add(bp.bytes, bp.use)
			ap.egress += bp.egress
			ap.ingress += bp.ingress
		} else {
			a[k] = bp
		}
	}
}

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
		f.use.add(pairUsage(crossed))
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
		caveats := []string{fmt.Sprintf("savings assume compression removes %.0f%% of the bytes; "+
			"measure with a sample of real payloads", prop.opt.CompressionRatio*100)}
		if f.nat {
			caveats = append(caveats, "where NatPerAZ is proposed for the same bytes, each saving assumes the other is not made")
		}
		detail := fmt.Sprintf("%s billed per byte between %s and %s, which no endpoint or routing change removes",
			HumanBytes(f.bytes), k[0], k[1])
		action := fmt.Sprintf("compress what %s and %s exchange (gzip or zstd on HTTP/gRPC), batch small messages, "+
			"and drop unused fields; if one side is a single replica, add one in the other zone "+
			"so that PreferSameZone can keep the traffic local", k[0], k[1])
		prop.recs = append(prop.recs, Recommendation{
			Kind: ReducePayload, Target: k[0] + " <-> " + k[1],
			Evidence:       prop.evidence(f.bytes, cost, f.cat.String(), detail),
			MonthlyCostUSD: monthly, MonthlySavingsUSD: monthly * prop.opt.CompressionRatio,
			Action:  action,
			Caveats: caveats,
		})
	}
	return nil
}
