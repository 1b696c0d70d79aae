package cur_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/mototest"
)

// rangeCounter counts the GETs that ask for a byte range.
type rangeCounter struct {
	ranged atomic.Int64
	next   http.RoundTripper
}

func (c *rangeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
		c.ranged.Add(1)
	}
	return c.next.RoundTrip(r)
}

// motoConfig is an SDK configuration for moto at endpoint, as the CLI
// builds it from --endpoint-url.
func motoConfig(endpoint string, rt http.RoundTripper) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  &http.Client{Transport: rt}}
}

// TestReadS3 reads the fixture from moto's S3, in both formats, from the
// prefix above the export and from the export's own: Parquet by ranged
// GETs, CSV streamed.
func TestReadS3(t *testing.T) {
	endpoint := mototest.Start(t)
	rc := &rangeCounter{next: http.DefaultTransport}
	cfg := motoConfig(endpoint, rc)
	for _, ext := range []string{"snappy.parquet", "csv.gz"} {
		t.Run(ext, func(t *testing.T) {
			bucket := "cur-" + strings.ReplaceAll(ext, ".", "-")
			objs, err := fixture(ext).Objects(bucket, "cur")
			if err != nil {
				t.Fatal(err)
			}
			mototest.PutObjects(t, endpoint, bucket, "cur", objs)
			rc.ranged.Store(0)
			for _, loc := range []string{"s3://" + bucket + "/cur", "s3://" + bucket + "/cur/netcost-cur/"} {
				l, err := cur.ParseLocation(loc)
				if err != nil {
					t.Fatal(err)
				}
				b, err := cur.NewReader(cfg, nil).Read(t.Context(), l, window)
				if err != nil {
					t.Fatalf("Read(%s): %v", loc, err)
				}
				checkFixtureBill(t, b, fixtureLineItems)
			}
			if ranged := rc.ranged.Load(); (ext == "snappy.parquet") != (ranged > 0) {
				t.Errorf("%d ranged GETs; want some for Parquet, none for CSV", ranged)
			}
		})
	}
	t.Run("no such bucket", func(t *testing.T) {
		l, _ := cur.ParseLocation("s3://no-such-bucket/cur")
		_, err := cur.NewReader(cfg, nil).Read(t.Context(), l, window)
		checkUsage(t, err, "no-such-bucket")
	})
	t.Run("empty prefix", func(t *testing.T) {
		l, _ := cur.ParseLocation("s3://cur-csv-gz/elsewhere")
		_, err := cur.NewReader(cfg, nil).Read(t.Context(), l, window)
		checkUsage(t, err, "s3://cur-csv-gz/elsewhere holds no CUR 2.0 data")
	})
}
