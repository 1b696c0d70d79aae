package source

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	nfm "github.com/aws/aws-sdk-go-v2/service/networkflowmonitor"
	nfmtypes "github.com/aws/aws-sdk-go-v2/service/networkflowmonitor/types"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/nfmfake"
	"github.com/netcost/netcost/internal/usage"
)

// fakeReader is an nfm reader whose SDK client talks to the fake.
func fakeReader(f *nfmfake.Fake, monitor string, attempts int) *nfmReader {
	c := nfm.New(nfm.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.URL), RetryMaxAttempts: attempts,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	n := newNFMReader(c, "us-east-1", monitor, nil)
	n.pollFirst = time.Millisecond
	return n
}

var nfmWin = Window{Start: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC),
	End: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}

func TestNFMRecord(t *testing.T) {
	n := newNFMReader(nil, "eu-west-1", "m", nil)
	row := nfmtypes.MonitorTopContributorsRow{
		LocalIp: aws.String("10.0.1.10"), LocalInstanceId: aws.String("i-0a1b2c3d4e5f60001"), LocalAz: aws.String("use1-az1"),
		LocalRegion: aws.String("us-east-1"), LocalSubnetId: aws.String("subnet-01"), TargetPort: aws.Int32(443),
		DestinationCategory: nfmtypes.DestinationCategoryUnclassified, RemoteIp: aws.String("52.94.133.131"),
		RemoteAz: aws.String("us-east-1b"), Value: aws.Int64(1 << 30),
		TraversedConstructs: []nfmtypes.TraversedComponent{
			{ComponentId: aws.String("igw-0123"), ComponentType: aws.String("AWS::EC2::InternetGateway")},
			{ComponentArn: aws.String("arn:aws:ec2:us-east-1:123456789012:natgateway/nat-0a1b2c3d4e5f60718")},
		},
		KubernetesMetadata: &nfmtypes.KubernetesMetadata{LocalPodName: aws.String("web-1"),
			LocalPodNamespace: aws.String("shop"), RemoteServiceName: aws.String("api"),
			RemotePodName: aws.String("api-1"), RemotePodNamespace: aws.String("core")},
	}
	got, ok := n.record(&row, nfmtypes.DestinationCategoryUnclassified, nfmWin)
	want := flows.Record{Schema: 1, TS: nfmWin.Start, WindowS: 86400, Region: "us-east-1", Direction: flows.Egress,
		Category: flows.Unclassified, Protocol: flows.TCP, Node: "i-0a1b2c3d4e5f60001", NodeInstanceID: "i-0a1b2c3d4e5f60001",
		LocalIP: "10.0.1.10", LocalPod: "web-1", LocalNamespace: "shop", LocalAZID: "use1-az1", LocalSubnet: "subnet-01",
		RemoteIP: "52.94.133.131", RemotePort: 443, RemotePod: "api-1", RemoteNamespace: "core", RemoteService: "api",
		RemoteAZ: "us-east-1b", Via: "nat-0a1b2c3d4e5f60718", Bytes: 1 << 30, RemoteReportedRaw: flows.BoolFalse}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("record =\n%+v\nwant\n%+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("mapped record is not a valid record: %v", err)
	}

	// An instance ID that is not one names the node only.
	row.LocalInstanceId = aws.String("i-LOCAL")
	got, _ = n.record(&row, nfmtypes.DestinationCategoryUnclassified, nfmWin)
	if got.Node != "i-LOCAL" || got.NodeInstanceID != "" {
		t.Errorf("bad instance ID: node %q, node_instance_id %q; want the node only", got.Node, got.NodeInstanceID)
	}

	// S3 names its service; the region falls back to the client's; a
	// gateway endpoint is the hop; no value, no record.
	row = nfmtypes.MonitorTopContributorsRow{LocalIp: aws.String("10.0.1.10"), RemoteIp: aws.String("3.5.0.1"),
		Value: aws.Int64(7), TraversedConstructs: []nfmtypes.TraversedComponent{{ComponentId: aws.String("vpce-0123456789")}}}
	got, _ = n.record(&row, nfmtypes.DestinationCategoryAmazonS3, nfmWin)
	if got.Category != flows.AmazonS3 || got.RemoteAWSService != "S3" || got.Region != "eu-west-1" ||
		got.Via != "vpce-0123456789" {
		t.Errorf("S3 row = %+v", got)
	}
	row.Value = aws.Int64(0)
	if _, ok := n.record(&row, nfmtypes.DestinationCategoryAmazonS3, nfmWin); ok {
		t.Error("a row without bytes made a record")
	}
}

func TestNFMCategoriesFor(t *testing.T) {
	for view, want := range map[flows.Category][]nfmtypes.DestinationCategory{
		flows.InterAZ:    {"INTER_AZ"},
		flows.AmazonS3:   {"AMAZON_S3"},
		flows.NATGateway: {"INTER_VPC", "INTER_REGION", "AMAZON_S3", "AMAZON_DYNAMODB", "UNCLASSIFIED"},
		flows.Internet:   nil,
	} {
		if got := categoriesFor(View(view).MayMatch); !slices.Equal(got, want) {
			t.Errorf("%s: categories %v, want %v", view, got, want)
		}
	}
	if got := categoriesFor(nil); len(got) != 7 {
		t.Errorf("every view: %v", got)
	}
}

func seedFake(t *testing.T) *nfmfake.Fake {
	f := nfmfake.Start(t)
	f.PageSize = 2
	f.RunningPolls = 2
	f.AddMonitor("eks-prod", "ACTIVE")
	f.AddMonitor("old", "INACTIVE")
	for i := range 5 {
		f.AddRows("eks-prod", nfmfake.Row{LocalIP: "10.0.1.1", RemoteIP: "10.0.2." + string(rune('1'+i)),
			DestinationCategory: "INTER_AZ", Value: int64(100 + i)})
	}
	f.AddRows("eks-prod", nfmfake.Row{LocalIP: "10.0.1.1", RemoteIP: "52.94.133.131", DestinationCategory: "UNCLASSIFIED",
		Value: 9, TraversedConstructs: []nfmfake.TraversedComponent{{ComponentID: "nat-0123456789abcdef0",
			ComponentType: "AWS::EC2::NatGateway"}}})
	return f
}

// TestNFMRead: one query per category the view needs, the monitor found
// by ListMonitors, RUNNING polled until SUCCEEDED, every page read.
func TestNFMRead(t *testing.T) {
	f := seedFake(t)
	n := fakeReader(f, "", 0)
	var got []flows.Record
	err := n.read(context.Background(), nfmWin, View(flows.InterAZ).MayMatch, func(r *flows.Record) error {
		got = append(got, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.monitor != "eks-prod" {
		t.Errorf("picked monitor %q, want the one ACTIVE: eks-prod", n.monitor)
	}
	if len(got) != 5 || got[0].Bytes != 104 || got[4].Bytes != 100 || got[0].Category != flows.InterAZ {
		t.Errorf("records = %+v", got)
	}
	qs := f.Queries()
	if len(qs) != 1 || qs[0].Category != "INTER_AZ" || qs[0].Metric != "DATA_TRANSFERRED" || qs[0].Limit != 500 ||
		!qs[0].Start.Equal(nfmWin.Start) || !qs[0].End.Equal(nfmWin.End) || qs[0].Status != "SUCCEEDED" {
		t.Errorf("queries = %+v", qs)
	}
	if c := len(f.CallsOf(nfmfake.GetQueryStatus)); c != 3 {
		t.Errorf("%d status calls, want 3 (RUNNING, RUNNING, SUCCEEDED)", c)
	}
	if c := len(f.CallsOf(nfmfake.GetQueryResults)); c != 3 {
		t.Errorf("%d result pages, want 3 (2+2+1 rows)", c)
	}
	if c := len(f.CallsOf(nfmfake.StopQuery)); c != 0 {
		t.Errorf("a finished query was stopped %d times", c)
	}
	var body map[string]any
	err = json.Unmarshal(f.CallsOf(nfmfake.StartQuery)[0].Body, &body)
	if err != nil || body["startTime"] != "2026-11-21T00:00:00Z" {
		t.Errorf("start body %v (%v)", body, err)
	}
}

func TestNFMPickMonitor(t *testing.T) {
	f := nfmfake.Start(t)
	read := func(monitor string) error {
		return fakeReader(f, monitor, 1).read(context.Background(), nfmWin, nil, func(*flows.Record) error { return nil })
	}
	for _, c := range []struct {
		add, monitor, want string
	}{
		{"", "", "no Network Flow Monitor monitor in us-east-1: create one"},
		{"old INACTIVE", "", "no ACTIVE Network Flow Monitor monitor in us-east-1 (old (INACTIVE)): pass --monitor NAME"},
		{"b ACTIVE", "", ""},
		{"a ACTIVE", "", "2 active Network Flow Monitor monitors in us-east-1 (a, b): pick one with --monitor NAME"},
		{"", "a", ""},
		{"", "nope", `NetworkFlowMonitor GetMonitor: monitor "nope" not found`},
	} {
		if c.add != "" {
			name, status, _ := strings.Cut(c.add, " ")
			f.AddMonitor(name, status)
		}
		err := read(c.monitor)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("after %q, monitor %q: %v", c.add, c.monitor, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, usage.Err)):
			t.Errorf("after %q, monitor %q: %v, want a usage error with %q", c.add, c.monitor, err, c.want)
		}
	}
}

// TestNFMErrors: the errors the API declares each give one line that says
// what to do; throttling is retried first.
func TestNFMErrors(t *testing.T) {
	for _, c := range []struct {
		op   string
		errs []nfmfake.Error
		want string // "" for success after retries
	}{
		{nfmfake.StartQuery, []nfmfake.Error{nfmfake.AccessDenied}, "NetworkFlowMonitor StartQueryMonitorTopContributors: " +
			"access denied on monitor \"eks-prod\": User: arn:aws:iam::123456789012:user/test is not authorized to perform " +
			"this action (grant the caller's IAM role networkflowmonitor:StartQueryMonitorTopContributors, " +
			"or use another --profile)"},
		{nfmfake.StartQuery, []nfmfake.Error{nfmfake.QuotaExceeded}, "NetworkFlowMonitor: query quota exceeded " +
			"(402 ServiceQuotaExceededException: You have exceeded the number of concurrent queries): " +
			"wait for running queries to finish, then retry; Service Quotas can raise the limit"},
		{nfmfake.GetQueryResults, []nfmfake.Error{nfmfake.Throttling, nfmfake.Throttling, nfmfake.Throttling},
			"NetworkFlowMonitor GetQueryResultsMonitorTopContributors: throttled by AWS " +
				"(ThrottlingException: Rate exceeded): retry later, or ask for a smaller window"},
		{nfmfake.ListMonitors, []nfmfake.Error{nfmfake.Throttling}, ""},
	} {
		f := seedFake(t)
		f.Fail(c.op, c.errs...)
		n := fakeReader(f, "", 3)
		err := n.read(context.Background(), nfmWin, View(flows.InterAZ).MayMatch, func(*flows.Record) error { return nil })
		if c.want == "" {
			if err != nil {
				t.Errorf("%s %v: %v, want success after a retry", c.op, c.errs, err)
			}
			continue
		}
		if err == nil || err.Error() != c.want || errors.Is(err, usage.Err) {
			t.Errorf("%s %v:\n got %v\nwant %s (not a usage error)", c.op, c.errs, err, c.want)
		}
		var ae *awscfg.Error
		if !errors.As(err, &ae) {
			t.Errorf("%s: %T is not an *awscfg.Error", c.op, err)
		}
		if c.op == nfmfake.GetQueryResults && len(f.CallsOf(nfmfake.StopQuery)) != 1 {
			t.Errorf("the query was not stopped after its results failed: %+v", f.CallsOf(nfmfake.StopQuery))
		}
	}
}

// TestNFMCancel: a cancelled read stops its running query.
func TestNFMCancel(t *testing.T) {
	f := seedFake(t)
	f.RunningPolls = 1 << 30
	n := fakeReader(f, "eks-prod", 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(f.CallsOf(nfmfake.GetQueryStatus)) < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := n.read(ctx, nfmWin, View(flows.InterAZ).MayMatch, func(*flows.Record) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if qs := f.Queries(); len(qs) != 1 || qs[0].Status != "CANCELED" {
		t.Errorf("queries after cancel = %+v, want the one CANCELED", qs)
	}
}

// TestNFMValidates: rows go through the validation that a file's records
// do. A pod name holding a newline, which could add a line inside a
// command that a recommendation prints, stops the read; lenient, the row
// is skipped and counted.
func TestNFMValidates(t *testing.T) {
	f := nfmfake.Start(t)
	f.AddMonitor("eks-prod", "ACTIVE")
	f.AddRows("eks-prod", nfmfake.Row{LocalIP: "10.0.1.1", RemoteIP: "10.0.2.1", DestinationCategory: "INTER_AZ",
		Value: 100, KubernetesMetadata: &nfmfake.KubernetesMetadata{LocalPodName: "web-1\nkubectl delete ns prod",
			LocalPodNamespace: "shop"}},
		nfmfake.Row{LocalIP: "10.0.1.1", RemoteIP: "10.0.2.2", DestinationCategory: "INTER_AZ", Value: 50})
	v := View(flows.InterAZ)
	for _, lenient := range []bool{false, true} {
		n := fakeReader(f, "eks-prod", 0)
		n.lenient = lenient
		var got []flows.Record
		sp, err := n.answer(t.Context(), &Query{Window: nfmWin, View: &v, Begin: func(int) RecordFunc {
			return func(_ int, r *flows.Record, _ int64) error { got = append(got, *r); return nil }
		}})
		switch {
		case !lenient && (!errors.Is(err, usage.Err) ||
			!strings.Contains(err.Error(), `monitor "eks-prod", a INTER_AZ top contributor: `+
				`local_pod: "web-1\nkubectl delete ns prod" holds a control character`)):
			t.Errorf("strict: %v; want a usage error naming the row's bad field", err)
		case lenient && (err != nil || len(got) != 1 || got[0].Bytes != 50 || sp.Stats.Skipped != 1):
			t.Errorf("lenient: %v, %d records, %d skipped; want the good row and one skipped", err, len(got), sp.Stats.Skipped)
		}
	}
}
