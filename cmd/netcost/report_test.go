package main

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/report"
	"github.com/netcost/netcost/internal/source"
)

// The sample store's second half hour, compared with its first.
var reportWindow = []string{"--start", "2026-11-20T09:30:00Z", "--end", "2026-11-20T10:00:00Z"}

func TestReportDryRun(t *testing.T) {
	out := mustRun(t, append([]string{"report", "--dry-run", "--source", "file:" + store, "--cluster", "shop"},
		reportWindow...)...)
	// The same pipeline as internal/report's golden message.
	want, err := os.ReadFile("../../internal/report/testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("netcost report --dry-run differs from internal/report/testdata/sample.json:\n%s", out)
	}
	var m report.Message
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if err := report.Check(m); err != nil {
		t.Error(err)
	}
}

// Without a window the report covers the previous full UTC day.
func TestReportDefaultWindow(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Date(2026, 11, 21, 8, 15, 0, 0, time.UTC) }
	for _, args := range [][]string{nil, {"--end", "2026-11-21"}, {"--since", "24h"}} {
		out := mustRun(t, append([]string{"report", "--dry-run", "--source", "file:" + store}, args...)...)
		var m report.Message
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		want := "Network cost, 2026-11-20"
		if args != nil && args[0] == "--since" {
			want = "Network cost, 2026-11-20 08:15 to 2026-11-21 08:15 UTC"
		}
		if h := m.Blocks[0].Text.Text; h != want {
			t.Errorf("%v: header %q, want %q", args, h, want)
		}
		if !strings.Contains(m.Blocks[1].Text.Text, "no records in the previous day") {
			t.Errorf("%v: summary %q", args, m.Blocks[1].Text.Text)
		}
	}
}

func TestReportUsage(t *testing.T) {
	src := "file:" + store
	for _, args := range [][]string{
		{"report", "--source", src},
		{"report", "--source", src, "--dry-run", "--slack-webhook", "https://hooks.slack.com/services/T/B/SECRET"},
		{"report", "--source", src, "--slack-webhook", "http://hooks.slack.com/services/T/B/SECRET"},
		{"report", "--source", src, "--slack-webhook", "not a url SECRET"},
		{"report", "--source", src, "--dry-run", "--limit", "0"},
		{"report", "--dry-run"},
	} {
		code, out, errs := netcost(t, args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || strings.Contains(errs, "SECRET") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q: want 2 and one line that does not quote the webhook", args[1:], code,
				out, errs)
		}
	}
}

func TestReportPosts(t *testing.T) {
	var got []string
	status, body := http.StatusOK, "ok"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, string(b))
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	hook := srv.URL + "/services/T0/B0/SECRET"
	args := append([]string{"report", "--source", "file:" + store, "--cluster", "shop", "--slack-webhook", hook},
		reportWindow...)
	code, out, errs := netcost(t, args...)
	if code != 0 || len(got) != 1 || out != "" || strings.Contains(errs, "SECRET") {
		t.Fatalf("exit %d after %d posts, stdout %q, stderr %q", code, len(got), out, errs)
	}
	var posted, dry report.Message
	if err := json.Unmarshal([]byte(got[0]), &posted); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"report", "--dry-run", "--source", "file:" + store,
		"--cluster", "shop"}, reportWindow...)...)), &dry); err != nil {
		t.Fatal(err)
	}
	a, _ := posted.JSON(false)
	b, _ := dry.JSON(false)
	if string(a) != string(b) || got[0] != string(b) {
		t.Errorf("posted payload differs from --dry-run's:\n%s\n%s", got[0], b)
	}

	status, body = http.StatusNotFound, "no_service"
	code, _, errs = netcost(t, args...)
	if errs = withoutProjectionWarning(errs); code != 1 || strings.Count(errs, "\n") != 1 ||
		!strings.Contains(errs, "404 Not Found: no_service") || strings.Contains(errs, "SECRET") {
		t.Errorf("webhook gone: exit %d, stderr %q: want 1 and the status and Slack's reason without the URL", code, errs)
	}
}

// Over CloudWatch Logs Insights (a server that speaks the Logs API and runs
// the stats queries), the report says what the same records say in a file.
func TestReportCloudWatch(t *testing.T) {
	insightstest.AWSEnv(t)
	rr := newRecentRecords(t, 10)
	srv := insightstest.Start(t)
	srv.PutRecords(source.DefaultLogGroup, rr.nodes, rr.recs)
	args := append([]string{"report", "--dry-run", "--cluster", "shop"}, rr.window...)
	want := mustRun(t, append(args, "--source", "file:"+rr.file)...)
	got := mustRun(t, append(args, "--source", "cloudwatch", "--endpoint-url", srv.URL, "--region", "us-east-1")...)
	if want = strings.ReplaceAll(want, "file:"+rr.file, "cloudwatch:"+source.DefaultLogGroup); got != want {
		t.Errorf("report over cloudwatch:\n%s\nover the file:\n%s", got, want)
	}
	if len(srv.Queries()) == 0 {
		t.Error("no Logs Insights query was run")
	}
}

// Over Network Flow Monitor (the fake proven with the aws CLI), the report
// names the monitor it read and carries the source's caveats.
func TestReportNFM(t *testing.T) {
	f := nfmFake(t)
	out := mustRun(t, "report", "--dry-run", "--source", "nfm", "--endpoint-url", f.URL, "--region", "us-east-1",
		"--start", "2026-11-14", "--end", "2026-11-21")
	var m report.Message
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if err := report.Check(m); err != nil {
		t.Error(err)
	}
	var texts []string
	for _, b := range m.Blocks {
		if b.Text != nil {
			texts = append(texts, b.Text.Text)
		}
		for _, e := range b.Elements {
			texts = append(texts, e.Text)
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"records from nfm:eks-prod", "*1. shop/web-7d4b9c-abcde → shop/cart-5f6d7e-fghij*",
		"→ 52.94.133.131*\n", strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(source.NFMTopOnlyNote)} {
		if !strings.Contains(all, want) {
			t.Errorf("the report over nfm lacks %q:\n%s", want, all)
		}
	}
}

// TestReportCommandsRun: the commands the report prints for the full lists
// run as printed, here over a store whose path a shell must quote.
func TestReportCommandsRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Bob's flows")
	if err := os.CopyFS(dir, os.DirFS(store)); err != nil {
		t.Fatal(err)
	}
	var m report.Message
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"report", "--dry-run", "--source", "file:" + dir},
		reportWindow...)...)), &m); err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, b := range m.Blocks {
		for _, e := range b.Elements {
			for _, m := range regexp.MustCompile("`netcost ([^`]*)`").FindAllStringSubmatch(html.UnescapeString(e.Text), -1) {
				cmds = append(cmds, shellWords(t, m[1]))
			}
		}
	}
	if len(cmds) != 3 { // recommend, top inter-az, top nat
		t.Fatalf("the report prints %d commands, want 3: %q", len(cmds), cmds)
	}
	for _, args := range cmds {
		if code, _, errs := netcost(t, append(args, "-o", "json")...); code != 0 {
			t.Errorf("netcost %q as the report prints it: exit %d: %s", args, code, errs)
		}
	}
}

// shellWords splits s as a POSIX shell does words of plain,
// backslash-escaped and single-quoted text.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, c := range s {
		switch {
		case escaped:
			w.WriteRune(c)
			escaped = false
		case !quoted && c == '\\':
			escaped, inWord = true, true
		case quoted && c == '\'':
			quoted = false
		case quoted:
			w.WriteRune(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.ContainsRune("\"$`", c):
			t.Fatalf("%q: a shell reads %q specially", s, c)
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("%q: unterminated quote", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// countingTransport counts the requests it carries.
type countingTransport struct{ n int }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return http.DefaultTransport.RoundTrip(r)
}

// runReport posts through the Slack client its deps give: here one that
// counts its requests and retries at once, so that a 503 costs no second.
func TestRunReportRetries(t *testing.T) {
	var posts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if posts = append(posts, string(b)); len(posts) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC) // reportWindow
	opts := reportOptions{webhook: srv.URL + "/services/T0/B0/SECRET", Options: report.Options{Cluster: "shop",
		Options: query.Options{Source: source.Spec{Kind: "file", Path: store},
			Window: source.Window{Start: start, End: start.Add(30 * time.Minute)}}}}
	var stdout, stderr bytes.Buffer
	tr := &countingTransport{}
	d := deps{model: costmodel.New(nil), stderr: &stderr, post: report.PostOptions{Client: &http.Client{Transport: tr},
		MinWait: time.Millisecond, MaxWait: time.Millisecond}}
	if err := runReport(t.Context(), &stdout, d, opts); err != nil {
		t.Fatal(err)
	}
	if len(posts) != 2 || posts[0] != posts[1] || tr.n != 2 {
		t.Fatalf("%d posts, %d through the deps' client: want the same payload twice through it, after a 503",
			len(posts), tr.n)
	}
	if stdout.Len() != 0 || !strings.HasPrefix(stderr.String(), "posted the report (") {
		t.Errorf("stdout %q, stderr %q: want nothing, then the line that says it went out", stdout.String(),
			stderr.String())
	}
	// --dry-run writes what it would have posted.
	opts.webhook, opts.dryRun = "", true
	if err := runReport(t.Context(), &stdout, d, opts); err != nil {
		t.Fatal(err)
	}
	var dry report.Message
	if err := json.Unmarshal(stdout.Bytes(), &dry); err != nil {
		t.Fatal(err)
	}
	if b, _ := dry.JSON(false); string(b) != posts[0] {
		t.Errorf("dry run:\n%s\nposted:\n%s", b, posts[0])
	}
}
