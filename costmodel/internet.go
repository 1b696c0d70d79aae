package costmodel

import "github.com/netcost/netcost/internal/flows"

// internetUsage prices bytes through the internet gateway: what reaching
// the remote costs, as beyondGateway says.
func internetUsage(p *Prices, r *flows.Record) Usage { return beyondGateway(p, r) }

// beyondGateway prices what bytes cost past the internet gateway or a NAT
// gateway, by who the remote is:
//   - an AWS service endpoint of the region (S3, DynamoDB, SQS, ECR...:
//     any ip-ranges service but EC2), or a global one: nothing;
//   - a public IPv4 address of EC2 in the region (an instance or a load
//     balancer): regional data transfer, in each direction;
//   - AWS in another region: the pair's inter-region rate on bytes out;
//   - the internet: internet egress on bytes out; bytes in are free.
func beyondGateway(p *Prices, r *flows.Record) Usage {
	switch {
	case awsServiceInRegion(r):
		return Usage{}
	case r.RemoteAWSService == "EC2" && inRegion(r):
		return Usage{Regional: r.Bytes}
	case r.RemoteAWSService != "":
		return interRegionUsage(p, r)
	case gatewayCategory(r.Category):
		return Usage{} // S3 or DynamoDB that ip-ranges did not name: the region's, as classified
	case r.Direction == flows.Egress:
		return Usage{InternetOut: r.Bytes}
	}
	return Usage{}
}

// awsServiceInRegion reports whether the remote is an AWS service endpoint
// of the record's region, or a global one. EC2's addresses are instances'
// and load balancers': they are not service endpoints. ip-ranges names the
// most specific service of an address (the agent's lookup), so AMAZON
// means an AWS address that no narrower list claims, such as SQS's.
func awsServiceInRegion(r *flows.Record) bool {
	return r.RemoteAWSService != "" && r.RemoteAWSService != "EC2" && inRegion(r)
}

// inRegion reports whether the remote's ip-ranges region is the record's
// own, or global, or not said.
func inRegion(r *flows.Record) bool {
	return r.RemoteRegion == "" || r.RemoteRegion == r.Region || r.RemoteRegion == "GLOBAL"
}
