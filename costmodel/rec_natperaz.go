package costmodel

import (
	"fmt"
	"maps"
	"slices"

	"github.com/netcost/netcost/internal/flows"
)

// natPerAZ proposes a NAT gateway in each client AZ whose bytes cross to a
// NAT in another AZ, where the crossing saved exceeds the new NAT's hours
// and its public IPv4 address.
// It counts only the crossing bytes that no endpoint proposed before it
// takes off the NAT, so that the savings do not overlap.
func (a *Advisor) natPerAZ(prop *proposal) ([]candidate, error) {
	var cands []candidate
	for _, k := range sortedKeys(a.crossNAT, natKeyString) {
		s := a.crossNAT[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		// A new NAT gateway bills its hours and its Elastic IP's (a public
		// IPv4 address).
		natHours, ipv4 := HoursPerMonth*p.NATPerHour.USD, HoursPerMonth*p.PublicIPv4PerHour.USD
		newNAT := natHours + ipv4
		made := func(prop *proposal) { prop.perAZ[k] = true }
		cands = append(cands, candidate{made: made, saving: func(prop *proposal) (float64, func() Recommendation) {
			var left bytesCost
			for tag, bc := range s.byTag {
				if !prop.offNAT[regionTag{k.region, tag}] {
					left.add(bc.bytes, bc.use)
				}
			}
			cost := p.costOf(left.use).Total()
			saving := cost*prop.month - newNAT
			return saving, func() Recommendation {
				subnets := slices.Sorted(maps.Keys(s.subnets))
				caveats := []string{fmt.Sprintf("savings are net of the new NAT gateway's hourly fee ($%.2f/month) "+
					"and its public IPv4 address ($%.2f/month)", natHours, ipv4),
					"the new NAT gateway has a new public IP: update allow-lists that name the old one"}
				if left.bytes < s.bytes {
					caveats = append(caveats, fmt.Sprintf("counts only the %s that the endpoints proposed above leave "+
						"on the NAT, of %s crossing in all", flows.HumanBytes(left.bytes), flows.HumanBytes(s.bytes)))
				}
				detail := fmt.Sprintf("%s between %s and NAT gateway %s in %s cross AZs and pay inter-AZ transfer "+
					"on top of NAT processing", flows.HumanBytes(left.bytes), k.service, k.nat, s.natAZID)
				return Recommendation{
					Kind: NatPerAZ, Target: fmt.Sprintf("%s: clients in %s use %s in %s", k.region, k.service, k.nat, s.natAZID),
					Evidence:       prop.evidence(left.bytes, cost, flows.NATGateway.String(), detail),
					MonthlyCostUSD: cost * prop.month, MonthlySavingsUSD: saving,
					Action:  natPerAZCommand(k.region, k.service, subnets),
					Caveats: caveats,
				}
			}
		}})
	}
	return cands, nil
}
