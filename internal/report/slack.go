package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/netcost/netcost/internal/safehttp"
	"github.com/netcost/netcost/internal/safetext"
)

// PostOptions tune Post.
type PostOptions struct {
	Client  *http.Client  // nil: a client with a 15 s timeout per attempt; Post never follows its redirects
	Retries int           // after the first attempt; 0 means 4
	MinWait time.Duration // first backoff; 0 means 1 s, doubling per retry
	MaxWait time.Duration // longest wait, a Retry-After included; 0 means 30 s
	Logger  *slog.Logger  // nil: no logs
}

// StatusError is Slack's answer to a post it did not accept.
type StatusError struct {
	Code     int
	Body     string // Slack's reason, such as invalid_blocks; shortened
	Location string // a redirect's scheme://host, never followed
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("Slack webhook answered %d %s", e.Code, http.StatusText(e.Code))
	if e.Code/100 == 3 {
		// The webhook URL is a secret: a redirect is not followed, lest the
		// post go to whoever the Location names.
		return fmt.Sprintf("%s to %q: not followed (check the webhook URL; Slack's own does not redirect)", s, e.Location)
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// maxErrorBody is how much of Slack's answer an error quotes.
const maxErrorBody = 200

// ValidateWebhook checks that raw is an incoming webhook URL that can be
// posted to without leaking it: https, or http to this machine (tests).
// Its errors never quote the URL, which is a secret.
func ValidateWebhook(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("the Slack webhook is not a URL: want https://hooks.slack.com/services/T…/B…/…")
	}
	if safehttp.Allowed(u) {
		return nil
	}
	return fmt.Errorf("the Slack webhook must be an https URL (got scheme %q): plain http would expose it", u.Scheme)
}

// Post sends m to the incoming webhook at webhook, retrying connection
// errors, 429 (after its Retry-After) and 5xx with exponential backoff.
// A non-2xx answer is a *StatusError; a redirect is one too, not followed.
// Errors name the webhook by its host only: the URL is a secret.
func Post(ctx context.Context, webhook string, m Message, opts PostOptions) error {
	if err := ValidateWebhook(webhook); err != nil {
		return err
	}
	body, err := m.JSON(false)
	if err != nil {
		return err
	}
	c := retryablehttp.NewClient()
	c.Logger = nil // it would log the URL
	hc := http.Client{Timeout: 15 * time.Second}
	if opts.Client != nil {
		hc = *opts.Client // a copy: the caller's client keeps its own redirect policy
	}
	hc.CheckRedirect = safehttp.NoRedirects
	c.HTTPClient = &hc
	c.RetryMax = cmp.Or(opts.Retries, 4)
	c.RetryWaitMin = cmp.Or(opts.MinWait, time.Second)
	c.RetryWaitMax = cmp.Or(opts.MaxWait, 30*time.Second)
	c.Backoff = func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
		return min(retryablehttp.DefaultBackoff(lo, hi, attempt, resp), hi) // a Retry-After of a day is not waited for
	}
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		retry, cerr := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		if retry && opts.Logger != nil {
			if resp != nil {
				opts.Logger.WarnContext(ctx, "Slack webhook: retrying", "status", resp.StatusCode, "retry_after", resp.Header.Get("Retry-After"))
			} else {
				opts.Logger.WarnContext(ctx, "Slack webhook: retrying", "error", redact(err, webhook).Error())
			}
		}
		return retry, cerr
	}
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, webhook, body)
	if err != nil {
		return redact(fmt.Errorf("posting to Slack: %w", err), webhook)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return redact(fmt.Errorf("posting to Slack: %w", err), webhook)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode / 100 {
	case 2:
		return nil
	case 3:
		// Its body is not quoted: it may repeat the Location, path and all.
		return &StatusError{Code: resp.StatusCode, Location: safehttp.RedirectHost(resp, req.URL)}
	}
	return &StatusError{Code: resp.StatusCode, Body: oneLine(string(reply), maxErrorBody)}
}

// oneLine makes s, a reply from the network, printable on one line of at
// most n characters: runs of white space (newlines included) become one
// space, and other control and bidi characters visible escapes (safetext).
func oneLine(s string, n int) string {
	return cut(safetext.Escape(strings.Join(strings.Fields(s), " ")), n)
}

// redacted is an error whose text hides the webhook URL; unwrapping still
// reaches the cause (context.Canceled and the like).
type redacted struct {
	err error
	msg string
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

func redact(err error, webhook string) error {
	host := "the Slack webhook"
	if u, perr := url.Parse(webhook); perr == nil && u.Host != "" {
		host = u.Scheme + "://" + u.Host + "/…"
	}
	msg := err.Error()
	if webhook != "" {
		msg = strings.ReplaceAll(msg, webhook, host)
	}
	if u, perr := url.Parse(webhook); perr == nil && u.Path != "" && u.Path != "/" {
		msg = strings.ReplaceAll(msg, u.Path, "/…") // in case a library re-encoded the URL
	}
	return &redacted{err: err, msg: msg}
}
