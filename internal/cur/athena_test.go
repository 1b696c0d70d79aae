package cur_test

// moto accepts the Athena API but runs no SQL. So these tests check the
// query texts against golden files (testdata/athena/*.sql.golden; refresh
// with go test ./internal/cur -update and read the diff), and the parsing
// of the answers against answers in GetQueryResults' response shape
// (testdata/athena/GetQueryResults/), written by hand for the fixture's
// line items. The calls themselves (StartQueryExecution, GetQueryExecution
// until SUCCEEDED, GetQueryResults) run against moto, which returns the
// answer it is given through its moto-api.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/mototest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var athenaLoc = cur.Location{Kind: cur.Athena, Database: "cur_db", Table: "cur2"}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "athena", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestAthenaQueryGolden(t *testing.T) {
	byResource := window
	byResource.ByResource = true
	// A window across a month's end reads both periods.
	across := cur.Options{Start: time.Date(2026, 9, 30, 12, 0, 0, 0, time.UTC), End: winEnd}
	golden(t, "network.sql.golden", cur.AthenaQuery(athenaLoc, window, true))
	golden(t, "network-unpartitioned.sql.golden", cur.AthenaQuery(athenaLoc, window, false))
	golden(t, "network-by-resource.sql.golden", cur.AthenaQuery(athenaLoc, byResource, true))
	golden(t, "network-two-periods.sql.golden", cur.AthenaQuery(athenaLoc, across, true))
	golden(t, "periods.sql.golden", cur.AthenaPeriodsQuery(athenaLoc))
}

// answer reads a recorded GetQueryResults page.
func answer(t *testing.T, name string) *athena.GetQueryResultsOutput {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "athena", "GetQueryResults", name))
	if err != nil {
		t.Fatal(err)
	}
	var out athena.GetQueryResultsOutput
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// fakeAthena runs no query: it fails those whose index is in fail with
// that reason, and answers the others, in turn, with pages.
type fakeAthena struct {
	mu      sync.Mutex
	queries []string
	polls   int
	fail    map[int]string
	pages   [][]*athena.GetQueryResultsOutput
	stopped []string
}

func (f *fakeAthena) StartQueryExecution(_ context.Context, in *athena.StartQueryExecutionInput,
	_ ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, aws.ToString(in.QueryString))
	return &athena.StartQueryExecutionOutput{QueryExecutionId: aws.String(fmt.Sprint(len(f.queries) - 1))}, nil
}

func (f *fakeAthena) GetQueryExecution(_ context.Context, in *athena.GetQueryExecutionInput,
	_ ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	st := &types.QueryExecutionStatus{State: types.QueryExecutionStateRunning}
	var i int
	fmt.Sscan(aws.ToString(in.QueryExecutionId), &i)
	switch {
	case f.polls%3 != 0: // running for two polls
	case f.fail[i] != "":
		st.State, st.StateChangeReason = types.QueryExecutionStateFailed, aws.String(f.fail[i])
	default:
		st.State = types.QueryExecutionStateSucceeded
	}
	return &athena.GetQueryExecutionOutput{QueryExecution: &types.QueryExecution{Status: st}}, nil
}

func (f *fakeAthena) StopQueryExecution(_ context.Context, in *athena.StopQueryExecutionInput,
	_ ...func(*athena.Options)) (*athena.StopQueryExecutionOutput, error) {
	f.stopped = append(f.stopped, aws.ToString(in.QueryExecutionId))
	return &athena.StopQueryExecutionOutput{}, nil
}

func (f *fakeAthena) GetQueryResults(_ context.Context, in *athena.GetQueryResultsInput,
	_ ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error) {
	var i int
	fmt.Sscan(aws.ToString(in.QueryExecutionId), &i)
	answered := 0
	for j := range i {
		if f.fail[j] == "" {
			answered++
		}
	}
	pages := f.pages[answered]
	page := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		fmt.Sscan(tok, &page)
	}
	out := *pages[page]
	out.NextToken = nil
	if page+1 < len(pages) {
		out.NextToken = aws.String(fmt.Sprint(page + 1))
	}
	return &out, nil
}

// TestReadAthenaPages: the answer comes in two pages; the first query
// fails on a table without the billing_period partition, and the reader
// asks again without it.
func TestReadAthenaPages(t *testing.T) {
	f := &fakeAthena{
		fail:  map[int]string{0: "COLUMN_NOT_FOUND: line 33:9: Column 'billing_period' cannot be resolved"},
		pages: [][]*athena.GetQueryResultsOutput{{answer(t, "network-1.json"), answer(t, "network-2.json")}},
	}
	b, err := cur.NewAthenaReader(f).Read(t.Context(), athenaLoc, window)
	if err != nil {
		t.Fatal(err)
	}
	// Athena returns the network usage types and the credits only: 21
	// groups of one line item each in the window.
	checkFixtureBill(t, b, 21)
	want := []string{cur.AthenaQuery(athenaLoc, window, true), cur.AthenaQuery(athenaLoc, window, false)}
	if !slices.Equal(f.queries, want) {
		t.Errorf("queries:\n%s\nwant the partitioned query, then the unpartitioned one", strings.Join(f.queries, "\n"))
	}
	if strings.Join(b.Read, ",") != "2026-10" {
		t.Errorf("Read = %v; want [2026-10]", b.Read)
	}
}

func TestReadAthenaErrors(t *testing.T) {
	t.Run("missing column", func(t *testing.T) {
		f := &fakeAthena{fail: map[int]string{
			0: "COLUMN_NOT_FOUND: line 8:3: Column 'product_region_code' cannot be resolved"}}
		_, err := cur.NewAthenaReader(f).Read(t.Context(), athenaLoc, window)
		checkUsage(t, err, "athena:cur_db.cur2 is not a CUR 2.0 table: it has no column product_region_code")
	})
	t.Run("no table", func(t *testing.T) {
		f := &fakeAthena{fail: map[int]string{
			0: "TABLE_NOT_FOUND: line 30:8: Table 'awsdatacatalog.cur_db.cur2' does not exist"}}
		_, err := cur.NewAthenaReader(f).Read(t.Context(), athenaLoc, window)
		checkUsage(t, err, "athena:cur_db.cur2: TABLE_NOT_FOUND", "does not exist")
	})
	t.Run("no line in the window", func(t *testing.T) {
		f := &fakeAthena{pages: [][]*athena.GetQueryResultsOutput{{answer(t, "empty.json")}, {answer(t, "periods.json")}}}
		_, err := cur.NewAthenaReader(f).Read(t.Context(), athenaLoc, window)
		checkUsage(t, err, "athena:cur_db.cur2 has no line item in the window", "it holds 2026-09, 2026-10")
		if len(f.queries) != 2 || f.queries[1] != cur.AthenaPeriodsQuery(athenaLoc) {
			t.Errorf("queries %q; want the periods query second", f.queries)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		f := &fakeAthena{fail: map[int]string{}}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := cur.NewAthenaReader(f).Read(ctx, athenaLoc, window)
		if err == nil || len(f.stopped) != 1 {
			t.Errorf("err %v, stopped %v; want an error and the query stopped", err, f.stopped)
		}
	})
	t.Run("no window", func(t *testing.T) {
		_, err := cur.NewAthenaReader(&fakeAthena{}).Read(t.Context(), athenaLoc, cur.Options{})
		checkUsage(t, err, "needs a window")
	})
}

// TestReadAthenaMoto runs the calls against moto, which answers with the
// recorded answer (both pages as one: moto does not paginate) and keeps
// the query text, which must be the golden one.
func TestReadAthenaMoto(t *testing.T) {
	endpoint := mototest.Start(t)
	var rows []types.Row
	var info []types.ColumnInfo
	for _, p := range []string{"network-1.json", "network-2.json"} {
		a := answer(t, p)
		rows, info = append(rows, a.ResultSet.Rows...), a.ResultSet.ResultSetMetadata.ColumnInfo
	}
	body, err := json.Marshal(map[string]any{"region": "us-east-1", "results": []any{
		map[string]any{"rows": rows, "column_info": info}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(endpoint+"/moto-api/static/athena/query-results", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("queueing the answer in moto: %v %v", resp, err)
	}
	resp.Body.Close()
	cfg := motoConfig(endpoint, http.DefaultTransport)
	o := window
	o.Athena.OutputLocation = "s3://athena-results/netcost/"
	b, err := cur.NewReader(cfg, nil).Read(t.Context(), athenaLoc, o)
	if err != nil {
		t.Fatal(err)
	}
	checkFixtureBill(t, b, 21)
	client := athena.NewFromConfig(cfg)
	ids, err := client.ListQueryExecutions(t.Context(), &athena.ListQueryExecutionsInput{})
	if err != nil || len(ids.QueryExecutionIds) != 1 {
		t.Fatalf("ListQueryExecutions = %v, %v; want one query", ids, err)
	}
	q, err := client.GetQueryExecution(t.Context(),
		&athena.GetQueryExecutionInput{QueryExecutionId: aws.String(ids.QueryExecutionIds[0])})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(q.QueryExecution.Query); got != cur.AthenaQuery(athenaLoc, window, true) {
		t.Errorf("moto ran:\n%s\nwant network.sql.golden", got)
	}
	if got := aws.ToString(q.QueryExecution.QueryExecutionContext.Database); got != "cur_db" {
		t.Errorf("database %q; want cur_db", got)
	}
}
