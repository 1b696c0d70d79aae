package costmodel

import "strings"

// awsService is an AWS service as its hostnames name it.
type awsService struct {
	name     string // as AWS writes it, for people
	endpoint string // its interface VPC endpoint service (com.amazonaws.REGION.NAME), if it has one
}

// awsServices are AWS services by a label of their hostnames under
// amazonaws.com (sqs.us-east-1.amazonaws.com, BUCKET.s3.amazonaws.com,
// ec2-3-4-5-6.compute-1.amazonaws.com). Maintained by hand: add a service
// when a user meets one that netcost cannot name.
var awsServices = map[string]awsService{
	"sqs": {"Amazon SQS", "sqs"}, "queue": {"Amazon SQS", ""}, "sns": {"Amazon SNS", "sns"},
	"sts": {"AWS STS", "sts"}, "logs": {"Amazon CloudWatch Logs", "logs"},
	"monitoring":     {"Amazon CloudWatch", "monitoring"},
	"secretsmanager": {"AWS Secrets Manager", "secretsmanager"}, "ssm": {"AWS Systems Manager", "ssm"},
	"ssmmessages": {"AWS Systems Manager", "ssmmessages"}, "ec2messages": {"AWS Systems Manager", "ec2messages"},
	"kms": {"AWS KMS", "kms"}, "kinesis": {"Amazon Kinesis Data Streams", "kinesis-streams"},
	"firehose": {"Amazon Data Firehose", "kinesis-firehose"}, "events": {"Amazon EventBridge", "events"},
	"lambda": {"AWS Lambda", "lambda"}, "ec2": {"Amazon EC2 API", "ec2"},
	"elasticloadbalancing": {"Elastic Load Balancing API", "elasticloadbalancing"},
	"execute-api":          {"Amazon API Gateway", "execute-api"}, "states": {"AWS Step Functions", "states"},
	"xray": {"AWS X-Ray", "xray"}, "athena": {"Amazon Athena", "athena"}, "glue": {"AWS Glue", "glue"},
	"autoscaling": {"Amazon EC2 Auto Scaling", "autoscaling"}, "email-smtp": {"Amazon SES", "email-smtp"},
	"email": {"Amazon SES", ""}, "bedrock-runtime": {"Amazon Bedrock", "bedrock-runtime"},
	"bedrock": {"Amazon Bedrock", ""},
	"s3":      {"Amazon S3", ""}, "dynamodb": {"Amazon DynamoDB", ""}, "ecr": {"Amazon ECR", ""},
	"compute": {"Amazon EC2", ""}, "compute-1": {"Amazon EC2", ""}, "elb": {"Elastic Load Balancing", ""},
	"rds": {"Amazon RDS", ""}, "cache": {"Amazon ElastiCache", ""}, "es": {"Amazon OpenSearch Service", ""},
	"kafka": {"Amazon MSK", ""}, "eks": {"Amazon EKS", ""}, "ecs": {"Amazon ECS", ""}, "iam": {"AWS IAM", ""},
	"cloudformation": {"AWS CloudFormation", ""}, "codeartifact": {"AWS CodeArtifact", ""},
}

// InterfaceService names the interface endpoint service (as in
// com.amazonaws.REGION.NAME) behind an AWS hostname, or "" if there is none.
// S3 and DynamoDB are gateway endpoint services and yield "".
func InterfaceService(host, region string) string {
	host = normalHost(host)
	switch {
	case host == "queue.amazonaws.com" || host == region+".queue.amazonaws.com":
		return "sqs"
	case strings.HasSuffix(host, ".dkr.ecr."+region+".amazonaws.com"):
		return "ecr.dkr"
	}
	prefix, ok := strings.CutSuffix(host, "."+region+".amazonaws.com")
	switch {
	case !ok:
		return ""
	case prefix == "api.ecr":
		return "ecr.api"
	}
	return awsServices[strings.TrimSuffix(prefix, "-fips")].endpoint
}

// normalHost lower-cases a hostname and drops a trailing dot and a leading
// wildcard label (a certificate's *.datadoghq.com names datadoghq.com's hosts).
func normalHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	return strings.TrimPrefix(host, "*.")
}

// awsDomains are the parent domains of AWS service endpoints.
var awsDomains = []string{"amazonaws.com", "amazonaws.com.cn", "api.aws"}

// awsOwner names the AWS service behind a hostname under an AWS endpoint
// domain: "AWS" when no label is known. Labels are read right to left, so
// that a bucket named sqs in sqs.s3.amazonaws.com is still S3.
func awsOwner(host string) (string, bool) {
	for _, d := range awsDomains {
		rest, ok := strings.CutSuffix(host, "."+d)
		if !ok {
			if host == d {
				return "AWS", true
			}
			continue
		}
		labels := strings.Split(rest, ".")
		for i := len(labels) - 1; i >= 0; i-- {
			l := strings.TrimSuffix(labels[i], "-fips")
			if s, ok := awsServices[l]; ok {
				return s.name, true
			}
			if strings.HasPrefix(l, "s3-") { // s3-us-west-2, s3-website-..., s3-accesspoint
				return "Amazon S3", true
			}
		}
		return "AWS", true
	}
	return "", false
}

// rangeServices name the service codes of AWS's ip-ranges.json.
var rangeServices = map[string]string{
	"AMAZON": "AWS", "S3": "Amazon S3", "DYNAMODB": "Amazon DynamoDB", "EC2": "Amazon EC2",
	"CLOUDFRONT": "Amazon CloudFront", "CLOUDFRONT_ORIGIN_FACING": "Amazon CloudFront", "ROUTE53": "Amazon Route 53",
	"ROUTE53_HEALTHCHECKS": "Amazon Route 53", "GLOBALACCELERATOR": "AWS Global Accelerator",
	"API_GATEWAY": "Amazon API Gateway", "EC2_INSTANCE_CONNECT": "EC2 Instance Connect",
	"CODEBUILD": "AWS CodeBuild", "KINESIS_VIDEO_STREAMS": "Amazon Kinesis Video Streams",
	"WORKSPACES_GATEWAYS": "Amazon WorkSpaces", "CHIME_VOICECONNECTOR": "Amazon Chime",
}

// RangeServiceName names a service code of AWS's ip-ranges.json (S3,
// DYNAMODB, AMAZON, ...) for people: "Amazon S3", "AWS" for AMAZON.
func RangeServiceName(code string) string {
	code = strings.ToUpper(code)
	if n, ok := rangeServices[code]; ok {
		return n
	}
	return "AWS " + code
}

// gatewayService returns "s3" or "dynamodb" for a record bound to a service
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
	{"confluent.cloud", "Confluent Cloud",
		"docs.confluent.io/cloud/current/networking/private-links/aws-privatelink.html"},
	{"elastic-cloud.com", "Elastic Cloud", "www.elastic.co/guide/en/cloud/current/ec-traffic-filtering-vpc.html"},
	{"sumologic.com", "Sumo Logic", "help.sumologic.com/docs/manage/security/aws-privatelink/"},
	{"splunkcloud.com", "Splunk Cloud",
		"docs.splunk.com/Documentation/SplunkCloud/latest/Admin/PrivateConnectivityEnable"},
	{"newrelic.com", "New Relic", "docs.newrelic.com/docs/data-apis/custom-data/aws-privatelink/"},
}

// LookupSaaS returns the known SaaS provider serving host.
func LookupSaaS(host string) (SaaS, bool) {
	host = normalHost(host)
	for _, s := range KnownSaaS {
		if hasDomain(host, s.Suffix) {
			return s, true
		}
	}
	return SaaS{}, false
}

func hasDomain(host, domain string) bool {
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// otherOwners are well-known names beyond AWS and KnownSaaS: services a
// cluster reaches through its NAT gateway without PrivateLink on offer.
var otherOwners = []struct{ Suffix, Owner string }{
	{"cloudfront.net", "Amazon CloudFront"}, {"awsglobalaccelerator.com", "AWS Global Accelerator"},
	{"amazontrust.com", "Amazon Trust Services"},
	{"github.com", "GitHub"}, {"githubusercontent.com", "GitHub"}, {"ghcr.io", "GitHub"},
	{"docker.io", "Docker Hub"}, {"docker.com", "Docker Hub"}, {"quay.io", "Quay.io"},
	{"registry.k8s.io", "Kubernetes registry"}, {"gcr.io", "Google"}, {"pkg.dev", "Google"}, {"googleapis.com", "Google"},
	{"pypi.org", "PyPI"}, {"pythonhosted.org", "PyPI"}, {"npmjs.org", "npm"}, {"golang.org", "Go module proxy"},
	{"stripe.com", "Stripe"}, {"slack.com", "Slack"}, {"sentry.io", "Sentry"}, {"pagerduty.com", "PagerDuty"},
	{"okta.com", "Okta"}, {"auth0.com", "Auth0"}, {"twilio.com", "Twilio"}, {"sendgrid.net", "SendGrid"},
	{"grafana.net", "Grafana Cloud"}, {"honeycomb.io", "Honeycomb"}, {"cloudflare.com", "Cloudflare"},
	{"fastly.net", "Fastly"}, {"akamaiedge.net", "Akamai"},
}

// Owner says who serves a hostname: an AWS service ("Amazon SQS" for
// queue.amazonaws.com or sqs.us-east-1.amazonaws.com, "AWS" for an
// amazonaws.com name it cannot place), a KnownSaaS provider, another
// well-known provider, or "" when the name is not in these tables.
func Owner(host string) string {
	host = normalHost(host)
	if o, ok := awsOwner(host); ok {
		return o
	}
	if s, ok := LookupSaaS(host); ok {
		return s.Provider
	}
	for _, o := range otherOwners {
		if hasDomain(host, o.Suffix) {
			return o.Owner
		}
	}
	return ""
}
