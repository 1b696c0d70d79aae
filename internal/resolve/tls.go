package resolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// certificate reads the leaf certificate addr presents, with sni as the
// server name ("" sends none). It dials addr and nothing else, reads at
// most MaxRead bytes, and gives up at ctx's deadline.
func (r *Resolver) certificate(ctx context.Context, addr, sni string) (Certificate, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Certificate{}, err
	}
	// Closed without a close_notify: nothing is written after the handshake.
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := raw.SetDeadline(dl); err != nil {
			return Certificate{}, err
		}
	}
	conn := tls.Client(&limitedConn{Conn: raw, left: r.maxRead()}, &tls.Config{
		ServerName: sni,
		// Naming, not trusting: read expired, self-signed and mismatched
		// certificates too, and verify separately to say which they are.
		InsecureSkipVerify: true,
		// Old servers still name themselves; nothing secret is sent.
		MinVersion: tls.VersionTLS10,
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		return Certificate{}, handshakeError(err, r.maxRead())
	}
	peer := conn.ConnectionState().PeerCertificates
	if len(peer) == 0 {
		return Certificate{}, errors.New("the server presented no certificate")
	}
	leaf := peer[0]
	c := Certificate{SNI: sni, CommonName: leaf.Subject.CommonName, DNSNames: leaf.DNSNames,
		Issuer: leaf.Issuer.CommonName, NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC()}
	if c.Issuer == "" {
		c.Issuer = leaf.Issuer.String()
	}
	// The chain is verified from what the server sent and the local roots
	// only: Go's verifier fetches nothing (no AIA), on Linux at least.
	inter := x509.NewCertPool()
	for _, ic := range peer[1:] {
		inter.AddCert(ic)
	}
	_, verr := leaf.Verify(x509.VerifyOptions{Roots: r.Roots, Intermediates: inter, CurrentTime: r.now()})
	if verr == nil && sni != "" {
		verr = leaf.VerifyHostname(sni)
	}
	c.Verified = verr == nil
	if verr != nil {
		c.VerifyError = verifyReason(verr, leaf, sni, r.now())
	}
	return c, nil
}

// verifyReason says in a few words why a certificate did not verify.
func verifyReason(err error, leaf *x509.Certificate, sni string, now time.Time) string {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert == leaf:
		if now.Before(leaf.NotBefore) {
			return "not valid before " + leaf.NotBefore.UTC().Format(time.DateOnly)
		}
		return "expired " + leaf.NotAfter.UTC().Format(time.DateOnly)
	case errors.As(err, &unknown):
		return "unknown authority (self-signed or a private CA)"
	case errors.As(err, &host):
		return "not valid for " + sni
	}
	return err.Error()
}

func handshakeError(err error, limit int64) error {
	var rh tls.RecordHeaderError
	var tooMuch *readLimitError
	switch {
	case errors.As(err, &tooMuch):
		return fmt.Errorf("the server sent more than %d bytes without finishing the handshake", limit)
	case errors.As(err, &rh):
		return errors.New("not a TLS server (it answered something else)")
	}
	return fmt.Errorf("handshake failed: %w", err)
}

// readLimitError ends a connection that sent more than it may.
type readLimitError struct{}

func (*readLimitError) Error() string { return "read limit reached" }

// limitedConn fails reads once left bytes have been read, so that a server
// streaming megabytes is cut off after the first MaxRead.
type limitedConn struct {
	net.Conn
	left int64
}

func (c *limitedConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, &readLimitError{}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}

// names are the certificate's host names, best first: the subject CN if
// it is one, then the SANs, wildcards last.
func (c Certificate) names() []string {
	var plain, wild []string
	seen := map[string]bool{}
	for _, n := range append([]string{c.CommonName}, c.DNSNames...) {
		n = strings.ToLower(trimDot(n))
		if !isHostname(n) || seen[n] {
			continue
		}
		seen[n] = true
		if strings.HasPrefix(n, "*.") {
			wild = append(wild, n)
		} else {
			plain = append(plain, n)
		}
	}
	return append(plain, wild...)
}

// covers reports whether the certificate names host (wildcards match one label).
func (c Certificate) covers(host string) bool {
	host = strings.ToLower(trimDot(host))
	for _, n := range c.names() {
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if _, after, found := strings.Cut(host, "."); found && after == rest {
				return true
			}
		}
	}
	return false
}

func isHostname(s string) bool {
	return strings.Contains(s, ".") && !strings.ContainsAny(s, " /:@") && len(s) <= 253
}
