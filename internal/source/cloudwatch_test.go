package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/usage"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "cloudwatch", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/source -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fastPolls makes the Insights polling quick for the fake.
func fastPolls(t testing.TB) {
	first, maxd := insightsPollFirst, insightsPollMax
	insightsPollFirst, insightsPollMax = 5*time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { insightsPollFirst, insightsPollMax = first, maxd })
}

// TestInsightsQueries pins the Logs Insights query text of every view.
func TestInsightsQueries(t *testing.T) {
	var b strings.Builder
	for _, c := range flows.Categories {
		v := View(c)
		fmt.Fprintf(&b, "# top --category %s\n%s\n\n", c.CLIName(), statsQuery(&v, byteRange{}))
	}
	fmt.Fprintf(&b, "# recommend (every record)\n%s\n\n# span (every record)\n%s\n",
		statsQuery(nil, byteRange{}), spanQuery(byteRange{}))
	// One second's records split by size: [0, 2^50*2) halves to 2^25...
	nat := View(flows.NATGateway)
	p := byteRange{}
	for range 3 {
		a, b2, ok := p.split()
		if !ok {
			t.Fatalf("%+v does not split", p)
		}
		fmt.Fprintf(&b, "\n# nat, records of %+v\n%s\n", a, statsQuery(&nat, a))
		p = b2
	}
	fmt.Fprintf(&b, "\n# span, records of %+v\n%s\n", p, spanQuery(p))
	fmt.Fprintf(&b, "\n# count, the check of the groups (nat)\n%s\n", countQuery(&nat, byteRange{}))
	golden(t, "queries.txt", []byte(b.String()))
}

// TestInsightsResults parses a GetQueryResults answer shaped as the real
// API's (served to the real SDK client) into records.
func TestInsightsResults(t *testing.T) {
	insightstest.AWSEnv(t)
	fastPolls(t)
	srv := insightstest.Start(t)
	srv.Put(DefaultLogGroup)
	canned, err := os.ReadFile("testdata/cloudwatch/results-nat.json")
	if err != nil {
		t.Fatal(err)
	}
	srv.Results = canned
	c, err := newLogsClient(context.Background(), awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cw := &cloudWatchScan{c: c, group: DefaultLogGroup}
	q := &insightsRunner{cw: cw, sem: make(chan struct{}, 1)}
	nat := View(flows.NATGateway)
	w := Window{time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	rows, err := q.run(context.Background(), func(p byteRange) string { return statsQuery(&nat, p) }, w, byteRange{})
	if err != nil {
		t.Fatal(err)
	}
	groups, skipped, err := parseGroups(rows, false)
	if err != nil || skipped != 0 {
		t.Fatalf("parseGroups: %v (skipped %d)", err, skipped)
	}
	var out bytes.Buffer
	for _, g := range groups {
		fmt.Fprintf(&out, "%d records: %s\n", g.n, flows.AppendJSON(nil, &g.rec))
	}
	golden(t, "results-nat.golden", out.Bytes())
	qs := srv.Queries()
	if len(qs) != 1 || qs[0].StartTime != w.Start.Unix() || qs[0].EndTime != w.End.Unix()-1 ||
		qs[0].Limit != insightsRowLimit || qs[0].Text != statsQuery(&nat, byteRange{}) {
		t.Errorf("StartQuery got %+v", qs)
	}
}

func TestInsightsBadGroups(t *testing.T) {
	row := func(kv ...string) (r []types.ResultField) {
		for i := 0; i < len(kv); i += 2 {
			r = append(r, types.ResultField{Field: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return r
	}
	good := []string{"region", "us-east-1", "direction", "egress", "category", "INTERNET", "local_ip", "10.0.1.5",
		"remote_ip", "1.2.3.4", "sum_bytes", "100", "records", "2"}
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{append(good[:len(good):len(good)], "category", "internet"),
			`category "internet": want a record name such as INTERNET`},
		{append(good[:len(good):len(good)], "direction", "out"), `unknown direction "out"`},
		{append(good[:len(good):len(good)], "sum_bytes", "1.5"), `sum of bytes "1.5" is not a whole number`},
		{append(good[:len(good):len(good)], "remote_port", "70000"), `remote_port=70000`},
		{append(good[:len(good):len(good)], "local_ip", "pod-a"), `local_ip: "pod-a" is not an IP address`},
		{append(good[:len(good):len(good)], "remote_reported", "yes"), `remote_reported "yes": want 1 or 0`},
		{append(good[:len(good):len(good)], "remote_lb", "alb/web"), `remote_lb: "alb/web" is not a load balancer`},
		{append(good[:len(good):len(good)], "node_instance_id", "i-xyz"), `node_instance_id: "i-xyz" is not an EC2 instance`},
	} {
		_, _, err := parseGroups([][]types.ResultField{row(tc.kv...)}, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "a group of 2 records (") {
			t.Errorf("%v: got %v, want %q", tc.kv, err, tc.want)
		}
		groups, skipped, err := parseGroups([][]types.ResultField{row(tc.kv...), row(good...)}, true)
		if err != nil || skipped != 2 || len(groups) != 1 || groups[0].rec.Bytes != 100 || groups[0].n != 2 {
			t.Errorf("lenient %v: %v, %d skipped, %+v", tc.kv, err, skipped, groups)
		}
	}
}

// TestInsightsOptionalFields: a group's remote_reported, remote_lb and
// node_instance_id come back as the records had them, an absent
// remote_reported (no field, or no value) apart from a false one.
func TestInsightsOptionalFields(t *testing.T) {
	base := []types.ResultField{
		{Field: aws.String("region"), Value: aws.String("us-east-1")},
		{Field: aws.String("direction"), Value: aws.String("ingress")},
		{Field: aws.String("category"), Value: aws.String("INTER_AZ")},
		{Field: aws.String("local_ip"), Value: aws.String("10.0.1.5")},
		{Field: aws.String("remote_ip"), Value: aws.String("10.0.2.200")},
		{Field: aws.String("sum_bytes"), Value: aws.String("100")},
		{Field: aws.String("records"), Value: aws.String("2")},
	}
	for _, tc := range []struct {
		field, value string // none when field is ""
		want         func(*flows.Record)
	}{
		{"", "", func(*flows.Record) {}},
		{"remote_reported", "", func(*flows.Record) {}},
		{"remote_reported", "0", func(r *flows.Record) { r.RemoteReportedRaw = flows.BoolFalse }},
		{"remote_reported", "1", func(r *flows.Record) { r.RemoteReportedRaw = flows.BoolTrue }},
		{"remote_reported", "false", func(r *flows.Record) { r.RemoteReportedRaw = flows.BoolFalse }},
		{"remote_reported", "true", func(r *flows.Record) { r.RemoteReportedRaw = flows.BoolTrue }},
		{"remote_lb", "app/web/50dc6c495c0c9188", func(r *flows.Record) { r.RemoteLB = "app/web/50dc6c495c0c9188" }},
		{"remote_lb", "classic/legacy-web", func(r *flows.Record) { r.RemoteLB = "classic/legacy-web" }},
		{"node_instance_id", "i-0a1b2c3d4e5f60001", func(r *flows.Record) { r.NodeInstanceID = "i-0a1b2c3d4e5f60001" }},
	} {
		row := slices.Clone(base)
		if tc.field != "" {
			row = append(row, types.ResultField{Field: aws.String(tc.field), Value: aws.String(tc.value)})
		}
		groups, _, err := parseGroups([][]types.ResultField{row}, false)
		if err != nil {
			t.Fatalf("%s=%q: %v", tc.field, tc.value, err)
		}
		want := flows.Record{Schema: 1, TS: time.Unix(0, 0).UTC(), WindowS: 1, Region: "us-east-1", Direction: flows.Ingress,
			Category: flows.InterAZ, Protocol: flows.TCP, LocalIP: "10.0.1.5", RemoteIP: "10.0.2.200", Bytes: 100}
		tc.want(&want)
		if got := groups[0].rec; got != want {
			t.Errorf("%s=%q: record\n%+v\nwant\n%+v", tc.field, tc.value, got, want)
		}
	}
}

func TestByteRangeSplit(t *testing.T) {
	// Every split is exact (the halves tile the range) and ends at single
	// values: walked in full below 4096 bytes, to depth 12 above.
	var walk func(p byteRange, depth int)
	walk = func(p byteRange, depth int) {
		a, b, ok := p.split()
		if !ok {
			if p.Hi-p.Lo != 1 {
				t.Fatalf("%+v does not split", p)
			}
			return
		}
		if a.Lo != p.Lo || a.Hi != b.Lo || b.Hi != p.Hi || a.Hi <= a.Lo || (b.Hi != 0 && b.Hi <= b.Lo) {
			t.Fatalf("%+v split into %+v %+v", p, a, b)
		}
		if depth > 60 {
			t.Fatalf("%+v: no end", p)
		}
		if p.Hi != 0 && p.Hi-p.Lo <= 4096 || depth < 12 {
			walk(a, depth+1)
			walk(b, depth+1)
		}
	}
	walk(byteRange{}, 0)
	// Any range reaches a single value within 60 splits, on either side.
	for _, lower := range []bool{true, false} {
		p := byteRange{}
		for depth := 0; ; depth++ {
			a, b, ok := p.split()
			if !ok {
				break
			}
			if depth > 60 {
				t.Fatalf("lower %v: no end at %+v", lower, p)
			}
			if p = b; lower {
				p = a
			}
		}
	}
}

// TestInsightsCLIProof checks the fake against the aws CLI v1, which
// builds its requests and reads its answers from the real API model.
func TestInsightsCLIProof(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
			t.Fatal("the aws CLI is not installed; CI needs it")
		}
		t.Skip("the aws CLI is not installed")
	}
	insightstest.AWSEnv(t)
	srv := insightstest.Start(t)
	srv.Put(DefaultLogGroup,
		insightstest.Event{Stream: "n", Timestamp: time.Unix(1763629200, 0), Message: `{"category":"INTER_AZ","bytes":5}`},
		insightstest.Event{Stream: "n", Timestamp: time.Unix(1763629260, 0), Message: `{"category":"INTER_AZ","bytes":7}`})
	cli := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"logs", "--endpoint-url", srv.URL, "--region", "us-east-1",
			"--output", "json"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws logs %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("aws logs %s: %v\n%s", args[0], err, out)
		}
		return m
	}
	v := View(flows.InterAZ)
	started := cli("start-query", "--log-group-name", DefaultLogGroup, "--start-time", "1763629200",
		"--end-time", "1763629319", "--limit", "10000",
		"--query-string", strings.ReplaceAll(statsQuery(&v, byteRange{}), "local_ip, ", ""))
	id, _ := started["queryId"].(string)
	if id == "" {
		t.Fatalf("start-query: %v", started)
	}
	if r := cli("get-query-results", "--query-id", id); r["status"] != "Running" {
		t.Errorf("first poll: %v", r)
	}
	r := cli("get-query-results", "--query-id", id)
	b, _ := json.Marshal(r["results"])
	if r["status"] != "Complete" || string(b) != `[[{"field":"category","value":"INTER_AZ"},`+
		`{"field":"sum_bytes","value":"12"},{"field":"records","value":"2"}]]` {
		t.Errorf("results: %v", r)
	}
	if st, _ := r["statistics"].(map[string]any); st["recordsMatched"] != 2.0 {
		t.Errorf("statistics: %v", r["statistics"])
	}
	if r := cli("stop-query", "--query-id", id); r["success"] != true {
		t.Errorf("stop-query: %v", r)
	}
	q := srv.Queries()[0]
	if q.StartTime != 1763629200 || q.EndTime != 1763629319 || q.Limit != 10000 || !q.Stopped {
		t.Errorf("the fake read the CLI's request as %+v", q)
	}
	// The SDK reads the fake's error shape as the API's.
	c, err := newLogsClient(context.Background(), awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("nope")})
	e := awscfg.Explain(err, "")
	if e == nil || !errors.Is(e, usage.Err) || !strings.Contains(e.Error(), "not found: Query does not exist.") {
		t.Errorf("unknown query id: %v", e)
	}
}
