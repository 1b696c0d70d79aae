package costmodel

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/netcost/netcost/internal/flows"
)

// privateLink proposes a PrivateLink endpoint for a known SaaS provider
// reached through a NAT gateway or the internet gateway, where what it saves
// (of what the changes before it leave) exceeds the endpoint's fees.
func (a *Advisor) privateLink(prop *proposal) ([]candidate, error) {
	var cands []candidate
	for _, k := range sortedKeys(a.saas, natKeyString) {
		s := a.saas[k]
		var sv SaaS
		for _, x := range KnownSaaS {
			if x.Provider == k.service {
				sv = x
			}
		}
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		tag := natTag{"saas", sv.Provider}
		azs := max(len(s.clientAZs), 1)
		endpointCost, _ := p.interfaceEndpointFees(s.bytes, prop.month, azs)
		cands = append(cands, candidate{made: offNAT(k.region, tag), saving: func(prop *proposal) (float64, func() Recommendation) {
			cost := p.costOf(a.natLeft(prop, k.region, tag, s.use)).Total()
			saving := cost*prop.month - endpointCost
			return saving, func() Recommendation {
				subnets := slices.Sorted(maps.Keys(s.subnets))
				detail := fmt.Sprintf("%s to %s over the public internet path (%s)",
					flows.HumanBytes(s.bytes), sv.Provider, cmp.Or(setString(s.nats), "internet gateway"))
				service := fmt.Sprintf("<%s's endpoint service name for %s, from %s>", sv.Provider, k.region, sv.Docs)
				return Recommendation{
					Kind: PrivateLink, Target: fmt.Sprintf("%s (%s)", sv.Provider, setString(s.names)),
					Evidence:       prop.evidence(s.bytes, cost, flows.NATGateway.String(), detail),
					MonthlyCostUSD: cost * prop.month, MonthlySavingsUSD: saving,
					Action: interfaceEndpointCommand(k.region, service, subnets),
					Caveats: []string{
						sv.Provider + " must offer PrivateLink in " + k.region +
							" for your account's site; some providers charge for it",
						"savings are net of the endpoint's per-GB and per-AZ-hour fees",
					},
				}
			}
		}})
	}
	return cands, nil
}
