package safehttp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestAllowed(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://ip-ranges.amazonaws.com/ip-ranges.json": true,
		"https://hooks.slack.com/services/T/B/X":         true,
		"http://127.0.0.1:8080/x":                        true,
		"http://127.8.9.10/x":                            true,
		"http://[::1]:80/x":                              true,
		"http://LOCALHOST:1/x":                           true,
		"http://example.com/x":                           false,
		"http://10.0.0.1/x":                              false,
		"http://127.0.0.1.example.com/x":                 false,
		"file:///etc/passwd":                             false,
		"ftp://example.com/x":                            false,
		"https:opaque":                                   false,
		"https:///nohost":                                false,
		"example.com/x":                                  false,
		"":                                               false,
	} {
		u, err := url.Parse(raw)
		if got := err == nil && Allowed(u); got != want {
			t.Errorf("Allowed(%q) = %v; want %v", raw, got, want)
		}
	}
}

func TestRedirects(t *testing.T) {
	hit := false
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer other.Close()
	to := ""
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusTemporaryRedirect)
	}))
	defer first.Close()

	// NoRedirects: the 3xx is the answer, and the other server sees nothing.
	to = other.URL + "/path/TOKEN"
	resp, err := (&http.Client{CheckRedirect: NoRedirects}).Get(first.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	base, _ := url.Parse(first.URL + "/x")
	if resp.StatusCode != http.StatusTemporaryRedirect || hit {
		t.Errorf("status %d, other server hit %v; want the 307 itself and no hit", resp.StatusCode, hit)
	}
	if h := RedirectHost(resp, base); h != strings.TrimSuffix(other.URL, "/") || strings.Contains(h, "TOKEN") {
		t.Errorf("RedirectHost = %q; want %q", h, other.URL)
	}

	// A relative Location is on the first server.
	to = "/elsewhere/TOKEN"
	resp, err = (&http.Client{CheckRedirect: NoRedirects}).Get(first.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := RedirectHost(resp, base); h != first.URL {
		t.Errorf("RedirectHost(relative) = %q; want %q", h, first.URL)
	}

	// AllowedRedirects follows to loopback http (allowed), not to a public
	// host over http.
	to = other.URL + "/y"
	if _, err := (&http.Client{CheckRedirect: AllowedRedirects}).Get(first.URL); err != nil || !hit {
		t.Errorf("redirect to loopback http: err %v, hit %v; want followed", err, hit)
	}
	hit = false
	to = "http://example.com/x"
	_, err = (&http.Client{CheckRedirect: AllowedRedirects}).Get(first.URL)
	if err == nil || !strings.Contains(err.Error(), `refusing a redirect to "http://example.com": want https`) {
		t.Errorf("redirect to public http: err %v; want it refused", err)
	}
}
