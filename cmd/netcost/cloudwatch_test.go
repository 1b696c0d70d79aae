package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/sample"
)

// TestAWSFlagsUsage: the shared AWS flags are checked before any work, on
// every command that reads records, with one line and exit 2. (With a file
// source they are an error whatever their values: flags_test.go.)
func TestAWSFlagsUsage(t *testing.T) {
	for _, cmd := range readCommands {
		for _, src := range []string{"cloudwatch", "nfm"} {
			args := append(append([]string{}, cmd...), "--source", src, "--endpoint-url", "localhost:4566", "--region",
				"us-east-1", "--profile", "p")
			code, out, errs := netcost(t, args...)
			if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs,
				`--endpoint-url "localhost:4566" is not a URL: want http(s)://HOST[:PORT]`) {
				t.Errorf("netcost %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
			}
		}
	}
}

// recentRecords is the sample scenario over the last few minutes (CloudWatch
// refuses events older than 14 days), as a file store, with the window
// flags that cover it.
type recentRecords struct {
	recs   []flows.Record
	nodes  []string
	file   string
	window []string
}

func newRecentRecords(t *testing.T, windows int) recentRecords {
	t.Helper()
	opt := sample.DefaultOptions()
	opt.Windows = windows
	opt.Start = time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(windows+5) * time.Minute)
	var rr recentRecords
	var b []byte
	if err := sample.Generate(opt, func(node string, r *flows.Record) error {
		rr.recs, rr.nodes = append(rr.recs, *r), append(rr.nodes, node)
		b = append(flows.AppendJSON(b, r), '\n')
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rr.file = filepath.Join(t.TempDir(), "flows.jsonl")
	if err := os.WriteFile(rr.file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rr.window = []string{"--start", opt.Start.Format(time.RFC3339), "--end",
		opt.Start.Add(time.Duration(windows) * time.Minute).Format(time.RFC3339)}
	return rr
}

// putToMoto publishes the records as the agents do: EMF lines, one stream
// per node, with PutLogEvents.
func putToMoto(t *testing.T, endpoint, group string, rr recentRecords, extra ...types.InputLogEvent) {
	t.Helper()
	streams := map[string][]types.InputLogEvent{}
	for i := range rr.recs {
		streams[rr.nodes[i]] = append(streams[rr.nodes[i]],
			types.InputLogEvent{Message: aws.String(insightstest.EMF(&rr.recs[i])),
				Timestamp: aws.Int64(rr.recs[i].TS.UnixMilli())})
	}
	if len(extra) > 0 {
		streams["bad-node"] = extra
	}
	mototest.PutLogEvents(t, endpoint, group, streams)
}

// sameAsFile runs top over a cloudwatch source and over the records' file
// and asserts the outputs are the same but for the source's name.
func sameAsFile(t *testing.T, rr recentRecords, cwArgs []string, args ...string) string {
	t.Helper()
	base := append(append([]string{"top"}, args...), rr.window...)
	want := mustRun(t, append(base, "--source", "file:"+rr.file)...)
	got := mustRun(t, append(append(base, "--source"), cwArgs...)...)
	if strings.Contains(strings.Join(args, " "), "-o json") {
		var g, w map[string]any
		if err := json.Unmarshal([]byte(got), &g); err != nil {
			t.Fatalf("%v\n%s", err, got)
		}
		json.Unmarshal([]byte(want), &w)
		if !strings.HasPrefix(g["source"].(string), "cloudwatch:") {
			t.Errorf("source = %v", g["source"])
		}
		g["source"], w["source"] = nil, nil
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		got, want = string(gb), string(wb)
	}
	if got != want {
		t.Fatalf("top %s: cloudwatch (%s) and file differ:\n--- cloudwatch\n%s\n--- file\n%s", strings.Join(args, " "),
			strings.Join(cwArgs, " "), got, want)
	}
	return got
}

// TestCloudWatchMoto runs the cloudwatch source against moto: one server
// for its subtests.
func TestCloudWatchMoto(t *testing.T) {
	moto := mototest.Start(t)
	insightstest.AWSEnv(t)
	t.Run("exact", func(t *testing.T) { testCloudWatchExact(t, moto) })
	t.Run("bad input", func(t *testing.T) { testCloudWatchBadInput(t, moto) })
}

// testCloudWatchExact: records published to CloudWatch Logs (moto) and
// read back with --exact give exactly what the same records give from a
// file, for the inter-AZ and NAT views.
func testCloudWatchExact(t *testing.T, moto string) {
	rr := newRecentRecords(t, 5)
	putToMoto(t, moto, "/netcost/flows", rr)
	cw := []string{"cloudwatch", "--exact", "--endpoint-url", moto, "--region", "us-east-1"}
	for _, cat := range []string{"inter-az", "nat"} {
		for _, o := range []string{"json", "table"} {
			out := sameAsFile(t, rr, cw, "--category", cat, "-o", o, "--limit", "0")
			if o == "table" && !strings.Contains(out, "total "+cat) {
				t.Errorf("%s table:\n%s", cat, out)
			}
		}
	}
	sameAsFile(t, rr, cw, "--category", "nat", "--group-by", "workload", "-o", "json")
}

// testCloudWatchBadInput: what a user can get wrong against CloudWatch
// gives one line and exit 2; bad records name their stream and event.
func testCloudWatchBadInput(t *testing.T, moto string) {
	rr := newRecentRecords(t, 1)
	bad := types.InputLogEvent{Message: aws.String(`{"_aws":{},"schema":1,"ts":"` + rr.recs[0].TS.Format(time.RFC3339) +
		`","window_s":60,"bytes":"many"`),
		Timestamp: aws.Int64(rr.recs[0].TS.UnixMilli())}
	putToMoto(t, moto, "/bad/flows", rr, bad)
	aws := []string{"--endpoint-url", moto, "--region", "us-east-1"}
	run := func(args ...string) (int, string, string) {
		return netcost(t, append(append(append([]string{"top", "--category", "nat"}, rr.window...), aws...), args...)...)
	}
	code, out, errs := run("--source", "cloudwatch:/nope", "--exact")
	if code != 2 || out != "" || errs != "netcost: CloudWatch Logs FilterLogEvents: log group \"/nope\" not found: The "+
		"specified log group does not exist. (check the name and --region)\n" {
		t.Errorf("missing log group: exit %d, %q", code, errs)
	}
	code, _, errs = run("--source", "cloudwatch:/bad/flows", "--exact")
	if code != 2 || strings.Count(errs, "\n") != 1 ||
		!regexp.MustCompile(`^netcost: log group "/bad/flows", stream "bad-node", event \d+: .+ `+
			`\(fix the record, or pass --strict=false to skip bad records\)\n$`).MatchString(errs) {
		t.Errorf("bad record: exit %d, %q", code, errs)
	}
	code, out, _ = run("--source", "cloudwatch:/bad/flows", "--exact", "--strict=false", "-o", "json")
	var res struct {
		Skipped int64 `json:"skipped_lines"`
		Records int64 `json:"records"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Skipped != 1 || res.Records == 0 {
		t.Errorf("--strict=false: exit %d, %s", code, out)
	}
	// Insights against an endpoint that does not run stats (moto).
	code, _, errs = run("--source", "cloudwatch:/bad/flows")
	if code != 1 || errs != "netcost: log group \"/bad/flows\": the Logs Insights answer has no stats fields: the "+
		"endpoint does not run Logs Insights stats (moto does not): use --exact\n" {
		t.Errorf("insights on moto: exit %d, %q", code, errs)
	}
	// No region at all.
	code, _, errs = netcost(t, append(append([]string{"top", "--category", "nat", "--source", "cloudwatch"}, rr.window...),
		"--endpoint-url", moto)...)
	if code != 2 || errs != "netcost: no AWS region: set --region or AWS_REGION\n" {
		t.Errorf("no region: exit %d, %q", code, errs)
	}
	// An unknown profile.
	code, _, errs = run("--source", "cloudwatch:/bad/flows", "--profile", "nobody")
	if code != 2 || !strings.HasPrefix(errs, `netcost: AWS profile "nobody" is not in the shared config files`) {
		t.Errorf("unknown profile: exit %d, %q", code, errs)
	}
}

// TestTopCloudWatchInsights: the default mode, through the CLI against a
// server that speaks the Logs API and runs the stats queries, says what
// files say.
func TestTopCloudWatchInsights(t *testing.T) {
	insightstest.AWSEnv(t)
	rr := newRecentRecords(t, 5)
	srv := insightstest.Start(t)
	srv.Instant = true // the CLI's first poll is after 500 ms
	srv.PutRecords("/eks/prod/flows", rr.nodes, rr.recs)
	cw := []string{"cloudwatch:/eks/prod/flows", "--endpoint-url", srv.URL, "--region", "us-east-1"}
	for _, cat := range []string{"inter-az", "nat"} {
		sameAsFile(t, rr, cw, "--category", cat, "-o", "json", "--limit", "0")
		sameAsFile(t, rr, cw, "--category", cat, "-o", "table", "--group-by", "namespace")
	}
	if n := len(srv.Queries()); n != 12 {
		t.Errorf("%d Logs Insights queries, want 3 per run (view, span, count)", n)
	}
	srv.Fail = "ThrottlingException"
	code, _, errs := netcost(t, append(append([]string{"top", "--category", "nat", "--source"}, cw...), rr.window...)...)
	if code != 1 || errs != "netcost: CloudWatch Logs StartQuery: throttled by AWS (ThrottlingException: injected "+
		"ThrottlingException): retry later, or ask for a smaller window\n" {
		t.Errorf("throttled: exit %d, %q", code, errs)
	}
}
