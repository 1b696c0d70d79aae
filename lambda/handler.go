package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/report"
	"github.com/netcost/netcost/internal/source"
)

// config is the function's environment, parsed.
type config struct {
	source  source.Spec
	exact   bool // cloudwatch: FilterLogEvents instead of Logs Insights
	cluster string
	since   time.Duration // NETCOST_WINDOW: a window ending at the event's time; 0: the previous UTC day
	limit   int
	advise  costmodel.AdviseOptions
	pricing costmodel.Options // NETCOST_INTERNET_EGRESS_TB_MONTH, NETCOST_TGW_PEER_EXTERNAL
	// egressGiven says NETCOST_INTERNET_EGRESS_TB_MONTH is set (even to 0):
	// it, not the bill's tier, prices internet bytes.
	egressGiven bool
	secretARN   string
	// cur is the bill (NETCOST_CUR), whose coverage the report states;
	// Kind 0 without one. athena runs its queries for athena: locations.
	cur    cur.Location
	athena cur.AthenaOptions
}

func parseConfig(getenv func(string) string) (config, error) {
	c := config{cluster: getenv("NETCOST_CLUSTER"), secretARN: getenv("SLACK_WEBHOOK_SECRET_ARN"),
		limit: report.DefaultLimit, advise: costmodel.AdviseOptions{MinMonthlySavingsUSD: 1}}
	src := getenv("NETCOST_SOURCE")
	if src == "" {
		src = "cloudwatch"
	}
	switch lg, m := getenv("NETCOST_LOG_GROUP"), getenv("NETCOST_MONITOR"); {
	case src == "cloudwatch" && lg != "":
		src += ":" + lg
	case src == "nfm" && m != "":
		src += ":" + m
	}
	var err error
	if c.source, err = source.Parse(src); err != nil {
		return config{}, source.Rename(err, "NETCOST_SOURCE")
	}
	if v := getenv("NETCOST_WINDOW"); v != "" {
		if c.since, err = source.ParseDuration(v); err != nil {
			return config{}, source.Rename(err, "NETCOST_WINDOW")
		}
	}
	if v := getenv("NETCOST_EXACT"); v != "" {
		if c.exact, err = strconv.ParseBool(v); err != nil || (c.exact && c.source.Kind != "cloudwatch") {
			return config{}, fmt.Errorf("NETCOST_EXACT %q: want true or false, and true only with NETCOST_SOURCE cloudwatch", v)
		}
	}
	if v := getenv("NETCOST_LIMIT"); v != "" {
		if c.limit, err = strconv.Atoi(v); err != nil || c.limit < 1 {
			return config{}, fmt.Errorf("NETCOST_LIMIT %q: want a whole number, 1 or more", v)
		}
	}
	if v := getenv("NETCOST_MIN_SAVINGS"); v != "" {
		if c.advise.MinMonthlySavingsUSD, err = strconv.ParseFloat(v, 64); err != nil || c.advise.MinMonthlySavingsUSD < 0 {
			return config{}, fmt.Errorf("NETCOST_MIN_SAVINGS %q: want USD a month, 0 or more", v)
		}
	}
	if v := getenv("NETCOST_COMPRESSION_RATIO"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0 && r < 1) {
			return config{}, fmt.Errorf("NETCOST_COMPRESSION_RATIO %q: want the share of the bytes compression removes, "+
				"above 0 and below 1 (0.6 for 60%%), or nothing", v)
		}
		c.advise.CompressionRatio = r
	}
	if v := getenv("NETCOST_INTERNET_EGRESS_TB_MONTH"); v != "" {
		tb, err := strconv.ParseFloat(v, 64)
		if err != nil || !(tb >= 0) || math.IsInf(tb, 1) {
			return config{}, fmt.Errorf("NETCOST_INTERNET_EGRESS_TB_MONTH %q: want the account's monthly internet egress in TB, 0 or more", v)
		}
		c.pricing.InternetEgressTBMonth, c.egressGiven = tb, true
	}
	if v := getenv("NETCOST_TGW_PEER_EXTERNAL"); v != "" {
		if c.pricing.TGWPeerExternal, err = strconv.ParseBool(v); err != nil {
			return config{}, fmt.Errorf("NETCOST_TGW_PEER_EXTERNAL %q: want true or false", v)
		}
	}
	if v := getenv("NETCOST_CUR"); v != "" {
		if c.cur, err = cur.ParseLocation(v); err != nil {
			return config{}, source.Rename(err, "NETCOST_CUR")
		}
		c.athena = cur.AthenaOptions{Workgroup: getenv("NETCOST_CUR_ATHENA_WORKGROUP"),
			OutputLocation: getenv("NETCOST_CUR_ATHENA_OUTPUT")}
	}
	// The Athena settings would do nothing for a bill elsewhere, and say
	// nothing about it.
	for _, n := range []string{"NETCOST_CUR_ATHENA_WORKGROUP", "NETCOST_CUR_ATHENA_OUTPUT"} {
		if getenv(n) != "" && c.cur.Kind != cur.Athena {
			return config{}, fmt.Errorf("%s applies only to NETCOST_CUR=athena:DATABASE.TABLE (this is NETCOST_CUR=%q): "+
				"unset it", n, getenv("NETCOST_CUR"))
		}
	}
	if c.secretARN == "" {
		return config{}, errors.New("SLACK_WEBHOOK_SECRET_ARN is not set: give the ARN of the secret holding the Slack webhook URL")
	}
	return c, nil
}

// secretGetter is the Secrets Manager call the handler makes.
type secretGetter interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

type handler struct {
	cfg     config
	model   *costmodel.Model
	aws     aws.Config // for the bill in S3 or Athena
	secrets secretGetter
	now     func() time.Time
	post    report.PostOptions
}

func newHandler(ctx context.Context, getenv func(string) string) (*handler, error) {
	cfg, err := parseConfig(getenv)
	if err != nil {
		return nil, err
	}
	ac, err := awscfg.Load(ctx, awscfg.Options{}) // AWS_REGION, and AWS_ENDPOINT_URL in tests, through the SDK's chain
	if err != nil {
		return nil, err
	}
	return &handler{cfg: cfg, model: costmodel.NewWithOptions(nil, cfg.pricing), aws: ac,
		secrets: secretsmanager.NewFromConfig(ac), now: time.Now, post: report.PostOptions{Logger: slog.Default()}}, nil
}

// result is what an invocation returns: what was posted, without the URL.
type result struct {
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	Records         int64     `json:"records"`
	TotalCostUSD    float64   `json:"total_cost_usd"`
	Recommendations int       `json:"recommendations"`
	Blocks          int       `json:"blocks"`
	Coverage        string    `json:"coverage,omitempty"` // the line on the bill, with NETCOST_CUR
}

// handle builds and posts the report for the window that ends at the
// scheduled event's time (now, for an event without one).
func (h *handler) handle(ctx context.Context, ev events.CloudWatchEvent) (*result, error) {
	at := ev.Time
	if at.IsZero() {
		at = h.now()
	}
	w := report.DefaultWindow(at)
	if h.cfg.since > 0 {
		end := at.UTC().Truncate(time.Second)
		w = source.Window{Start: end.Add(-h.cfg.since), End: end}
	}
	webhook, err := h.webhook(ctx)
	if err != nil {
		return nil, err
	}
	opts := report.Options{Options: query.Options{Source: h.cfg.source, Exact: h.cfg.exact, Window: w, Logger: slog.Default()},
		Cluster: h.cfg.cluster, Limit: h.cfg.limit, Advise: h.cfg.advise}
	rep, err := report.Build(ctx, h.model, opts)
	if err != nil {
		return nil, fmt.Errorf("building the report for %s to %s: %w", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339), err)
	}
	if h.cfg.cur.Kind != 0 {
		rep.Coverage = h.coverage(ctx, at)
	}
	msg := rep.Message()
	res := &result{Start: w.Start, End: w.End, Records: rep.Spend.Records, TotalCostUSD: rep.Spend.TotalCostUSD,
		Recommendations: len(rep.Recommend.Recommendations), Blocks: len(msg.Blocks), Coverage: rep.Coverage}
	slog.InfoContext(ctx, "report built", "start", res.Start, "end", res.End, "source", h.cfg.source.String(),
		"records", res.Records, "total_cost_usd", res.TotalCostUSD, "blocks", res.Blocks)
	if err := report.Post(ctx, webhook, msg, h.post); err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "report posted to Slack")
	return res, nil
}

// coverage reconciles the last day the bill surely holds whole, the UTC
// day before the report's default one (AWS refreshes a CUR up to a day
// late), and returns the verdict, or why the bill could not be read: the
// report goes out either way.
func (h *handler) coverage(ctx context.Context, at time.Time) string {
	w := report.DefaultWindow(at.Add(-24 * time.Hour))
	read := func(ctx context.Context, start, end time.Time) (*cur.Bill, error) {
		return cur.NewReader(h.aws, slog.Default()).Read(ctx, h.cfg.cur, cur.Options{Start: start, End: end,
			Athena: h.cfg.athena})
	}
	opts := query.ReconcileOptions{Options: query.Options{Source: h.cfg.source, Exact: h.cfg.exact, Window: w,
		Logger: slog.Default()}, EgressGiven: h.cfg.egressGiven}
	res, err := query.Reconcile(ctx, h.model.Table(), h.model.Options(), read, opts)
	if err != nil {
		slog.WarnContext(ctx, "reconciling with the bill", "cur", h.cfg.cur.String(), "error", err)
		return fmt.Sprintf("the bill of %s could not be read: %v", w.Start.Format(time.DateOnly), err)
	}
	return fmt.Sprintf("%s (billed $%.2f, measured $%.2f)", res.Verdict, res.TotalBilledUSD, res.TotalMeasuredUSD)
}

// webhook reads the Slack webhook URL from its secret: the URL itself, or
// a JSON object with webhook_url (or url). Errors never quote the value.
func (h *handler) webhook(ctx context.Context) (string, error) {
	out, err := h.secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &h.cfg.secretARN})
	if err != nil {
		return "", fmt.Errorf("reading the Slack webhook: %w", awscfg.Explain(err, "secret "+h.cfg.secretARN))
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s has no SecretString: store the webhook URL as text", h.cfg.secretARN)
	}
	v := strings.TrimSpace(*out.SecretString)
	if strings.HasPrefix(v, "{") {
		var obj struct {
			WebhookURL string `json:"webhook_url"`
			URL        string `json:"url"`
		}
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return "", fmt.Errorf("secret %s is not valid JSON: store the URL, or {\"webhook_url\": \"https://hooks.slack.com/...\"}", h.cfg.secretARN)
		}
		v = obj.WebhookURL
		if v == "" {
			v = obj.URL
		}
	}
	if err := report.ValidateWebhook(v); err != nil {
		return "", fmt.Errorf("secret %s: %w", h.cfg.secretARN, err)
	}
	return v, nil
}
