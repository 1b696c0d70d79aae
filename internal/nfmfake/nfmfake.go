// Package nfmfake serves the part of the AWS Network Flow Monitor API that
// netcost reads (restJson1, API version 2023-04-19) from data a test
// seeds: ListMonitors, GetMonitor and the monitor top-contributors query
// (StartQueryMonitorTopContributors, GetQueryStatus..., GetQueryResults...,
// StopQuery...). No emulator of the service exists; this fake is proven
// against the real aws CLI by its own tests, so its paths, bodies and shapes
// are the real ones. It is strict: a request with an unknown or missing
// field, a bad enumeration or a signature-less request is answered with the
// ValidationException the service would send, so a client that passes here
// builds its requests right.
package nfmfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Operation names, as the API and the SDK's errors spell them.
const (
	ListMonitors    = "ListMonitors"
	GetMonitor      = "GetMonitor"
	StartQuery      = "StartQueryMonitorTopContributors"
	GetQueryStatus  = "GetQueryStatusMonitorTopContributors"
	GetQueryResults = "GetQueryResultsMonitorTopContributors"
	StopQuery       = "StopQueryMonitorTopContributors"
)

// Row is one top contributor as the service returns it (MonitorTopContributorsRow).
type Row struct {
	LocalIP             string               `json:"localIp,omitempty"`
	SnatIP              string               `json:"snatIp,omitempty"`
	LocalInstanceID     string               `json:"localInstanceId,omitempty"`
	LocalVpcID          string               `json:"localVpcId,omitempty"`
	LocalRegion         string               `json:"localRegion,omitempty"`
	LocalAz             string               `json:"localAz,omitempty"`
	LocalSubnetID       string               `json:"localSubnetId,omitempty"`
	TargetPort          *int32               `json:"targetPort,omitempty"`
	DestinationCategory string               `json:"destinationCategory,omitempty"`
	RemoteVpcID         string               `json:"remoteVpcId,omitempty"`
	RemoteRegion        string               `json:"remoteRegion,omitempty"`
	RemoteAz            string               `json:"remoteAz,omitempty"`
	RemoteSubnetID      string               `json:"remoteSubnetId,omitempty"`
	RemoteInstanceID    string               `json:"remoteInstanceId,omitempty"`
	RemoteIP            string               `json:"remoteIp,omitempty"`
	DnatIP              string               `json:"dnatIp,omitempty"`
	Value               int64                `json:"value"`
	TraversedConstructs []TraversedComponent `json:"traversedConstructs,omitempty"`
	KubernetesMetadata  *KubernetesMetadata  `json:"kubernetesMetadata,omitempty"`
	LocalInstanceArn    string               `json:"localInstanceArn,omitempty"`
	LocalSubnetArn      string               `json:"localSubnetArn,omitempty"`
	LocalVpcArn         string               `json:"localVpcArn,omitempty"`
	RemoteInstanceArn   string               `json:"remoteInstanceArn,omitempty"`
	RemoteSubnetArn     string               `json:"remoteSubnetArn,omitempty"`
	RemoteVpcArn        string               `json:"remoteVpcArn,omitempty"`
}

// TraversedComponent is a hop a flow passed, such as a NAT gateway.
type TraversedComponent struct {
	ComponentID   string `json:"componentId,omitempty"`
	ComponentType string `json:"componentType,omitempty"`
	ComponentArn  string `json:"componentArn,omitempty"`
	ServiceName   string `json:"serviceName,omitempty"`
}

// KubernetesMetadata names the pods at both ends of a flow.
type KubernetesMetadata struct {
	LocalServiceName   string `json:"localServiceName,omitempty"`
	LocalPodName       string `json:"localPodName,omitempty"`
	LocalPodNamespace  string `json:"localPodNamespace,omitempty"`
	RemoteServiceName  string `json:"remoteServiceName,omitempty"`
	RemotePodName      string `json:"remotePodName,omitempty"`
	RemotePodNamespace string `json:"remotePodNamespace,omitempty"`
}

// Error is an API error the fake answers with: an HTTP status and the
// error's code, as in 429 ThrottlingException.
type Error struct {
	Status  int
	Code    string
	Message string
}

// The errors the model declares for these operations.
var (
	AccessDenied       = Error{403, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/test is not authorized to perform this action"}
	Throttling         = Error{429, "ThrottlingException", "Rate exceeded"}
	QuotaExceeded      = Error{402, "ServiceQuotaExceededException", "You have exceeded the number of concurrent queries"}
	InternalServer     = Error{500, "InternalServerException", "Internal server error"}
	errNotFound        = Error{404, "ResourceNotFoundException", ""}
	errValidation      = Error{400, "ValidationException", ""}
	errUnknownResource = Error{404, "UnknownOperationException", ""}
)

// Call is a request the fake received.
type Call struct {
	Op     string
	Method string
	Path   string
	Query  url.Values
	Body   []byte
}

// Query is a top-contributors query as started.
type Query struct {
	ID               string
	Monitor          string
	Start, End       time.Time
	Metric, Category string
	Limit            int // 0: not given
	Status           string
	polls            int
}

type monitor struct {
	name, status string
	created      time.Time
	rows         []Row
}

// Fake is a Network Flow Monitor endpoint. Its methods are safe for
// concurrent use.
type Fake struct {
	// URL is the endpoint, such as http://127.0.0.1:41234.
	URL string
	// PageSize is how many rows a results page holds when the client
	// does not ask for fewer; RunningPolls is how many status calls
	// answer RUNNING before SUCCEEDED. Set them before the client runs.
	PageSize, RunningPolls int

	mu       sync.Mutex
	monitors []*monitor
	queries  map[string]*Query
	nextID   int
	calls    []Call
	fail     map[string][]Error
}

// Start serves a new, empty Fake on a loopback port until the test ends.
func Start(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{PageSize: 100, RunningPolls: 1, queries: map[string]*Query{}, fail: map[string][]Error{}}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// AddMonitor adds a monitor; status is ACTIVE, PENDING, INACTIVE, ERROR or DELETING.
func (f *Fake) AddMonitor(name, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.monitors = append(f.monitors, &monitor{name: name, status: status, created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
}

// AddRows seeds a monitor's top contributors. Each row must name its
// destinationCategory: a query returns the rows of its category.
func (f *Fake) AddRows(monitorName string, rows ...Row) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.monitor(monitorName)
	if m == nil {
		panic("nfmfake: AddRows to unknown monitor " + monitorName)
	}
	m.rows = append(m.rows, rows...)
}

// Fail makes the next calls of op answer with errs, one call each, in order.
func (f *Fake) Fail(op string, errs ...Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[op] = append(f.fail[op], errs...)
}

// Calls returns the requests received so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// CallsOf returns the requests for op.
func (f *Fake) CallsOf(op string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Queries returns the queries started so far, in order.
func (f *Fake) Queries() []Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Query
	for i := 1; i <= f.nextID; i++ {
		if q := f.queries[queryID(i)]; q != nil {
			out = append(out, *q)
		}
	}
	return out
}

func queryID(i int) string { return fmt.Sprintf("4f9c2a7e-0000-4000-8000-%012d", i) }

func (f *Fake) monitor(name string) *monitor {
	for _, m := range f.monitors {
		if m.name == name {
			return m
		}
	}
	return nil
}

// The model's enumerations and patterns.
var (
	metrics         = []string{"ROUND_TRIP_TIME", "TIMEOUTS", "RETRANSMISSIONS", "DATA_TRANSFERRED"}
	categories      = []string{"INTRA_AZ", "INTER_AZ", "INTER_VPC", "UNCLASSIFIED", "AMAZON_S3", "AMAZON_DYNAMODB", "INTER_REGION"}
	monitorStatuses = []string{"PENDING", "ACTIVE", "INACTIVE", "ERROR", "DELETING"}
	resourceName    = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,255}$`)
	// SigV4 for this service: the CLI and the SDK both sign with it.
	sigV4 = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/[a-z0-9-]+/networkflowmonitor/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$`)
)

type handlerFunc func(r *http.Request, body []byte) (any, *Error)

func (f *Fake) handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, op string, h handlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, op, h) })
	}
	route("GET /monitors", ListMonitors, f.listMonitors)
	route("GET /monitors/{monitorName}", GetMonitor, f.getMonitor)
	route("POST /monitors/{monitorName}/topContributorsQueries", StartQuery, f.startQuery)
	route("GET /monitors/{monitorName}/topContributorsQueries/{queryId}/status", GetQueryStatus, f.queryStatus)
	route("GET /monitors/{monitorName}/topContributorsQueries/{queryId}/results", GetQueryResults, f.queryResults)
	route("DELETE /monitors/{monitorName}/topContributorsQueries/{queryId}", StopQuery, f.stopQuery)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e := errUnknownResource
		e.Message = fmt.Sprintf("no operation at %s %s", r.Method, r.URL.Path)
		writeError(w, e)
	})
	return mux
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request, op string, h handlerFunc) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, *validation("reading the body: %v", err))
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, Call{Op: op, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Body: body})
	var injected *Error
	if errs := f.fail[op]; len(errs) > 0 {
		injected, f.fail[op] = &errs[0], errs[1:]
	}
	f.mu.Unlock()
	if !sigV4.MatchString(r.Header.Get("Authorization")) {
		writeError(w, Error{403, "MissingAuthenticationTokenException", "Missing Authentication Token"})
		return
	}
	if injected != nil {
		writeError(w, *injected)
		return
	}
	if name := r.PathValue("monitorName"); strings.Contains(r.Pattern, "{monitorName}") && !resourceName.MatchString(name) {
		writeError(w, *validation("1 validation error detected: Value '%s' at 'monitorName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", name))
		return
	}
	if r.Method != http.MethodPost && len(bytes.TrimSpace(body)) > 0 {
		writeError(w, *validation("%s takes no request body, got %d bytes", op, len(body)))
		return
	}
	out, apiErr := h(r, body)
	if apiErr != nil {
		writeError(w, *apiErr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", "00000000-0000-4000-8000-000000000000")
	json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.Header().Set("X-Amzn-Requestid", "00000000-0000-4000-8000-000000000000")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]string{"message": e.Message})
}

func validation(format string, a ...any) *Error {
	e := errValidation
	e.Message = fmt.Sprintf(format, a...)
	return &e
}

// queryParams checks that q holds only the allowed parameters, each once.
func queryParams(q url.Values, allowed ...string) *Error {
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			return validation("unknown query parameter %q", k)
		}
		if len(v) != 1 {
			return validation("query parameter %q given %d times", k, len(v))
		}
	}
	return nil
}

// intParam parses an integer query parameter in [lo, hi]; absent is 0.
func intParam(q url.Values, name string, lo, hi int) (int, *Error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must be between %d and %d", s, name, lo, hi)
	}
	return n, nil
}

// page cuts items at the opaque token tok, n to a page.
func page[T any](items []T, tok string, n int, scope string) ([]T, string, *Error) {
	off := 0
	if tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		s, ok := strings.CutPrefix(string(b), scope+":")
		if err != nil || !ok {
			return nil, "", validation("invalid nextToken")
		}
		if off, err = strconv.Atoi(s); err != nil || off < 0 || off > len(items) {
			return nil, "", validation("invalid nextToken")
		}
	}
	end := min(off+n, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(scope + ":" + strconv.Itoa(end)))
	}
	return items[off:end], next, nil
}

func (f *Fake) arn(name string) string {
	return "arn:aws:networkflowmonitor:us-east-1:123456789012:monitor/" + name
}

func (f *Fake) listMonitors(r *http.Request, _ []byte) (any, *Error) {
	q := r.URL.Query()
	if e := queryParams(q, "nextToken", "maxResults", "monitorStatus"); e != nil {
		return nil, e
	}
	n, e := intParam(q, "maxResults", 1, 25)
	if e != nil {
		return nil, e
	}
	if n == 0 {
		n = 25
	}
	status := q.Get("monitorStatus")
	if status != "" && !slices.Contains(monitorStatuses, status) {
		return nil, validation("monitorStatus %q is not one of %s", status, strings.Join(monitorStatuses, ", "))
	}
	type summary struct {
		MonitorArn    string `json:"monitorArn"`
		MonitorName   string `json:"monitorName"`
		MonitorStatus string `json:"monitorStatus"`
	}
	f.mu.Lock()
	var all []summary
	for _, m := range f.monitors {
		if status == "" || m.status == status {
			all = append(all, summary{f.arn(m.name), m.name, m.status})
		}
	}
	f.mu.Unlock()
	items, next, e := page(all, q.Get("nextToken"), n, "monitors")
	if e != nil {
		return nil, e
	}
	out := map[string]any{"monitors": orEmpty(items)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (f *Fake) getMonitor(r *http.Request, _ []byte) (any, *Error) {
	if e := queryParams(r.URL.Query()); e != nil {
		return nil, e
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.monitor(r.PathValue("monitorName"))
	if m == nil {
		return nil, notFound("monitor", r.PathValue("monitorName"))
	}
	// restJson1 timestamps in bodies without a format are epoch seconds.
	return map[string]any{
		"monitorArn": f.arn(m.name), "monitorName": m.name, "monitorStatus": m.status,
		"localResources":  []map[string]string{{"type": "AWS::EC2::VPC", "identifier": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0a1b2c3d4e5f60718"}},
		"remoteResources": []map[string]string{},
		"createdAt":       m.created.Unix(), "modifiedAt": m.created.Unix(), "tags": map[string]string{},
	}, nil
}

func notFound(kind, name string) *Error {
	e := errNotFound
	e.Message = fmt.Sprintf("%s %s does not exist", kind, name)
	return &e
}

func (f *Fake) startQuery(r *http.Request, body []byte) (any, *Error) {
	if e := queryParams(r.URL.Query()); e != nil {
		return nil, e
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, validation("Content-Type %q: want application/json", ct)
	}
	var in struct {
		StartTime           *string `json:"startTime"`
		EndTime             *string `json:"endTime"`
		MetricName          *string `json:"metricName"`
		DestinationCategory *string `json:"destinationCategory"`
		Limit               *int    `json:"limit"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, validation("request body: %v", err)
	}
	if dec.More() {
		return nil, validation("request body: trailing data")
	}
	for name, v := range map[string]*string{"startTime": in.StartTime, "endTime": in.EndTime, "metricName": in.MetricName, "destinationCategory": in.DestinationCategory} {
		if v == nil {
			return nil, validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", name)
		}
	}
	start, err := time.Parse(time.RFC3339Nano, *in.StartTime)
	if err != nil {
		return nil, validation("startTime %q is not an ISO 8601 date-time", *in.StartTime)
	}
	end, err := time.Parse(time.RFC3339Nano, *in.EndTime)
	if err != nil {
		return nil, validation("endTime %q is not an ISO 8601 date-time", *in.EndTime)
	}
	if !end.After(start) {
		return nil, validation("endTime must be after startTime")
	}
	if !slices.Contains(metrics, *in.MetricName) {
		return nil, validation("metricName %q is not one of %s", *in.MetricName, strings.Join(metrics, ", "))
	}
	if !slices.Contains(categories, *in.DestinationCategory) {
		return nil, validation("destinationCategory %q is not one of %s", *in.DestinationCategory, strings.Join(categories, ", "))
	}
	q := &Query{Monitor: r.PathValue("monitorName"), Start: start, End: end, Metric: *in.MetricName, Category: *in.DestinationCategory, Status: "QUEUED"}
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 500 {
			return nil, validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must be between 1 and 500", *in.Limit)
		}
		q.Limit = *in.Limit
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.monitor(q.Monitor) == nil {
		return nil, notFound("monitor", q.Monitor)
	}
	f.nextID++
	q.ID = queryID(f.nextID)
	f.queries[q.ID] = q
	return map[string]string{"queryId": q.ID}, nil
}

// query finds the query of a status, results or stop call.
func (f *Fake) query(r *http.Request) (*Query, *Error) {
	q := f.queries[r.PathValue("queryId")]
	if q == nil || q.Monitor != r.PathValue("monitorName") {
		return nil, notFound("query", r.PathValue("queryId"))
	}
	return q, nil
}

func (f *Fake) queryStatus(r *http.Request, _ []byte) (any, *Error) {
	if e := queryParams(r.URL.Query()); e != nil {
		return nil, e
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, e := f.query(r)
	if e != nil {
		return nil, e
	}
	if q.Status == "QUEUED" || q.Status == "RUNNING" {
		if q.polls < f.RunningPolls {
			q.Status = "RUNNING"
		} else {
			q.Status = "SUCCEEDED"
		}
		q.polls++
	}
	return map[string]string{"status": q.Status}, nil
}

func (f *Fake) queryResults(r *http.Request, _ []byte) (any, *Error) {
	qp := r.URL.Query()
	if e := queryParams(qp, "nextToken", "maxResults"); e != nil {
		return nil, e
	}
	n, e := intParam(qp, "maxResults", 1, 1<<31-1)
	if e != nil {
		return nil, e
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, e := f.query(r)
	if e != nil {
		return nil, e
	}
	if q.Status != "SUCCEEDED" {
		return nil, validation("query %s is %s: results are available once it has SUCCEEDED", q.ID, q.Status)
	}
	var rows []Row
	for _, row := range f.monitor(q.Monitor).rows {
		if row.DestinationCategory == q.Category {
			rows = append(rows, row)
		}
	}
	// Top contributors: the largest values, as many as the query's limit.
	slices.SortStableFunc(rows, func(a, b Row) int { return int(min(max(b.Value-a.Value, -1), 1)) })
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	if n == 0 || n > f.PageSize {
		n = f.PageSize
	}
	items, next, e := page(rows, qp.Get("nextToken"), n, q.ID)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"unit": "Bytes", "topContributors": orEmpty(items)}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (f *Fake) stopQuery(r *http.Request, _ []byte) (any, *Error) {
	if e := queryParams(r.URL.Query()); e != nil {
		return nil, e
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, e := f.query(r)
	if e != nil {
		return nil, e
	}
	if q.Status == "QUEUED" || q.Status == "RUNNING" {
		q.Status = "CANCELED"
	}
	return map[string]any{}, nil
}
