// Command lambda is the netcost report function: on each scheduled event it
// builds the report of the previous full UTC day (internal/report, over the
// same query sources as the CLI) and posts it to Slack. The webhook URL is
// read from Secrets Manager at each invocation and never logged.
//
// Configuration, from the environment:
//
//	NETCOST_SOURCE            cloudwatch (the default), nfm, or file:PATH
//	NETCOST_LOG_GROUP         the agents' log group for cloudwatch (default /netcost/flows)
//	NETCOST_EXACT             optional, cloudwatch: true reads every record (FilterLogEvents) instead of Logs Insights sums
//	NETCOST_MONITOR           the Network Flow Monitor monitor for nfm
//	NETCOST_CLUSTER           the cluster's name, for the report's title
//	NETCOST_WINDOW            optional: a window ending at the event's time (24h, 7d) instead of the previous UTC day
//	NETCOST_LIMIT             optional: rows and recommendations listed (default 5)
//	NETCOST_MIN_SAVINGS       optional: leave out recommendations saving less USD a month (default 1)
//	NETCOST_COMPRESSION_RATIO optional: the share of the bytes compression removes, measured (0.6): ReducePayload's savings
//	NETCOST_INTERNET_EGRESS_TB_MONTH  optional: the account's monthly internet egress in TB; internet bytes are priced at its tier (default: the first)
//	NETCOST_TGW_PEER_EXTERNAL optional: true when the VPCs across the transit gateway are another account's
//	NETCOST_CUR               optional: the bill, a CUR 2.0 export (s3://BUCKET/PREFIX or athena:DATABASE.TABLE): the
//	                          report says how much of the day before's bill the records explain (docs/reconcile.md)
//	NETCOST_CUR_ATHENA_WORKGROUP, NETCOST_CUR_ATHENA_OUTPUT  optional, athena: the workgroup and s3:// results folder
//	SLACK_WEBHOOK_SECRET_ARN  the secret holding the webhook URL (the URL itself, or JSON {"webhook_url": "..."})
//	AWS_REGION                set by Lambda; AWS_ENDPOINT_URL points the SDK at an emulator in tests
//
// Build it for Lambda's provided.al2023 runtime with
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./lambda
//
// or `sam build`, which runs the Makefile's build-ReportFunction target.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	// JSON or text by the function's log format (AWS_LAMBDA_LOG_FORMAT), at
	// its log level, with each invocation's requestId.
	slog.SetDefault(lambdacontext.NewLogger())
	h, err := newHandler(context.Background(), os.Getenv)
	if err != nil {
		// Every invocation fails with the reason, where the console shows it.
		slog.Error("netcost report: bad configuration", "error", err)
		lambda.Start(func(context.Context, events.CloudWatchEvent) (*result, error) { return nil, err })
		return
	}
	lambda.Start(h.handle)
}
