package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/resolve"
	rt "github.com/netcost/netcost/internal/resolve/resolvetest"
)

// The names hostile servers give: a terminal title change and red text
// (ESC ] 0 ; ... BEL, ESC [ 31 m), CR, LF, NUL and a right-to-left
// override in a certificate's CN; the same but U+202E (a SAN is ASCII) in
// another's SAN; and in a PTR answer.
const (
	hostileCN  = "\x1b]0;pwned\a\x1b[31m\r\n\x00\u202eevil.example"
	hostileSAN = "\x1b]0;pwned\a\x1b[31m\r\n\x00san.example"
	hostilePTR = "\x1b]0;pwned\a\x1b[31m\r\n\x00ptr.example"
)

// strangerEnv starts, on loopback, a TLS server at 127.0.0.20 whose
// certificate's CN is hostileCN, one at 127.0.0.21 whose SAN is
// hostileSAN, and a DNS server answering hostilePTR for 127.0.0.22, and
// returns the resolver flags that point netcost at them.
func strangerEnv(t *testing.T) []string {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ca := rt.NewCA(t)
	port, lns := rt.SharedPort(t, rt.Loopback(20, 2))
	rt.Serve(t, lns[0], rt.TLS(ca.Issue(t, rt.Spec{CommonName: hostileCN}), nil, 0))
	rt.Serve(t, lns[1], rt.TLS(ca.Issue(t, rt.Spec{DNSNames: []string{hostileSAN}}), nil, 0))
	dns := rt.ServeDNS(t, map[string]string{"127.0.0.22": hostilePTR})
	return []string{"--tls-port", strconv.Itoa(port), "--dns-server", dns.Addr, "--ip-ranges-url", "",
		"--resolve-timeout", "2s", "--no-cache"}
}

var strangerIPs = []string{"127.0.0.20", "127.0.0.21", "127.0.0.22"}

// TestResolveEscapesCertificates: netcost resolve shows the names hostile
// certificates and DNS answers carry escaped; -o json keeps them whole.
func TestResolveEscapesCertificates(t *testing.T) {
	env := strangerEnv(t)
	code, out, errs := netcost(t, append(append([]string{"resolve"}, env...), strangerIPs...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	assertSafe(t, "resolve stdout", out)
	assertSafe(t, "resolve stderr", errs)
	for _, want := range []string{`\x1b]0;pwned\x07\x1b[31m\x0d\x0a\x00\u202eevil.example`,
		`\x1b]0;pwned\x07\x1b[31m\x0d\x0a\x00san.example`} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	t.Logf("\n%s", out)

	code, out, errs = netcost(t, append(append([]string{"resolve", "-o", "json"}, env...), strangerIPs...)...)
	if code != 0 {
		t.Fatalf("-o json: exit %d, stderr %q", code, errs)
	}
	assertSafe(t, "resolve -o json", out)
	var res struct{ Results []resolve.Result }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 3 || res.Results[0].Name != hostileCN || res.Results[1].Name != hostileSAN {
		t.Errorf("-o json: %+v; want the names as the certificates hold them", res.Results)
	}
	// Go's resolver drops PTR answers that are not host names: a
	// hostile one names nothing, and the note says why.
	if r := res.Results[2]; len(r.PTR) != 0 || r.Name != "" || !strings.Contains(strings.Join(r.Problems, "; "),
		"invalid names") {
		t.Errorf("hostile PTR answer: %+v; want no name and a problem saying the answer was invalid", r)
	}
}

// TestTopResolveEscapesCertificates: top --resolve shows the names hostile
// certificates carry escaped in every format, one row per line.
func TestTopResolveEscapesCertificates(t *testing.T) {
	env := strangerEnv(t)
	var lines []string
	for _, ip := range strangerIPs {
		lines = append(lines, natRecord(ip, ""))
	}
	args := append([]string{"top", "-c", "nat", "--resolve", "-s", writeStore(t, lines...)}, env...)
	for _, format := range []string{"table", "markdown", "csv", "json"} {
		code, out, errs := netcost(t, append(args, "-o", format)...)
		if code != 0 {
			t.Fatalf("-o %s: exit %d, stderr %q", format, code, errs)
		}
		assertSafe(t, format, out)
		assertSafe(t, format+" stderr", errs)
		switch format {
		case "json":
			var res struct {
				Rows []struct {
					RemoteName string `json:"remote_name"`
				}
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, r := range res.Rows {
				names = append(names, r.RemoteName)
			}
			if !slices.Contains(names, hostileCN) || !slices.Contains(names, hostileSAN) {
				t.Errorf("-o json: remote names %q; want the certificates' names whole", names)
			}
		case "csv":
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(recs) != 1+len(strangerIPs) || strings.Count(out, "\n") != len(recs) {
				t.Errorf("-o csv: %d records on %d lines, %v; want %d, one a line:\n%s", len(recs), strings.Count(out, "\n"), err,
					1+len(strangerIPs), out)
			}
			fallthrough
		default:
			if want := `\x1b]0;pwned\x07\x1b[31m\x0d\x0a\x00\u202eevil.example`; !strings.Contains(out, want) {
				t.Errorf("-o %s lacks %q:\n%s", format, want, out)
			}
		}
	}
}

// TestSlackReplyEscaped: the error line that quotes a failed post's reply
// shows Slack's (or whoever answered's) control characters escaped.
func TestSlackReplyEscaped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("invalid_blocks\x1b]0;pwned\a\x1b[31m\u202e\r\nforged line\x00"))
	}))
	defer srv.Close()
	code, out, errs := netcost(t, append([]string{"report", "--source", "file:" + store, "--slack-webhook", srv.URL +
		"/services/T/B/SECRET"},
		reportWindow...)...)
	want := `netcost: Slack webhook answered 400 Bad Request: ` +
		`invalid_blocks\x1b]0;pwned\x07\x1b[31m\u202e forged line\x00` + "\n"
	if errs = withoutProjectionWarning(errs); code != 1 || out != "" || errs != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errs, want)
	}
}

// TestErrorLineEscaped: whatever an error quotes, the one line on stderr
// holds no control or bidi character.
func TestErrorLineEscaped(t *testing.T) {
	code, out, errs := netcost(t, "top", "-c", "nat", "-s", "file:/nonexistent/\x1b]0;pwned\a\u202e\n.jsonl")
	if code == 0 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs,
		`\x1b]0;pwned\x07\u202e\x0a.jsonl`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want one line quoting the path escaped", code, out, errs)
	}
	assertSafe(t, "stderr", errs)
}

// TestRecommendCSVOneLinePerRow: a command of several lines (NatPerAZ's)
// is one CSV cell on one line, its commands joined by "; " as a shell runs them.
func TestRecommendCSVOneLinePerRow(t *testing.T) {
	out := mustRun(t, "recommend", "-o", "csv", "--source", "file:"+store)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) < 2 || strings.Count(out, "\n") != len(recs) {
		t.Fatalf("%d records on %d lines, %v:\n%s", len(recs), strings.Count(out, "\n"), err, out)
	}
	var nat bool
	for _, r := range recs {
		if r[0] == costmodel.NatPerAZ {
			nat = true
			if !strings.Contains(r[5], " --output text); aws ec2 wait nat-gateway-available ") {
				t.Errorf("NatPerAZ action %q: want its commands joined by \"; \"", r[5])
			}
		}
	}
	if !nat {
		t.Errorf("no NatPerAZ row in\n%s", out)
	}
}

// TestRecommendTextEscapes: the text layout of recommend quotes names from
// the records in its kinds, targets, reasons, commands and notes: escaped,
// and a command keeps its own lines only.
func TestRecommendTextEscapes(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	res := &query.RecommendResult{Start: day, End: day.Add(time.Hour), Records: 1}
	for _, h := range hostile {
		// A command's lines are the cost model's; the names it quotes come
		// from validated records, which hold no newline.
		name := strings.ReplaceAll(h, "\n", "")
		res.Recommendations = append(res.Recommendations, costmodel.Recommendation{Kind: h, Target: h,
			Action: "kubectl -n " + name + " patch\naws ec2 " +
				name, Evidence: costmodel.Evidence{Detail: h}, Caveats: []string{h}})
	}
	var b strings.Builder
	if err := writeRecommendText(&b, res, 40); err != nil { // wrapped, as on a terminal
		t.Fatal(err)
	}
	assertSafe(t, "recommend on a terminal", b.String())
	b.Reset()
	if err := writeRecommendText(&b, res, 0); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	assertSafe(t, "recommend", out)
	// Per recommendation: title, saves, why, two command lines, a note, a blank line; then the total and the window.
	if got, want := strings.Count(out, "\n"), 7*len(hostile)+2; got != want {
		t.Errorf("%d lines; want %d:\n%s", got, want, out)
	}
}

// TestRecordControlTextRejected: a record whose names hold control or bidi
// characters is a bad line: one clean line naming it (exit 2), or, with
// --strict=false, skipped and counted with a warning that quotes it escaped.
func TestRecordControlTextRejected(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"web\x1b]0;pwned\a\x1b[31m", `local_pod: "web\x1b]0;pwned\a\x1b[31m" holds a control character (U+001B)`},
		{"web\r\nshop/forged", `local_pod: "web\r\nshop/forged" holds a control character (U+000D)`},
		{"web\u0000", `local_pod: "web\x00" holds a control character (U+0000)`},
		{"\u202eweb", `local_pod: "\u202eweb" holds a bidi control or line separator (U+202E)`},
	} {
		name, _ := json.Marshal(tt.name) // control characters as \u escapes, U+202E raw
		bad := strings.Replace(natRecord("52.46.151.20", ""), `"sqs-sender-1"`, string(name), 1)
		src := writeStore(t, natRecord("52.46.151.21", ""), bad)
		code, out, errs := netcost(t, "top", "-c", "nat", "-s", src)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "flows.jsonl:2: "+tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and one line with %q", tt.name, code, out, errs, tt.want)
		}
		assertSafe(t, "stderr", errs)
		code, out, errs = netcost(t, "top", "-c", "nat", "--strict=false", "-s", src)
		if code != 0 || !strings.Contains(out, "skipped 1 bad lines") ||
			!strings.Contains(errs, "flows.jsonl:2: local_pod: ") {
			t.Errorf("%q --strict=false: exit %d, stdout %q, stderr %q; want the line skipped with a warning", tt.name, code,
				out, errs)
		}
		assertSafe(t, "stdout", out)
		assertSafe(t, "stderr", errs)
	}
}
