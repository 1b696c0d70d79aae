package mototest

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PutObjects creates bucket in us-east-1 of the moto at endpoint and puts
// objs in it, each key under prefix (none when empty).
func PutObjects(t testing.TB, endpoint, bucket, prefix string, objs map[string][]byte) {
	t.Helper()
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if prefix != "" {
		prefix += "/"
	}
	for key, b := range objs {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + key),
			Body: bytes.NewReader(b)}); err != nil {
			t.Fatal(err)
		}
	}
}
