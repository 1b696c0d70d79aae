package query

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/usage"
)

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
// same records say from files, and read back from CloudWatch Logs (moto)
// with --exact, for every view and grouping: the groups Logs Insights
// sums by hold every field the cost model reads. The records carry
// remote_reported, remote_lb and node_instance_id in every state.
func TestInsightsMatchesFiles(t *testing.T) {
	insightstest.AWSEnv(t)
	recs, nodes, start, end := insightstest.Sample(t)
	// CloudWatch Logs takes events of the last 14 days only.
	shift := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute).Sub(start)
	for i := range recs {
		recs[i].TS = recs[i].TS.Add(shift)
	}
	start, end = start.Add(shift), end.Add(shift)
	srv := insightstest.Start(t)
	srv.PutRecords(source.DefaultLogGroup, nodes, recs)
	moto := mototest.Start(t)
	streams := map[string][]types.InputLogEvent{}
	for i := range recs {
		streams[nodes[i]] = append(streams[nodes[i]], types.InputLogEvent{Message: aws.String(insightstest.EMF(&recs[i])),
			Timestamp: aws.Int64(recs[i].TS.UnixMilli())})
	}
	mototest.PutLogEvents(t, moto, source.DefaultLogGroup, streams)
	file := source.Spec{Kind: "file", Path: insightstest.WriteStore(t, recs)}
	cw := source.Spec{Kind: "cloudwatch", Path: source.DefaultLogGroup}
	ao := awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}
	w := source.Window{Start: start, End: end}
	for _, c := range flows.Categories {
		for _, g := range []costmodel.GroupBy{costmodel.ByPod, costmodel.ByWorkload, costmodel.ByNamespace} {
			want := topJSON(t, TopOptions{Options: Options{Source: file, Window: w}, Category: c, GroupBy: g})
			got := topJSON(t, TopOptions{Options: Options{Source: cw, Window: w, AWS: ao}, Category: c, GroupBy: g})
			if got != want {
				t.Fatalf("%s by %s: Insights differs from files:\n--- insights\n%s\n--- files\n%s", c.CLIName(), g, got, want)
			}
			exact := topJSON(t, TopOptions{Options: Options{Source: cw, Window: w, Exact: true,
				AWS: awscfg.Options{Region: "us-east-1", EndpointURL: moto}}, Category: c, GroupBy: g})
			if exact != want {
				t.Fatalf("%s by %s: --exact differs from files:\n--- exact\n%s\n--- files\n%s", c.CLIName(), g, exact, want)
			}
		}
	}
	// The new fields change the inter-AZ figures: without them the
	// records price otherwise.
	old := slices.Clone(recs)
	for i := range old {
		old[i].RemoteReportedRaw, old[i].RemoteLB, old[i].NodeInstanceID = flows.BoolUnset, "", ""
	}
	oldFile := source.Spec{Kind: "file", Path: insightstest.WriteStore(t, old)}
	if topJSON(t, TopOptions{Options: Options{Source: oldFile, Window: w}, Category: flows.InterAZ}) ==
		topJSON(t, TopOptions{Options: Options{Source: file, Window: w}, Category: flows.InterAZ}) {
		t.Error("the sample's remote_reported and remote_lb do not change the inter-AZ view")
	}
	// A non-trivial view: the NAT view has rows and its records are counted.
	res, err := Top(context.Background(), costmodel.New(nil), TopOptions{Options: Options{Source: cw, Window: w, AWS: ao},
		Category: flows.NATGateway})
	if err != nil || len(res.Rows) == 0 || res.Records == 0 || !res.Start.Equal(w.Start) || !res.End.Equal(w.End) {
		t.Fatalf("nat view: %v %+v", err, res)
	}
	// recommend reads every record: the same advice from both.
	var advice []string
	for _, src := range []source.Spec{file, cw} {
		rec, err := Recommend(context.Background(), costmodel.New(nil), Options{Source: src, Window: w, AWS: ao}, costmodel.AdviseOptions{})
		if err != nil || len(rec.Recommendations) == 0 {
			t.Fatalf("recommend from %s: %v %+v", src, err, rec)
		}
		rec.Source = ""
		b, _ := json.Marshal(rec)
		advice = append(advice, string(b))
	}
	if advice[0] != advice[1] {
		t.Errorf("recommend differs:\n%s\n%s", advice[0], advice[1])
	}
}

// TestUnknownRegion: records of a region without prices are bad input
// (exit 2), from a file store and from a log group, where the error says
// which records.
func TestUnknownRegion(t *testing.T) {
	insightstest.AWSEnv(t)
	recs, nodes, start, end := insightstest.Sample(t)
	for i := range recs {
		recs[i].Region = "mars-east-1"
	}
	srv := insightstest.Start(t)
	srv.PutRecords(source.DefaultLogGroup, nodes, recs)
	w := source.Window{Start: start, End: end}
	for _, opts := range []Options{
		{Source: source.Spec{Kind: "file", Path: insightstest.WriteStore(t, recs)}, Window: w},
		{Source: source.Spec{Kind: "cloudwatch", Path: source.DefaultLogGroup}, Window: w,
			AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}},
	} {
		_, err := Top(context.Background(), costmodel.New(nil), TopOptions{Options: opts, Category: flows.InterAZ})
		if !errors.Is(err, costmodel.ErrUnknownRegion) || !errors.Is(err, usage.Err) {
			t.Errorf("%s: %v; want a usage error for the unknown region", opts.Source, err)
		}
	}
}
