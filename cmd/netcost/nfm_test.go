package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netcost/netcost/internal/nfmfake"
)

func i32(v int32) *int32 { return &v }

// nfmSeed is a cluster's week as Network Flow Monitor reports it: a pod
// pair across AZs, a pod to a managed database in another AZ, internet and
// S3 traffic through a NAT gateway, and rows other views must not show.
var nfmSeed = []nfmfake.Row{
	{LocalIP: "10.0.1.10", LocalInstanceID: "i-0a1b2c3d4e5f60001", LocalVpcID: "vpc-0a1b2c3d4e5f60718",
		LocalRegion: "us-east-1", LocalAz: "use1-az1", LocalSubnetID: "subnet-0a1b2c3d4e5f60001", TargetPort: i32(8080),
		DestinationCategory: "INTER_AZ", RemoteVpcID: "vpc-0a1b2c3d4e5f60718", RemoteRegion: "us-east-1",
		RemoteAz: "use1-az2", RemoteSubnetID: "subnet-0a1b2c3d4e5f60002", RemoteInstanceID: "i-0a1b2c3d4e5f60002",
		RemoteIP: "10.0.2.20", Value: 10 << 30,
		KubernetesMetadata: &nfmfake.KubernetesMetadata{LocalPodName: "web-7d4b9c-abcde", LocalPodNamespace: "shop",
			RemotePodName: "cart-5f6d7e-fghij", RemotePodNamespace: "shop", RemoteServiceName: "cart"}},
	{LocalIP: "10.0.1.11", LocalInstanceID: "i-0a1b2c3d4e5f60003", LocalRegion: "us-east-1", LocalAz: "use1-az1",
		TargetPort: i32(5432), DestinationCategory: "INTER_AZ", RemoteRegion: "us-east-1", RemoteAz: "us-east-1c",
		RemoteIP: "10.0.3.30", Value: 4 << 30,
		KubernetesMetadata: &nfmfake.KubernetesMetadata{LocalPodName: "orders-6c8f9d-klmno", LocalPodNamespace: "shop"}},
	{LocalIP: "10.0.1.10", LocalAz: "use1-az1", DestinationCategory: "INTRA_AZ", RemoteIP: "10.0.1.99",
		RemoteAz: "use1-az1", Value: 50 << 30},
	{LocalIP: "10.0.1.10", LocalInstanceID: "i-0a1b2c3d4e5f60001", LocalRegion: "us-east-1", LocalAz: "use1-az1",
		TargetPort: i32(443), DestinationCategory: "UNCLASSIFIED", RemoteIP: "52.94.133.131", SnatIP: "10.0.0.5",
		Value: 2 << 30,
		TraversedConstructs: []nfmfake.TraversedComponent{{ComponentID: "nat-0a1b2c3d4e5f60718",
			ComponentType: "AWS::EC2::NatGateway",
			ComponentArn:  "arn:aws:ec2:us-east-1:123456789012:natgateway/nat-0a1b2c3d4e5f60718"}},
		KubernetesMetadata: &nfmfake.KubernetesMetadata{LocalPodName: "web-7d4b9c-abcde", LocalPodNamespace: "shop"}},
	{LocalIP: "10.0.1.12", LocalRegion: "us-east-1", LocalAz: "use1-az1", DestinationCategory: "UNCLASSIFIED",
		RemoteIP: "140.82.112.3", Value: 1 << 30},
	{LocalIP: "10.0.1.10", LocalInstanceID: "i-0a1b2c3d4e5f60001", LocalRegion: "us-east-1", LocalAz: "use1-az1",
		TargetPort: i32(443), DestinationCategory: "AMAZON_S3", RemoteIP: "3.5.0.10", RemoteRegion: "us-east-1",
		Value: 3 << 30,
		TraversedConstructs: []nfmfake.TraversedComponent{{ComponentID: "nat-0a1b2c3d4e5f60718",
			ComponentType: "AWS::EC2::NatGateway"}},
		KubernetesMetadata: &nfmfake.KubernetesMetadata{LocalPodName: "web-7d4b9c-abcde", LocalPodNamespace: "shop"}},
	{LocalIP: "10.0.1.13", LocalRegion: "us-east-1", LocalAz: "use1-az2", DestinationCategory: "AMAZON_S3",
		RemoteIP: "3.5.0.11", Value: 5 << 30,
		TraversedConstructs: []nfmfake.TraversedComponent{{ComponentID: "vpce-0a1b2c3d4e5f60718",
			ComponentType: "AWS::EC2::VPCEndpoint"}}},
}

// nfmEnv points the SDK at test credentials and away from the machine's
// AWS files; retries are one attempt, so that error tests do not wait.
func nfmEnv(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "",
		"AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials")} {
		t.Setenv(k, v)
	}
}

func nfmFake(t *testing.T) *nfmfake.Fake {
	nfmEnv(t)
	f := nfmfake.Start(t)
	f.PageSize = 1 // every result is paged
	f.AddMonitor("eks-prod", "ACTIVE")
	f.AddMonitor("eks-old", "INACTIVE")
	f.AddRows("eks-prod", nfmSeed...)
	return f
}

func nfmArgs(f *nfmfake.Fake, args ...string) []string {
	return append([]string{"top", "--source", "nfm", "--endpoint-url", f.URL, "--region", "us-east-1",
		"--start", "2026-11-14", "--end", "2026-11-21"}, args...)
}

// TestNFMTop: top over Network Flow Monitor, the real SDK client against
// the fake, gives the same rows and prices as the records would.
func TestNFMTop(t *testing.T) {
	f := nfmFake(t)
	var res struct {
		topJSON
		Notes      []string `json:"notes"`
		HourlyFees []struct {
			Resource string  `json:"resource"`
			What     string  `json:"what"`
			USD      float64 `json:"usd"`
		} `json:"hourly_fees"`
	}
	out := mustRun(t, nfmArgs(f, "--category", "inter-az", "-o", "json")...)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Source != "nfm:eks-prod" || res.Category != "inter-az" || res.Start.Format("2006-01-02") != "2026-11-14" ||
		res.End.Format("2006-01-02") != "2026-11-21" || len(res.Rows) != 2 || res.TotalBytes != 14<<30 {
		t.Fatalf("top inter-az = %+v", res)
	}
	pair, db := res.Rows[0], res.Rows[1]
	// NFM reports each flow once, as its sender's bytes: the pod pair is
	// metered at both nodes, 10 * 0.02 = $0.20, and so is the database's
	// 4 GiB, at the pod's interface and at its own: 4 * 0.02 = $0.08.
	if !pair.Pair || pair.Local.Pod != "web-7d4b9c-abcde" || pair.Local.Namespace != "shop" ||
		pair.Local.AZID != "use1-az1" || pair.Local.Node != "i-0a1b2c3d4e5f60001" || pair.Remote.Pod != "cart-5f6d7e-fghij" ||
		pair.Remote.Service != "cart" || pair.Remote.AZID != "use1-az2" || pair.Bytes != 10<<30 ||
		!near(pair.CostUSD, 0.20) {
		t.Errorf("pod pair row = %+v", pair)
	}
	if db.Pair || db.Local.Pod != "orders-6c8f9d-klmno" || db.Remote.IP != "10.0.3.30" || db.Remote.Port != 5432 ||
		db.Remote.AZ != "us-east-1c" || db.Remote.AZID != "" || db.Bytes != 4<<30 || !near(db.CostUSD, 0.08) {
		t.Errorf("database row = %+v", db)
	}
	if !near(res.TotalCostUSD, 0.28) || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "top contributors only") {
		t.Errorf("total $%v, notes %q", res.TotalCostUSD, res.Notes)
	}
	if qs := f.Queries(); len(qs) != 1 || qs[0].Category != "INTER_AZ" || qs[0].Monitor != "eks-prod" {
		t.Errorf("inter-az ran queries %+v, want one INTER_AZ query on eks-prod", qs)
	}

	// The NAT view: every row through the NAT gateway, from any category.
	res.Notes, res.Rows = nil, nil
	out = mustRun(t, nfmArgs(f, "--category", "nat", "-o", "json", "--monitor", "eks-prod")...)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.TotalBytes != 5<<30 {
		t.Fatalf("top nat = %+v", res)
	}
	internet, s3 := res.Rows[0], res.Rows[1]
	// 2 GiB to the internet: $0.045/GB processed + $0.09/GB out; 3 GiB to
	// S3 in the region: processing only. Network Flow Monitor does not say
	// the NAT's AZ: each is priced as a crossing too, $0.01/GB, and noted:
	// 2 * (0.045 + 0.09 + 0.01) = 0.29 and 3 * (0.045 + 0.01) = 0.165.
	if internet.Via != "nat-0a1b2c3d4e5f60718" || internet.Category.String() != "UNCLASSIFIED" ||
		internet.Remote.IP != "52.94.133.131" || internet.Local.Pod != "web-7d4b9c-abcde" || !near(internet.CostUSD, 0.29) {
		t.Errorf("internet row = %+v", internet)
	}
	if s3.Via != "nat-0a1b2c3d4e5f60718" || s3.Category.String() != "AMAZON_S3" || s3.Remote.AWSService != "S3" ||
		!near(s3.CostUSD, 0.165) {
		t.Errorf("S3 row = %+v", s3)
	}
	if len(res.Notes) != 4 || !strings.Contains(res.Notes[1], "no NAT category") ||
		!strings.Contains(res.Notes[3], "5.0 GiB priced as crossing AZs") || len(res.HourlyFees) != 2 ||
		res.HourlyFees[0].Resource != "nat-0a1b2c3d4e5f60718" || !near(res.HourlyFees[0].USD, 0.045*24*7) ||
		res.HourlyFees[1].What != "public IPv4 address" || !near(res.HourlyFees[1].USD, 0.005*24*7) {
		t.Errorf("notes %q, hourly fees %+v", res.Notes, res.HourlyFees)
	}
	var cats []string
	for _, q := range f.Queries()[1:] {
		cats = append(cats, q.Category)
	}
	if strings.Join(cats, " ") != "INTER_VPC INTER_REGION AMAZON_S3 AMAZON_DYNAMODB UNCLASSIFIED" {
		t.Errorf("nat ran queries for %v", cats)
	}

	// recommend reads every category.
	args := nfmArgs(f, "-o", "json")
	args[0] = "recommend"
	var rec struct {
		Source  string   `json:"source"`
		Records int      `json:"records"`
		WindowS int64    `json:"window_s"`
		Notes   []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, args...)), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Source != "nfm:eks-prod" || rec.Records != len(nfmSeed) || rec.WindowS != 7*86400 || len(rec.Notes) != 2 ||
		len(f.Queries()) != 1+5+7 {
		t.Errorf("recommend = %+v after %d queries", rec, len(f.Queries()))
	}
}

// TestNFMGolden pins the tables of the nfm source.
func TestNFMGolden(t *testing.T) {
	f := nfmFake(t)
	for name, args := range map[string][]string{
		"nfm-top-inter-az.golden": nfmArgs(f, "--category", "inter-az"),
		"nfm-top-nat.golden":      nfmArgs(f, "--category", "nat"),
	} {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, args...)
		})
	}
}

// TestNFMErrors: API errors and ambiguous setups give one line on stderr;
// what the user fixes exits 2, the rest 1.
func TestNFMErrors(t *testing.T) {
	f := nfmFake(t)
	for _, c := range []struct {
		op   string
		err  nfmfake.Error
		args []string
		code int
		want string
	}{
		{nfmfake.StartQuery, nfmfake.AccessDenied, nil, 1, "access denied on monitor \"eks-prod\": User: " +
			"arn:aws:iam::123456789012:user/test is not authorized to perform this action (grant the caller's IAM role " +
			"networkflowmonitor:StartQueryMonitorTopContributors"},
		{nfmfake.GetQueryResults, nfmfake.QuotaExceeded, nil, 1, "query quota exceeded (402 ServiceQuotaExceededException"},
		{nfmfake.GetQueryStatus, nfmfake.Throttling, nil, 1,
			"throttled by AWS (ThrottlingException: Rate exceeded): retry later"},
		{nfmfake.ListMonitors, nfmfake.AccessDenied, nil, 1, "networkflowmonitor:ListMonitors"},
		{"", nfmfake.Error{}, []string{"--monitor", "nope"}, 2, `NetworkFlowMonitor GetMonitor: monitor "nope" not found`},
		{"", nfmfake.Error{}, []string{"--category", "internet"}, 2, "Network Flow Monitor has no category for this view"},
	} {
		if c.op != "" {
			f.Fail(c.op, c.err)
		}
		args := c.args
		if len(args) == 0 || args[0] != "--category" {
			args = append(args, "--category", "inter-az")
		}
		code, out, errs := netcost(t, nfmArgs(f, args...)...)
		if code != c.code || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%s %s %v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.op, c.err.Code, c.args, code, out, errs,
				c.code, c.want)
		}
	}
	// A second active monitor makes the choice the user's.
	f.AddMonitor("eks-staging", "ACTIVE")
	code, _, errs := netcost(t, nfmArgs(f, "--category", "nat")...)
	if code != 2 || !strings.Contains(errs, "2 active Network Flow Monitor monitors in us-east-1 (eks-prod, "+
		"eks-staging): pick one with --monitor NAME") {
		t.Errorf("two active monitors: exit %d, stderr %q", code, errs)
	}
	code, _, errs = netcost(t, "top", "--category", "nat", "--source", "file:"+store, "--monitor", "eks-prod")
	if code != 2 || !strings.Contains(errs, "--monitor applies only to --source nfm") {
		t.Errorf("--monitor with a file source: exit %d, stderr %q", code, errs)
	}
}
