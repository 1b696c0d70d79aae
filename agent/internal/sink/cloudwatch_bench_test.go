package sink

import (
	"testing"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/sample"
)

// BenchmarkEMF encodes the sample cluster's records (testdata/store: one
// hour, two nodes) as EMF lines and reports what publishing them costs in
// size: records per node-window, bytes per EMF line, the bytes CloudWatch
// counts per event (line + 26), the file sink's bytes per line for
// comparison, and the metric series the dimensions create.
func BenchmarkEMF(b *testing.B) {
	var recs []flows.Record
	if err := sample.Generate(sample.DefaultOptions(), func(_ string, r *flows.Record) error {
		recs = append(recs, *r)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	enc, _ := newEMF(DefaultNamespace)
	windows := map[string]bool{}
	series := map[string]bool{}
	var emfBytes, jsonBytes int
	for i := range recs {
		r := &recs[i]
		windows[r.Node+r.TS.String()] = true
		series[r.Cluster+"|"+r.Category.String()] = true
		if r.LocalNamespace != "" {
			series[r.Cluster+"|"+r.Category.String()+"|"+r.LocalNamespace] = true
		}
		emfBytes += len(enc.append(nil, r, "k2j9x0aa.1440", 39))
		jsonBytes += len(flows.AppendJSON(nil, r))
	}
	var buf []byte
	b.ResetTimer()
	for i := range b.N {
		buf = enc.append(buf[:0], &recs[i%len(recs)], "k2j9x0aa.1440", i%64)
	}
	n := float64(len(recs))
	b.ReportMetric(n/float64(len(windows)), "records/node-window")
	b.ReportMetric(float64(emfBytes)/n, "EMF-bytes/record")
	b.ReportMetric(float64(emfBytes)/n+eventOverhead, "billed-bytes/record")
	b.ReportMetric(float64(jsonBytes)/n, "file-bytes/record")
	b.ReportMetric(float64(len(series)), "metric-series")
}
