package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSlackReplyEscaped: the error line that quotes a failed post's reply
// shows Slack's (or whoever answered's) control characters escaped.
func TestSlackReplyEscaped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("invalid_blocks\x1b]0;pwned\a\x1b[31m\u202e\r\nforged line\x00"))
	}))
	defer srv.Close()
	code, out, errs := netcost(t, append([]string{"report", "--source", "file:" + store, "--slack-webhook", srv.URL + "/services/T/B/SECRET"},
		reportWindow...)...)
	want := `netcost: Slack webhook answered 400 Bad Request: invalid_blocks\x1b]0;pwned\x07\x1b[31m\u202e forged line\x00` + "\n"
	if code != 1 || out != "" || errs != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errs, want)
	}
}

// TestErrorLineEscaped: whatever an error quotes, the one line on stderr
// holds no control or bidi character.
func TestErrorLineEscaped(t *testing.T) {
	code, out, errs := netcost(t, "top", "-c", "nat", "-s", "file:/nonexistent/\x1b]0;pwned\a\u202e\n.jsonl")
	if code == 0 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, `\x1b]0;pwned\x07\u202e\x0a.jsonl`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want one line quoting the path escaped", code, out, errs)
	}
	assertSafe(t, "stderr", errs)
}
