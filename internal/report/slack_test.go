package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/safetext"
)

// sink is a Slack webhook stand-in: it answers each post with the next of
// its replies (the last one repeats) and records what it was sent.
type sink struct {
	mu      sync.Mutex
	replies []reply
	posts   []string
	times   []time.Time
}

type reply struct {
	code   int
	body   string
	header map[string]string
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want a JSON POST", http.StatusBadRequest)
		return
	}
	s.posts = append(s.posts, string(b))
	s.times = append(s.times, time.Now())
	rp := s.replies[min(len(s.posts), len(s.replies))-1]
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rp.code)
	io.WriteString(w, rp.body)
}

const secretPath = "/services/T0SECRET/B0SECRET/xoxsecretsecretsecret"

func startSink(t *testing.T, replies ...reply) (*sink, string) {
	s := &sink{replies: replies}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL + secretPath
}

var testMsg = Message{Text: "hi", Blocks: []Block{section("*hello*")}}

func fast() PostOptions {
	return PostOptions{MinWait: 10 * time.Millisecond, MaxWait: 3 * time.Second, Retries: 3}
}

func TestPostRetriesAfterRetryAfter(t *testing.T) {
	s, url := startSink(t, reply{code: 429, body: "rate_limited", header: map[string]string{"Retry-After": "1"}}, reply{code: 200, body: "ok"})
	if err := Post(context.Background(), url, testMsg, fast()); err != nil {
		t.Fatal(err)
	}
	if len(s.posts) != 2 {
		t.Fatalf("%d posts, want 2", len(s.posts))
	}
	if wait := s.times[1].Sub(s.times[0]); wait < 900*time.Millisecond {
		t.Errorf("retried after %v: Retry-After said 1 s", wait)
	}
	want, _ := testMsg.JSON(false)
	if s.posts[1] != string(want) {
		t.Errorf("posted %s, want %s", s.posts[1], want)
	}
}

func TestPostGivesUpOn5xx(t *testing.T) {
	s, url := startSink(t, reply{code: 503, body: "busy"})
	err := Post(context.Background(), url, testMsg, fast())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 503 || se.Body != "busy" {
		t.Fatalf("err = %v, want a 503 StatusError", err)
	}
	if len(s.posts) != 4 {
		t.Errorf("%d posts, want 1 + 3 retries", len(s.posts))
	}
}

func TestPostDoesNotRetryARefusal(t *testing.T) {
	s, url := startSink(t, reply{code: 400, body: "invalid_blocks\n" + strings.Repeat("detail ", 100)})
	err := Post(context.Background(), url, testMsg, fast())
	if err == nil || len(s.posts) != 1 {
		t.Fatalf("err %v after %d posts: want one post and an error", err, len(s.posts))
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "Slack webhook answered 400 Bad Request: invalid_blocks detail") || strings.Contains(msg, "\n") || runes(msg) > 260 {
		t.Errorf("error %q: want the status and Slack's reason on one short line", msg)
	}
	if strings.Contains(msg, "SECRET") {
		t.Errorf("the error reveals the webhook: %q", msg)
	}
}

// TestPostEscapesTheReply: Slack's reply, quoted in the error that ends on
// a terminal or in the Lambda's log, cannot steer the terminal or add a line.
func TestPostEscapesTheReply(t *testing.T) {
	_, url := startSink(t, reply{code: 400, body: "invalid_blocks\x1b]0;pwned\a\x1b[31m \u202eevil\r\nforged\x00 \u0085\xff"})
	err := Post(context.Background(), url, testMsg, fast())
	if err == nil {
		t.Fatal("a 400 was taken for success")
	}
	want := `Slack webhook answered 400 Bad Request: invalid_blocks\x1b]0;pwned\x07\x1b[31m \u202eevil forged\x00 \xff`
	if msg := err.Error(); msg != want || safetext.Index(msg) >= 0 {
		t.Errorf("error %q; want %q", msg, want)
	}
}

func TestPostNeverRevealsTheWebhook(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + secretPath
	l.Close() // nothing listens: every attempt fails to connect
	var logs strings.Builder
	opts := fast()
	opts.Logger = newTestLogger(&logs)
	err = Post(context.Background(), url, testMsg, opts)
	if err == nil {
		t.Fatal("posting to a closed port worked")
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(logs.String(), "SECRET") {
		t.Errorf("the webhook path leaked:\nerror: %v\nlogs: %s", err, logs.String())
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(logs.String(), "retrying") {
		t.Errorf("error %q, logs %q: want the cause and the retries", err, logs.String())
	}
	if testing.Verbose() {
		t.Logf("error: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Post(ctx, url, testMsg, fast()); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("cancelled: %v", err)
	}
}

// TestPostRefusesRedirects: a webhook host that redirects (307 keeps the
// method and body, 301 turns them into a GET) gets one post, its answer is
// one line naming the status and where it pointed, and the server it
// pointed to receives nothing, neither the payload nor the secret path.
func TestPostRefusesRedirects(t *testing.T) {
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusMovedPermanently, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			var hits int
			var mu sync.Mutex
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits++
				mu.Unlock()
			}))
			defer other.Close()
			s, url := startSink(t, reply{code: code, body: "moved to " + other.URL + secretPath,
				header: map[string]string{"Location": other.URL + secretPath}})
			var logs strings.Builder
			opts := fast()
			opts.Logger = newTestLogger(&logs)
			opts.Client = &http.Client{Timeout: 5 * time.Second} // a caller's client: its policy is not used
			err := Post(context.Background(), url, testMsg, opts)
			mu.Lock()
			defer mu.Unlock()
			if hits != 0 || len(s.posts) != 1 {
				t.Errorf("the redirect's target was hit %d times, the webhook %d; want 0 and 1", hits, len(s.posts))
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != code {
				t.Fatalf("err = %v; want a %d StatusError", err, code)
			}
			msg := err.Error()
			want := fmt.Sprintf("Slack webhook answered %d %s to %q: not followed", code, http.StatusText(code), other.URL)
			if !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q; want one line starting %q", msg, want)
			}
			if strings.Contains(msg, "SECRET") || strings.Contains(logs.String(), "SECRET") {
				t.Errorf("the webhook path leaked:\nerror: %s\nlogs: %s", msg, logs.String())
			}
			if opts.Client.CheckRedirect != nil {
				t.Error("Post changed the caller's client")
			}
		})
	}
}

func TestValidateWebhook(t *testing.T) {
	for _, ok := range []string{"https://hooks.slack.com/services/T/B/X", "http://127.0.0.1:8080/x", "http://[::1]/x", "http://localhost:1/x"} {
		if err := ValidateWebhook(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "hooks.slack.com/services/T/B/SECRET", "http://hooks.slack.com/services/T/B/SECRET", "ftp://x/SECRET", "://SECRET"} {
		err := ValidateWebhook(bad)
		if err == nil {
			t.Errorf("%q: accepted", bad)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%q: the error quotes the URL: %v", bad, err)
		}
	}
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
