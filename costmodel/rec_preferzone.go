package costmodel

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netcost/netcost/internal/flows"
)

// preferSameZone proposes trafficDistribution PreferSameZone for each
// Service whose clients cross AZs to reach it, saving what crosses from the
// zones that have one of its endpoints. It marks the Service's workloads
// covered when every client zone has one.
func (a *Advisor) preferSameZone(prop *proposal) error {
	for _, k := range sortedKeys(a.services, func(k svcKey) string { return k.region + "/" + k.ns + "/" + k.name }) {
		s := a.services[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return err
		}
		var bytes, saveBytes uint64
		var cost, save float64
		var missing []string
		for _, az := range slices.Sorted(maps.Keys(s.crossByClientAZ)) {
			bc := s.crossByClientAZ[az]
			bytes += bc.bytes
			cost += p.costOf(bc.use).Total()
			if s.endpointAZs[az] {
				saveBytes += bc.bytes
				save += p.costOf(bc.use).Total()
			} else {
				missing = append(missing, az)
			}
		}
		if bytes == 0 {
			continue
		}
		for w := range s.workloads {
			if len(missing) == 0 {
				prop.covered[k.ns+"/"+w] = true
			}
		}
		if save == 0 {
			continue
		}
		caveats := []string{
			"needs Kubernetes 1.33 or later (1.31-1.32: use \"PreferClose\", the same behaviour under its older name)",
			"traffic stays in the client's zone while that zone has ready endpoints: size each zone's replicas for its own clients (topologySpreadConstraints, or one HPA per zone)",
		}
		if len(missing) > 0 {
			caveats = append(caveats, fmt.Sprintf("clients in %s have no %s endpoint in their zone, so their traffic still crosses; add a replica there to save it too", strings.Join(missing, ", "), k.name))
		}
		prop.recs = append(prop.recs, Recommendation{
			Kind: PreferSameZone, Target: fmt.Sprintf("service %s/%s", k.ns, k.name),
			Evidence: prop.evidence(bytes, cost, flows.InterAZ.String(), fmt.Sprintf("%s of inter-AZ traffic to Service %s/%s, billed on both sides; %s of it from zones that have a %s endpoint",
				HumanBytes(bytes), k.ns, k.name, HumanBytes(saveBytes), k.name)),
			MonthlyCostUSD: cost * prop.month, MonthlySavingsUSD: save * prop.month,
			Action:  fmt.Sprintf(`kubectl -n %s patch service %s --type merge -p '{"spec":{"trafficDistribution":"PreferSameZone"}}'`, k.ns, k.name),
			Caveats: caveats,
		})
	}
	return nil
}
