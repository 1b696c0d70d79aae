package costmodel

import (
	"fmt"
	"maps"
	"slices"

	"github.com/netcost/netcost/internal/flows"
)

// natPerAZ proposes a NAT gateway in each client AZ whose bytes cross to a
// NAT in another AZ, where the crossing saved exceeds the new NAT's hours.
func (a *Advisor) natPerAZ(prop *proposal) error {
	// Count only the crossing bytes that no endpoint proposed by an earlier
	// rule (and kept by MinMonthlySavingsUSD) takes off the NAT, so that the
	// savings do not overlap.
	taken := map[natTag]bool{}
	for _, r := range prop.recs {
		if r.MonthlySavingsUSD >= prop.opt.MinMonthlySavingsUSD && r.tag != (natTag{}) {
			taken[r.tag] = true
		}
	}
	for _, k := range sortedKeys(a.crossNAT, natKeyString) {
		s := a.crossNAT[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return err
		}
		var left bytesCost
		for tag, bc := range s.byTag {
			if !taken[tag] {
				left.add(bc.bytes, bc.use)
			}
		}
		newNAT := HoursPerMonth * p.NATPerHour.USD
		saving := p.costOf(left.use).Total()*prop.month - newNAT
		if saving <= 0 {
			continue
		}
		subnets := slices.Sorted(maps.Keys(s.subnets))
		caveats := []string{fmt.Sprintf("savings are net of the new NAT gateway's hourly fee ($%.2f/month)", newNAT),
			"the new NAT gateway has a new public IP: update allow-lists that name the old one"}
		if left.bytes < s.bytes {
			caveats = append(caveats, fmt.Sprintf("counts only the %s that the endpoints proposed here leave on the NAT, "+
				"of %s crossing in all", HumanBytes(left.bytes), HumanBytes(s.bytes)))
		}
		detail := fmt.Sprintf("%s between %s and NAT gateway %s in %s cross AZs "+
			"and pay inter-AZ transfer on top of NAT processing", HumanBytes(left.bytes), k.service, k.nat, s.natAZID)
		prop.recs = append(prop.recs, Recommendation{
			Kind: NatPerAZ, Target: fmt.Sprintf("%s: clients in %s use %s in %s", k.region, k.service, k.nat, s.natAZID),
			Evidence:       prop.evidence(left.bytes, p.costOf(left.use).Total(), flows.NATGateway.String(), detail),
			MonthlyCostUSD: p.costOf(left.use).Total() * prop.month, MonthlySavingsUSD: saving,
			Action:  natPerAZCommand(k.region, k.service, subnets),
			Caveats: caveats,
		})
	}
	return nil
}
