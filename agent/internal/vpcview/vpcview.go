// Package vpcview reads the node's VPC from the EC2 API into the view the
// classifier compiles: subnets with AZ IDs, route tables with their
// associations and routes, NAT gateways, VPC endpoints, the managed
// prefix lists routes name, and the load balancers' network interfaces.
package vpcview

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/netcost/netcost/agent/internal/classify"
	"github.com/netcost/netcost/internal/flows"
)

// ec2API is what Load needs of EC2: read-only, paginated describes.
type ec2API interface {
	ec2.DescribeVpcsAPIClient
	ec2.DescribeSubnetsAPIClient
	ec2.DescribeRouteTablesAPIClient
	ec2.DescribeNatGatewaysAPIClient
	ec2.DescribeVpcEndpointsAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	ec2.GetManagedPrefixListEntriesAPIClient
}

func vpcFilter(id string) []types.Filter {
	return []types.Filter{{Name: aws.String("vpc-id"), Values: []string{id}}}
}

// Load describes VPC vpcID in region. Every call's error is returned
// wrapped with what was being read: a partial view would misclassify.
func Load(ctx context.Context, api ec2API, region, vpcID string) (classify.VPC, error) {
	v := classify.VPC{ID: vpcID, Region: region, PrefixLists: map[string][]netip.Prefix{}}

	vpcs, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}})
	if err != nil {
		return v, fmt.Errorf("describing VPC %s: %w", vpcID, err)
	}
	if len(vpcs.Vpcs) != 1 {
		return v, fmt.Errorf("describing VPC %s: %d VPCs returned", vpcID, len(vpcs.Vpcs))
	}
	for _, a := range vpcs.Vpcs[0].CidrBlockAssociationSet {
		if p, err := netip.ParsePrefix(aws.ToString(a.CidrBlock)); err == nil {
			v.CIDRs = append(v.CIDRs, p)
		}
	}
	for _, a := range vpcs.Vpcs[0].Ipv6CidrBlockAssociationSet {
		if p, err := netip.ParsePrefix(aws.ToString(a.Ipv6CidrBlock)); err == nil {
			v.CIDRs = append(v.CIDRs, p)
		}
	}

	sp := ec2.NewDescribeSubnetsPaginator(api, &ec2.DescribeSubnetsInput{Filters: vpcFilter(vpcID)})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			return v, fmt.Errorf("describing the subnets of %s: %w", vpcID, err)
		}
		for _, s := range page.Subnets {
			base := classify.Subnet{ID: aws.ToString(s.SubnetId), AZ: aws.ToString(s.AvailabilityZone), AZID: aws.ToString(s.AvailabilityZoneId)}
			if p, err := netip.ParsePrefix(aws.ToString(s.CidrBlock)); err == nil {
				sub := base
				sub.CIDR = p
				v.Subnets = append(v.Subnets, sub)
			}
			for _, a := range s.Ipv6CidrBlockAssociationSet {
				if p, err := netip.ParsePrefix(aws.ToString(a.Ipv6CidrBlock)); err == nil {
					sub := base
					sub.CIDR = p
					v.Subnets = append(v.Subnets, sub)
				}
			}
		}
	}

	prefixLists := map[string]bool{}
	rp := ec2.NewDescribeRouteTablesPaginator(api, &ec2.DescribeRouteTablesInput{Filters: vpcFilter(vpcID)})
	for rp.HasMorePages() {
		page, err := rp.NextPage(ctx)
		if err != nil {
			return v, fmt.Errorf("describing the route tables of %s: %w", vpcID, err)
		}
		for _, t := range page.RouteTables {
			rt := classify.RouteTable{ID: aws.ToString(t.RouteTableId)}
			for _, a := range t.Associations {
				if aws.ToBool(a.Main) {
					rt.Main = true
				}
				if a.SubnetId != nil {
					rt.Subnets = append(rt.Subnets, aws.ToString(a.SubnetId))
				}
			}
			for _, r := range t.Routes {
				if r.State == types.RouteStateBlackhole {
					continue // goes nowhere: no route
				}
				route := classify.Route{Target: routeTarget(r)}
				switch {
				case r.DestinationPrefixListId != nil:
					route.PrefixListID = aws.ToString(r.DestinationPrefixListId)
					prefixLists[route.PrefixListID] = true
				case r.DestinationCidrBlock != nil:
					route.Dest, err = netip.ParsePrefix(aws.ToString(r.DestinationCidrBlock))
				case r.DestinationIpv6CidrBlock != nil:
					route.Dest, err = netip.ParsePrefix(aws.ToString(r.DestinationIpv6CidrBlock))
				default:
					continue
				}
				if err != nil {
					return v, fmt.Errorf("route table %s: %w", rt.ID, err)
				}
				if route.Target != "" {
					rt.Routes = append(rt.Routes, route)
				}
			}
			v.RouteTables = append(v.RouteTables, rt)
		}
	}

	np := ec2.NewDescribeNatGatewaysPaginator(api, &ec2.DescribeNatGatewaysInput{Filter: vpcFilter(vpcID)})
	for np.HasMorePages() {
		page, err := np.NextPage(ctx)
		if err != nil {
			return v, fmt.Errorf("describing the NAT gateways of %s: %w", vpcID, err)
		}
		for _, n := range page.NatGateways {
			if n.State == types.NatGatewayStateDeleted || n.State == types.NatGatewayStateFailed {
				continue
			}
			v.NATGateways = append(v.NATGateways, classify.NATGateway{ID: aws.ToString(n.NatGatewayId), SubnetID: aws.ToString(n.SubnetId)})
		}
	}

	var eniIDs []string
	eniOwner := map[string]int{}
	ep := ec2.NewDescribeVpcEndpointsPaginator(api, &ec2.DescribeVpcEndpointsInput{Filters: vpcFilter(vpcID)})
	for ep.HasMorePages() {
		page, err := ep.NextPage(ctx)
		if err != nil {
			return v, fmt.Errorf("describing the VPC endpoints of %s: %w", vpcID, err)
		}
		for _, e := range page.VpcEndpoints {
			v.Endpoints = append(v.Endpoints, classify.Endpoint{ID: aws.ToString(e.VpcEndpointId), Service: aws.ToString(e.ServiceName)})
			for _, id := range e.NetworkInterfaceIds {
				eniIDs = append(eniIDs, id)
				eniOwner[id] = len(v.Endpoints) - 1
			}
		}
	}
	if len(eniIDs) > 0 {
		ip := ec2.NewDescribeNetworkInterfacesPaginator(api, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: eniIDs})
		for ip.HasMorePages() {
			page, err := ip.NextPage(ctx)
			if err != nil {
				return v, fmt.Errorf("describing the interface endpoints' network interfaces: %w", err)
			}
			for _, n := range page.NetworkInterfaces {
				e := &v.Endpoints[eniOwner[aws.ToString(n.NetworkInterfaceId)]]
				for _, a := range n.PrivateIpAddresses {
					if addr, err := netip.ParseAddr(aws.ToString(a.PrivateIpAddress)); err == nil {
						e.IPs = append(e.IPs, addr)
					}
				}
			}
		}
	}

	if v.LoadBalancers, err = loadBalancers(ctx, api, vpcID); err != nil {
		return v, err
	}

	ids := make([]string, 0, len(prefixLists))
	for id := range prefixLists {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		pp := ec2.NewGetManagedPrefixListEntriesPaginator(api, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(id)})
		for pp.HasMorePages() {
			page, err := pp.NextPage(ctx)
			if err != nil {
				return v, fmt.Errorf("reading prefix list %s: %w", id, err)
			}
			for _, e := range page.Entries {
				if p, err := netip.ParsePrefix(aws.ToString(e.Cidr)); err == nil {
					v.PrefixLists[id] = append(v.PrefixLists[id], p)
				}
			}
		}
		if _, ok := v.PrefixLists[id]; !ok {
			v.PrefixLists[id] = nil // known and empty: routes to it match nothing
		}
	}
	return v, nil
}

// routeTarget names where a route goes: local, igw-, vpce-, nat-, pcx-, tgw-, eigw-.
func routeTarget(r types.Route) string {
	for _, t := range []*string{r.NatGatewayId, r.VpcPeeringConnectionId, r.TransitGatewayId, r.EgressOnlyInternetGatewayId, r.GatewayId} {
		if t != nil && *t != "" {
			return *t
		}
	}
	return ""
}

// loadBalancers reads the network interfaces of the VPC's load balancers:
// those whose description Elastic Load Balancing writes, "ELB ...".
func loadBalancers(ctx context.Context, api ec2.DescribeNetworkInterfacesAPIClient,
	vpcID string) ([]classify.LBInterface, error) {
	var lbs []classify.LBInterface
	filters := append(vpcFilter(vpcID), types.Filter{Name: aws.String("description"), Values: []string{"ELB *"}})
	p := ec2.NewDescribeNetworkInterfacesPaginator(api, &ec2.DescribeNetworkInterfacesInput{Filters: filters})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing the load balancers' network interfaces in %s: %w", vpcID, err)
		}
		for _, n := range page.NetworkInterfaces {
			lb, ok := loadBalancerOf(&n)
			if !ok {
				continue
			}
			li := classify.LBInterface{LB: lb, AZ: aws.ToString(n.AvailabilityZone), AZID: aws.ToString(n.AvailabilityZoneId)}
			for _, a := range n.PrivateIpAddresses {
				if addr, err := netip.ParseAddr(aws.ToString(a.PrivateIpAddress)); err == nil {
					li.IPs = append(li.IPs, addr)
				}
			}
			for _, a := range n.Ipv6Addresses {
				if addr, err := netip.ParseAddr(aws.ToString(a.Ipv6Address)); err == nil {
					li.IPs = append(li.IPs, addr)
				}
			}
			lbs = append(lbs, li)
		}
	}
	return lbs, nil
}

// loadBalancerOf names the load balancer a network interface belongs to,
// as remote_lb does, from its description: "ELB app/NAME/ID" (an ALB),
// "ELB net/NAME/ID" (NLB), "ELB gwy/NAME/ID" (GWLB), "ELB NAME" (a Classic
// Load Balancer, classic/NAME). Only an interface that Elastic Load
// Balancing manages counts (anyone may describe their own interface so),
// and its type must agree: network_load_balancer for an NLB,
// gateway_load_balancer for a GWLB, interface (or load_balancer) for the
// others.
func loadBalancerOf(n *types.NetworkInterface) (string, bool) {
	rest, ok := strings.CutPrefix(aws.ToString(n.Description), "ELB ")
	if !ok || !aws.ToBool(n.RequesterManaged) {
		return "", false
	}
	lb := rest
	if !strings.Contains(rest, "/") {
		lb = string(flows.LBClassic) + "/" + rest
	}
	if !flows.ValidLB(lb) {
		return "", false
	}
	switch flows.LBKindOf(lb) {
	case flows.LBNetwork:
		ok = n.InterfaceType == types.NetworkInterfaceTypeNetworkLoadBalancer
	case flows.LBGateway:
		ok = n.InterfaceType == types.NetworkInterfaceTypeGatewayLoadBalancer
	default:
		ok = n.InterfaceType == types.NetworkInterfaceTypeInterface ||
			n.InterfaceType == types.NetworkInterfaceTypeLoadBalancer
	}
	return lb, ok
}
