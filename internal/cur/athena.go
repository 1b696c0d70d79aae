package cur

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/usage"
)

// AthenaOptions say where Athena runs the queries.
type AthenaOptions struct {
	// Workgroup runs the queries; empty is Athena's default, primary.
	Workgroup string
	// OutputLocation is the s3:// folder for query results; empty leaves it
	// to the workgroup's setting.
	OutputLocation string
}

// athenaAPI is what the reader calls of Athena.
type athenaAPI interface {
	StartQueryExecution(ctx context.Context, in *athena.StartQueryExecutionInput,
		opts ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(ctx context.Context, in *athena.GetQueryExecutionInput,
		opts ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	StopQueryExecution(ctx context.Context, in *athena.StopQueryExecutionInput,
		opts ...func(*athena.Options)) (*athena.StopQueryExecutionOutput, error)
	athena.GetQueryResultsAPIClient
}

// athenaTime writes a timestamp literal's text, in UTC.
func athenaTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

// periodsOf returns the billing periods (YYYY-MM) that [start, end) overlaps.
func periodsOf(start, end time.Time) []string {
	var out []string
	s := start.UTC()
	for m := time.Date(s.Year(), s.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(end); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// networkPatterns are the LIKE patterns of the network lines' usage types.
func networkPatterns() []string {
	var out []string
	for _, b := range bases {
		out = append(out, "%"+b.suffix)
	}
	return append(out, "%"+interRegionSuffix)
}

// athenaQuery is the aggregation the file readers do, as SQL for Athena
// (Trino): the network usage types and every credit, in the billing
// periods the window overlaps, grouped by what the aggregator needs and
// prorated to the window as the aggregator prorates. partitioned filters on
// the billing_period partition column as well, which a table over the
// export's BILLING_PERIOD= folders has, so that Athena reads those periods
// only.
func athenaQuery(loc Location, o Options, partitioned bool) string {
	var b strings.Builder
	ws, we := athenaTime(o.Start), athenaTime(o.End)
	periods := periodsOf(o.Start, o.End)
	first, _, _ := periodBounds(periods[0])
	_, last, _ := periodBounds(periods[len(periods)-1])
	resource := ""
	if o.ByResource {
		resource = "\n  " + colResource + ","
	}
	fmt.Fprintf(&b, `-- netcost: the network lines of a CUR 2.0 in [%s, %s)
SELECT
  date_format(bill_billing_period_start_date, '%%Y-%%m') AS billing_period,
  line_item_line_item_type,
  line_item_usage_type,
  line_item_product_code,
  product_region_code,
  line_item_currency_code,%s
  count_if(share > 0) AS line_items,
  count_if(share > 0 AND share < 1) AS prorated,
  sum(share * line_item_usage_amount) AS usage_amount,
  sum(share * line_item_unblended_cost) AS unblended_cost,
  sum(line_item_usage_amount) AS period_usage_amount
FROM (
  SELECT
    bill_billing_period_start_date,
    line_item_line_item_type,
    line_item_usage_type,
    line_item_product_code,
    product_region_code,
    line_item_currency_code,%s
    line_item_usage_amount,
    line_item_unblended_cost,
    CASE
      WHEN line_item_usage_end_date <= line_item_usage_start_date THEN
        IF(line_item_usage_start_date >= TIMESTAMP '%s' AND line_item_usage_start_date < TIMESTAMP '%s', 1e0, 0e0)
      ELSE greatest(0e0, CAST(date_diff('millisecond',
          greatest(line_item_usage_start_date, TIMESTAMP '%s'),
          least(line_item_usage_end_date, TIMESTAMP '%s')) AS double))
        / date_diff('millisecond', line_item_usage_start_date, line_item_usage_end_date)
    END AS share
  FROM "%s"."%s"
  WHERE `, stamp(o.Start), stamp(o.End), resource, strings.ReplaceAll(resource, "\n  ", "\n    "),
		ws, we, ws, we, loc.Database, loc.Table)
	if partitioned {
		fmt.Fprintf(&b, "billing_period IN ('%s')\n    AND ", strings.Join(periods, "', '"))
	}
	fmt.Fprintf(&b, "bill_billing_period_start_date >= TIMESTAMP '%s'\n", athenaTime(first))
	fmt.Fprintf(&b, "    AND bill_billing_period_start_date < TIMESTAMP '%s'\n", athenaTime(last))
	b.WriteString("    AND (line_item_line_item_type = 'Credit'")
	for _, p := range networkPatterns() {
		fmt.Fprintf(&b, "\n      OR line_item_usage_type LIKE '%s'", p)
	}
	b.WriteString(")\n)\nGROUP BY ")
	if o.ByResource {
		b.WriteString("1, 2, 3, 4, 5, 6, 7\n")
	} else {
		b.WriteString("1, 2, 3, 4, 5, 6\n")
	}
	return b.String()
}

// athenaPeriodsQuery lists the billing periods a table holds, for the
// message when the window holds none of its line items.
func athenaPeriodsQuery(loc Location) string {
	return fmt.Sprintf(`-- netcost: the billing periods of a CUR 2.0
SELECT DISTINCT date_format(bill_billing_period_start_date, '%%Y-%%m') AS billing_period
FROM "%s"."%s"
ORDER BY 1
`, loc.Database, loc.Table)
}

// missingColumn finds the column Athena could not resolve in a failed
// query's reason: "COLUMN_NOT_FOUND: line 4:3: Column 'x' cannot be
// resolved".
var missingColumn = regexp.MustCompile(`Column '([^']+)' cannot be resolved`)

func (r *Reader) readAthena(ctx context.Context, b *Bill, loc Location, o Options) (*Bill, error) {
	if o.Start.IsZero() || o.End.IsZero() {
		return nil, usage.Errorf("%s: reading a CUR in Athena needs a window with a start and an end", loc)
	}
	b.Read = periodsOf(o.Start, o.End)
	rows, err := r.query(ctx, loc, o.Athena, athenaQuery(loc, o, true))
	var qe *queryError
	if errors.As(err, &qe) && qe.column() == "billing_period" {
		r.log.Debug("the table has no billing_period partition: querying without it", "table", loc.String())
		rows, err = r.query(ctx, loc, o.Athena, athenaQuery(loc, o, false))
	}
	if err != nil {
		return nil, r.athenaError(loc, err)
	}
	a := newAggregator(o.Start, o.End, o.ByResource)
	if err := addAthenaRows(a, rows, o.ByResource); err != nil {
		return nil, fmt.Errorf("reading the answer of Athena on %s: %w", loc, err)
	}
	if a.items == 0 {
		rows, err := r.query(ctx, loc, o.Athena, athenaPeriodsQuery(loc))
		if err != nil {
			return nil, r.athenaError(loc, err)
		}
		for _, row := range rows[1:] {
			b.Periods = append(b.Periods, row[0])
		}
	}
	return finish(a, b, loc.String())
}

// athenaError turns a failed query into one line.
func (r *Reader) athenaError(loc Location, err error) error {
	var qe *queryError
	if !errors.As(err, &qe) {
		return err
	}
	switch {
	case qe.column() != "":
		return usage.Errorf("%s is not a CUR 2.0 table: it has no column %s (see docs/reconcile.md)", loc, qe.column())
	case strings.Contains(qe.reason, "TABLE_NOT_FOUND") || strings.Contains(qe.reason, "SCHEMA_NOT_FOUND") ||
		strings.Contains(qe.reason, "does not exist"):
		return usage.Errorf("%s: %s (check --cur and --region)", loc, qe.reason)
	}
	return err
}

// queryError is an Athena query that did not succeed.
type queryError struct {
	id, state, reason string
}

func (e *queryError) Error() string {
	return fmt.Sprintf("Athena query %s %s: %s", e.id, strings.ToLower(e.state), e.reason)
}

func (e *queryError) column() string {
	if m := missingColumn.FindStringSubmatch(e.reason); m != nil {
		return m[1]
	}
	return ""
}

// query runs sql and returns its rows, the header first, as strings (a
// NULL is empty). It stops the query if ctx ends first.
func (r *Reader) query(ctx context.Context, loc Location, ao AthenaOptions, sql string) ([][]string, error) {
	in := &athena.StartQueryExecutionInput{QueryString: aws.String(sql),
		QueryExecutionContext: &types.QueryExecutionContext{Database: aws.String(loc.Database)}}
	if ao.Workgroup != "" {
		in.WorkGroup = aws.String(ao.Workgroup)
	}
	if ao.OutputLocation != "" {
		in.ResultConfiguration = &types.ResultConfiguration{OutputLocation: aws.String(ao.OutputLocation)}
	}
	start, err := r.athena.StartQueryExecution(ctx, in)
	if err != nil {
		return nil, awscfg.Explain(err, loc.String())
	}
	id := aws.ToString(start.QueryExecutionId)
	r.log.Debug("started an Athena query", "id", id)
	for wait := r.poll / 4; ; wait = min(2*wait, r.poll) {
		out, err := r.athena.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			r.stop(id)
			return nil, awscfg.Explain(err, loc.String())
		}
		st := out.QueryExecution.Status
		if st != nil && st.State == types.QueryExecutionStateSucceeded {
			break
		}
		if st != nil && (st.State == types.QueryExecutionStateFailed || st.State == types.QueryExecutionStateCancelled) {
			return nil, &queryError{id: id, state: string(st.State), reason: aws.ToString(st.StateChangeReason)}
		}
		select {
		case <-ctx.Done():
			r.stop(id)
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	var rows [][]string
	pages := athena.NewGetQueryResultsPaginator(r.athena, &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, awscfg.Explain(err, loc.String())
		}
		if page.ResultSet == nil {
			continue
		}
		for _, row := range page.ResultSet.Rows {
			vals := make([]string, len(row.Data))
			for i, d := range row.Data {
				vals[i] = aws.ToString(d.VarCharValue)
			}
			rows = append(rows, vals)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("the Athena query %s returned no header row", id)
	}
	return rows, nil
}

// stop asks Athena to stop a query the reader no longer waits for, so that
// it does not go on scanning (and billing) on its own.
func (r *Reader) stop(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in := &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)}
	if _, err := r.athena.StopQueryExecution(ctx, in); err != nil {
		r.log.Warn("stopping an Athena query", "id", id, "error", err)
	}
}

// addAthenaRows adds the rows of athenaQuery's answer (the header first) to a.
func addAthenaRows(a *aggregator, rows [][]string, byResource bool) error {
	if len(rows) == 0 {
		return errors.New("no header row")
	}
	idx := columnIndex(rows[0])
	names := []string{"billing_period", colItemType, colUsageType, colProductCode, colProductRegion, colCurrency,
		"line_items", "prorated", "usage_amount", "unblended_cost", "period_usage_amount"}
	if byResource {
		names = append(names, colResource)
	}
	at := make(map[string]int, len(names))
	for _, n := range names {
		if at[n] = idx(n); at[n] < 0 {
			return fmt.Errorf("no column %s in the header %v", n, rows[0])
		}
	}
	for i, row := range rows[1:] {
		if len(row) != len(rows[0]) {
			return fmt.Errorf("row %d has %d values, the header %d", i+1, len(row), len(rows[0]))
		}
		it := lineItem{windowed: true, itemType: row[at[colItemType]], usageType: row[at[colUsageType]],
			productCode: row[at[colProductCode]], productRegion: row[at[colProductRegion]],
			currency: row[at[colCurrency]]}
		if byResource {
			it.resource = row[at[colResource]]
		}
		var err error
		for _, f := range []struct {
			name string
			i    *int64
			x    *float64
		}{{"line_items", &it.items, nil}, {"prorated", &it.prorated, nil}, {"usage_amount", nil, &it.amount},
			{"unblended_cost", nil, &it.cost}, {"period_usage_amount", nil, &it.periodGB}} {
			s := row[at[f.name]]
			if f.i != nil {
				*f.i, err = strconv.ParseInt(s, 10, 64)
			} else {
				*f.x, err = parseNumber(s)
			}
			if err != nil {
				return fmt.Errorf("row %d, %s %q: not a number", i+1, f.name, s)
			}
		}
		a.add(row[at["billing_period"]], &it)
	}
	return nil
}
