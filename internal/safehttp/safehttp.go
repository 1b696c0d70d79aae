// Package safehttp holds the rules netcost's own HTTP requests follow:
// which URLs it talks to (https, or plain http to this machine for tests)
// and which redirects it follows.
package safehttp

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Loopback reports whether host, a URL's Hostname, is this machine:
// localhost, 127.0.0.0/8 or ::1.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Allowed reports whether netcost may send to u: https to any host, or
// http to this machine, where nothing crosses a network in clear.
func Allowed(u *url.URL) bool {
	switch {
	case u == nil || u.Host == "" || u.Opaque != "":
		return false
	case u.Scheme == "https":
		return true
	case u.Scheme == "http":
		return Loopback(u.Hostname())
	}
	return false
}

// NoRedirects is an http.Client's CheckRedirect that follows none: the
// client returns the 3xx answer itself. Posts that carry a secret use it,
// so that a redirect cannot hand the secret or the payload to another URL.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// maxRedirects is as many as net/http follows by default.
const maxRedirects = 10

// AllowedRedirects is an http.Client's CheckRedirect that follows a
// redirect only to a URL Allowed accepts: an https download does not turn
// into a plain http one on a server's word.
func AllowedRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errors.New("stopped after 10 redirects")
	}
	if !Allowed(req.URL) {
		return fmt.Errorf("refusing a redirect to %q: want https", Where(req.URL))
	}
	return nil
}

// RedirectHost names where a 3xx answer to a request for base points: the
// scheme and host of its Location, which may be relative to base. It never
// returns the Location's path or query, which may carry a token.
func RedirectHost(resp *http.Response, base *url.URL) string {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "nowhere (no Location)"
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "an unreadable Location"
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	return Where(u)
}

// Where is scheme://host of u, for messages (quote it: a host may hold
// any printable text): never its path or query.
func Where(u *url.URL) string {
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}
