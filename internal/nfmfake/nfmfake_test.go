package nfmfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// awsCLI runs the preinstalled aws CLI v1 against the fake. Without a CLI
// that knows networkflowmonitor it skips, or fails under
// NETCOST_REQUIRE_ROOT=1 (CI), which must run every test.
func awsCLI(t *testing.T, f *Fake, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	path, lerr := exec.LookPath("aws")
	if lerr != nil {
		missing(t, "the aws CLI is not installed: %v", lerr)
	}
	args = append([]string{"networkflowmonitor"}, args...)
	args = append(args, "--endpoint-url", f.URL, "--region", "us-east-1", "--output", "json")
	cmd := exec.Command(path, args...)
	home := t.TempDir()
	// iso8601: the CLI parses timestamps by the model and prints them as dates.
	if err := os.WriteFile(home+"/config", []byte("[default]\ncli_timestamp_format = iso8601\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "HOME="+home,
		"AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials",
		"AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard", "AWS_PAGER=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if strings.Contains(e.String(), "Invalid choice") {
		missing(t, "this aws CLI does not know networkflowmonitor: %s", e.String())
	}
	return o.String(), e.String(), err
}

func missing(t *testing.T, format string, a ...any) {
	t.Helper()
	if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
		t.Fatalf(format+"; CI needs it", a...)
	}
	t.Skipf(format, a...)
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("the CLI printed something that is not JSON: %v\n%s", err, s)
	}
}

func i32(v int32) *int32 { return &v }

var seed = []Row{
	{LocalIP: "10.0.1.10", LocalInstanceID: "i-0a1b2c3d4e5f60001", LocalVpcID: "vpc-0a1b2c3d4e5f60718", LocalRegion: "us-east-1",
		LocalAz: "use1-az1", LocalSubnetID: "subnet-0a1b2c3d4e5f60001", TargetPort: i32(8080), DestinationCategory: "INTER_AZ",
		RemoteVpcID: "vpc-0a1b2c3d4e5f60718", RemoteRegion: "us-east-1", RemoteAz: "use1-az2", RemoteSubnetID: "subnet-0a1b2c3d4e5f60002",
		RemoteInstanceID: "i-0a1b2c3d4e5f60002", RemoteIP: "10.0.2.20", Value: 5 << 30,
		KubernetesMetadata: &KubernetesMetadata{LocalPodName: "web-7d4b9c-abcde", LocalPodNamespace: "shop", RemotePodName: "cart-5f6d7e-fghij",
			RemotePodNamespace: "shop", RemoteServiceName: "cart"}},
	{LocalIP: "10.0.1.11", DestinationCategory: "INTER_AZ", RemoteIP: "10.0.2.21", Value: 3 << 30},
	{LocalIP: "10.0.1.12", DestinationCategory: "INTER_AZ", RemoteIP: "10.0.2.22", Value: 1 << 30},
	{LocalIP: "10.0.1.13", DestinationCategory: "UNCLASSIFIED", RemoteIP: "52.94.133.131", SnatIP: "10.0.0.5", Value: 2 << 30,
		TraversedConstructs: []TraversedComponent{{ComponentID: "nat-0a1b2c3d4e5f60718", ComponentType: "AWS::EC2::NatGateway",
			ComponentArn: "arn:aws:ec2:us-east-1:123456789012:natgateway/nat-0a1b2c3d4e5f60718", ServiceName: "EC2"}}},
}

// TestAWSCLI proves the fake speaks the real API: the aws CLI, which
// builds its requests and parses the answers from botocore's model of the
// service, lists monitors, starts a query, polls it and reads its pages,
// and the fake received what the CLI sent.
func TestAWSCLI(t *testing.T) {
	f := Start(t)
	f.PageSize = 2
	f.AddMonitor("eks-prod", "ACTIVE")
	f.AddMonitor("old", "INACTIVE")
	f.AddRows("eks-prod", seed...)

	out, stderr, err := awsCLI(t, f, "list-monitors")
	if err != nil {
		t.Fatalf("list-monitors: %v\n%s", err, stderr)
	}
	var lm struct {
		Monitors []struct{ MonitorArn, MonitorName, MonitorStatus string }
	}
	decode(t, out, &lm)
	if len(lm.Monitors) != 2 || lm.Monitors[0].MonitorName != "eks-prod" || lm.Monitors[0].MonitorStatus != "ACTIVE" ||
		lm.Monitors[1].MonitorStatus != "INACTIVE" || !strings.HasSuffix(lm.Monitors[0].MonitorArn, ":monitor/eks-prod") {
		t.Errorf("list-monitors = %+v", lm)
	}

	out, stderr, err = awsCLI(t, f, "get-monitor", "--monitor-name", "eks-prod")
	if err != nil {
		t.Fatalf("get-monitor: %v\n%s", err, stderr)
	}
	var gm map[string]any
	decode(t, out, &gm)
	// The CLI turns the epoch seconds it parsed into ISO 8601.
	if gm["monitorName"] != "eks-prod" || !strings.HasPrefix(fmt.Sprint(gm["createdAt"]), "2026-11-01T00:00:00") {
		t.Errorf("get-monitor = %v", gm)
	}

	out, stderr, err = awsCLI(t, f, "start-query-monitor-top-contributors", "--monitor-name", "eks-prod",
		"--start-time", "2026-11-21T00:00:00Z", "--end-time", "2026-11-22T00:00:00Z",
		"--metric-name", "DATA_TRANSFERRED", "--destination-category", "INTER_AZ", "--limit", "3")
	if err != nil {
		t.Fatalf("start-query: %v\n%s", err, stderr)
	}
	var sq struct{ QueryID string }
	decode(t, out, &sq)
	if sq.QueryID == "" {
		t.Fatalf("start-query printed no queryId: %s", out)
	}
	calls := f.CallsOf(StartQuery)
	if len(calls) != 1 || calls[0].Path != "/monitors/eks-prod/topContributorsQueries" {
		t.Fatalf("start-query calls = %+v", calls)
	}
	var body map[string]any
	decode(t, string(calls[0].Body), &body)
	wantBody := map[string]any{"startTime": "2026-11-21T00:00:00Z", "endTime": "2026-11-22T00:00:00Z",
		"metricName": "DATA_TRANSFERRED", "destinationCategory": "INTER_AZ", "limit": 3.0}
	if !reflect.DeepEqual(body, wantBody) {
		t.Errorf("the CLI sent %v, want %v", body, wantBody)
	}
	q := f.Queries()[0]
	if !q.Start.Equal(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)) || q.Limit != 3 {
		t.Errorf("query = %+v", q)
	}

	// RUNNING, then SUCCEEDED.
	for _, want := range []string{"RUNNING", "SUCCEEDED", "SUCCEEDED"} {
		out, stderr, err = awsCLI(t, f, "get-query-status-monitor-top-contributors", "--monitor-name", "eks-prod", "--query-id", sq.QueryID)
		if err != nil {
			t.Fatalf("get-query-status: %v\n%s", err, stderr)
		}
		var st struct{ Status string }
		decode(t, out, &st)
		if st.Status != want {
			t.Errorf("status = %q, want %q", st.Status, want)
		}
	}

	// The CLI follows nextToken: 3 rows (the query's limit) in pages of 2.
	out, stderr, err = awsCLI(t, f, "get-query-results-monitor-top-contributors", "--monitor-name", "eks-prod", "--query-id", sq.QueryID)
	if err != nil {
		t.Fatalf("get-query-results: %v\n%s", err, stderr)
	}
	var res struct {
		Unit            string
		TopContributors []Row `json:"topContributors"`
	}
	decode(t, out, &res)
	if res.Unit != "Bytes" || len(res.TopContributors) != 3 {
		t.Fatalf("results: unit %q, %d rows, want Bytes and 3:\n%s", res.Unit, len(res.TopContributors), out)
	}
	if !reflect.DeepEqual(res.TopContributors[0], seed[0]) {
		t.Errorf("first row round-tripped through the CLI as\n%+v\nwant\n%+v", res.TopContributors[0], seed[0])
	}
	if pages := f.CallsOf(GetQueryResults); len(pages) != 2 || pages[1].Query.Get("nextToken") == "" {
		t.Errorf("results calls = %+v, want 2 pages, the second with a nextToken", pages)
	}

	// --page-size is maxResults; the NAT row is UNCLASSIFIED.
	out, _, err = awsCLI(t, f, "start-query-monitor-top-contributors", "--monitor-name", "eks-prod",
		"--start-time", "2026-11-21T00:00:00Z", "--end-time", "2026-11-22T00:00:00Z",
		"--metric-name", "DATA_TRANSFERRED", "--destination-category", "UNCLASSIFIED")
	if err != nil {
		t.Fatal(err)
	}
	decode(t, out, &sq)
	awsCLI(t, f, "get-query-status-monitor-top-contributors", "--monitor-name", "eks-prod", "--query-id", sq.QueryID)
	awsCLI(t, f, "get-query-status-monitor-top-contributors", "--monitor-name", "eks-prod", "--query-id", sq.QueryID)
	out, stderr, err = awsCLI(t, f, "get-query-results-monitor-top-contributors", "--monitor-name", "eks-prod", "--query-id", sq.QueryID, "--page-size", "1")
	if err != nil {
		t.Fatalf("get-query-results: %v\n%s", err, stderr)
	}
	res.TopContributors = nil
	decode(t, out, &res)
	if len(res.TopContributors) != 1 || !reflect.DeepEqual(res.TopContributors[0], seed[3]) {
		t.Errorf("UNCLASSIFIED rows = %+v", res.TopContributors)
	}
	if pages := f.CallsOf(GetQueryResults); pages[len(pages)-1].Query.Get("maxResults") != "1" {
		t.Errorf("--page-size 1 sent %v", pages[len(pages)-1].Query)
	}

	if _, stderr, err = awsCLI(t, f, "stop-query-monitor-top-contributors", "--monitor-name", "eks-prod", "--query-id", sq.QueryID); err != nil {
		t.Fatalf("stop-query: %v\n%s", err, stderr)
	}
	if c := f.CallsOf(StopQuery); len(c) != 1 || c[0].Method != "DELETE" || c[0].Path != "/monitors/eks-prod/topContributorsQueries/"+sq.QueryID {
		t.Errorf("stop calls = %+v", c)
	}
}

// TestAWSCLIErrors: the CLI reads the fake's errors as the model's
// exceptions, by code.
func TestAWSCLIErrors(t *testing.T) {
	f := Start(t)
	f.AddMonitor("eks-prod", "ACTIVE")
	for _, e := range []Error{AccessDenied, Throttling, QuotaExceeded} {
		f.Fail(ListMonitors, e)
		_, stderr, err := awsCLI(t, f, "list-monitors")
		if err == nil || !strings.Contains(stderr, "("+e.Code+") when calling the ListMonitors operation") {
			t.Errorf("%s: err %v, stderr %q", e.Code, err, stderr)
		}
	}
	// Missing resources, and the fake's own validation of what it is sent.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"get-monitor", "--monitor-name", "nope"}, "(ResourceNotFoundException) when calling the GetMonitor operation"},
		{[]string{"start-query-monitor-top-contributors", "--monitor-name", "eks-prod", "--start-time", "2026-11-22T00:00:00Z",
			"--end-time", "2026-11-21T00:00:00Z", "--metric-name", "DATA_TRANSFERRED", "--destination-category", "INTER_AZ"}, "(ValidationException)"},
		{[]string{"get-query-results-monitor-top-contributors", "--monitor-name", "eks-prod", "--query-id", "nope"}, "(ResourceNotFoundException)"},
	} {
		_, stderr, err := awsCLI(t, f, c.args...)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: err %v, stderr %q, want %q", c.args[0], err, stderr, c.want)
		}
	}
}

// TestStrict: the fake refuses what the service refuses, so a client that
// passes it builds its requests right.
func TestStrict(t *testing.T) {
	f := Start(t)
	f.AddMonitor("eks-prod", "ACTIVE")
	const auth = "AWS4-HMAC-SHA256 Credential=test/20261122/us-east-1/networkflowmonitor/aws4_request, SignedHeaders=host;x-amz-date, Signature=" +
		"0000000000000000000000000000000000000000000000000000000000000000"
	do := func(method, path, body string, signed bool) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, f.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if signed {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype")
	}
	const start = "/monitors/eks-prod/topContributorsQueries"
	good := `{"startTime":"2026-11-21T00:00:00Z","endTime":"2026-11-22T00:00:00Z","metricName":"DATA_TRANSFERRED","destinationCategory":"INTER_AZ"}`
	for _, c := range []struct {
		name, method, path, body string
		signed                   bool
		status                   int
		code                     string
	}{
		{"unsigned", "GET", "/monitors", "", false, 403, "MissingAuthenticationTokenException"},
		{"unknown query parameter", "GET", "/monitors?scopeId=x", "", true, 400, "ValidationException"},
		{"maxResults over 25", "GET", "/monitors?maxResults=26", "", true, 400, "ValidationException"},
		{"body on a GET", "GET", "/monitors", "{}", true, 400, "ValidationException"},
		{"bad nextToken", "GET", "/monitors?nextToken=abc", "", true, 400, "ValidationException"},
		{"unknown field", "POST", start, strings.Replace(good, "{", `{"scopeId":"s",`, 1), true, 400, "ValidationException"},
		{"missing metricName", "POST", start, strings.Replace(good, `"metricName":"DATA_TRANSFERRED",`, "", 1), true, 400, "ValidationException"},
		{"unknown category", "POST", start, strings.Replace(good, "INTER_AZ", "NAT_GATEWAY", 1), true, 400, "ValidationException"},
		{"limit over 500", "POST", start, strings.Replace(good, "{", `{"limit":501,`, 1), true, 400, "ValidationException"},
		{"epoch time", "POST", start, strings.Replace(good, `"2026-11-21T00:00:00Z"`, "1795219200", 1), true, 400, "ValidationException"},
		{"unknown monitor", "POST", "/monitors/nope/topContributorsQueries", good, true, 404, "ResourceNotFoundException"},
		{"bad monitor name", "GET", "/monitors/a%20b", "", true, 400, "ValidationException"},
		{"no such operation", "PUT", "/monitors", "", true, 404, "UnknownOperationException"},
		{"good", "POST", start, good, true, 200, ""},
		{"results before SUCCEEDED", "GET", start + "/" + queryID(1) + "/results", "", true, 400, "ValidationException"},
	} {
		if status, code := do(c.method, c.path, c.body, c.signed); status != c.status || code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, code, c.status, c.code)
		}
	}
}
