package mototest

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// PutLogEvents creates the log group in us-east-1 of the moto at endpoint,
// and each stream in it, and puts each stream's events (in timestamp
// order, within a day) in batches PutLogEvents takes, as the agents do.
func PutLogEvents(t testing.TB, endpoint, group string, streams map[string][]types.InputLogEvent) {
	t.Helper()
	c := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	for stream, evs := range streams {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
			t.Fatal(err)
		}
		for batch := range slices.Chunk(evs, 1000) {
			out, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: batch})
			if err != nil || out.RejectedLogEventsInfo != nil {
				t.Fatalf("PutLogEvents: %v %+v", err, out)
			}
		}
	}
}
