package costmodel

import (
	"fmt"
	"maps"
	"slices"

	"github.com/netcost/netcost/internal/flows"
)

// interfaceEndpoint proposes an interface endpoint for an AWS service whose
// bytes go through a NAT gateway, where the NAT charges it removes (of those
// the changes before it leave) exceed the endpoint's own per-GB and
// per-AZ-hour fees.
func (a *Advisor) interfaceEndpoint(prop *proposal) ([]candidate, error) {
	var cands []candidate
	for _, k := range sortedKeys(a.iface, natKeyString) {
		s := a.iface[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		tag := natTag{"interface", k.service}
		azs := max(len(s.clientAZs), 1)
		endpointCost, hours := p.interfaceEndpointFees(s.bytes, prop.month, azs)
		cands = append(cands, candidate{made: offNAT(k.region, tag), saving: func(prop *proposal) (float64, func() Recommendation) {
			left := a.natLeft(prop, k.region, tag, s.use)
			cost := p.costOf(left).Total()
			saving := cost*prop.month - endpointCost
			// saving <= 0: below break-even, the endpoint's fees cost more
			// than the NAT charges it removes.
			return saving, func() Recommendation {
				// The break-even of the saving above: per GB, the endpoint
				// removes what these bytes pay the NAT (processing, and the
				// AZ crossing of those that reach a NAT in another AZ) and
				// adds its own processing. saving > 0 makes the difference
				// positive.
				removed := cost / gb(s.bytes)
				breakEven := hours / (removed - p.EndpointPerGB.USD)
				what := "processing"
				if left.InterAZ > 0 {
					what = "processing and the AZ crossing"
				}
				subnets := slices.Sorted(maps.Keys(s.subnets))
				detail := fmt.Sprintf("%s to %s through NAT gateway %s; an interface endpoint in %d AZ(s) costs "+
					"$%.2f/month at this volume and pays off above %.0f GB/month: it saves $%s/GB of NAT charges (%s) "+
					"and charges $%s/GB", flows.HumanBytes(s.bytes), k.service, setString(s.nats), azs, endpointCost, breakEven,
					perGB(removed), what, perGB(p.EndpointPerGB.USD))
				return Recommendation{
					Kind:           InterfaceEndpoint,
					Target:         fmt.Sprintf("com.amazonaws.%s.%s (%s)", k.region, k.service, setString(s.names)),
					Evidence:       prop.evidence(s.bytes, cost, flows.NATGateway.String(), detail),
					MonthlyCostUSD: cost * prop.month, MonthlySavingsUSD: saving,
					Action: interfaceEndpointCommand(k.region, "com.amazonaws."+k.region+"."+k.service, subnets),
					Caveats: []string{"savings are net of the endpoint's per-GB and per-AZ-hour fees",
						"the security group must allow HTTPS (443) from the nodes"},
				}
			}
		}})
	}
	return cands, nil
}
