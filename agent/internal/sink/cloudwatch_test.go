package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/sample"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/syncbuf"
)

func logsClient(endpoint string) *cloudwatchlogs.Client {
	return NewLogsClient(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}, endpoint)
}

type testSink struct {
	*CloudWatch
	logs *syncbuf.Buffer
}

func openCW(t *testing.T, endpoint, dir string, maxBytes int64) testSink {
	t.Helper()
	logs := &syncbuf.Buffer{}
	c, err := NewCloudWatch(CloudWatchOptions{Client: logsClient(endpoint), LogStream: "node-a", SpoolDir: dir, SpoolMaxBytes: maxBytes,
		Log: slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), nil)), MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
		CloseTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return testSink{c, logs}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// drained waits until the sink published its spool.
func drained(t *testing.T, c testSink) CloudWatchStats {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := c.Stats()
		if st.SpoolWindows == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the spool still holds %d windows after 60s: %+v\n%s", st.SpoolWindows, st, c.logs)
		}
	}
}

type event struct {
	ts  int64
	msg string
}

// readBack reads the stream with FilterLogEvents, as a reader of the log group would.
func readBack(t *testing.T, endpoint string) []event {
	t.Helper()
	p := cloudwatchlogs.NewFilterLogEventsPaginator(logsClient(endpoint), &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(DefaultLogGroup), LogStreamNames: []string{"node-a"}})
	var evs []event
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("FilterLogEvents: %v", err)
		}
		for _, e := range out.Events {
			evs = append(evs, event{aws.ToInt64(e.Timestamp), aws.ToString(e.Message)})
		}
	}
	return evs
}

// decodeAll decodes events into records, and fails on a duplicate window_id/seq.
func decodeAll(t *testing.T, evs []event) []flows.Record {
	t.Helper()
	d := flows.NewDecoder()
	seen := map[string]bool{}
	var recs []flows.Record
	for _, e := range evs {
		var r flows.Record
		if err := d.Decode([]byte(e.msg), &r); err != nil {
			t.Fatalf("an event is not a valid record: %v\n%s", err, e.msg)
		}
		var id struct {
			WindowID string `json:"window_id"`
			Seq      int    `json:"seq"`
		}
		json.Unmarshal([]byte(e.msg), &id)
		k := fmt.Sprint(id.WindowID, "/", id.Seq)
		if id.WindowID == "" || seen[k] {
			t.Errorf("event %s twice, or without an id: %s", k, e.msg)
		}
		seen[k] = true
		recs = append(recs, r)
	}
	return recs
}

// sampleWindows returns windows of the sample cluster's records for one node, starting an hour ago.
func sampleWindows(t *testing.T, windows int) [][]flows.Record {
	t.Helper()
	start := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	var out [][]flows.Record
	err := sample.Generate(sample.Options{Start: start, Windows: windows, Seed: 7}, func(node string, r *flows.Record) error {
		if node != "ip-10-0-1-10.ec2.internal" {
			return nil
		}
		i := int(r.TS.Sub(start) / time.Minute)
		for len(out) <= i {
			out = append(out, nil)
		}
		out[i] = append(out[i], *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != windows || len(out[0]) == 0 {
		t.Fatalf("sample: %d windows, the first of %d records", len(out), len(out[0]))
	}
	return out
}

// oddRecords are records whose strings and empty fields test the encoding.
func oddRecords(ts time.Time) []flows.Record {
	base := flows.Record{Schema: 1, TS: ts, WindowS: 60, Region: "us-east-1", Direction: flows.Egress, Category: flows.Internet,
		Protocol: flows.UDP, LocalIP: "10.0.1.5", RemoteIP: "2001:db8::1", RemotePort: 53, Bytes: 1 << 40, Packets: 3}
	a, b, c := base, base, base
	a.Cluster, a.LocalNamespace, a.LocalPod = "prod \"eu\"", "kube-system", "coredns-ü-\\x"
	a.RemoteWorkload, a.RemoteName, a.RemoteNameSource = "weird\"name</b>&", "_dns.example.com", flows.NameFromDNS
	b.Cluster = "" // neither cluster nor namespace: dimensions [category] only
	c.Cluster, c.Direction, c.Category, c.Via, c.ViaAZID = "prod", flows.Ingress, flows.NATGateway, "nat-0abc", "use1-az2"
	return []flows.Record{a, b, c}
}

// TestCloudWatchEqualsFileSink publishes the sample cluster's records and
// odd ones to moto through the CloudWatch sink and to a directory through
// the file sink, and compares what FilterLogEvents returns with what the
// files hold, record by record and field by field. Every event is valid EMF.
func TestCloudWatchEqualsFileSink(t *testing.T) {
	moto := mototest.Start(t)
	cw := openCW(t, moto, t.TempDir(), 1<<30)
	dir := t.TempDir()
	files, err := OpenFiles(dir, "node-a")
	if err != nil {
		t.Fatal(err)
	}
	windows := sampleWindows(t, 3)
	windows = append(windows, oddRecords(windows[2][0].TS.Add(time.Minute)))
	for _, w := range windows {
		if err := files.Write(t.Context(), w); err != nil {
			t.Fatal(err)
		}
		if err := cw.Write(t.Context(), w); err != nil {
			t.Fatal(err)
		}
	}
	files.Close()
	st := drained(t, cw)

	evs := readBack(t, moto)
	got := decodeAll(t, evs)
	var want []flows.Record
	if _, err := source.Read(t.Context(), dir, source.ReadOptions{Workers: 1}, func(_ int, r *flows.Record) error {
		want = append(want, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || st.PublishedRecords != uint64(len(want)) {
		t.Fatalf("CloudWatch holds %d records (published %d); the files %d", len(got), st.PublishedRecords, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d:\nCloudWatch %+v\nfile       %+v", i, got[i], want[i])
		}
	}
	for i, e := range evs {
		checkEMF(t, e, &got[i])
	}
}

// checkEMF checks an event against the EMF specification's rules for what
// this agent writes: the timestamp, the metric, and dimensions that name
// present string fields, none of them high-cardinality.
func checkEMF(t *testing.T, e event, r *flows.Record) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.msg), &m); err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	raw, _ := json.Marshal(m["_aws"])
	if err := json.Unmarshal(raw, &meta); err != nil || len(meta.CloudWatchMetrics) != 1 {
		t.Fatalf("bad _aws %s: %v", raw, err)
	}
	if meta.Timestamp != r.TS.UnixMilli() || e.ts != r.TS.UnixMilli() {
		t.Errorf("EMF timestamp %d, event timestamp %d; want the window start %d", meta.Timestamp, e.ts, r.TS.UnixMilli())
	}
	cm := meta.CloudWatchMetrics[0]
	if cm.Namespace != DefaultNamespace || len(cm.Metrics) != 1 || cm.Metrics[0].Name != "bytes" || cm.Metrics[0].Unit != "Bytes" {
		t.Errorf("metrics %+v", cm)
	}
	if v, ok := m["bytes"].(float64); !ok || v != float64(r.Bytes) {
		t.Errorf("the metric's field bytes = %v", m["bytes"])
	}
	want := [][]string{{"cluster", "category"}, {"cluster", "category", "local_namespace"}}
	if r.LocalNamespace == "" {
		want = want[:1]
	}
	if r.Cluster == "" {
		for i := range want {
			want[i] = want[i][1:]
		}
	}
	if !reflect.DeepEqual(cm.Dimensions, want) {
		t.Errorf("dimensions %v; want %v", cm.Dimensions, want)
	}
	for _, set := range cm.Dimensions {
		for _, d := range set {
			if s, ok := m[d].(string); !ok || s == "" {
				t.Errorf("dimension %s is not a present string field: %s", d, e.msg)
			}
		}
	}
}

// putLog records the PutLogEvents requests a proxy forwarded.
type putReq struct {
	LogEvents []struct {
		Timestamp int64
		Message   string
	}
}

// fault is what the proxy does to one PutLogEvents request.
type fault string

const (
	throttle    fault = "throttle"     // 400 ThrottlingException; not forwarded
	unavailable fault = "unavailable"  // 503 ServiceUnavailableException; not forwarded
	internal    fault = "internal"     // 500 InternalFailure; not forwarded
	lost        fault = "lost"         // forwarded, then the connection is cut: the response is lost
	denied      fault = "accessdenied" // 400 AccessDeniedException; not forwarded
	badParam    fault = "badparam"     // 400 InvalidParameterException; not forwarded
)

// proxy sits between the sink and moto: it records the PutLogEvents
// requests that reach moto and injects faults into them.
type proxy struct {
	*httptest.Server
	target   string
	mu       sync.Mutex
	puts     []putReq
	calls    map[string]int // by operation, faulted or not
	faults   []fault        // for the next PutLogEvents requests, in order
	always   fault          // for every PutLogEvents request, when set
	cutReads bool           // cut the connection of every GetLogEvents request
	cutLater bool           // set cutReads once a response was lost
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target, calls: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// stats returns the calls by operation and the puts moto accepted.
func (p *proxy) stats() (map[string]int, []putReq) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.calls), slices.Clone(p.puts)
}

func (p *proxy) set(always fault, cutLater bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.always, p.cutLater = always, cutLater
}

func (p *proxy) inject(f ...fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f...)
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	p.mu.Lock()
	p.calls[op]++
	var f fault
	if op == "GetLogEvents" && p.cutReads {
		p.mu.Unlock()
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
		return
	}
	if op == "PutLogEvents" {
		f = p.always
		if f == "" && len(p.faults) > 0 {
			f, p.faults = p.faults[0], p.faults[1:]
		}
	}
	p.mu.Unlock()
	apiError := func(status int, code string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"__type":%q,"message":"injected by the test"}`, code)
	}
	switch f {
	case throttle:
		apiError(400, "ThrottlingException")
		return
	case unavailable:
		apiError(503, "ServiceUnavailableException")
		return
	case internal:
		apiError(500, "InternalFailure")
		return
	case denied:
		apiError(400, "AccessDeniedException")
		return
	case badParam:
		apiError(400, "InvalidParameterException")
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		apiError(502, "BadGateway")
		return
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if op == "PutLogEvents" && resp.StatusCode == 200 {
		var pr putReq
		json.Unmarshal(body, &pr)
		p.mu.Lock()
		p.puts = append(p.puts, pr)
		p.mu.Unlock()
	}
	if f == lost {
		p.mu.Lock()
		p.cutReads = p.cutReads || p.cutLater
		p.mu.Unlock()
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(rb)
}

// TestCloudWatchBatchLimits publishes a 50,000-record window through a
// proxy that records each PutLogEvents request, and checks every batch
// against PutLogEvents' limits: at most 1,048,576 bytes counting 26 per
// event, at most 10,000 events, in timestamp order, spanning less than
// 24 hours; and that the batches are full, not one event each.
func TestCloudWatchBatchLimits(t *testing.T) {
	moto := mototest.Start(t)
	px := newProxy(t, moto)
	cw := openCW(t, px.URL, t.TempDir(), 1<<30)
	ts := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	big := make([]flows.Record, 50_000)
	src := sampleWindows(t, 1)[0]
	for i := range big {
		big[i] = src[i%len(src)]
		big[i].TS, big[i].RemotePort = ts, uint16(i)
	}
	if err := cw.Write(t.Context(), big); err != nil {
		t.Fatal(err)
	}
	st := drained(t, cw)
	_, puts := px.stats()
	checkBatches(t, puts, maxBatchEvents)
	var total, largest int
	for _, b := range puts {
		total += len(b.LogEvents)
		for _, e := range b.LogEvents {
			largest = max(largest, len(e.Message)+eventOverhead)
		}
	}
	if total != len(big) || st.PublishedRecords != uint64(len(big)) || st.PublishedBatches != uint64(len(puts)) {
		t.Fatalf("%d events in %d batches (stats %+v); want %d", total, len(puts), st, len(big))
	}
	for i, b := range puts[:len(puts)-1] {
		if n := batchBytes(b); n <= maxBatchBytes-largest {
			t.Errorf("batch %d holds %d bytes: room was left for another event", i, n)
		}
	}
	t.Logf("50,000 records: %d PutLogEvents calls", len(puts))
	if got := len(readBack(t, moto)); got != len(big) {
		t.Errorf("moto holds %d events; want %d", got, len(big))
	}
}

func batchBytes(b putReq) int {
	n := 0
	for _, e := range b.LogEvents {
		n += len(e.Message) + eventOverhead
	}
	return n
}

func checkBatches(t *testing.T, puts []putReq, maxEvents int) {
	t.Helper()
	for i, b := range puts {
		if n := batchBytes(b); n > maxBatchBytes {
			t.Errorf("batch %d: %d bytes", i, n)
		}
		if len(b.LogEvents) > maxEvents || len(b.LogEvents) == 0 {
			t.Errorf("batch %d: %d events", i, len(b.LogEvents))
		}
		for j := 1; j < len(b.LogEvents); j++ {
			if b.LogEvents[j].Timestamp < b.LogEvents[j-1].Timestamp {
				t.Errorf("batch %d: event %d is older than the one before", i, j)
			}
		}
		if span := time.Duration(b.LogEvents[len(b.LogEvents)-1].Timestamp-b.LogEvents[0].Timestamp) * time.Millisecond; span >= maxBatchSpan {
			t.Errorf("batch %d spans %v", i, span)
		}
	}
}

// TestCloudWatchBatchSpanAndCount publishes a window whose records span
// three days, out of order, and one of records a minute apart, with the
// event count limit tightened to 7: the first is cut by the 24-hour span
// (six records 4 hours apart per batch), the second by the count; every
// batch is in timestamp order.
func TestCloudWatchBatchSpanAndCount(t *testing.T) {
	moto := mototest.Start(t)
	px := newProxy(t, moto)
	cw := openCW(t, px.URL, t.TempDir(), 1<<30)
	cw.limits.events = 7
	now := time.Now().UTC().Truncate(time.Minute)
	spaced := func(n int, gap time.Duration, end time.Time) []flows.Record {
		var recs []flows.Record
		for i := range n {
			r := oddRecords(end.Add(-time.Duration(i) * gap))[2] // newest first
			r.RemotePort = uint16(i)
			recs = append(recs, r)
		}
		return recs
	}
	for _, w := range [][]flows.Record{spaced(20, 4*time.Hour, now.Add(-time.Hour)), spaced(20, time.Minute, now)} {
		if err := cw.Write(t.Context(), w); err != nil {
			t.Fatal(err)
		}
	}
	drained(t, cw)
	_, puts := px.stats()
	checkBatches(t, puts, 7)
	var sizes []int
	for _, b := range puts {
		sizes = append(sizes, len(b.LogEvents))
	}
	if want := []int{6, 6, 6, 2, 7, 7, 6}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v; want %v", sizes, want)
	}
	if got := decodeAll(t, readBack(t, moto)); len(got) != 40 {
		t.Fatalf("moto holds %d records; want 40", len(got))
	}
}

// TestCloudWatchRetries injects throttling (HTTP 400 ThrottlingException),
// 503, 500 and a lost response (moto stored the events, the connection is
// cut before the answer) into PutLogEvents: each is retried, and every
// record is in CloudWatch exactly once.
func TestCloudWatchRetries(t *testing.T) {
	moto := mototest.Start(t)
	px := newProxy(t, moto)
	px.inject(throttle, throttle, unavailable, internal, lost, throttle)
	cw := openCW(t, px.URL, t.TempDir(), 1<<30)
	windows := sampleWindows(t, 3)
	var want int
	for _, w := range windows {
		want += len(w)
		if err := cw.Write(t.Context(), w); err != nil {
			t.Fatal(err)
		}
	}
	st := drained(t, cw)
	got := decodeAll(t, readBack(t, moto)) // fails on a duplicate
	if len(got) != want {
		t.Errorf("moto holds %d records; want %d", len(got), want)
	}
	calls, puts := px.stats()
	// Five faults were answered by the proxy; the lost response's put reached moto.
	if st.PublishFailures != 6 || calls["PutLogEvents"] != 5+len(puts) || len(puts) != len(windows) {
		t.Errorf("%d failures, %d PutLogEvents calls for %d accepted; want 6 failures, each retried, and one put per window", st.PublishFailures, calls["PutLogEvents"], len(puts))
	}
	if st.ReplaySkipped != uint64(len(windows[0])) || calls["GetLogEvents"] == 0 {
		t.Errorf("after the lost response the sink did not look before resending: %+v, calls %v", st, calls)
	}
	if !strings.Contains(cw.logs.String(), "CloudWatch Logs unreachable") || !strings.Contains(cw.logs.String(), "accepts events again") {
		t.Errorf("the outage is not logged:\n%s", cw.logs)
	}
}

// TestCloudWatchAccessDenied: a refusal is logged with what to fix, the
// windows wait in the spool, and they are published once it is fixed.
func TestCloudWatchAccessDenied(t *testing.T) {
	moto := mototest.Start(t)
	px := newProxy(t, moto)
	px.set(denied, false)
	cw := openCW(t, px.URL, t.TempDir(), 1<<30)
	w := sampleWindows(t, 1)[0]
	cw.Write(t.Context(), w)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(cw.logs.String(), "logs:PutLogEvents"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no error line names the missing permission:\n%s", cw.logs)
		}
	}
	if st := cw.Stats(); st.SpoolWindows != 1 || st.PublishedRecords != 0 {
		t.Errorf("while denied: %+v; want the window spooled", st)
	}
	px.set("", false)
	drained(t, cw)
	if got := len(decodeAll(t, readBack(t, moto))); got != len(w) {
		t.Errorf("moto holds %d records; want %d", got, len(w))
	}
}

// TestCloudWatchRefusedEvents: a window CloudWatch calls malformed is
// set aside (kept on disk, logged, counted) instead of blocking the spool,
// and events older than CloudWatch's 14 days are counted as refused.
func TestCloudWatchRefusedEvents(t *testing.T) {
	moto := mototest.Start(t)
	px := newProxy(t, moto)
	px.inject(badParam)
	dir := t.TempDir()
	cw := openCW(t, px.URL, dir, 1<<30)
	windows := sampleWindows(t, 2)
	old := oddRecords(time.Now().Add(-15 * 24 * time.Hour).Truncate(time.Minute))
	for _, w := range [][]flows.Record{windows[0], windows[1], old} {
		cw.Write(t.Context(), w)
	}
	st := drained(t, cw)
	if got := len(decodeAll(t, readBack(t, moto))); got != len(windows[1]) {
		t.Errorf("moto holds %d records; want the second window's %d", got, len(windows[1]))
	}
	if want := uint64(len(windows[0]) + len(old)); st.RejectedRecords != want {
		t.Errorf("%d records refused; want the malformed window's and the old ones: %d", st.RejectedRecords, want)
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, rejectedDir, "*"+spoolExt)); len(kept) != 1 {
		t.Errorf("set aside: %v; want the malformed window", kept)
	}
	for _, want := range []string{"set aside", "InvalidParameterException", "outside its time range"} {
		if !strings.Contains(cw.logs.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, cw.logs)
		}
	}
}

// closedPort returns an endpoint where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	return "http://" + l.Addr().String()
}

// TestCloudWatchRestartNeitherLosesNorDoubles: a first run spools windows
// while CloudWatch is unreachable and others whose responses are lost
// after moto stored them; it stops. The next run, on the same spool,
// publishes the first kind and finds the second already there.
func TestCloudWatchRestartNeitherLosesNorDoubles(t *testing.T) {
	moto := mototest.Start(t)
	spoolDir := t.TempDir()
	windows := sampleWindows(t, 4)

	first := openCW(t, closedPort(t), spoolDir, 1<<30)
	first.Write(t.Context(), windows[0])
	first.Write(t.Context(), windows[1])
	first.Close()
	px := newProxy(t, moto)
	px.set(lost, true) // a put reaches moto, its answer is lost, and the look that follows fails
	second := openCW(t, px.URL, spoolDir, 1<<30)
	second.Write(t.Context(), windows[2])
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if calls, puts := px.stats(); len(puts) == 1 && calls["GetLogEvents"] > 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto did not receive the first window")
		}
	}
	second.Close()
	if st := second.Stats(); st.SpoolWindows != 3 || st.PublishedRecords != 0 {
		t.Fatalf("after a lost response: %+v; want 3 windows spooled, none known published", st)
	}

	third := openCW(t, moto, spoolDir, 1<<30)
	third.Write(t.Context(), windows[3])
	st := drained(t, third)
	got := decodeAll(t, readBack(t, moto)) // fails on a duplicate
	want := 0
	for _, w := range windows {
		want += len(w)
	}
	if len(got) != want {
		t.Errorf("moto holds %d records; want %d", len(got), want)
	}
	if st.ReplaySkipped != uint64(len(windows[0])) || st.PublishedRecords != uint64(want-len(windows[0])) {
		t.Errorf("the third run skipped %d and published %d; want the first window found (%d) and the rest published",
			st.ReplaySkipped, st.PublishedRecords, len(windows[0]))
	}
	for i := 1; i < len(got); i++ {
		if got[i].TS.Before(got[i-1].TS) {
			t.Errorf("record %d is older than the one before: windows published out of order", i)
		}
	}
}

// TestCloudWatchMotoRestart stops moto mid-run and starts a new, empty
// moto on the same port: the windows written meanwhile are spooled, the
// group and stream are created again, and every record is in one of the
// two motos exactly once.
func TestCloudWatchMotoRestart(t *testing.T) {
	srv := mototest.StartServer(t)
	cw := openCW(t, srv.URL, t.TempDir(), 1<<30)
	windows := sampleWindows(t, 9)
	for _, w := range windows[:3] {
		cw.Write(t.Context(), w)
	}
	drained(t, cw)
	before := decodeAll(t, readBack(t, srv.URL))

	srv.Stop()
	for _, w := range windows[3:6] {
		cw.Write(t.Context(), w)
		time.Sleep(100 * time.Millisecond)
	}
	st := cw.Stats()
	if st.SpoolWindows != 3 || st.PublishFailures == 0 {
		t.Errorf("while moto is down: %+v; want 3 windows spooled and failures counted", st)
	}
	srv.Restart()
	for _, w := range windows[6:] {
		cw.Write(t.Context(), w)
	}
	drained(t, cw)
	after := decodeAll(t, readBack(t, srv.URL))

	count := func(ws [][]flows.Record) (n int) {
		for _, w := range ws {
			n += len(w)
		}
		return n
	}
	if len(before) != count(windows[:3]) || len(after) != count(windows[3:]) {
		t.Errorf("first moto %d records, second %d; want %d and %d", len(before), len(after), count(windows[:3]), count(windows[3:]))
	}
	key := func(r *flows.Record) string { return string(flows.AppendJSON(nil, r)) }
	seen := map[string]int{}
	for _, r := range append(before, after...) {
		seen[key(&r)]++
	}
	for _, w := range windows {
		for _, r := range w {
			if seen[key(&r)] != 1 {
				t.Errorf("record %s published %d times", key(&r), seen[key(&r)])
			}
		}
	}
}

// TestSpoolBound: with CloudWatch unreachable the spool keeps the newest
// windows within its bound, on disk as in its counters, and counts and logs
// what it dropped; a window larger than the whole spool is dropped too. The
// next run publishes what was kept.
func TestSpoolBound(t *testing.T) {
	windows := sampleWindows(t, 10)
	enc, _ := newEMF(DefaultNamespace)
	size := func(w []flows.Record) int64 { // what a window takes on disk, give or take its header
		var n int64
		for i := range w {
			n += int64(len(enc.append(nil, &w[i], "xxxxxxxx.1", i))) + 16
		}
		return n
	}
	bound := 3*size(windows[0]) + 1000
	dir := t.TempDir()
	cw := openCW(t, closedPort(t), dir, bound)
	for _, w := range windows {
		cw.Write(t.Context(), w)
		st := cw.Stats()
		if st.SpoolBytes > bound || onDisk(t, dir) > bound || onDisk(t, dir) != st.SpoolBytes {
			t.Fatalf("spool %d bytes (%d on disk); bound %d", st.SpoolBytes, onDisk(t, dir), bound)
		}
	}
	huge := append(append(append(append([]flows.Record{}, windows[0]...), windows[1]...), windows[2]...), windows[3]...)
	cw.Write(t.Context(), huge)
	cw.Close()
	st := cw.Stats()
	dropped := len(huge)
	for _, w := range windows[:7] {
		dropped += len(w)
	}
	if st.SpoolWindows != 3 || st.OverflowWindows != 8 || st.OverflowRecords != uint64(dropped) {
		t.Errorf("stats %+v; want 3 windows kept, 7 dropped to make room and one too large", st)
	}
	if !strings.Contains(cw.logs.String(), "the spool is full") || !strings.Contains(cw.logs.String(), "larger than the whole spool") {
		t.Errorf("the overflow is not logged:\n%s", cw.logs)
	}

	moto := mototest.Start(t)
	next := openCW(t, moto, dir, bound)
	drained(t, next)
	got := decodeAll(t, readBack(t, moto))
	var want []flows.Record
	for _, w := range windows[7:] {
		want = append(want, w...)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("published %d records; want the newest three windows' %d", len(got), len(want))
	}
}

func onDisk(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

// TestSpoolDamage: a crash's leftover temporary file is removed, and a
// damaged window is set aside, logged and counted, not published or lost
// silently; the good windows are published.
func TestSpoolDamage(t *testing.T) {
	dir := t.TempDir()
	windows := sampleWindows(t, 2)
	first := openCW(t, closedPort(t), dir, 1<<30)
	first.Write(t.Context(), windows[0])
	first.Write(t.Context(), windows[1])
	first.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	if len(files) != 2 {
		t.Fatalf("%d spool files; want 2", len(files))
	}
	data, _ := os.ReadFile(files[0])
	os.WriteFile(files[0], data[:len(data)/2], 0o600) // a damaged disk
	os.WriteFile(filepath.Join(dir, "00000000000000000001.window.tmp"), []byte("half"), 0o600)

	moto := mototest.Start(t)
	next := openCW(t, moto, dir, 1<<30)
	st := drained(t, next)
	got := decodeAll(t, readBack(t, moto))
	if len(got) != len(windows[1]) || st.RejectedRecords == 0 {
		t.Errorf("published %d records, rejected %d; want the good window's %d and the damaged one counted", len(got), st.RejectedRecords, len(windows[1]))
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, rejectedDir, "*")); len(kept) != 1 || !strings.Contains(next.logs.String(), "set aside") {
		t.Errorf("rejected files %v; log:\n%s", kept, next.logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000001.window.tmp")); err == nil {
		t.Error("the temporary file is still there")
	}
}

func TestCloudWatchOptions(t *testing.T) {
	for _, tt := range []struct {
		o    CloudWatchOptions
		want string
	}{
		{CloudWatchOptions{LogGroup: "bad group", LogStream: "n"}, `log group "bad group"`},
		{CloudWatchOptions{LogStream: "a:b"}, `log stream "a:b"`},
		{CloudWatchOptions{LogStream: "n", Namespace: "a b", Client: logsClient(""), SpoolDir: t.TempDir(), SpoolMaxBytes: 1}, `metrics namespace "a b"`},
		{CloudWatchOptions{LogStream: "n"}, "needs a client"},
	} {
		if _, err := NewCloudWatch(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v; want %q", tt.o, err, tt.want)
		}
	}
}
