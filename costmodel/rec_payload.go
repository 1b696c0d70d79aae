package costmodel

import (
	"cmp"
	"fmt"
	"slices"

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
	// toService is, in-cluster, the bytes the client reported to or from
	// a Service's backend, by Service and client AZ: PreferSameZone's share.
	toService map[svcZone]uint64
	// crossed is, through a NAT, the crossing usage to a NAT in another AZ
	// by client AZ and NAT (crossNAT's keys): NatPerAZ's share.
	crossed map[natKey]uint64
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
		if crossesAZ(r.LocalAZID, r.ViaAZID) {
			addTo(&ps.crossed, natKey{clonestr(r.Region), clonestr(r.LocalAZID), clonestr(r.Via)}, u.InterAZ)
		}
		return
	case r.Direction == flows.Egress:
		ps.egress += r.Bytes
	default:
		ps.ingress += r.Bytes
	}
	if r.RemoteService != "" && r.LocalAZID != "" { // as addService counts it
		sk := svcKey{clonestr(r.RemoteNamespace), clonestr(r.RemoteService), clonestr(r.Region)}
		addTo(&ps.toService, svcZone{sk, clonestr(r.LocalAZID)}, r.Bytes)
	}
}

// addTo adds n to (*m)[k], making the map if need be.
func addTo[K comparable](m *map[K]uint64, k K, n uint64) {
	if *m == nil {
		*m = map[K]uint64{}
	}
	(*m)[k] += n
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
		ap := a[k]
		if ap == nil {
			a[k] = bp
			continue
		}
		ap.add(bp.bytes, bp.use)
		ap.egress += bp.egress
		ap.ingress += bp.ingress
		for sz, n := range bp.toService {
			addTo(&ap.toService, sz, n)
		}
		for nk, n := range bp.crossed {
			addTo(&ap.crossed, nk, n)
		}
	}
}

// payloadPair is the bytes of one pair of endpoints, both directions in one,
// that the certain changes proposed leave.
type payloadPair struct {
	bytes  uint64
	use    Usage
	region string
	nat    bool // through a NAT gateway, not between two pods
	cat    flows.Category
}

// foldPairs folds the pairs: the two directions of an in-cluster pair, each
// byte once (the larger of the sender's and the receiver's report), priced
// at both ends. It leaves out the bytes that prop's PreferSameZone changes
// keep in the zone and the crossings that its NatPerAZ changes remove.
func foldPairs(pairs map[[2]string]*pairStats, prop *proposal) map[[2]string]*payloadPair {
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
			use := ps.use
			for nk, n := range ps.crossed {
				if prop.perAZ[nk] {
					use.InterAZ -= min(use.InterAZ, n)
				}
			}
			f.bytes += ps.bytes
			f.use.add(use)
			f.nat = true
			continue
		}
		var same uint64
		for sz, n := range ps.toService {
			if prop.sameZone[sz] {
				same += n
			}
		}
		crossed := max(ps.egress, ps.ingress)
		crossed -= min(crossed, same)
		f.bytes += crossed
		f.use.add(pairUsage(crossed))
	}
	return byPair
}

// reducePayload proposes compressing and trimming what a pair of endpoints
// exchanges where the bytes that the certain changes leave cost more than
// ReducePayloadMinMonthlyUSD. It is an estimate: without a compression
// ratio from the user it has no dollar figure, and it never counts in a
// total.
func (a *Advisor) reducePayload(prop *proposal) error {
	byPair := foldPairs(a.pairs, prop)
	var recs []Recommendation
	for _, k := range sortedKeys(byPair, func(k [2]string) string { return k[0] + " " + k[1] }) {
		f := byPair[k]
		p, err := a.m.prices(f.region)
		if err != nil {
			return err
		}
		cost := p.costOf(f.use).Total()
		monthly := cost * prop.month
		ratio := prop.opt.CompressionRatio
		if monthly < prop.opt.ReducePayloadMinMonthlyUSD || ratio > 0 && monthly*ratio < prop.opt.MinMonthlySavingsUSD {
			continue
		}
		r := Recommendation{Kind: ReducePayload, Target: k[0] + " <-> " + k[1], Estimate: true,
			MonthlyCostUSD: monthly, MonthlySavingsUSD: monthly * ratio}
		if ratio > 0 {
			r.Caveats = []string{fmt.Sprintf("an estimate, not in the total: it assumes compression removes %.0f%% "+
				"of the bytes, the ratio given", ratio*100)}
		} else {
			r.SavingsNeed = NeedCompressionRatio
			r.Caveats = []string{"an estimate without a dollar figure: give the share of the bytes that compression " +
				"removes, measured on a sample of real payloads, for one; never in the total"}
		}
		if f.nat {
			r.Evidence = prop.evidence(f.bytes, cost, f.cat.String(), fmt.Sprintf("%s between %s and %s through "+
				"a NAT gateway, billed per byte, that no certain change above removes", flows.HumanBytes(f.bytes), k[0], k[1]))
			r.Action = fmt.Sprintf("compress the requests %s sends to %s and ask for compressed responses "+
				"(Content-Encoding gzip or zstd, where %s accepts it), batch small calls, and drop fields that are "+
				"not used", k[0], k[1], k[1])
		} else {
			r.Evidence = prop.evidence(f.bytes, cost, f.cat.String(), fmt.Sprintf("%s crossing AZs between %s and %s, "+
				"billed on both sides, that no certain change above removes", flows.HumanBytes(f.bytes), k[0], k[1]))
			r.Action = fmt.Sprintf("compress what %s and %s exchange (gzip or zstd on HTTP/gRPC), batch small "+
				"messages, and drop fields that are not used", k[0], k[1])
		}
		recs = append(recs, r)
	}
	slices.SortStableFunc(recs, func(x, y Recommendation) int {
		return cmp.Or(cmp.Compare(y.MonthlyCostUSD, x.MonthlyCostUSD), cmp.Compare(x.Target, y.Target))
	})
	prop.recs = append(prop.recs, recs...)
	return nil
}
