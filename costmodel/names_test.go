package costmodel

import "testing"

func TestOwner(t *testing.T) {
	for host, want := range map[string]string{
		"queue.amazonaws.com":                           "Amazon SQS",
		"us-east-1.queue.amazonaws.com":                 "Amazon SQS",
		"sqs.eu-west-1.amazonaws.com":                   "Amazon SQS",
		"sqs-fips.us-east-1.amazonaws.com.":             "Amazon SQS",
		"sqs.us-east-1.api.aws":                         "Amazon SQS",
		"S3.AMAZONAWS.COM":                              "Amazon S3",
		"sqs.s3.us-east-1.amazonaws.com":                "Amazon S3", // a bucket named sqs
		"s3-us-west-2.amazonaws.com":                    "Amazon S3",
		"mybucket.s3.dualstack.eu-west-1.amazonaws.com": "Amazon S3",
		"dynamodb.us-east-1.amazonaws.com":              "Amazon DynamoDB",
		"streams.dynamodb.us-east-1.amazonaws.com":      "Amazon DynamoDB",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com":  "Amazon ECR",
		"api.ecr.us-east-1.amazonaws.com":               "Amazon ECR",
		"sts.amazonaws.com":                             "AWS STS",
		"logs.us-east-1.amazonaws.com":                  "Amazon CloudWatch Logs",
		"monitoring.us-east-1.amazonaws.com":            "Amazon CloudWatch",
		"ec2-3-210-1-1.compute-1.amazonaws.com":         "Amazon EC2",
		"ec2-52-1-2-3.us-west-2.compute.amazonaws.com":  "Amazon EC2",
		"a1b2.elb.us-east-1.amazonaws.com":              "Elastic Load Balancing",
		"db.cluster-abc.us-east-1.rds.amazonaws.com":    "Amazon RDS",
		"something-new.us-east-1.amazonaws.com":         "AWS",
		"amazonaws.com":                                 "AWS",
		"d111111abcdef8.cloudfront.net":                 "Amazon CloudFront",
		"*.datadoghq.com":                               "Datadog",
		"agent-intake.logs.datadoghq.com":               "Datadog", // logs is a label of Datadog's name, not CloudWatch's
		"acme.snowflakecomputing.com":                   "Snowflake",
		"cluster0.abcde.mongodb.net":                    "MongoDB Atlas",
		"github.com":                                    "GitHub",
		"objects.githubusercontent.com":                 "GitHub",
		"registry-1.docker.io":                          "Docker Hub",
		"api.stripe.com":                                "Stripe",
		"notgithub.com":                                 "",
		"amazonaws.com.evil.example":                    "",
		"feeds.supplier.example":                        "",
		"":                                              "",
	} {
		if got := Owner(host); got != want {
			t.Errorf("Owner(%q) = %q; want %q", host, got, want)
		}
	}
}

func TestRangeServiceName(t *testing.T) {
	for code, want := range map[string]string{"S3": "Amazon S3", "dynamodb": "Amazon DynamoDB", "AMAZON": "AWS",
		"EC2": "Amazon EC2", "IVS_REALTIME": "AWS IVS_REALTIME"} {
		if got := RangeServiceName(code); got != want {
			t.Errorf("RangeServiceName(%q) = %q; want %q", code, got, want)
		}
	}
}

func TestInterfaceService(t *testing.T) {
	for host, want := range map[string]string{
		"sqs.us-east-1.amazonaws.com": "sqs", "queue.amazonaws.com": "sqs", "logs.us-east-1.amazonaws.com": "logs",
		"123.dkr.ecr.us-east-1.amazonaws.com": "ecr.dkr", "s3.us-east-1.amazonaws.com": "", "sqs.eu-west-1.amazonaws.com": "",
		"example.com": "",
	} {
		if got := InterfaceService(host, "us-east-1"); got != want {
			t.Errorf("InterfaceService(%q) = %q; want %q", host, got, want)
		}
	}
}
