package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/cur/curtest"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/report"
	"github.com/netcost/netcost/internal/sample"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/syncbuf"
)

const region = "us-east-1"

// secretPath stands for the secret part of a webhook URL: it must never
// show in an error, a response or a log line.
const secretPath = "/services/T0NETCOST/B0NETCOST/SECRETxSECRETxSECRET"

// buildBootstrap builds the function as Lambda runs it: a static linux
// binary named bootstrap, without the RPC mode (-tags lambda.norpc).
func buildBootstrap(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// runtimeAPI is Lambda's Runtime API as a function sees it: it hands out
// the queued events at GET .../invocation/next with the request id and
// deadline headers, and collects what the function POSTs back.
type runtimeAPI struct {
	t       *testing.T
	events  chan invocation
	results chan outcome
}

type invocation struct {
	id    string
	event string
}

type outcome struct {
	id, kind string // kind: response, error or init/error
	body     []byte
}

const apiPrefix = "/2018-06-01/runtime/"

func (rt *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	switch {
	case r.Method == http.MethodGet && path == "invocation/next":
		select {
		case inv := <-rt.events:
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(2*time.Minute).UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:"+region+":123456789012:function:netcost-report")
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
			h.Set("Content-Type", "application/json")
			io.WriteString(w, inv.event)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && path == "init/error":
		b, _ := io.ReadAll(r.Body)
		rt.results <- outcome{kind: "init/error", body: b}
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		if kind != "response" && kind != "error" {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		rt.results <- outcome{id: id, kind: kind, body: b}
		w.WriteHeader(http.StatusAccepted)
	default:
		rt.t.Errorf("the function called %s %s, which the Runtime API does not have", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

// invoke queues an event and waits for the function's answer to it.
func (rt *runtimeAPI) invoke(id, event string) outcome {
	rt.t.Helper()
	rt.events <- invocation{id: id, event: event}
	select {
	case o := <-rt.results:
		if o.id != id {
			rt.t.Fatalf("answer %+v for invocation %s", o, id)
		}
		return o
	case <-time.After(90 * time.Second):
		rt.t.Fatalf("no answer to invocation %s within 90s", id)
	}
	return outcome{}
}

// slackSink records webhook posts and answers them with status/body.
type slackSink struct {
	mu     sync.Mutex
	posts  []string
	status int
	body   string
}

func (s *slackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path != secretPath {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	s.posts = append(s.posts, string(b))
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

func (s *slackSink) set(status int, body string) {
	s.mu.Lock()
	s.status, s.body = status, body
	s.mu.Unlock()
}

func (s *slackSink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.posts
	s.posts = nil
	return p
}

func secretsClient(endpoint string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
}

func createSecret(t *testing.T, sm *secretsmanager.Client, name, value string) string {
	t.Helper()
	out, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	return *out.ARN
}

// startFunction runs the bootstrap as Lambda does, against the Runtime API
// at api, with the function's environment env, until the test ends.
func startFunction(t *testing.T, bootstrap, api string, env ...string) (stdout, stderr *syncbuf.Buffer) {
	t.Helper()
	cmd := exec.Command(bootstrap)
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(api, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=netcost-report", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=INFO", "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/netcost-report",
		"AWS_REGION=" + region, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_EC2_METADATA_DISABLED=true", "HOME=" + cmd.Dir,
	}, env...)
	stdout, stderr = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return stdout, stderr
}

// A function with a bad environment fails every invocation with the
// reason, where the console shows it, instead of dying at start.
func TestBootstrapBadConfig(t *testing.T) {
	bootstrap := buildBootstrap(t)
	rt := &runtimeAPI{t: t, events: make(chan invocation), results: make(chan outcome, 1)}
	api := httptest.NewServer(rt)
	t.Cleanup(api.Close)
	startFunction(t, bootstrap, api.URL, "NETCOST_SOURCE=cloudwatch")
	for _, id := range []string{"req-1", "req-2"} {
		o := rt.invoke(id, `{}`)
		if o.kind != "error" || !strings.Contains(string(o.body), "SLACK_WEBHOOK_SECRET_ARN is not set") {
			t.Errorf("%s: %s %s", id, o.kind, o.body)
		}
	}
}

// publish puts the sample cluster's records of windows minutes from each
// start into a log group of moto as the agents do (EMF lines, a stream per
// node and day: a PutLogEvents batch spans at most 24 hours), and into a
// JSON Lines file, whose path it returns.
func publish(t *testing.T, endpoint, group string, runs map[time.Time]int) string {
	t.Helper()
	var file []byte
	streams := map[string][]cwtypes.InputLogEvent{}
	for start, windows := range runs {
		opt := sample.Options{Start: start, Windows: windows, Seed: uint64(start.Unix())}
		if err := sample.Generate(opt, func(node string, r *flows.Record) error {
			file = append(flows.AppendJSON(file, r), '\n')
			stream := node + "/" + start.Format(time.DateOnly)
			streams[stream] = append(streams[stream], cwtypes.InputLogEvent{Message: aws.String(insightstest.EMF(r)), Timestamp: aws.Int64(r.TS.UnixMilli())})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	mototest.PutLogEvents(t, endpoint, group, streams)
	path := filepath.Join(t.TempDir(), "flows.jsonl")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The built bootstrap, under a Runtime API, reads its webhook from Secrets
// Manager (moto), builds the previous UTC day's report from the records and
// posts it to Slack; a refused post fails the invocation with Slack's
// reason, and the webhook never shows.
func TestBootstrap(t *testing.T) {
	bootstrap := buildBootstrap(t)
	moto := mototest.Start(t)
	sink := &slackSink{status: http.StatusOK, body: "ok"}
	slack := httptest.NewServer(sink)
	t.Cleanup(slack.Close)
	webhook := slack.URL + secretPath
	arn := createSecret(t, secretsClient(moto), "netcost/slack-webhook", `{"webhook_url": "`+webhook+`"}`)

	rt := &runtimeAPI{t: t, events: make(chan invocation), results: make(chan outcome, 1)}
	api := httptest.NewServer(rt)
	t.Cleanup(api.Close)

	// Yesterday's hour of the sample cluster and, the day before, half an
	// hour: records recent enough for CloudWatch (14 days), in moto.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := source.Window{Start: today.Add(-24 * time.Hour), End: today}
	file := publish(t, moto, "/netcost/flows", map[time.Time]int{yesterday.Start.Add(9 * time.Hour): 60, yesterday.Start.Add(-15 * time.Hour): 30})
	stdout, stderr := startFunction(t, bootstrap, api.URL, "AWS_ENDPOINT_URL="+moto,
		"NETCOST_SOURCE=cloudwatch", "NETCOST_LOG_GROUP=/netcost/flows", "NETCOST_EXACT=true", // moto runs no Logs Insights
		"NETCOST_CLUSTER=shop", "SLACK_WEBHOOK_SECRET_ARN="+arn)

	// Today's scheduled event at 08:00 UTC: the report of yesterday.
	event := `{"version":"0","id":"cdc73f9d-aea9-11e3-9d5a-835b769c0d9c","detail-type":"Scheduled Event","source":"aws.events",` +
		`"account":"123456789012","time":"` + today.Add(8*time.Hour).Format(time.RFC3339) + `","region":"us-east-1",` +
		`"resources":["arn:aws:events:us-east-1:123456789012:rule/netcost-report"],"detail":{}}`
	o := rt.invoke("req-1", event)
	if o.kind != "response" {
		t.Fatalf("invocation 1: %s %s\nstdout:\n%s\nstderr:\n%s", o.kind, o.body, stdout.String(), stderr.String())
	}
	posts := sink.take()
	if len(posts) != 1 {
		t.Fatalf("%d posts to Slack, want 1", len(posts))
	}
	// What was posted is the report of that day, built in-process from the
	// same log group; and from the same records in a file, it has the same
	// figures.
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	build := func(src source.Spec, o awscfg.Options) *report.Report {
		r, err := report.Build(context.Background(), costmodel.New(nil), report.Options{Cluster: "shop",
			Options: query.Options{Source: src, Window: yesterday, Exact: src.Kind == "cloudwatch", AWS: o}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := build(source.Spec{Kind: "cloudwatch", Path: "/netcost/flows"}, awscfg.Options{Region: region, EndpointURL: moto})
	wantJSON, _ := want.Message().JSON(false)
	if posts[0] != string(wantJSON) {
		t.Errorf("posted:\n%s\nwant:\n%s", posts[0], wantJSON)
	}
	fromFile := build(source.Spec{Kind: "file", Path: file}, awscfg.Options{})
	if want.Spend.Records != fromFile.Spend.Records || want.Spend.TotalCostUSD != fromFile.Spend.TotalCostUSD ||
		want.PreviousSpend.TotalCostUSD != fromFile.PreviousSpend.TotalCostUSD || want.PreviousSpend.Records == 0 {
		t.Errorf("from moto: %d records, $%v (before: $%v); from the file: %d records, $%v (before: $%v)", want.Spend.Records, want.Spend.TotalCostUSD,
			want.PreviousSpend.TotalCostUSD, fromFile.Spend.Records, fromFile.Spend.TotalCostUSD, fromFile.PreviousSpend.TotalCostUSD)
	}
	var posted report.Message
	if err := json.Unmarshal([]byte(posts[0]), &posted); err != nil {
		t.Fatal(err)
	}
	if err := report.Check(posted); err != nil {
		t.Error(err)
	}
	if h := posted.Blocks[0].Text.Text; h != "Network cost: shop, "+yesterday.Start.Format(time.DateOnly) {
		t.Errorf("header %q", h)
	}
	if s := posted.Blocks[1].Text.Text; !strings.Contains(s, "▲") || !strings.Contains(s, "vs the previous day") {
		t.Errorf("summary %q: want the rise against the day before", s)
	}
	var res result
	if err := json.Unmarshal(o.body, &res); err != nil {
		t.Fatalf("response %s: %v", o.body, err)
	}
	if res.Records == 0 || res.Records != want.Spend.Records || res.TotalCostUSD != want.Spend.TotalCostUSD || !res.Start.Equal(yesterday.Start) || res.Blocks != len(posted.Blocks) {
		t.Errorf("response %+v; want %d records, $%v, from %v", res, want.Spend.Records, want.Spend.TotalCostUSD, yesterday.Start)
	}

	// Slack refuses the next post: the invocation fails with its reason.
	sink.set(http.StatusForbidden, "invalid_token")
	o = rt.invoke("req-2", event)
	var fail struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(o.body, &fail); err != nil || o.kind != "error" {
		t.Fatalf("invocation 2: %s %s (%v)", o.kind, o.body, err)
	}
	if !strings.Contains(fail.Message, "403 Forbidden: invalid_token") {
		t.Errorf("error %q: want Slack's status and reason", fail.Message)
	}
	if n := len(sink.take()); n != 1 {
		t.Errorf("%d posts of a refused report, want 1 (a 403 is not retried)", n)
	}

	// Logs: JSON lines with the invocation's request id, never the webhook.
	logs := stdout.String() + stderr.String()
	if strings.Contains(logs, "SECRETx") || strings.Contains(string(o.body), "SECRETx") {
		t.Errorf("the webhook leaked:\n%s\n%s", logs, o.body)
	}
	var built int
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if rec["message"] == "report built" {
			built++
			if rec["requestId"] == nil || rec["level"] != "INFO" || rec["records"] == nil || rec["timestamp"] == nil {
				t.Errorf("log line %v: want level, timestamp, requestId and the figures", rec)
			}
		}
	}
	if testing.Verbose() {
		t.Logf("function output:\n%s%s", stdout.String(), stderr.String())
	}
	if built != 2 {
		t.Errorf("%d \"report built\" log lines, want 2:\n%s", built, stdout.String())
	}
}

// The secret holds the URL, or JSON with webhook_url or url; anything else
// fails with a line that does not quote the value.
func TestWebhookFromSecret(t *testing.T) {
	moto := mototest.Start(t)
	sm := secretsClient(moto)
	const url = "https://hooks.slack.com" + secretPath
	for i, tt := range []struct {
		value, err string
	}{
		{url, ""},
		{"  " + url + "\n", ""},
		{`{"webhook_url": "` + url + `"}`, ""},
		{`{"url": "` + url + `"}`, ""},
		{`{"webhook_url": "` + url, "is not valid JSON"},
		{`{"channel": "SECRETx"}`, "the Slack webhook is not a URL"},
		{"http://hooks.slack.com" + secretPath, "must be an https URL"},
	} {
		arn := createSecret(t, sm, "s"+strconv.Itoa(i), tt.value)
		h := &handler{cfg: config{secretARN: arn}, secrets: sm}
		got, err := h.webhook(context.Background())
		switch {
		case tt.err == "" && (err != nil || got != url):
			t.Errorf("%q: %q, %v", tt.value, got, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "SECRETx")):
			t.Errorf("%q: error %v, want %q without the value", tt.value, err, tt.err)
		}
	}
	h := &handler{cfg: config{secretARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"}, secrets: sm}
	if _, err := h.webhook(context.Background()); err == nil || !strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing secret: %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{"SLACK_WEBHOOK_SECRET_ARN": "arn:x", "NETCOST_SOURCE": "file:/tmp"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := parseConfig(env("NETCOST_CLUSTER", "shop", "NETCOST_LIMIT", "3", "NETCOST_MIN_SAVINGS", "10", "NETCOST_WINDOW", "7d",
		"NETCOST_COMPRESSION_RATIO", "0.6"))
	if err != nil || c.cluster != "shop" || c.limit != 3 || c.advise.MinMonthlySavingsUSD != 10 || c.since != 7*24*time.Hour ||
		c.source.String() != "file:/tmp" || c.advise.CompressionRatio != 0.6 {
		t.Errorf("parseConfig: %+v, %v", c, err)
	}
	c, err = parseConfig(env("NETCOST_INTERNET_EGRESS_TB_MONTH", "40.5", "NETCOST_TGW_PEER_EXTERNAL", "true"))
	if err != nil || c.pricing != (costmodel.Options{InternetEgressTBMonth: 40.5, TGWPeerExternal: true}) {
		t.Errorf("pricing options: %+v, %v", c.pricing, err)
	}
	// Set, even to 0, the variable and not the bill prices internet bytes.
	if c, err := parseConfig(env("NETCOST_INTERNET_EGRESS_TB_MONTH", "0")); err != nil || !c.egressGiven {
		t.Errorf("NETCOST_INTERNET_EGRESS_TB_MONTH=0: given %v, %v; want given", c.egressGiven, err)
	}
	if c, err := parseConfig(env()); err != nil || c.egressGiven {
		t.Errorf("no NETCOST_INTERNET_EGRESS_TB_MONTH: given %v, %v; want not", c.egressGiven, err)
	}
	if c, err := parseConfig(env("NETCOST_SOURCE", "nfm", "NETCOST_MONITOR", "eks-prod")); err != nil || c.source.String() != "nfm:eks-prod" {
		t.Errorf("nfm with a monitor: %v, %v", c.source, err)
	}
	// The source's errors name the variable as the user set it, once.
	for _, tt := range []struct{ name, value, want string }{
		{"NETCOST_WINDOW", "yesterday", `NETCOST_WINDOW "yesterday": want a positive duration such as 90m, 24h or 7d`},
		{"NETCOST_SOURCE", "s3:bucket", `NETCOST_SOURCE "s3:bucket": want file:PATH (a JSONL file or a directory of them), ` +
			`cloudwatch[:LOGGROUP] or nfm[:MONITOR]`},
		{"NETCOST_CUR", "ftp://x", `NETCOST_CUR "ftp://x": want file:PATH, s3://BUCKET/PREFIX or athena:DATABASE.TABLE`},
	} {
		if _, err := parseConfig(env(tt.name, tt.value)); err == nil || err.Error() != tt.want {
			t.Errorf("%s=%q: %v; want %q", tt.name, tt.value, err, tt.want)
		}
	}
	for _, kv := range [][]string{
		{"SLACK_WEBHOOK_SECRET_ARN", ""},
		{"NETCOST_SOURCE", "s3:bucket"},
		{"NETCOST_LIMIT", "0"},
		{"NETCOST_LIMIT", "five"},
		{"NETCOST_MIN_SAVINGS", "-1"},
		{"NETCOST_COMPRESSION_RATIO", "1"},
		{"NETCOST_COMPRESSION_RATIO", "60%"},
		{"NETCOST_WINDOW", "yesterday"},
		{"NETCOST_INTERNET_EGRESS_TB_MONTH", "-3"},
		{"NETCOST_INTERNET_EGRESS_TB_MONTH", "lots"},
		{"NETCOST_TGW_PEER_EXTERNAL", "maybe"},
		{"NETCOST_CUR_ATHENA_WORKGROUP", "wg", "NETCOST_CUR", "file:/x"},
		{"NETCOST_CUR_ATHENA_OUTPUT", "s3://r/", "NETCOST_CUR", "s3://b/p"},
		{"NETCOST_CUR_ATHENA_OUTPUT", "s3://r/"},
	} {
		if _, err := parseConfig(env(kv...)); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%q: %v, want an error naming the variable", kv[0], kv[1], err)
		}
	}
}

// TestBootstrapCoverage: with NETCOST_CUR, the report says how much of the
// bill of the day before its own the records explain, reading the bill
// from moto's S3; a bill that cannot be read is said, and the report
// still goes out.
func TestBootstrapCoverage(t *testing.T) {
	bootstrap := buildBootstrap(t)
	moto := mototest.Start(t)
	sink := &slackSink{status: http.StatusOK, body: "ok"}
	slack := httptest.NewServer(sink)
	t.Cleanup(slack.Close)
	arn := createSecret(t, secretsClient(moto), "netcost/slack-webhook", slack.URL+secretPath)
	objs, err := curtest.DayExport(".snappy.parquet").Objects("bills", "cur")
	if err != nil {
		t.Fatal(err)
	}
	mototest.PutObjects(t, moto, "bills", "cur", objs)
	store := insightstest.WriteStore(t, curtest.DayRecords())
	// 08:00 two days after curtest's day: the report of the day after
	// it, the bill of curtest's day.
	at := curtest.DayEnd.Add(32 * time.Hour)
	event := `{"version":"0","id":"cdc73f9d-aea9-11e3-9d5a-835b769c0d9c","detail-type":"Scheduled Event",` +
		`"source":"aws.events","account":"123456789012","time":"` + at.Format(time.RFC3339) + `","region":"us-east-1",` +
		`"resources":["arn:aws:events:us-east-1:123456789012:rule/netcost-report"],"detail":{}}`
	for _, c := range []struct{ cur, want string }{
		{"s3://bills/cur", "Bill: netcost explains 86% of the inter-AZ bill of 2026-11-20; 14% comes from interfaces " +
			"no agent reports (billed $2.30, measured $2.12)"},
		{"s3://bills/nothing", "Bill: the bill of 2026-11-20 could not be read: "},
	} {
		rt := &runtimeAPI{t: t, events: make(chan invocation), results: make(chan outcome, 1)}
		api := httptest.NewServer(rt)
		t.Cleanup(api.Close)
		stdout, stderr := startFunction(t, bootstrap, api.URL, "AWS_ENDPOINT_URL="+moto, "NETCOST_SOURCE=file:"+store,
			"NETCOST_CUR="+c.cur, "NETCOST_CLUSTER=shop", "SLACK_WEBHOOK_SECRET_ARN="+arn)
		o := rt.invoke("req-1", event)
		if o.kind != "response" {
			t.Fatalf("%s: %s %s\nstdout:\n%s\nstderr:\n%s", c.cur, o.kind, o.body, stdout.String(), stderr.String())
		}
		posts := sink.take()
		if len(posts) != 1 {
			t.Fatalf("%s: %d posts to Slack, want 1", c.cur, len(posts))
		}
		var posted report.Message
		if err := json.Unmarshal([]byte(posts[0]), &posted); err != nil {
			t.Fatal(err)
		}
		var line string
		for _, b := range posted.Blocks {
			for _, e := range b.Elements {
				if strings.HasPrefix(e.Text, "Bill: ") {
					line = e.Text
				}
			}
		}
		if !strings.HasPrefix(line, c.want) {
			t.Errorf("%s: coverage line %q, want %q", c.cur, line, c.want)
		}
	}
}
