package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netcost/netcost/internal/flows"
)

func get(t *testing.T, url, accept string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// value finds the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no family %s", name)
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("%s has no sample with labels %v", name, want)
	return 0
}

func TestEndpoints(t *testing.T) {
	m := New(1024)
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()

	if r := get(t, srv.URL+"/healthz", ""); r.StatusCode != 200 {
		t.Errorf("/healthz before the first drain = %d; want 200 (the process is alive)", r.StatusCode)
	}
	if r := get(t, srv.URL+"/readyz", ""); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the first drain = %d; want 503", r.StatusCode)
	}

	m.Drained(Drain{Flows: 700, Took: 7 * time.Millisecond,
		Overflow: map[flows.Direction]uint64{flows.Egress: 1500}, Lost: map[flows.Direction]uint64{flows.Ingress: 40}})
	m.Drained(Drain{Flows: 300, Took: 6 * time.Millisecond, Overflow: map[flows.Direction]uint64{flows.Egress: 500},
		ProgramRuns: 123456, ProgramTime: 1500 * time.Millisecond})
	recs := []flows.Record{
		{Category: flows.InterAZ, Direction: flows.Egress, Bytes: 1000},
		{Category: flows.InterAZ, Direction: flows.Egress, Bytes: 24},
		{Category: flows.NATGateway, Direction: flows.Ingress, Bytes: 7},
	}
	m.Published(recs, 30*time.Millisecond, nil)
	m.Published(recs, 2*time.Second, errors.New("throttled"))
	m.WatchSpool(func() SpoolStats {
		return SpoolStats{Windows: 3, Bytes: 4096, DroppedWindows: 1, DroppedEvents: 250, DroppedBytes: 99999,
			PublishedRecords: 5000, PublishedBatches: 4, PublishFailures: 2, RejectedRecords: 6, ReplaySkipped: 7,
			LastPublishLatency: 150 * time.Millisecond, LastPublished: time.Unix(1700000000, 0)}
	})
	m.WatchServices(func() ServiceStats {
		return ServiceStats{TranslatedBytes: 1 << 20, UntranslatedBytes: 60, EventsLost: 2, ConnsNotRemembered: 3, Conns: 17}
	})
	m.WatchNames(func() NameStats {
		return NameStats{Events: 900, ParseFailures: 8, Unasked: 5, Evicted: 4, Names: 120, KernelLost: 6}
	})

	if r := get(t, srv.URL+"/readyz", ""); r.StatusCode != 200 {
		t.Errorf("/readyz after a drain = %d; want 200", r.StatusCode)
	}

	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"netcost_drains_total", nil, 2},
		{"netcost_drain_duration_seconds", nil, 2}, // the histogram's count
		{"netcost_flows_drained_total", nil, 1000},
		{"netcost_flow_map_entries", nil, 300},
		{"netcost_flow_map_capacity", nil, 1024},
		{"netcost_overflow_bytes_total", map[string]string{"direction": "egress"}, 2000},
		{"netcost_overflow_bytes_total", map[string]string{"direction": "ingress"}, 0},
		{"netcost_lost_bytes_total", map[string]string{"direction": "ingress"}, 40},
		{"netcost_records_written_total", nil, 3},
		{"netcost_bpf_program_runs_total", nil, 123456},
		{"netcost_bpf_program_run_seconds_total", nil, 1.5},
		{"netcost_bytes_written_total", map[string]string{"category": "INTER_AZ", "direction": "egress"}, 1024},
		{"netcost_bytes_written_total", map[string]string{"category": "NAT_GATEWAY", "direction": "ingress"}, 7},
		{"netcost_bytes_written_total", map[string]string{"category": "AMAZON_S3", "direction": "egress"}, 0},
		{"netcost_publish_duration_seconds", nil, 2},
		{"netcost_publish_failures_total", nil, 1},
		{"netcost_spool_windows", nil, 3},
		{"netcost_spool_bytes", nil, 4096},
		{"netcost_spool_dropped_windows_total", nil, 1},
		{"netcost_spool_dropped_events_total", nil, 250},
		{"netcost_spool_dropped_bytes_total", nil, 99999},
		{"netcost_cloudwatch_records_total", nil, 5000},
		{"netcost_cloudwatch_puts_total", nil, 4},
		{"netcost_cloudwatch_put_failures_total", nil, 2},
		{"netcost_cloudwatch_rejected_records_total", nil, 6},
		{"netcost_cloudwatch_replay_skipped_records_total", nil, 7},
		{"netcost_cloudwatch_put_latency_seconds", nil, 0.15},
		{"netcost_cloudwatch_last_put_timestamp_seconds", nil, 1700000000},
		{"netcost_service_translated_bytes_total", nil, 1 << 20},
		{"netcost_service_untranslated_bytes_total", nil, 60},
		{"netcost_conntrack_events_lost_total", nil, 2},
		{"netcost_name_events_total", nil, 900},
		{"netcost_name_parse_failures_total", nil, 8},
		{"netcost_name_answers_unasked_total", nil, 5},
		{"netcost_name_evicted_total", nil, 4},
		{"netcost_names", nil, 120},
		{"netcost_name_events_lost_total", nil, 6},
		{"netcost_conntrack_connections_not_remembered_total", nil, 3},
		{"netcost_conntrack_connections", nil, 17},
	}
	check := func(t *testing.T, fams map[string]*dto.MetricFamily, name func(string, dto.MetricType) string) {
		for _, w := range want {
			n := name(w.name, fams[w.name].GetType())
			if got := value(t, fams, n, w.labels); got != w.value {
				t.Errorf("%s%v = %v; want %v", n, w.labels, got, w.value)
			}
		}
		if rss := value(t, fams, "process_resident_memory_bytes", nil); rss <= 0 {
			t.Errorf("process_resident_memory_bytes = %v; want > 0", rss)
		}
		if ts := value(t, fams, "netcost_last_publish_timestamp_seconds", nil); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
			t.Errorf("netcost_last_publish_timestamp_seconds = %v; want about now", ts)
		}
	}

	t.Run("text", func(t *testing.T) {
		r := get(t, srv.URL+"/metrics", "")
		if got := expfmt.ResponseFormat(r.Header).FormatType(); got != expfmt.TypeTextPlain {
			t.Fatalf("format without Accept = %v; want the Prometheus text format", r.Header.Get("Content-Type"))
		}
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(r.Body)
		if err != nil {
			t.Fatalf("the Prometheus text parser rejects /metrics: %v", err)
		}
		if fams["netcost_records_written_total"].GetType() != dto.MetricType_COUNTER {
			t.Errorf("netcost_records_written_total is a %v; want a counter", fams["netcost_records_written_total"].GetType())
		}
		check(t, fams, func(n string, _ dto.MetricType) string { return n })
	})

	t.Run("openmetrics", func(t *testing.T) {
		r := get(t, srv.URL+"/metrics", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
		// ResponseFormat knows no OpenMetrics; the Content-Type is a Format.
		format := expfmt.Format(r.Header.Get("Content-Type"))
		if format.FormatType() != expfmt.TypeOpenMetrics {
			t.Fatalf("format asked for OpenMetrics = %v; want OpenMetrics", r.Header.Get("Content-Type"))
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(body), "\n# EOF\n") {
			t.Errorf("OpenMetrics output does not end with # EOF:\n...%s", body[max(0, len(body)-200):])
		}
		if !strings.Contains(string(body), "# TYPE netcost_records_written counter\nnetcost_records_written_total 3.0\n") {
			t.Errorf("OpenMetrics output lacks the counter family netcost_records_written with its _total sample")
		}
		// expfmt decodes OpenMetrics 1.0 with its text parser (v0.72; the
		// dedicated parser of v0.73 needs a module the proxy does not serve).
		dec := expfmt.NewDecoder(strings.NewReader(string(body)), format)
		fams := map[string]*dto.MetricFamily{}
		for {
			var f dto.MetricFamily
			if err := dec.Decode(&f); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("the Prometheus parser rejects the OpenMetrics output: %v", err)
			}
			fams[f.GetName()] = &f
		}
		check(t, fams, func(n string, _ dto.MetricType) string { return n })
	})
}

func TestListen(t *testing.T) {
	m := New(16)
	s, err := m.Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, "http://"+s.Addr().String()+"/healthz", ""); r.StatusCode != 200 {
		t.Errorf("/healthz = %d; want 200", r.StatusCode)
	}
	if _, err := m.Listen(s.Addr().String(), nil); err == nil || !strings.Contains(err.Error(), "listening for /metrics on "+s.Addr().String()) {
		t.Errorf("Listen on a taken port = %v; want an error naming the address", err)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if _, err := http.Get("http://" + s.Addr().String() + "/healthz"); err == nil {
		t.Errorf("/healthz answers after Shutdown")
	}
}
