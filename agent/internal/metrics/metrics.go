package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/netcost/netcost/internal/flows"
)

// Drain is what one read of the kernel's counts found.
type Drain struct {
	Flows int // flow entries read: how full the flow map was
	// Overflow is the bytes counted per cgroup, not per flow, because the
	// flow map was full; Lost, the bytes not even the overflow map could
	// take. Both are still in the records; they say the maps are too small.
	Overflow, Lost map[flows.Direction]uint64
	Took           time.Duration
	// ProgramRuns and ProgramTime are the counting programs' runs and time
	// in the kernel since they were loaded, as the kernel counts them while
	// the sysctl kernel.bpf_stats_enabled is 1 (zero otherwise).
	ProgramRuns uint64
	ProgramTime time.Duration
}

// SpoolStats is a spooling sink's state: what waits on disk for the
// destination to come back, what its bound made it drop so far, and how
// its calls to the destination (CloudWatch Logs) went. Counts are totals
// since the agent started.
type SpoolStats struct {
	Windows        int
	Bytes          int64
	DroppedWindows uint64
	DroppedEvents  uint64
	DroppedBytes   uint64

	PublishedRecords   uint64        // events the destination accepted
	PublishedBatches   uint64        // successful calls
	PublishFailures    uint64        // failed calls, each retried later
	RejectedRecords    uint64        // events the destination refused or the spool set aside
	ReplaySkipped      uint64        // events a replay found already published
	LastPublishLatency time.Duration // of the last successful call
	LastPublished      time.Time     // when it returned; zero: not yet
}

// Metrics holds the agent's health metrics on a registry of its own.
type Metrics struct {
	reg   *prometheus.Registry
	ready atomic.Bool

	programRuns, programNanos atomic.Uint64

	drains          prometheus.Counter
	drainSeconds    prometheus.Histogram
	flowsDrained    prometheus.Counter
	mapEntries      prometheus.Gauge
	overflowBytes   *prometheus.CounterVec
	lostBytes       *prometheus.CounterVec
	records         prometheus.Counter
	bytes           *prometheus.CounterVec
	publishSeconds  prometheus.Histogram
	publishFailures prometheus.Counter
	lastPublish     prometheus.Gauge

	spool    *watched[SpoolStats]
	services *watched[ServiceStats]
	names    *watched[NameStats]
}

// NameStats is passive naming's state: the name events read from the kernel, what became of them, the
// names kept now, and the events the kernel's ring buffer had no room for. Counts are totals since the
// agent started.
type NameStats struct {
	Events        uint64
	ParseFailures uint64
	Unasked       uint64
	Evicted       uint64
	Names         int
	KernelLost    uint64
}

// ServiceStats is the translation of Services' ClusterIPs to their
// backends through conntrack: totals since the agent started, and the
// connections it remembers now.
type ServiceStats struct {
	TranslatedBytes    uint64
	UntranslatedBytes  uint64
	EventsLost         uint64
	ConnsNotRemembered uint64
	Conns              int
}

const namespace = "netcost"

// New returns the metrics of an agent whose flow map holds mapCapacity
// flows per drain, with the process and Go runtime collectors.
func New(mapCapacity int) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(),
		spool:    &watched[SpoolStats]{descs: spoolDescs, emit: emitSpool},
		services: &watched[ServiceStats]{descs: serviceDescs, emit: emitServices},
		names:    &watched[NameStats]{descs: nameDescs, emit: emitNames}}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	}
	byDirection := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, []string{"direction"})
	}
	m.drains = counter("drains_total", "Reads of the kernel's counts.")
	m.drainSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "drain_duration_seconds",
		Help:    "How long a read of the kernel's counts took, including the generation switch's grace period.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5}})
	m.flowsDrained = counter("flows_drained_total", "Flow map entries read from the kernel.")
	m.mapEntries = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "flow_map_entries",
		Help: "Flow map entries at the last drain; at netcost_flow_map_capacity, new flows go to the overflow count."})
	capacity := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "flow_map_capacity",
		Help: "Flow map entries per drain (-max-flows)."})
	capacity.Set(float64(mapCapacity))
	m.overflowBytes = byDirection("overflow_bytes_total",
		"Bytes counted per pod rather than per flow because the flow map was full: raise -max-flows or drain more often.")
	m.lostBytes = byDirection("lost_bytes_total",
		"Bytes counted per node only because even the per-pod overflow map was full.")
	m.records = counter("records_written_total", "Flow records handed to the sink and accepted.")
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "bytes_written_total",
		Help: "Bytes in the records accepted by the sink, by category and direction."}, []string{"category", "direction"})
	m.publishSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "publish_duration_seconds",
		Help:    "How long the sink took to take a window's records, failed or not.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}})
	m.publishFailures = counter("publish_failures_total", "Windows the sink refused.")
	m.lastPublish = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "last_publish_timestamp_seconds",
		Help: "When the sink last accepted a window, in Unix seconds."})
	programRuns := prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: "bpf_program_runs_total",
		Help: "Runs of the counting programs in the kernel (0 unless sysctl kernel.bpf_stats_enabled=1)."},
		func() float64 { return float64(m.programRuns.Load()) })
	programSeconds := prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: "bpf_program_run_seconds_total",
		Help: "Time the counting programs ran in the kernel (0 unless sysctl kernel.bpf_stats_enabled=1): the agent's cost on the data path."},
		func() float64 { return float64(m.programNanos.Load()) / 1e9 })
	m.reg.MustRegister(programRuns, programSeconds)
	m.reg.MustRegister(m.drains, m.drainSeconds, m.flowsDrained, m.mapEntries, capacity, m.overflowBytes, m.lostBytes,
		m.records, m.bytes, m.publishSeconds, m.publishFailures, m.lastPublish, m.spool, m.services, m.names,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), goCollector(), collectors.NewBuildInfoCollector())
	// Directions and categories exist from the start, at 0, so that rate()
	// and alerts see a series before its first byte.
	for _, d := range []flows.Direction{flows.Egress, flows.Ingress} {
		m.overflowBytes.WithLabelValues(d.String())
		m.lostBytes.WithLabelValues(d.String())
		for _, c := range flows.Categories {
			m.bytes.WithLabelValues(c.String(), d.String())
		}
	}
	return m
}

// goCollector reports the Go runtime from runtime/metrics (heap, GC,
// scheduler) without the MemStats-style go_memstats_* series: two of those,
// go_memstats_alloc_bytes and go_memstats_alloc_bytes_total, are one family
// name in OpenMetrics, which makes the exposition invalid.
func goCollector() prometheus.Collector {
	return collectors.NewGoCollector(collectors.WithGoCollectorMemStatsMetricsDisabled(),
		collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC, collectors.MetricsMemory, collectors.MetricsScheduler))
}

// Drained records a read of the kernel's counts; the first one makes the
// agent ready.
func (m *Metrics) Drained(d Drain) {
	m.drains.Inc()
	m.drainSeconds.Observe(d.Took.Seconds())
	m.flowsDrained.Add(float64(d.Flows))
	m.mapEntries.Set(float64(d.Flows))
	for dir, b := range d.Overflow {
		m.overflowBytes.WithLabelValues(dir.String()).Add(float64(b))
	}
	for dir, b := range d.Lost {
		m.lostBytes.WithLabelValues(dir.String()).Add(float64(b))
	}
	m.programRuns.Store(d.ProgramRuns)
	m.programNanos.Store(uint64(d.ProgramTime))
	m.ready.Store(true)
}

// Published records a window handed to the sink: its records and bytes
// count when the sink took them (err == nil), a failure otherwise.
func (m *Metrics) Published(recs []flows.Record, took time.Duration, err error) {
	m.publishSeconds.Observe(took.Seconds())
	if err != nil {
		m.publishFailures.Inc()
		return
	}
	m.records.Add(float64(len(recs)))
	for i := range recs {
		m.bytes.WithLabelValues(recs[i].Category.String(), recs[i].Direction.String()).Add(float64(recs[i].Bytes))
	}
	m.lastPublish.SetToCurrentTime()
}

// WatchSpool makes every scrape read the spool's state from stats, which
// must be safe to call from the HTTP server's goroutines.
func (m *Metrics) WatchSpool(stats func() SpoolStats) { m.spool.set(stats) }

// WatchServices makes every scrape read the ClusterIP translation's state
// from stats, which must be safe to call from the HTTP server's goroutines.
func (m *Metrics) WatchServices(stats func() ServiceStats) { m.services.set(stats) }

// WatchNames makes every scrape read passive naming's state from stats, which must be safe to call from
// the HTTP server's goroutines.
func (m *Metrics) WatchNames(stats func() NameStats) { m.names.set(stats) }

var (
	nameEvents = prometheus.NewDesc("netcost_name_events_total",
		"DNS queries, DNS answers and TLS ClientHellos the agent read from the kernel to name remotes.", nil, nil)
	nameParseFailures = prometheus.NewDesc("netcost_name_parse_failures_total",
		"Name events whose payload was no DNS message or ClientHello the agent could read.", nil, nil)
	nameUnasked = prometheus.NewDesc("netcost_name_answers_unasked_total",
		"DNS answers dropped because the pod asked no such question.", nil, nil)
	nameEvicted = prometheus.NewDesc("netcost_name_evicted_total",
		"Names dropped, least recently used first, because the table was at its bound.", nil, nil)
	namesKept = prometheus.NewDesc("netcost_names", "Remote names the agent keeps now, for all pods.", nil, nil)
	nameLost  = prometheus.NewDesc("netcost_name_events_lost_total",
		"Name events the kernel dropped because the ring buffer was full.", nil, nil)
)

var nameDescs = []*prometheus.Desc{nameEvents, nameParseFailures, nameUnasked, nameEvicted, namesKept, nameLost}

func emitNames(s NameStats, ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(nameEvents, prometheus.CounterValue, float64(s.Events))
	ch <- prometheus.MustNewConstMetric(nameParseFailures, prometheus.CounterValue, float64(s.ParseFailures))
	ch <- prometheus.MustNewConstMetric(nameUnasked, prometheus.CounterValue, float64(s.Unasked))
	ch <- prometheus.MustNewConstMetric(nameEvicted, prometheus.CounterValue, float64(s.Evicted))
	ch <- prometheus.MustNewConstMetric(namesKept, prometheus.GaugeValue, float64(s.Names))
	ch <- prometheus.MustNewConstMetric(nameLost, prometheus.CounterValue, float64(s.KernelLost))
}

// watched reports, at each scrape, the state a function set later returns
// (a spooling sink's, the ClusterIP translation's); until then, nothing.
type watched[S any] struct {
	mu    sync.Mutex
	stats func() S
	descs []*prometheus.Desc
	emit  func(S, chan<- prometheus.Metric)
}

func (w *watched[S]) set(stats func() S) {
	w.mu.Lock()
	w.stats = stats
	w.mu.Unlock()
}

func (w *watched[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range w.descs {
		ch <- d
	}
}

func (w *watched[S]) Collect(ch chan<- prometheus.Metric) {
	w.mu.Lock()
	stats := w.stats
	w.mu.Unlock()
	if stats != nil {
		w.emit(stats(), ch)
	}
}

var (
	svcTranslated = prometheus.NewDesc("netcost_service_translated_bytes_total",
		"Bytes to a Service's ClusterIP put on the backend pod through conntrack.", nil, nil)
	svcUntranslated = prometheus.NewDesc("netcost_service_untranslated_bytes_total",
		"Bytes to a Service's ClusterIP whose connection conntrack did not name: recorded with the ClusterIP, UNCLASSIFIED.", nil, nil)
	ctLost = prometheus.NewDesc("netcost_conntrack_events_lost_total",
		"Times the kernel dropped conntrack events because the agent's socket buffer was full.", nil, nil)
	ctNotRemembered = prometheus.NewDesc("netcost_conntrack_connections_not_remembered_total",
		"Translated connections not remembered because the table was at its bound.", nil, nil)
	ctConns = prometheus.NewDesc("netcost_conntrack_connections", "Translated connections remembered now.", nil, nil)
)

var serviceDescs = []*prometheus.Desc{svcTranslated, svcUntranslated, ctLost, ctNotRemembered, ctConns}

func emitServices(s ServiceStats, ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(svcTranslated, prometheus.CounterValue, float64(s.TranslatedBytes))
	ch <- prometheus.MustNewConstMetric(svcUntranslated, prometheus.CounterValue, float64(s.UntranslatedBytes))
	ch <- prometheus.MustNewConstMetric(ctLost, prometheus.CounterValue, float64(s.EventsLost))
	ch <- prometheus.MustNewConstMetric(ctNotRemembered, prometheus.CounterValue, float64(s.ConnsNotRemembered))
	ch <- prometheus.MustNewConstMetric(ctConns, prometheus.GaugeValue, float64(s.Conns))
}

// Ready reports whether the counter is attached and drained once.
func (m *Metrics) Ready() bool { return m.ready.Load() }

var (
	spoolWindows        = prometheus.NewDesc("netcost_spool_windows", "Windows waiting in the spool for the destination.", nil, nil)
	spoolBytes          = prometheus.NewDesc("netcost_spool_bytes", "Bytes the spool holds on disk.", nil, nil)
	spoolDroppedWindows = prometheus.NewDesc("netcost_spool_dropped_windows_total", "Windows dropped because the spool was at its bound.", nil, nil)
	spoolDroppedEvents  = prometheus.NewDesc("netcost_spool_dropped_events_total", "Events (records) dropped because the spool was at its bound.", nil, nil)
	spoolDroppedBytes   = prometheus.NewDesc("netcost_spool_dropped_bytes_total", "Bytes dropped because the spool was at its bound.", nil, nil)
	cwRecords           = prometheus.NewDesc("netcost_cloudwatch_records_total", "Events CloudWatch Logs accepted.", nil, nil)
	cwPuts              = prometheus.NewDesc("netcost_cloudwatch_puts_total", "Successful PutLogEvents calls.", nil, nil)
	cwFailures          = prometheus.NewDesc("netcost_cloudwatch_put_failures_total", "Failed calls to CloudWatch Logs, each retried later.", nil, nil)
	cwRejected          = prometheus.NewDesc("netcost_cloudwatch_rejected_records_total", "Events CloudWatch Logs refused (too old or too new) or the spool set aside as unpublishable.", nil, nil)
	cwSkipped           = prometheus.NewDesc("netcost_cloudwatch_replay_skipped_records_total", "Events a replay found already in CloudWatch Logs and did not send again.", nil, nil)
	cwLatency           = prometheus.NewDesc("netcost_cloudwatch_put_latency_seconds", "How long the last successful PutLogEvents call took.", nil, nil)
	cwLast              = prometheus.NewDesc("netcost_cloudwatch_last_put_timestamp_seconds", "When the last successful PutLogEvents call returned, in Unix seconds.", nil, nil)
)

var spoolDescs = []*prometheus.Desc{spoolWindows, spoolBytes, spoolDroppedWindows, spoolDroppedEvents, spoolDroppedBytes,
	cwRecords, cwPuts, cwFailures, cwRejected, cwSkipped, cwLatency, cwLast}

func emitSpool(s SpoolStats, ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(spoolWindows, prometheus.GaugeValue, float64(s.Windows))
	ch <- prometheus.MustNewConstMetric(spoolBytes, prometheus.GaugeValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(spoolDroppedWindows, prometheus.CounterValue, float64(s.DroppedWindows))
	ch <- prometheus.MustNewConstMetric(spoolDroppedEvents, prometheus.CounterValue, float64(s.DroppedEvents))
	ch <- prometheus.MustNewConstMetric(spoolDroppedBytes, prometheus.CounterValue, float64(s.DroppedBytes))
	ch <- prometheus.MustNewConstMetric(cwRecords, prometheus.CounterValue, float64(s.PublishedRecords))
	ch <- prometheus.MustNewConstMetric(cwPuts, prometheus.CounterValue, float64(s.PublishedBatches))
	ch <- prometheus.MustNewConstMetric(cwFailures, prometheus.CounterValue, float64(s.PublishFailures))
	ch <- prometheus.MustNewConstMetric(cwRejected, prometheus.CounterValue, float64(s.RejectedRecords))
	ch <- prometheus.MustNewConstMetric(cwSkipped, prometheus.CounterValue, float64(s.ReplaySkipped))
	ch <- prometheus.MustNewConstMetric(cwLatency, prometheus.GaugeValue, s.LastPublishLatency.Seconds())
	if !s.LastPublished.IsZero() {
		ch <- prometheus.MustNewConstMetric(cwLast, prometheus.GaugeValue, float64(s.LastPublished.UnixNano())/1e9)
	}
}
