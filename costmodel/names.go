package costmodel

import "strings"

// interfaceServices are AWS services reachable through an interface VPC
// endpoint, by the first labels of their regional hostname.
var interfaceServices = map[string]string{
	"sqs": "sqs", "sns": "sns", "sts": "sts", "logs": "logs", "monitoring": "monitoring",
	"secretsmanager": "secretsmanager", "ssm": "ssm", "ssmmessages": "ssmmessages", "ec2messages": "ec2messages",
	"kms": "kms", "kinesis": "kinesis-streams", "firehose": "kinesis-firehose", "events": "events",
	"lambda": "lambda", "ec2": "ec2", "api.ecr": "ecr.api", "elasticloadbalancing": "elasticloadbalancing",
	"execute-api": "execute-api", "states": "states", "xray": "xray", "athena": "athena", "glue": "glue",
	"autoscaling": "autoscaling", "email-smtp": "email-smtp", "bedrock-runtime": "bedrock-runtime",
}

// InterfaceService names the interface endpoint service (as in
// com.amazonaws.REGION.NAME) behind an AWS hostname, or "" if there is none.
// S3 and DynamoDB are gateway endpoint services and yield "".
func InterfaceService(host, region string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case host == "queue.amazonaws.com" || host == region+".queue.amazonaws.com":
		return "sqs"
	case strings.HasSuffix(host, ".dkr.ecr."+region+".amazonaws.com"):
		return "ecr.dkr"
	}
	prefix, ok := strings.CutSuffix(host, "."+region+".amazonaws.com")
	if !ok {
		return ""
	}
	prefix = strings.TrimSuffix(prefix, "-fips")
	return interfaceServices[prefix]
}

// GatewayService returns "s3" or "dynamodb" for a record bound to a service
// that has a free gateway endpoint.
func gatewayService(awsService string) string {
	switch strings.ToUpper(awsService) {
	case "S3":
		return "s3"
	case "DYNAMODB":
		return "dynamodb"
	}
	return ""
}

// SaaS is a third-party service known to offer AWS PrivateLink.
type SaaS struct {
	Suffix   string // hostname suffix
	Provider string
	Docs     string // where the provider documents its endpoint service names
}

// KnownSaaS lists providers that publish PrivateLink endpoint services.
var KnownSaaS = []SaaS{
	{"datadoghq.com", "Datadog", "docs.datadoghq.com/agent/guide/private-link/"},
	{"snowflakecomputing.com", "Snowflake", "docs.snowflake.com/en/user-guide/admin-security-privatelink"},
	{"mongodb.net", "MongoDB Atlas", "www.mongodb.com/docs/atlas/security-private-endpoint/"},
	{"confluent.cloud", "Confluent Cloud", "docs.confluent.io/cloud/current/networking/private-links/aws-privatelink.html"},
	{"elastic-cloud.com", "Elastic Cloud", "www.elastic.co/guide/en/cloud/current/ec-traffic-filtering-vpc.html"},
	{"sumologic.com", "Sumo Logic", "help.sumologic.com/docs/manage/security/aws-privatelink/"},
	{"splunkcloud.com", "Splunk Cloud", "docs.splunk.com/Documentation/SplunkCloud/latest/Admin/PrivateConnectivityEnable"},
	{"newrelic.com", "New Relic", "docs.newrelic.com/docs/data-apis/custom-data/aws-privatelink/"},
}

// LookupSaaS returns the known SaaS provider serving host.
func LookupSaaS(host string) (SaaS, bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, s := range KnownSaaS {
		if host == s.Suffix || strings.HasSuffix(host, "."+s.Suffix) {
			return s, true
		}
	}
	return SaaS{}, false
}
