package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
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

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/sample"
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
		t.Fatalf("%v (run go test ./internal/query -update)", err)
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

func TestParseSourceCloudWatch(t *testing.T) {
	for in, want := range map[string]string{"cloudwatch": DefaultLogGroup, "cloudwatch:": DefaultLogGroup, "cloudwatch:/eks/prod/netcost": "/eks/prod/netcost"} {
		s, err := ParseSource(in)
		if err != nil || s.Kind != "cloudwatch" || s.Path != want || s.String() != "cloudwatch:"+want {
			t.Errorf("ParseSource(%q) = %+v, %v", in, s, err)
		}
	}
	if _, err := ParseSource("cloudwatch:/bad group"); err == nil || !errors.Is(err, usage.Err) || !strings.Contains(err.Error(), "a log group name is 1 to 512 of") {
		t.Errorf("bad log group: %v", err)
	}
}

// TestInsightsQueries pins the Logs Insights query text of every view.
func TestInsightsQueries(t *testing.T) {
	var b strings.Builder
	for _, c := range flows.Categories {
		v := View(c)
		fmt.Fprintf(&b, "# top --category %s\n%s\n\n", c.CLIName(), statsQuery(&v, byteRange{}))
	}
	fmt.Fprintf(&b, "# recommend (every record)\n%s\n\n# span (every record)\n%s\n", statsQuery(nil, byteRange{}), spanQuery(byteRange{}))
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
	if len(qs) != 1 || qs[0].StartTime != w.Start.Unix() || qs[0].EndTime != w.End.Unix()-1 || qs[0].Limit != insightsRowLimit || qs[0].Text != statsQuery(&nat, byteRange{}) {
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
	good := []string{"region", "us-east-1", "direction", "egress", "category", "INTERNET", "local_ip", "10.0.1.5", "remote_ip", "1.2.3.4", "sum_bytes", "100", "records", "2"}
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{append(good[:len(good):len(good)], "category", "internet"), `category "internet": want a record name such as INTERNET`},
		{append(good[:len(good):len(good)], "direction", "out"), `unknown direction "out"`},
		{append(good[:len(good):len(good)], "sum_bytes", "1.5"), `sum of bytes "1.5" is not a whole number`},
		{append(good[:len(good):len(good)], "remote_port", "70000"), `remote_port=70000`},
		{append(good[:len(good):len(good)], "local_ip", "pod-a"), `local_ip: "pod-a" is not an IP address`},
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

// sampleRecords returns three windows of the sample scenario, written as a
// file store and as EMF events in a fake's log group.
func sampleRecords(t *testing.T) (recs []flows.Record, nodes []string, w Window) {
	t.Helper()
	opt := sample.DefaultOptions()
	opt.Windows = 3
	if err := sample.Generate(opt, func(node string, r *flows.Record) error {
		if r.RemotePod == "" && r.RemoteNode == "" && r.RemoteIP != flows.OtherIP {
			// Outside remotes change over time, as a CDN's addresses do, so
			// that a shorter window has fewer groups.
			a := netip.MustParseAddr(r.RemoteIP).As4()
			a[3] += byte(r.TS.Sub(opt.Start) / time.Minute)
			r.RemoteIP = netip.AddrFrom4(a).String()
		}
		recs, nodes = append(recs, *r), append(nodes, node)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs, nodes, Window{opt.Start, opt.Start.Add(3 * time.Minute)}
}

func writeFileStore(t *testing.T, recs []flows.Record) string {
	var b []byte
	for i := range recs {
		b = append(flows.AppendJSON(b, &recs[i]), '\n')
	}
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func topJSON(t *testing.T, opts TopOptions) string {
	t.Helper()
	res, err := Top(context.Background(), costmodel.New(nil), opts)
	if err != nil {
		t.Fatalf("Top(%s, %s): %v", opts.Source, opts.Category.CLIName(), err)
	}
	res.Source = ""
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInsightsMatchesFiles runs the whole Insights path (real SDK client,
// a server speaking the Logs API) and asserts `top` says exactly what the
// same records say from files, for every view and grouping, and again
// with a row limit small enough to split the window many times.
func TestInsightsMatchesFiles(t *testing.T) {
	insightstest.AWSEnv(t)
	fastPolls(t)
	recs, nodes, w := sampleRecords(t)
	srv := insightstest.Start(t)
	srv.PutRecords(DefaultLogGroup, nodes, recs)
	file := Source{Kind: "file", Path: writeFileStore(t, recs)}
	cw := Source{Kind: "cloudwatch", Path: DefaultLogGroup}
	ao := awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}
	same := func(c flows.Category, g costmodel.GroupBy, limit int) {
		t.Helper()
		want := topJSON(t, TopOptions{Options: Options{Source: file, Window: w}, Category: c, GroupBy: g})
		got := topJSON(t, TopOptions{Options: Options{Source: cw, Window: w, AWS: ao}, Category: c, GroupBy: g})
		if got != want {
			t.Fatalf("limit %d, %s by %s: Insights differs from files:\n--- insights\n%s\n--- files\n%s", limit, c.CLIName(), g, got, want)
		}
	}
	groupings := []costmodel.GroupBy{costmodel.ByPod, costmodel.ByWorkload, costmodel.ByNamespace}
	for _, c := range flows.Categories {
		for _, g := range groupings {
			same(c, g, insightsRowLimit)
		}
	}
	// Row limits above the groups of one window, below those of three:
	// the window is split, the halves' rows merged.
	for c, limit := range map[flows.Category]int{flows.NATGateway: 15, flows.AmazonS3: 5, flows.AmazonDynamoDB: 3} {
		old := insightsRowLimit
		insightsRowLimit = limit
		for _, g := range groupings {
			before := len(srv.Queries())
			same(c, g, limit)
			if n := len(srv.Queries()) - before; n < 4 {
				t.Errorf("%s with a limit of %d rows: %d queries: the window was not split", c.CLIName(), limit, n)
			}
		}
		insightsRowLimit = old
	}
	// A non-trivial view: the NAT view has rows and its records are counted.
	res, err := Top(context.Background(), costmodel.New(nil), TopOptions{Options: Options{Source: cw, Window: w, AWS: ao}, Category: flows.NATGateway})
	if err != nil || len(res.Rows) == 0 || res.Records == 0 || !res.Start.Equal(w.Start) || !res.End.Equal(w.End) {
		t.Fatalf("nat view: %v %+v", err, res)
	}
	// recommend reads every record: the same advice from both.
	for _, src := range []Source{file, cw} {
		rec, err := Recommend(context.Background(), costmodel.New(nil), Options{Source: src, Window: w, AWS: ao}, costmodel.AdviseOptions{})
		if err != nil || len(rec.Recommendations) == 0 {
			t.Fatalf("recommend from %s: %v %+v", src, err, rec)
		}
		rec.Source = ""
		b, _ := json.Marshal(rec)
		if src == file {
			file.Path = string(b)
		} else if string(b) != file.Path {
			t.Errorf("recommend differs:\n%s\n%s", b, file.Path)
		}
	}
}

func TestInsightsErrors(t *testing.T) {
	insightstest.AWSEnv(t)
	fastPolls(t)
	srv := insightstest.Start(t)
	srv.Put(DefaultLogGroup)
	w := Window{time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	top := func(group string) error {
		_, err := Top(context.Background(), costmodel.New(nil), TopOptions{Options: Options{Source: Source{Kind: "cloudwatch", Path: group}, Window: w,
			AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}}, Category: flows.InterAZ})
		return err
	}
	err := top("/missing")
	if err == nil || !errors.Is(err, usage.Err) || err.Error() != `CloudWatch Logs StartQuery: log group "/missing" not found: The specified log group does not exist. (check the name and --region)` {
		t.Errorf("missing log group: %v", err)
	}
	srv.Fail = "AccessDeniedException"
	if err := top(DefaultLogGroup); err == nil || errors.Is(err, usage.Err) || !strings.Contains(err.Error(), "access denied on log group") || !strings.Contains(err.Error(), "logs:StartQuery") {
		t.Errorf("access denied: %v", err)
	}
	srv.Fail = ""
	// No region anywhere: a usage error before any call.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	_, err = Top(context.Background(), costmodel.New(nil), TopOptions{Options: Options{Source: Source{Kind: "cloudwatch", Path: DefaultLogGroup}, Window: w,
		AWS: awscfg.Options{EndpointURL: srv.URL}}, Category: flows.InterAZ})
	if err == nil || !errors.Is(err, usage.Err) || err.Error() != "no AWS region: set --region or AWS_REGION" {
		t.Errorf("no region: %v", err)
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

// TestInsightsOneSecond: more groups in one second than a query returns
// are split by the records' sizes, exactly; a single size that still
// holds too many gives an error that says to use --exact.
func TestInsightsOneSecond(t *testing.T) {
	insightstest.AWSEnv(t)
	fastPolls(t)
	recs, nodes, w := sampleRecords(t)
	srv := insightstest.Start(t)
	srv.PutRecords(DefaultLogGroup, nodes, recs)
	file := Source{Kind: "file", Path: writeFileStore(t, recs)}
	cw := Source{Kind: "cloudwatch", Path: DefaultLogGroup}
	ao := awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}
	old := insightsRowLimit
	defer func() { insightsRowLimit = old }()
	insightsRowLimit = 5 // the inter-AZ view has 12 groups a window
	for _, c := range []flows.Category{flows.InterAZ, flows.NATGateway} {
		want := topJSON(t, TopOptions{Options: Options{Source: file, Window: w}, Category: c})
		if got := topJSON(t, TopOptions{Options: Options{Source: cw, Window: w, AWS: ao}, Category: c}); got != want {
			t.Fatalf("%s split by size differs from files:\n--- insights\n%s\n--- files\n%s", c.CLIName(), got, want)
		}
	}
	if !slices.ContainsFunc(srv.Queries(), func(q insightstest.Query) bool { return strings.Contains(q.Text, "filter bytes >= ") }) {
		t.Error("no query was split by size")
	}
	// Three groups of one size in one second, two rows a query.
	srv2 := insightstest.Start(t)
	same := recs[:3]
	for i := range same {
		same[i].Bytes, same[i].Category, same[i].TS = 100, flows.Internet, w.Start
	}
	srv2.PutRecords(DefaultLogGroup, nodes, same)
	insightsRowLimit = 2
	_, err := Top(context.Background(), costmodel.New(nil), TopOptions{Options: Options{Source: cw, Window: w,
		AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv2.URL}}, Category: flows.Internet})
	if err == nil || !errors.Is(err, usage.Err) || !strings.Contains(err.Error(), "records of 100 bytes in the second at") || !strings.Contains(err.Error(), "use --exact to read the records instead") {
		t.Errorf("got %v", err)
	}
}

// TestInsightsCancel: Ctrl-C while queries run stops every started query.
func TestInsightsCancel(t *testing.T) {
	insightstest.AWSEnv(t)
	fastPolls(t)
	srv := insightstest.Start(t)
	srv.Put(DefaultLogGroup)
	srv.Hang = true
	srv.Polled = make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var progress bytes.Buffer
	done := make(chan error)
	go func() {
		_, err := Top(ctx, costmodel.New(nil), TopOptions{Options: Options{Source: Source{Kind: "cloudwatch", Path: DefaultLogGroup},
			AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}, Progress: &progress}, Category: flows.NATGateway})
		done <- err
	}()
	<-srv.Polled
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	qs := srv.Queries()
	if len(qs) != 2 {
		t.Fatalf("%d queries started, want 2 (view and span)", len(qs))
	}
	for _, q := range qs {
		if !q.Stopped {
			t.Errorf("query %s (%q) was not stopped", q.ID, q.Text)
		}
		// No window flag: the last 24 hours.
		if q.EndTime-q.StartTime != int64(CloudWatchDefaultWindow/time.Second)-1 {
			t.Errorf("query %s covers %d s", q.ID, q.EndTime-q.StartTime)
		}
	}
	if p := progress.String(); !strings.Contains(p, "\r\x1b[Knetcost: Logs Insights on log group \"/netcost/flows\": 0 of 2 queries done") || !strings.HasSuffix(p, "\r\x1b[K") {
		t.Errorf("progress output %q", p)
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
	srv.Put(DefaultLogGroup, insightstest.Event{Stream: "n", Timestamp: time.Unix(1763629200, 0), Message: `{"category":"INTER_AZ","bytes":5}`},
		insightstest.Event{Stream: "n", Timestamp: time.Unix(1763629260, 0), Message: `{"category":"INTER_AZ","bytes":7}`})
	cli := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"logs", "--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json"}, args...)...)
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
	started := cli("start-query", "--log-group-name", DefaultLogGroup, "--start-time", "1763629200", "--end-time", "1763629319",
		"--limit", "10000", "--query-string", strings.ReplaceAll(statsQuery(&v, byteRange{}), "local_ip, ", ""))
	id, _ := started["queryId"].(string)
	if id == "" {
		t.Fatalf("start-query: %v", started)
	}
	if r := cli("get-query-results", "--query-id", id); r["status"] != "Running" {
		t.Errorf("first poll: %v", r)
	}
	r := cli("get-query-results", "--query-id", id)
	b, _ := json.Marshal(r["results"])
	if r["status"] != "Complete" || string(b) != `[[{"field":"category","value":"INTER_AZ"},{"field":"sum_bytes","value":"12"},{"field":"records","value":"2"}]]` {
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
	if e := awscfg.Explain(err, ""); e == nil || !errors.Is(e, usage.Err) || !strings.Contains(e.Error(), "not found: Query does not exist.") {
		t.Errorf("unknown query id: %v", e)
	}
}
