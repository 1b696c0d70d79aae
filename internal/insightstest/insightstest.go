// Package insightstest is a small CloudWatch Logs server for tests of the
// Logs Insights path: StartQuery, GetQueryResults and StopQuery in the
// Logs API's awsjson1.1 protocol, over log events held in memory. moto
// does not run Insights' stats, so this is what a test can run them on.
//
// It evaluates only the query forms netcost writes: `filter` with
// `field = "v"`, `field != "v"`, `field like /re/`, `field >= N` and
// `field < N` joined by `and`, and
// `stats` with sum, count(*), min and max of @timestamp, by fields. Any
// other text is a MalformedQueryException, so that a change in the queries
// fails the tests that run them here. The request and response shapes are
// checked against the aws CLI in the tests. As Logs Insights does, it
// shows a JSON boolean as 1 or 0, and leaves a field an event lacks out of
// its group's row.
package insightstest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/sample"
)

// Event is one log event.
type Event struct {
	Stream    string
	Timestamp time.Time
	Message   string
}

// Query is a query the server was asked to run.
type Query struct {
	ID                 string
	LogGroup           string
	Text               string
	StartTime, EndTime int64 // seconds, both inclusive
	Limit              int
	Polls              int
	Stopped            bool
}

// Server is a running fake.
type Server struct {
	URL string

	mu      sync.Mutex
	groups  map[string][]Event
	queries []*Query
	// Hang keeps every query Running until it is stopped.
	Hang bool
	// Instant completes queries at their first poll instead of the second,
	// for tests that cannot shorten the client's first wait.
	Instant bool
	// Fail, if set, is the error type every call answers with, such as
	// ThrottlingException.
	Fail string
	// Results, if set, replaces the evaluated rows of every query: a
	// GetQueryResults response body as the real API returns it.
	Results []byte
	// Polled receives each GetQueryResults call's query id, if not nil.
	Polled chan string
	// DropMissingBy makes a stats query grouped by fields leave out the
	// events that lack one of them, as a service that did so would: the
	// case the client's ungrouped count must catch.
	DropMissingBy bool
}

// Start runs a fake until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{groups: map[string][]Event{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Put adds events to a log group, creating it.
func (s *Server) Put(group string, evs ...Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[group] = append(s.groups[group], evs...)
}

// PutRecords adds records to a log group as the agents publish them: EMF
// lines in a stream per node (nodes[i] is recs[i]'s), stamped with their ts.
func (s *Server) PutRecords(group string, nodes []string, recs []flows.Record) {
	evs := make([]Event, len(recs))
	for i := range recs {
		evs[i] = Event{Stream: nodes[i], Timestamp: recs[i].TS, Message: EMF(&recs[i])}
	}
	s.Put(group, evs...)
}

// AWSEnv gives the AWS SDK (and the aws CLI) static test credentials and
// nothing from the machine: no profile, region, endpoint, config file or
// instance metadata, for any test that makes AWS calls to a local server.
func AWSEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "") // restored when the test ends
		os.Unsetenv(k)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Queries returns the queries started so far.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Query, len(s.queries))
	for i, q := range s.queries {
		out[i] = *q
	}
	return out
}

type apiError struct {
	status   int
	typ, msg string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	body, _ := io.ReadAll(r.Body)
	var out any
	var aerr *apiError
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/" || !ok:
		aerr = &apiError{400, "UnknownOperationException", "want POST / with X-Amz-Target: Logs_20140328.<Operation>"}
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		aerr = &apiError{400, "SerializationException", "want Content-Type application/x-amz-json-1.1"}
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
		aerr = &apiError{403, "MissingAuthenticationTokenException", "the request is not signed with SigV4"}
	case s.Fail != "":
		aerr = &apiError{400, s.Fail, "injected " + s.Fail}
	default:
		out, aerr = s.call(op, body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", "00000000-0000-0000-0000-000000000000")
	if aerr != nil {
		w.WriteHeader(aerr.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": aerr.typ, "message": aerr.msg})
		return
	}
	raw, ok := out.(json.RawMessage)
	if !ok {
		raw, _ = json.Marshal(out)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.Write(raw)
}

func (s *Server) call(op string, body []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "StartQuery":
		var in struct {
			LogGroupName string `json:"logGroupName"`
			QueryString  string `json:"queryString"`
			StartTime    *int64 `json:"startTime"`
			EndTime      *int64 `json:"endTime"`
			Limit        int    `json:"limit"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.StartTime == nil || in.EndTime == nil || in.QueryString == "" {
			return nil, &apiError{400, "InvalidParameterException", "StartQuery needs queryString, startTime and endTime"}
		}
		if _, ok := s.groups[in.LogGroupName]; !ok {
			return nil, &apiError{400, "ResourceNotFoundException", "The specified log group does not exist."}
		}
		if *in.EndTime < *in.StartTime {
			return nil, &apiError{400, "InvalidParameterException", "endTime is before startTime"}
		}
		if _, err := parse(in.QueryString); err != nil {
			return nil, &apiError{400, "MalformedQueryException", err.Error()}
		}
		if in.Limit == 0 {
			in.Limit = 1000
		}
		q := &Query{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", len(s.queries)+1, len(s.queries)+1), LogGroup: in.LogGroupName, Text: in.QueryString,
			StartTime: *in.StartTime, EndTime: *in.EndTime, Limit: in.Limit}
		s.queries = append(s.queries, q)
		return map[string]string{"queryId": q.ID}, nil
	case "GetQueryResults", "StopQuery":
		var in struct {
			QueryID string `json:"queryId"`
		}
		json.Unmarshal(body, &in)
		i := slices.IndexFunc(s.queries, func(q *Query) bool { return q.ID == in.QueryID })
		if i < 0 {
			return nil, &apiError{400, "ResourceNotFoundException", "Query does not exist."}
		}
		q := s.queries[i]
		if op == "StopQuery" {
			q.Stopped = true
			return map[string]bool{"success": true}, nil
		}
		q.Polls++
		if s.Polled != nil {
			select {
			case s.Polled <- q.ID:
			default:
			}
		}
		return s.results(q), nil
	}
	return nil, &apiError{400, "UnknownOperationException", "this fake serves StartQuery, GetQueryResults and StopQuery, not " + op}
}

type resultField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// results answers a poll: Running on the first (and always if Hang),
// Complete with the rows after.
func (s *Server) results(q *Query) any {
	stats := map[string]float64{"recordsMatched": 0, "recordsScanned": 0, "bytesScanned": 0}
	switch {
	case q.Stopped:
		return map[string]any{"status": "Cancelled", "results": []any{}, "statistics": stats}
	case s.Hang || q.Polls == 1 && !s.Instant:
		return map[string]any{"status": "Running", "results": []any{}, "statistics": stats}
	case s.Results != nil:
		return json.RawMessage(s.Results)
	}
	pq, _ := parse(q.Text)
	pq.dropMissing = s.DropMissingBy
	rows, matched, scanned, bytes := pq.run(s.groups[q.LogGroup], q.StartTime, q.EndTime)
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	stats["recordsMatched"], stats["recordsScanned"], stats["bytesScanned"] = float64(matched), float64(scanned), float64(bytes)
	return map[string]any{"status": "Complete", "results": rows, "statistics": stats}
}

type cond struct {
	field, op, value string
	num              float64
	re               *regexp.Regexp
}

type agg struct{ fn, arg, as string }

type query struct {
	filters []cond
	aggs    []agg
	by      []string

	dropMissing bool // Server.DropMissingBy
}

var (
	condRE = regexp.MustCompile(`^([A-Za-z_@][A-Za-z0-9_]*) (=|!=) "([^"]*)"$|^([A-Za-z_@][A-Za-z0-9_]*) like /(.*)/$|^([A-Za-z_@][A-Za-z0-9_]*) (>=|<) ([0-9]+)$`)
	aggRE  = regexp.MustCompile(`^(sum|count_distinct|count|min|max)\(([A-Za-z_@*][A-Za-z0-9_]*)\) ` +
		`as ([A-Za-z_][A-Za-z0-9_]*)$`)
	nameRE = regexp.MustCompile(`^[A-Za-z_@][A-Za-z0-9_]*$`)
)

func parse(text string) (*query, error) {
	var q query
	for _, cmd := range strings.Split(text, "|") {
		cmd = strings.TrimSpace(cmd)
		switch {
		case strings.HasPrefix(cmd, "filter "):
			for _, c := range strings.Split(strings.TrimPrefix(cmd, "filter "), " and ") {
				m := condRE.FindStringSubmatch(strings.TrimSpace(c))
				if m == nil {
					return nil, fmt.Errorf("unsupported condition %q", c)
				}
				if m[1] != "" {
					q.filters = append(q.filters, cond{field: m[1], op: m[2], value: m[3]})
					continue
				}
				if m[6] != "" {
					n, _ := strconv.ParseFloat(m[8], 64)
					q.filters = append(q.filters, cond{field: m[6], op: m[7], num: n})
					continue
				}
				re, err := regexp.Compile(m[5])
				if err != nil {
					return nil, fmt.Errorf("bad regex in %q: %v", c, err)
				}
				q.filters = append(q.filters, cond{field: m[4], op: "like", re: re})
			}
		case strings.HasPrefix(cmd, "stats "):
			aggs, by, grouped := strings.Cut(strings.TrimPrefix(cmd, "stats "), " by ")
			if q.aggs != nil {
				return nil, fmt.Errorf("want one stats command: %q", cmd)
			}
			for _, a := range strings.Split(aggs, ",") {
				m := aggRE.FindStringSubmatch(strings.TrimSpace(a))
				if m == nil || (m[2] == "*") != (m[1] == "count") {
					return nil, fmt.Errorf("unsupported aggregate %q", a)
				}
				q.aggs = append(q.aggs, agg{m[1], m[2], m[3]})
			}
			for f := range strings.SplitSeq(by, ",") {
				if !grouped {
					break
				}
				if f = strings.TrimSpace(f); !nameRE.MatchString(f) {
					return nil, fmt.Errorf("bad by field %q", f)
				}
				q.by = append(q.by, f)
			}
		default:
			return nil, fmt.Errorf("unsupported command %q", cmd)
		}
	}
	if q.aggs == nil {
		return nil, fmt.Errorf("no stats command")
	}
	return &q, nil
}

// run evaluates the query over the events in [start, end] (seconds).
func (q *query) run(evs []Event, start, end int64) (rows [][]resultField, matched, scanned, bytes int) {
	type acc struct {
		key      []*string
		vals     []float64
		seen     []bool
		distinct []map[string]bool // count_distinct's values, by aggregate
	}
	groups := map[string]*acc{}
	var order []string
	for _, ev := range evs {
		ms := ev.Timestamp.UnixMilli()
		if ms < start*1000 || ms > end*1000+999 {
			continue
		}
		scanned++
		bytes += len(ev.Message)
		var fields map[string]any
		d := json.NewDecoder(strings.NewReader(ev.Message))
		d.UseNumber()
		if d.Decode(&fields) != nil {
			continue
		}
		get := func(name string) *string {
			if name == "@timestamp" {
				v := strconv.FormatInt(ms, 10)
				return &v
			}
			switch v := fields[name].(type) {
			case string:
				return &v
			case json.Number:
				s := v.String()
				return &s
			case bool:
				s := "0" // Logs Insights shows a JSON boolean as 1 or 0
				if v {
					s = "1"
				}
				return &s
			}
			return nil
		}
		if !q.match(get) {
			continue
		}
		matched++
		key := make([]*string, len(q.by))
		var kb strings.Builder
		missing := false
		for i, f := range q.by {
			key[i] = get(f)
			missing = missing || key[i] == nil
			if key[i] != nil {
				kb.WriteString(strconv.Quote(*key[i]))
			}
			kb.WriteByte(0)
		}
		if missing && q.dropMissing {
			continue
		}
		a := groups[kb.String()]
		if a == nil {
			a = &acc{key: key, vals: make([]float64, len(q.aggs)), seen: make([]bool, len(q.aggs))}
			groups[kb.String()] = a
			order = append(order, kb.String())
		}
		for i, ag := range q.aggs {
			if ag.fn == "count" {
				a.vals[i]++
				a.seen[i] = true
				continue
			}
			p := get(ag.arg)
			if p == nil {
				continue
			}
			if ag.fn == "count_distinct" { // exact, as Logs Insights is while the values are few
				if a.distinct == nil {
					a.distinct = make([]map[string]bool, len(q.aggs))
				}
				if a.distinct[i] == nil {
					a.distinct[i] = map[string]bool{}
				}
				a.distinct[i][*p] = true
				a.vals[i], a.seen[i] = float64(len(a.distinct[i])), true
				continue
			}
			v, err := strconv.ParseFloat(*p, 64)
			if err != nil {
				continue
			}
			switch {
			case !a.seen[i]:
				a.vals[i] = v
			case ag.fn == "sum":
				a.vals[i] += v
			case ag.fn == "min":
				a.vals[i] = math.Min(a.vals[i], v)
			case ag.fn == "max":
				a.vals[i] = math.Max(a.vals[i], v)
			}
			a.seen[i] = true
		}
	}
	for _, k := range order {
		a := groups[k]
		var row []resultField
		for i, f := range q.by {
			if a.key[i] != nil {
				row = append(row, resultField{f, *a.key[i]})
			}
		}
		for i, ag := range q.aggs {
			if !a.seen[i] {
				continue
			}
			v := strconv.FormatFloat(a.vals[i], 'f', -1, 64)
			if ag.arg == "@timestamp" && ag.fn != "count_distinct" {
				v = time.UnixMilli(int64(a.vals[i])).UTC().Format("2006-01-02 15:04:05.000")
			}
			row = append(row, resultField{ag.as, v})
		}
		rows = append(rows, row)
	}
	return rows, matched, scanned, bytes
}

func (q *query) match(get func(string) *string) bool {
	for _, c := range q.filters {
		v := get(c.field)
		switch c.op {
		case "=":
			if v == nil || *v != c.value {
				return false
			}
		case "!=":
			if v != nil && *v == c.value {
				return false
			}
		case "like":
			if v == nil || !c.re.MatchString(*v) {
				return false
			}
		case ">=", "<":
			if v == nil {
				return false
			}
			n, err := strconv.ParseFloat(*v, 64)
			if err != nil || (c.op == ">=") != (n >= c.num) {
				return false
			}
		}
	}
	return true
}

// EMF returns r as the agents publish it: its schema-1 JSON with the
// Embedded Metric Format metadata `_aws` first.
func EMF(r *flows.Record) string {
	meta := fmt.Sprintf(`{"_aws":{"Timestamp":%d,"CloudWatchMetrics":[{"Namespace":"netcost","Dimensions":[["cluster","category"]],"Metrics":[{"Name":"bytes","Unit":"Bytes"}]}]},`, r.TS.UnixMilli())
	return meta + string(flows.AppendJSON(nil, r)[1:])
}

// Sample returns three windows of the sample scenario and the nodes that
// wrote them, for PutRecords and WriteStore, and the windows' extent.
//
// The fields newer agents write take every state: the first window is an
// older agent's, without node_instance_id and remote_reported; in the
// others every record names its node's instance and says remote_reported,
// false in the last window for the use1-az1 node's remotes on the use1-az2
// node (as if that node's agent were not Ready), and graphql in use1-az1
// exchanges bytes with three load balancers in use1-az2 (remote_lb): an
// ALB, an NLB and a Classic one.
func Sample(t testing.TB) (recs []flows.Record, nodes []string, start, end time.Time) {
	t.Helper()
	opt := sample.DefaultOptions()
	opt.Windows = 3
	var graphql *flows.Record // graphql's record in use1-az1, for the load balancers'
	window := 0
	if err := sample.Generate(opt, func(node string, r *flows.Record) error {
		if r.RemotePod == "" && r.RemoteNode == "" && r.RemoteIP != flows.OtherIP {
			// Outside remotes change over time, as a CDN's addresses do, so
			// that a shorter window has fewer groups.
			a := netip.MustParseAddr(r.RemoteIP).As4()
			a[3] += byte(r.TS.Sub(opt.Start) / time.Minute)
			r.RemoteIP = netip.AddrFrom4(a).String()
		}
		if k := int(r.TS.Sub(opt.Start) / time.Minute); k != window {
			recs, nodes = appendLBRecords(recs, nodes, graphql, window)
			window = k
		}
		if window > 0 {
			r.NodeInstanceID = sampleInstanceIDs[node]
			stale := window == 2 && node == sample.NodeAZ1 && r.RemoteNode == sample.NodeAZ2
			r.RemoteReportedRaw = flows.BoolOf(r.RemoteInCluster() && !stale)
		}
		recs, nodes = append(recs, *r), append(nodes, node)
		if graphql == nil && node == sample.NodeAZ1 && r.LocalWorkload == "graphql" {
			graphql = new(*r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	recs, nodes = appendLBRecords(recs, nodes, graphql, window)
	return recs, nodes, opt.Start, opt.Start.Add(3 * time.Minute)
}

// sampleInstanceIDs are the sample nodes' EC2 instances.
var sampleInstanceIDs = map[string]string{sample.NodeAZ1: "i-0a1b2c3d4e5f60001", sample.NodeAZ2: "i-0a1b2c3d4e5f60002"}

// appendLBRecords appends, for windows after the first, the records of
// local's pod with three load balancers in use1-az2: requests in,
// responses out, a different size each.
func appendLBRecords(recs []flows.Record, nodes []string, local *flows.Record, window int) ([]flows.Record, []string) {
	if window == 0 || local == nil {
		return recs, nodes
	}
	for i, lb := range []string{"app/web/50dc6c495c0c9188", "net/tcp-in/fe67e401c04c39d7", "classic/legacy-web"} {
		for _, d := range []flows.Direction{flows.Ingress, flows.Egress} {
			n := uint64(i+1)<<20 + uint64(window)<<10 + uint64(d)
			recs = append(recs, flows.Record{Schema: flows.SchemaVersion, TS: local.TS.Add(time.Duration(window) * time.Minute),
				WindowS: local.WindowS, Cluster: local.Cluster, Node: local.Node, Region: local.Region,
				NodeInstanceID: sampleInstanceIDs[local.Node], Direction: d, Category: flows.InterAZ, Protocol: flows.TCP,
				LocalIP: local.LocalIP, LocalPod: local.LocalPod, LocalNamespace: local.LocalNamespace,
				LocalWorkload: local.LocalWorkload, LocalWorkloadKind: local.LocalWorkloadKind, LocalAZ: local.LocalAZ,
				LocalAZID: local.LocalAZID, LocalSubnet: local.LocalSubnet,
				RemoteIP: fmt.Sprintf("10.0.2.%d", 200+i), RemoteAZ: "us-east-1b", RemoteAZID: "use1-az2",
				RemoteReportedRaw: flows.BoolFalse, RemoteLB: lb, Bytes: n, Packets: n >> 10})
			nodes = append(nodes, local.Node)
		}
	}
	return recs, nodes
}

// WriteStore writes recs as a file store and returns its path.
func WriteStore(t testing.TB, recs []flows.Record) string {
	t.Helper()
	var b []byte
	for i := range recs {
		b = append(flows.AppendJSON(b, &recs[i]), '\n')
	}
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
