package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/usage"
)

// reader is what the tests read from: a Store or a LogGroup.
type reader interface {
	Read(ctx context.Context, qs []*Query) ([]Span, error)
}

// groupSum is the bytes and records of one Logs Insights group.
type groupSum struct{ bytes, records int64 }

// groupSums reads view's records in w from r and sums them by every
// field but those Logs Insights need not group by (notGrouped): what a
// file store and Logs Insights must agree on, for a group's record to
// price as its records do.
func groupSums(t *testing.T, r reader, w Window, view *View) (map[string]groupSum, Span) {
	t.Helper()
	var mu sync.Mutex
	sums := map[string]groupSum{}
	q := &Query{Window: w, View: view, Begin: func(int) RecordFunc {
		clear(sums)
		return func(_ int, r *flows.Record, n int64) error {
			k := groupKey(t, r)
			mu.Lock()
			defer mu.Unlock()
			s := sums[k]
			s.bytes, s.records = s.bytes+int64(r.Bytes), s.records+n
			sums[k] = s
			return nil
		}
	}}
	sps, err := r.Read(t.Context(), []*Query{q})
	if err != nil {
		t.Fatalf("reading %v: %v", r, err)
	}
	return sums, sps[0]
}

// notGrouped are the record fields the Logs Insights sums leave out: the
// time, the counts, and what the cost model does not read.
var notGrouped = []string{"schema", "ts", "window_s", "cluster", "protocol", "bytes", "packets"}

// groupKey is the values of r's fields but notGrouped, as JSON.
func groupKey(t *testing.T, r *flows.Record) string {
	var all map[string]any
	if err := json.Unmarshal(flows.AppendJSON(nil, r), &all); err != nil {
		t.Fatal(err)
	}
	for _, f := range notGrouped {
		delete(all, f)
	}
	b, _ := json.Marshal(all)
	return string(b)
}

// TestGroupFields: Logs Insights groups by every field of a record but
// notGrouped, so that a field added to the record is added to the query.
func TestGroupFields(t *testing.T) {
	var want []string
	for f := range reflect.TypeFor[flows.Record]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !slices.Contains(notGrouped, name) {
			want = append(want, name)
		}
	}
	got := slices.Clone(groupFields)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("groupFields = %v; want %v", got, want)
	}
}

// sameAsFiles asserts that the log group answers view in w as the file
// store does: the same groups, bytes and records, the same span.
func sameAsFiles(t *testing.T, files *Store, group *LogGroup, w Window, view *View) {
	t.Helper()
	want, wantSpan := groupSums(t, files, w, view)
	got, gotSpan := groupSums(t, group, w, view)
	if !maps.Equal(got, want) {
		t.Errorf("view %v: Logs Insights has %d groups, files %d; they differ", *view, len(got), len(want))
	}
	if len(gotSpan.Notes) != 0 {
		t.Errorf("view %v: Logs Insights notes %q; want none", *view, gotSpan.Notes)
	}
	if !gotSpan.Start.Equal(wantSpan.Start) || !gotSpan.End.Equal(wantSpan.End) || gotSpan.Seen != wantSpan.Seen ||
		gotSpan.Matched != wantSpan.Matched || gotSpan.Matched == 0 {
		t.Errorf("view %v: Logs Insights span %+v; files %+v", *view, gotSpan, wantSpan)
	}
}

// withRowLimit lowers the rows a Logs Insights query returns.
func withRowLimit(t *testing.T, limit int) {
	old := insightsRowLimit
	insightsRowLimit = limit
	t.Cleanup(func() { insightsRowLimit = old })
}

// sampleEverywhere puts insightstest's sample records in a Logs Insights
// fake and in a file store, and returns both and the records' window.
func sampleEverywhere(t *testing.T) (*insightstest.Server, *Store, *LogGroup, Window) {
	t.Helper()
	insightstest.AWSEnv(t)
	fastPolls(t)
	recs, nodes, start, end := insightstest.Sample(t)
	srv := insightstest.Start(t)
	srv.PutRecords(DefaultLogGroup, nodes, recs)
	files := &Store{Path: insightstest.WriteStore(t, recs)}
	group := &LogGroup{Name: DefaultLogGroup, AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}}
	return srv, files, group, Window{start, end}
}

// TestInsightsSplitMatchesFiles: with a row limit above the groups of one
// window and below those of three, the window is split and the halves'
// rows merged into the same sums as the records from files.
func TestInsightsSplitMatchesFiles(t *testing.T) {
	srv, files, group, w := sampleEverywhere(t)
	for _, c := range []flows.Category{flows.NATGateway, flows.AmazonS3, flows.AmazonDynamoDB, flows.InterAZ} {
		v := View(c)
		sameAsFiles(t, files, group, w, &v) // the limit of the API: no split
	}
	for c, limit := range map[flows.Category]int{flows.NATGateway: 15, flows.AmazonS3: 5, flows.AmazonDynamoDB: 3} {
		withRowLimit(t, limit)
		before := len(srv.Queries())
		v := View(c)
		sameAsFiles(t, files, group, w, &v)
		if n := len(srv.Queries()) - before; n < 4 {
			t.Errorf("%s with a limit of %d rows: %d queries: the window was not split", c.CLIName(), limit, n)
		}
	}
}

// TestInsightsOneSecond: more groups in one second than a query returns
// are split by the records' sizes, exactly; a single size that still
// holds too many gives an error that says to use --exact.
func TestInsightsOneSecond(t *testing.T) {
	insightstest.AWSEnv(t)
	fastPolls(t)
	recs, nodes, start, end := insightstest.Sample(t)
	srv := insightstest.Start(t)
	srv.PutRecords(DefaultLogGroup, nodes, recs)
	files := &Store{Path: insightstest.WriteStore(t, recs)}
	ao := awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}
	w := Window{start, end}
	withRowLimit(t, 5) // the inter-AZ view has 12 groups a window
	for _, c := range []flows.Category{flows.InterAZ, flows.NATGateway} {
		v := View(c)
		sameAsFiles(t, files, &LogGroup{Name: DefaultLogGroup, AWS: ao}, w, &v)
	}
	split := func(q insightstest.Query) bool { return strings.Contains(q.Text, "filter bytes >= ") }
	if !slices.ContainsFunc(srv.Queries(), split) {
		t.Error("no query was split by size")
	}
	// Three groups of one size in one second, two rows a query.
	srv2 := insightstest.Start(t)
	same := recs[:3]
	for i := range same {
		same[i].Bytes, same[i].Category, same[i].TS = 100, flows.Internet, w.Start
	}
	srv2.PutRecords(DefaultLogGroup, nodes, same)
	withRowLimit(t, 2)
	v := View(flows.Internet)
	g := &LogGroup{Name: DefaultLogGroup, AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv2.URL}}
	_, err := g.Read(t.Context(), []*Query{{Window: w, View: &v, Begin: func(int) RecordFunc { return nil }}})
	if err == nil || !errors.Is(err, usage.Err) ||
		!strings.Contains(err.Error(), "records of 100 bytes in the second at") ||
		!strings.Contains(err.Error(), "use --exact to read the records instead") {
		t.Errorf("got %v", err)
	}
}

// TestInsightsMissingGroups: a Logs Insights that left out of its groups
// the events lacking a grouped field would shrink every total silently;
// the ungrouped count catches it, and the span says how many are missing.
func TestInsightsMissingGroups(t *testing.T) {
	srv, files, group, w := sampleEverywhere(t)
	srv.DropMissingBy = true
	v := View(flows.NATGateway)
	_, want := groupSums(t, files, w, &v)
	_, got := groupSums(t, group, w, &v)
	if got.Matched >= want.Matched {
		t.Fatalf("the fake kept %d of %d records: DropMissingBy dropped none", got.Matched, want.Matched)
	}
	note := fmt.Sprintf("Logs Insights grouped %d of the %d records this view matches: the %d others are not in "+
		"these figures; rerun with --exact to read every record", got.Matched, want.Matched, want.Matched-got.Matched)
	if !slices.Contains(got.Notes, note) {
		t.Errorf("notes %q; want %q", got.Notes, note)
	}
}

func TestInsightsErrors(t *testing.T) {
	insightstest.AWSEnv(t)
	fastPolls(t)
	srv := insightstest.Start(t)
	srv.Put(DefaultLogGroup)
	w := Window{time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	v := View(flows.InterAZ)
	read := func(g *LogGroup) error {
		_, err := g.Read(t.Context(), []*Query{{Window: w, View: &v, Begin: func(int) RecordFunc {
			return func(int, *flows.Record, int64) error { return nil }
		}}})
		return err
	}
	ao := awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}
	err := read(&LogGroup{Name: "/missing", AWS: ao})
	if err == nil || !errors.Is(err, usage.Err) ||
		err.Error() != `CloudWatch Logs StartQuery: log group "/missing" not found: `+
			`The specified log group does not exist. (check the name and --region)` {
		t.Errorf("missing log group: %v", err)
	}
	srv.Fail = "AccessDeniedException"
	if err := read(&LogGroup{Name: DefaultLogGroup, AWS: ao}); err == nil || errors.Is(err, usage.Err) ||
		!strings.Contains(err.Error(), "access denied on log group") || !strings.Contains(err.Error(), "logs:StartQuery") {
		t.Errorf("access denied: %v", err)
	}
	srv.Fail = ""
	// No region anywhere: a usage error before any call.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	err = read(&LogGroup{Name: DefaultLogGroup, AWS: awscfg.Options{EndpointURL: srv.URL}})
	if err == nil || !errors.Is(err, usage.Err) || err.Error() != "no AWS region: set --region or AWS_REGION" {
		t.Errorf("no region: %v", err)
	}
}

// TestInsightsRecordError: an error of a query's function says which
// records it came from, and wraps the function's error.
func TestInsightsRecordError(t *testing.T) {
	insightstest.AWSEnv(t)
	fastPolls(t)
	recs, nodes, start, end := insightstest.Sample(t)
	srv := insightstest.Start(t)
	srv.PutRecords(DefaultLogGroup, nodes, recs)
	stop := errors.New("no prices")
	g := &LogGroup{Name: DefaultLogGroup, AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}}
	_, err := g.Read(t.Context(), []*Query{{Window: Window{start, end}, Begin: func(int) RecordFunc {
		return func(int, *flows.Record, int64) error { return stop }
	}}})
	if !errors.Is(err, stop) || !strings.HasPrefix(err.Error(), `log group "/netcost/flows", records of local_ip `) {
		t.Errorf("%v; want the function's error, placed in the log group", err)
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
		v := View(flows.NATGateway)
		g := &LogGroup{Name: DefaultLogGroup, AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL},
			Progress: &progress}
		_, err := g.Read(ctx, []*Query{{View: &v, Begin: func(int) RecordFunc { return nil }}})
		done <- err
	}()
	<-srv.Polled
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	qs := srv.Queries()
	if len(qs) != 3 {
		t.Fatalf("%d queries started, want 3 (view, span and count)", len(qs))
	}
	for _, q := range qs {
		if !q.Stopped {
			t.Errorf("query %s (%q) was not stopped", q.ID, q.Text)
		}
		// No window: the last 24 hours.
		if q.EndTime-q.StartTime != int64(CloudWatchDefaultWindow/time.Second)-1 {
			t.Errorf("query %s covers %d s", q.ID, q.EndTime-q.StartTime)
		}
	}
	p := progress.String()
	if !strings.Contains(p, "\r\x1b[Knetcost: Logs Insights on log group \"/netcost/flows\": 0 of 2 queries done") ||
		!strings.HasSuffix(p, "\r\x1b[K") {
		t.Errorf("progress output %q", p)
	}
}
