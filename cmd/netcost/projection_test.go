package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// projectionWarning matches the stderr line that warns of monthly figures
// projected from less than a day, as every read of the hour-long sample
// store prints.
var projectionWarning = regexp.MustCompile(`(?m)^time=\S+ level=WARN msg="monthly figures project [^\n]*\n`)

// withoutProjectionWarning is stderr without that line, for tests about
// other lines.
func withoutProjectionWarning(stderr string) string {
	return projectionWarning.ReplaceAllString(stderr, "")
}

// s3Minute is a minute of 1 GiB to S3 through a NAT gateway in the
// node's AZ: 1 GiB x $0.045 = $0.045 of NAT processing, which a gateway
// endpoint saves.
const s3Minute = `{"schema":1,"ts":"2026-11-20T09:00:00Z","window_s":60,"region":"us-east-1","direction":"egress",` +
	`"category":"AMAZON_S3","protocol":"tcp","local_ip":"10.0.1.5","local_az_id":"use1-az1",` +
	`"local_subnet":"subnet-a","remote_ip":"52.216.8.43","remote_port":443,"remote_aws_service":"S3",` +
	`"remote_region":"us-east-1","via":"nat-0a","via_az_id":"use1-az1","bytes":1073741824,"packets":1}`

// TestRecommendShortWindow: a minute projected to a month is x43,800
// (730 h x 60): $0.045 x 43,800 = $1,971.00/month. Each monthly figure
// says the window it comes from, and a window under a day is warned about
// on stderr, in the text and in the JSON's notes.
func TestRecommendShortWindow(t *testing.T) {
	src := writeStore(t, s3Minute)
	code, out, errs := netcost(t, "recommend", "-s", src)
	if code != 0 {
		t.Fatalf("recommend: exit %d: %s", code, errs)
	}
	for _, want := range []string{"saves $1971.00/month of $1971.00/month (from 1m0s)",
		"total: $1971.00/month (from 1m0s)", "note: monthly figures project 1m0s of records onto 730 hours (x43800)"} {
		if !strings.Contains(out, want) {
			t.Errorf("recommend over a minute: no %q in\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "project 1m0s of records onto 730 hours (x43800)") || withoutProjectionWarning(errs) != "" {
		t.Errorf("recommend over a minute: stderr %q; want one warning line", errs)
	}
	var res struct {
		Notes           []string `json:"notes"`
		Recommendations []struct {
			MonthlySavingsUSD float64 `json:"monthly_savings_usd"`
			Evidence          struct {
				WindowS int64 `json:"window_s"`
			} `json:"evidence"`
		} `json:"recommendations"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "recommend", "-o", "json", "-s", src)), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Recommendations) != 1 || !near(res.Recommendations[0].MonthlySavingsUSD, 1971) ||
		res.Recommendations[0].Evidence.WindowS != 60 {
		t.Errorf("recommend -o json over a minute: %+v; want $1971 from 60 s", res.Recommendations)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "less than a day") {
		t.Errorf("recommend -o json over a minute: notes %q; want the short window's", res.Notes)
	}
	for _, f := range []string{"markdown", "csv"} {
		if out := mustRun(t, "recommend", "-o", f, "-s", src); !strings.Contains(out, "1m0s") {
			t.Errorf("recommend -o %s over a minute: no window in\n%s", f, out)
		}
	}

	// The report: a warning line on stderr and in the message, and the
	// window beside its monthly figures.
	code, out, errs = netcost(t, "report", "--dry-run", "-s", src, "--start", "2026-11-20T09:00:00Z",
		"--end", "2026-11-20T09:01:00Z")
	if code != 0 || !strings.Contains(errs, "level=WARN") || !strings.Contains(out, "⚠ Monthly figures project 1m0s") ||
		!strings.Contains(out, "save $1,971.00/month in total (from 1m0s)") {
		t.Errorf("report over a minute: exit %d, stderr %q, out\n%s\nwant the warning and $1,971.00 from 1m0s",
			code, errs, out)
	}

	// A day: the same bytes spread over 24 records of an hour project x30.4
	// (730 / 24) and need no warning: 24 x 1 GiB x $0.045 x 730/24 = $32.85.
	var day []string
	for h := range 24 {
		r := strings.Replace(s3Minute, `"window_s":60`, `"window_s":3600`, 1)
		day = append(day, strings.Replace(r, "T09:00", "T"+[]string{"0", "1", "2"}[h/10]+string(rune('0'+h%10))+":00", 1))
	}
	code, out, errs = netcost(t, "recommend", "-s", writeStore(t, day...))
	if code != 0 || errs != "" || strings.Contains(out, "less than a day") ||
		!strings.Contains(out, "saves $32.85/month of $32.85/month (from 24h0m0s)") {
		t.Errorf("recommend over a day: exit %d, stderr %q, out\n%s\nwant $32.85 from 24h0m0s and no warning",
			code, errs, out)
	}
}
