package costmodel

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netcost/netcost/internal/flows"
)

// gatewayEndpoint proposes a gateway endpoint for S3 or DynamoDB in the
// region where their bytes go through a NAT gateway: it saves all the NAT
// charges on them that the changes before it leave.
func (a *Advisor) gatewayEndpoint(prop *proposal) ([]candidate, error) {
	var cands []candidate
	for _, k := range sortedKeys(a.gateway, natKeyString) {
		s := a.gateway[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		tag := natTag{"gateway", k.service}
		cands = append(cands, candidate{made: offNAT(k.region, tag), saving: func(prop *proposal) (float64, func() Recommendation) {
			cost := p.costOf(a.natLeft(prop, k.region, tag, s.use)).Total()
			return cost * prop.month, func() Recommendation {
				subnets := slices.Sorted(maps.Keys(s.subnets))
				name := map[string]string{"s3": "S3", "dynamodb": "DynamoDB"}[k.service]
				detail := fmt.Sprintf("%s to %s through NAT gateway %s, which charges processing on every byte; "+
					"a gateway endpoint is free", flows.HumanBytes(s.bytes), name, setString(s.nats))
				return Recommendation{
					Kind: GatewayEndpoint, Target: fmt.Sprintf("%s in %s (subnets %s)", name, k.region, orUnknown(subnets)),
					Evidence:       prop.evidence(s.bytes, cost, strings.ToUpper("amazon_"+k.service), detail),
					MonthlyCostUSD: cost * prop.month, MonthlySavingsUSD: cost * prop.month,
					Action: gatewayEndpointCommand(k.region, k.service, subnets),
					Caveats: []string{
						"a gateway endpoint serves only this region's " + name +
							"; buckets or tables in other regions still go through the NAT",
						"endpoint policies and bucket policies that pin aws:SourceIp stop matching: use aws:SourceVpce instead",
					},
				}
			}
		}})
	}
	return cands, nil
}
