package costmodel

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netcost/netcost/internal/flows"
)

// svcKey identifies a Service in a region.
type svcKey struct{ ns, name, region string }

// svcStats is what the clients of one Service sent it and where its
// backends run.
type svcStats struct {
	crossByClientAZ map[string]*bytesCost // client AZ ID -> the Service's inter-AZ bytes
	endpointAZs     map[string]bool       // AZ IDs where the Service's backends run
}

// addService notes a record whose remote is a Service's backend.
func (a *Advisor) addService(r *flows.Record) {
	k := svcKey{r.RemoteNamespace, r.RemoteService, r.Region}
	s := a.services[k]
	if s == nil {
		s = &svcStats{crossByClientAZ: map[string]*bytesCost{}, endpointAZs: map[string]bool{}}
		a.services[svcKey{clonestr(k.ns), clonestr(k.name), clonestr(k.region)}] = s
	}
	if r.RemoteAZID != "" && !s.endpointAZs[r.RemoteAZID] {
		s.endpointAZs[clonestr(r.RemoteAZID)] = true
	}
	if r.Category == flows.InterAZ && r.RemoteInCluster() && r.LocalAZID != "" {
		// The client sees both directions of the Service's traffic, and
		// both ends are the cluster's: each byte is billed out and in.
		bc := s.crossByClientAZ[r.LocalAZID]
		if bc == nil {
			bc = &bytesCost{}
			s.crossByClientAZ[clonestr(r.LocalAZID)] = bc
		}
		bc.add(r.Bytes, pairUsage(r.Bytes))
	}
}

// mergeServices adds the Services of b into a.
func mergeServices(a, b map[svcKey]*svcStats) {
	for k, bs := range b {
		as := a[k]
		if as == nil {
			a[k] = bs
			continue
		}
		mergeBytesCost(as.crossByClientAZ, bs.crossByClientAZ)
		maps.Copy(as.endpointAZs, bs.endpointAZs)
	}
}

// k8sVersionCaveat says which Kubernetes versions take PreferSameZone:
// alpha behind a feature gate in 1.33, beta and on by default from 1.34;
// PreferClose, its older name, is in every version from 1.31 (KEP-3015).
const k8sVersionCaveat = "needs Kubernetes 1.34 or later, where PreferSameZone is beta and on by default " +
	"(in 1.33 it is alpha, behind the PreferSameTrafficDistribution feature gate); on 1.31-1.33 use " +
	"\"PreferClose\", the same behaviour under its older name"

// preferSameZone proposes trafficDistribution PreferSameZone for each
// Service whose clients cross AZs to reach it, saving what crosses from the
// zones that have one of its endpoints, and notes those zones in prop.
func (a *Advisor) preferSameZone(prop *proposal) error {
	for _, k := range sortedKeys(a.services, func(k svcKey) string { return k.region + "/" + k.ns + "/" + k.name }) {
		s := a.services[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return err
		}
		var bytes, saveBytes uint64
		var cost, save float64
		var missing, saved []string
		for _, az := range slices.Sorted(maps.Keys(s.crossByClientAZ)) {
			bc := s.crossByClientAZ[az]
			bytes += bc.bytes
			cost += p.costOf(bc.use).Total()
			if s.endpointAZs[az] {
				saveBytes += bc.bytes
				save += p.costOf(bc.use).Total()
				saved = append(saved, az)
			} else {
				missing = append(missing, az)
			}
		}
		if save <= 0 || save*prop.month < prop.opt.MinMonthlySavingsUSD {
			continue
		}
		for _, az := range saved {
			prop.sameZone[svcZone{k, az}] = true
		}
		caveats := []string{
			k8sVersionCaveat,
			"traffic stays in the client's zone while that zone has ready endpoints: size each zone's replicas " +
				"for its own clients (topologySpreadConstraints, or one HPA per zone)",
		}
		if len(missing) > 0 {
			caveats = append(caveats, fmt.Sprintf("clients in %s have no %s endpoint in their zone, "+
				"so their traffic still crosses; add a replica there to save it too", strings.Join(missing, ", "), k.name))
		}
		detail := fmt.Sprintf("%s of inter-AZ traffic to Service %s/%s, billed on both sides; "+
			"%s of it from zones that have a %s endpoint", flows.HumanBytes(bytes), k.ns, k.name, flows.HumanBytes(saveBytes), k.name)
		prop.recs = append(prop.recs, Recommendation{
			Kind: PreferSameZone, Target: fmt.Sprintf("service %s/%s", k.ns, k.name),
			Evidence:       prop.evidence(bytes, cost, flows.InterAZ.String(), detail),
			MonthlyCostUSD: cost * prop.month, MonthlySavingsUSD: save * prop.month,
			Action: fmt.Sprintf(`kubectl -n %s patch service %s --type merge `+
				`-p '{"spec":{"trafficDistribution":"PreferSameZone"}}'`, k.ns, k.name),
			Caveats: caveats,
		})
	}
	return nil
}
