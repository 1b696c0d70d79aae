package source

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
)

// BenchmarkInsightsAnswer measures what netcost does with the largest
// answer one Logs Insights query gives (10,000 groups): fetched with the
// real SDK client from a server on loopback, parsed into records, summed
// by the cost model into pod rows.
func BenchmarkInsightsAnswer(b *testing.B) {
	insightstest.AWSEnv(b)
	fastPolls(b)
	var rows [][]map[string]string
	for i := range insightsRowLimit {
		row := []map[string]string{}
		add := func(k, v string) { row = append(row, map[string]string{"field": k, "value": v}) }
		add("region", "us-east-1")
		add("direction", []string{"egress", "ingress"}[i%2])
		add("category", "NAT_GATEWAY")
		add("local_ip", fmt.Sprintf("10.0.%d.%d", i/250%250, i%250+1))
		add("local_pod", fmt.Sprintf("api-%d", i%500))
		add("local_namespace", "shop")
		add("local_workload", "api")
		add("node", fmt.Sprintf("ip-10-0-%d-10", i%20))
		add("local_az_id", "use1-az1")
		add("remote_ip", fmt.Sprintf("52.%d.%d.%d", i/65536%256, i/256%256, i%256))
		add("remote_port", "443")
		add("via", "nat-0123456789abcdef0")
		add("via_az_id", "use1-az2")
		add(sumField, fmt.Sprint(1000+i*37))
		add(countField, "60")
		rows = append(rows, row)
	}
	body, err := json.Marshal(map[string]any{"status": "Complete", "results": rows,
		"statistics": map[string]float64{"recordsMatched": 6e5, "recordsScanned": 6e5, "bytesScanned": 3e8}})
	if err != nil {
		b.Fatal(err)
	}
	srv := insightstest.Start(b)
	srv.Put(DefaultLogGroup)
	srv.Results = body
	c, err := newLogsClient(context.Background(), awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	nat := View(flows.NATGateway)
	w := Window{time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	m := costmodel.New(nil)
	b.ReportAllocs()
	for b.Loop() {
		q := &insightsRunner{cw: &cloudWatchScan{c: c, group: DefaultLogGroup}, sem: make(chan struct{}, 1)}
		res, err := q.once(context.Background(), statsQuery(&nat, byteRange{}), w)
		if err != nil {
			b.Fatal(err)
		}
		groups, _, err := parseGroups(res, false)
		if err != nil || len(groups) != insightsRowLimit {
			b.Fatal(err, len(groups))
		}
		agg := m.NewAggregator(costmodel.ByPod)
		for i := range groups {
			if err := agg.AddRecords(&groups[i].rec, groups[i].n); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := agg.Rows(); err != nil {
			b.Fatal(err)
		}
	}
}
