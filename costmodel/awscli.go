package costmodel

import (
	"fmt"
	"strings"
)

// vpcOf is a shell expression for the VPC of the first subnet.
func vpcOf(region string, subnets []string) string {
	if len(subnets) == 0 {
		return "<vpc-id>"
	}
	return fmt.Sprintf("$(aws ec2 describe-subnets --region %s --subnet-ids %s "+
		"--query 'Subnets[0].VpcId' --output text)", region, subnets[0])
}

// gatewayEndpointCommand creates a gateway endpoint for service (s3 or
// dynamodb) in the subnets' VPC, on the route tables of the subnets.
func gatewayEndpointCommand(region, service string, subnets []string) string {
	rtbs := "<route-table-ids of the nodes' subnets>"
	if len(subnets) > 0 {
		rtbs = fmt.Sprintf("$(aws ec2 describe-route-tables --region %s --filters Name=association.subnet-id,Values=%s "+
			"--query 'RouteTables[].RouteTableId' --output text)",
			region, strings.Join(subnets, ","))
	}
	return fmt.Sprintf("aws ec2 create-vpc-endpoint --region %s --vpc-endpoint-type Gateway "+
		"--service-name com.amazonaws.%s.%s --vpc-id %s --route-table-ids %s",
		region, region, service, vpcOf(region, subnets), rtbs)
}

// interfaceEndpointCommand creates an interface endpoint for serviceName,
// with private DNS, in the subnets given (one per AZ).
func interfaceEndpointCommand(region, serviceName string, subnets []string) string {
	sn := "<one subnet per AZ of the nodes>"
	if len(subnets) > 0 {
		sn = strings.Join(subnets, " ")
	}
	return fmt.Sprintf("aws ec2 create-vpc-endpoint --region %s --vpc-endpoint-type Interface --service-name %s "+
		"--vpc-id %s --subnet-ids %s --security-group-ids <sg allowing 443 from the nodes> --private-dns-enabled",
		region, serviceName, vpcOf(region, subnets), sn)
}

// natPerAZCommand creates a NAT gateway in the AZ azID and points the
// default route of the subnets' route table at it.
func natPerAZCommand(region, azID string, subnets []string) string {
	rtb := "<route table of the nodes' subnets in " + azID + ">"
	if len(subnets) > 0 {
		rtb = fmt.Sprintf("$(aws ec2 describe-route-tables --region %s --filters Name=association.subnet-id,Values=%s "+
			"--query 'RouteTables[0].RouteTableId' --output text)", region, strings.Join(subnets, ","))
	}
	return fmt.Sprintf("NAT=$(aws ec2 create-nat-gateway --region %[1]s --subnet-id <a public subnet in %[2]s> "+
		"--allocation-id $(aws ec2 allocate-address --region %[1]s --domain vpc --query AllocationId --output text) "+
		"--query NatGateway.NatGatewayId --output text)\n"+
		"aws ec2 wait nat-gateway-available --region %[1]s --nat-gateway-ids $NAT\n"+
		"aws ec2 replace-route --region %[1]s --route-table-id %[3]s --destination-cidr-block 0.0.0.0/0 "+
		"--nat-gateway-id $NAT", region, azID, rtb)
}
