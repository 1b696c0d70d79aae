// Package resolve says who is behind an IP address: the names in the TLS
// certificate it serves, its reverse DNS, the AWS service and region that
// AWS's ip-ranges give it, and a belongs_to summary from a table of
// well-known AWS and SaaS names (costmodel.Owner).
//
// It names; it does not trust. Certificates are read whatever their
// validity (and the result says whether they verified), nothing a
// certificate or a server suggests is followed (no AIA fetching, no
// redirects, no other address), and every connection has a deadline and a
// cap on the bytes it reads. One slow address never holds up the others:
// each has its own deadline and gets "unknown" when nothing answered.
package resolve

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/ipranges"
)

// Unknown is the belongs_to of an address nothing could name.
const Unknown = "unknown"

// Defaults of a zero Resolver.
const (
	DefaultPort        = 443
	DefaultTimeout     = 2 * time.Second
	DefaultConcurrency = 32
	DefaultMaxRead     = 64 << 10
)

// Resolver names addresses. The zero value is ready: port 443, 2 s per
// address, 32 at a time, 64 KiB read per connection, the system's DNS.
type Resolver struct {
	Port        int              // TLS port; 0 means 443
	Timeout     time.Duration    // per address, for everything it does; 0 means 2 s
	Concurrency int              // addresses resolved at once; 0 means 32
	MaxRead     int64            // bytes read per TLS connection; 0 means 64 KiB
	Ranges      *ipranges.Ranges // AWS ip-ranges; nil: no AWS service from ranges
	// DNS answers the reverse lookups; nil means net.DefaultResolver.
	DNS *net.Resolver
	// NoPTR skips reverse DNS.
	NoPTR bool
	// Roots verify certificates; nil means the system's roots.
	Roots *x509.CertPool
	Cache *Cache // nil: no cache
	// Now is the clock (certificate validity, cache ages); nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger // nil: slog.Default()
}

// Result is what is known about one address.
type Result struct {
	IP string `json:"ip"`
	// Name is the best name found: the certificate's, else reverse DNS's.
	Name string `json:"remote_name,omitempty"`
	// BelongsTo says who serves the address: an owner from the table of
	// well-known names ("Amazon SQS"), else Name, else the AWS service
	// from ip-ranges, else "unknown".
	BelongsTo string `json:"belongs_to"`
	// Certificates are the leaf certificates read: without SNI, and with
	// the reverse DNS name as SNI when that could tell more.
	Certificates []Certificate `json:"certificates,omitempty"`
	PTR          []string      `json:"ptr,omitempty"`
	AWSService   string        `json:"aws_service,omitempty"` // ip-ranges service code: S3, EC2, AMAZON, ...
	AWSRegion    string        `json:"aws_region,omitempty"`
	// Problems say why a source told nothing: "tls: no answer within 2s".
	Problems   []string  `json:"problems,omitempty"`
	ResolvedAt time.Time `json:"resolved_at"`
	Cached     bool      `json:"cached,omitempty"`
	complete   bool      // every source answered or failed: worth caching
}

// Certificate is what a TLS server presented.
type Certificate struct {
	SNI        string    `json:"sni,omitempty"`
	CommonName string    `json:"common_name,omitempty"`
	DNSNames   []string  `json:"dns_names,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	// Verified: the chain verified against the roots at the current time.
	// A name from a certificate that did not verify is a claim, not proof.
	Verified    bool   `json:"verified"`
	VerifyError string `json:"verify_error,omitempty"`
}

// Verified reports whether the result's name comes from a verified
// certificate, or from a source other than a certificate.
func (r *Result) Verified() bool {
	for _, c := range r.Certificates {
		if c.Verified {
			return true
		}
	}
	return len(r.Certificates) == 0
}

func (r *Resolver) port() int              { return orDefault(r.Port, DefaultPort) }
func (r *Resolver) timeout() time.Duration { return orDefault(r.Timeout, DefaultTimeout) }
func (r *Resolver) concurrency() int       { return orDefault(r.Concurrency, DefaultConcurrency) }
func (r *Resolver) maxRead() int64         { return orDefault(r.MaxRead, DefaultMaxRead) }
func (r *Resolver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
func (r *Resolver) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Resolve names each address, Concurrency at a time, each within Timeout,
// answering from the cache where it can. The results are in the order of
// ips (duplicates resolved once). When ctx ends, the addresses not yet
// resolved are returned as unknown; Resolve itself never fails.
func (r *Resolver) Resolve(ctx context.Context, ips []netip.Addr) []Result {
	out := make([]Result, len(ips))
	first := map[netip.Addr]int{}
	var todo []int // indexes of ips to ask
	for i, ip := range ips {
		ip = ip.Unmap()
		if _, ok := first[ip]; ok {
			continue
		}
		first[ip] = i
		if res, ok := r.Cache.get(r.cacheKey(ip), r.now()); ok {
			out[i] = res
		} else {
			todo = append(todo, i)
		}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(r.concurrency(), len(todo)) {
		wg.Go(func() {
			for i := range jobs {
				ip := ips[i].Unmap()
				if over(ctx) {
					out[i] = r.unattempted(ip, cmp.Or(ctx.Err(), context.DeadlineExceeded))
					continue
				}
				out[i] = r.one(ctx, ip)
				if out[i].complete {
					r.Cache.put(r.cacheKey(ip), out[i])
				}
			}
		})
	}
	for _, i := range todo {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i, ip := range ips {
		if j := first[ip.Unmap()]; j != i {
			out[i] = out[j]
		}
	}
	return out
}

// over reports whether ctx is done or past its deadline (a connection's
// deadline may fire before the context's timer does).
func over(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

func (r *Resolver) cacheKey(ip netip.Addr) string {
	return netip.AddrPortFrom(ip, uint16(r.port())).String()
}

func (r *Resolver) unattempted(ip netip.Addr, err error) Result {
	res := Result{IP: ip.String(), ResolvedAt: r.now(), Problems: []string{"not attempted: " + describe(err, 0)}}
	r.ranges(&res, ip)
	res.summarize()
	return res
}

func (r *Resolver) ranges(res *Result, ip netip.Addr) {
	if r.Ranges == nil {
		return
	}
	if o, ok := r.Ranges.Lookup(ip); ok {
		res.AWSService, res.AWSRegion = o.Service, o.Region
	}
}

// one resolves one address within the per-address timeout: reverse DNS
// and TLS without SNI at once, then TLS with the reverse DNS name as SNI
// if the first certificate does not already cover that name.
func (r *Resolver) one(parent context.Context, ip netip.Addr) Result {
	ctx, cancel := context.WithTimeout(parent, r.timeout())
	defer cancel()
	res := Result{IP: ip.String(), ResolvedAt: r.now(), complete: true}
	r.ranges(&res, ip)

	var ptr []string
	var ptrErr error
	var wg sync.WaitGroup
	if !r.NoPTR {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ptr, ptrErr = r.lookupPTR(ctx, ip)
		}()
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(r.port()))
	plain, plainErr := r.certificate(ctx, addr, "")
	wg.Wait()

	var sniErr error
	if len(ptr) > 0 && (plainErr != nil || !plain.covers(ptr[0])) && ctx.Err() == nil {
		// A server may present another certificate for the name it is
		// known by. The name is sent as SNI to the same address, nowhere else.
		var sni Certificate
		if sni, sniErr = r.certificate(ctx, addr, ptr[0]); sniErr == nil {
			res.Certificates = append(res.Certificates, sni)
		}
	}
	if plainErr == nil {
		res.Certificates = slices.Insert(res.Certificates, 0, plain)
	}
	res.PTR = ptr
	limit := r.timeout()
	if over(parent) {
		res.complete = false // cut short by the caller, not by the address
		limit = 0
	}
	if ptrErr != nil {
		res.Problems = append(res.Problems, "ptr: "+describe(ptrErr, limit))
	}
	switch {
	case plainErr != nil && len(res.Certificates) == 0:
		res.Problems = append(res.Problems, "tls: "+describe(plainErr, limit))
	case sniErr != nil && plainErr == nil:
		res.Problems = append(res.Problems, "tls (SNI "+ptr[0]+"): "+describe(sniErr, limit))
	}
	res.summarize()
	r.logger().Debug("resolved", "ip", res.IP, "name", res.Name, "belongs_to", res.BelongsTo, "problems", res.Problems)
	return res
}

func (r *Resolver) lookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	dns := r.DNS
	if dns == nil {
		dns = net.DefaultResolver
	}
	names, err := dns.LookupAddr(ctx, ip.String())
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if n = trimDot(n); n != "" {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errNoPTR
	}
	return out, nil
}

// DNSResolver asks the DNS server at addr (host:port) and no other.
func DNSResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

var errNoPTR = errors.New("no PTR record")

func trimDot(s string) string {
	if len(s) > 0 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}

// Names are every name found, best first: those of verified
// certificates, then of the others, then reverse DNS's.
func (res *Result) Names() []string {
	var names []string
	for _, c := range orderCerts(res.Certificates) {
		names = append(names, c.names()...)
	}
	return append(names, res.PTR...)
}

// summarize sets Name and BelongsTo from what was found.
func (res *Result) summarize() {
	names := res.Names()
	res.Name = ""
	if len(names) > 0 {
		res.Name = names[0]
	}
	res.BelongsTo = BelongsTo(names, res.AWSService, res.AWSRegion)
}

// orderCerts puts verified certificates first, keeping the order of the
// attempts otherwise.
func orderCerts(cs []Certificate) []Certificate {
	out := make([]Certificate, 0, len(cs))
	for _, verified := range []bool{true, false} {
		for _, c := range cs {
			if c.Verified == verified {
				out = append(out, c)
			}
		}
	}
	return out
}

// BelongsTo summarizes who serves an address known by names (best first)
// and by its AWS ip-ranges service and region (either may be empty): the
// owner of the first name the well-known table knows, else the first
// name, else the ip-ranges service ("Amazon S3 (us-east-1)"), else "unknown".
func BelongsTo(names []string, awsService, awsRegion string) string {
	for _, n := range names {
		if o := costmodel.Owner(n); o != "" {
			if o == "AWS" && awsService != "" && awsService != "AMAZON" {
				return costmodel.RangeServiceName(awsService)
			}
			return o
		}
	}
	for _, n := range names {
		if n != "" {
			return n
		}
	}
	if awsService != "" {
		s := costmodel.RangeServiceName(awsService)
		if awsRegion != "" {
			s += " (" + awsRegion + ")"
		}
		return s
	}
	return Unknown
}

// describe turns an error into a short reason for a person.
func describe(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, errNoPTR):
		return "no PTR record"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no PTR record"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		if timeout > 0 {
			return fmt.Sprintf("no answer within %s", timeout)
		}
		return "out of time"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "cannot connect: " + opErr.Err.Error()
	}
	return err.Error()
}
