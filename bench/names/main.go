// Command names makes the traffic passive naming reads, for the names
// benchmark (bench/names/run.sh): DNS lookups answered over UDP and TLS
// connections that start with a ClientHello.
//
//	names server ADDR
//	names client ADDR [-dns 5000] [-tls 1000] [-duration 20s]
//
// The server answers every DNS query on ADDR port 53 with a CNAME and an A
// record, and accepts TCP on ADDR port 443, reads the first segment and
// closes. It prints "ready" once it listens and runs until SIGINT or
// SIGTERM. The client sends -dns queries a second (each from a new socket,
// as a stub resolver does) and opens -tls connections a second, each
// sending a real crypto/tls ClientHello (Go's default, with a post-quantum
// key share) and closing. It prints one JSON object: what it sent and
// what came back.
package main

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// errUsage marks a command-line error: exit status 2.
var errUsage = errors.New("usage")

const usage = "names server ADDR | names client ADDR [-dns N] [-tls N] [-duration D]"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "names")
	err := run(ctx, os.Stdout, os.Args[1:])
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "names: %v\n%s\n", err, usage)
		os.Exit(2)
	case err != nil:
		log.Error("names failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("%w: want a mode and an address", errUsage)
	}
	addr := net.ParseIP(args[1])
	if addr == nil {
		return fmt.Errorf("%w: %q is not an IP address", errUsage, args[1])
	}
	switch args[0] {
	case "server":
		return serve(ctx, w, addr)
	case "client":
		fs := flag.NewFlagSet("names client", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		dns := fs.Int("dns", 5000, "DNS lookups a second")
		hellos := fs.Int("tls", 1000, "TLS connections a second")
		d := fs.Duration("duration", 20*time.Second, "how long")
		if err := fs.Parse(args[2:]); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if *dns < 0 || *hellos < 0 || *d <= 0 {
			return fmt.Errorf("%w: -dns and -tls must not be negative, -duration must be positive", errUsage)
		}
		return client(ctx, w, addr, *dns, *hellos, *d)
	}
	return fmt.Errorf("%w: unknown mode %q", errUsage, args[0])
}

// answer makes the response to query q: its header and question, then a
// CNAME to an edge name and that name's A record, as a CDN answers.
func answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	r := append([]byte(nil), q...)
	binary.BigEndian.PutUint16(r[2:], 0x8180) // a response, recursion desired and available, no error
	binary.BigEndian.PutUint16(r[6:], 2)      // answers
	binary.BigEndian.PutUint16(r[8:], 0)
	binary.BigEndian.PutUint16(r[10:], 0)
	edge := encodeName("d111111abcdef8.cloudfront.net")
	rr := func(typ uint16, data []byte) {
		r = append(r, 0xc0, 12) // the question's name, or the CNAME's target below
		r = binary.BigEndian.AppendUint16(r, typ)
		r = binary.BigEndian.AppendUint16(r, 1)   // class IN
		r = binary.BigEndian.AppendUint32(r, 300) // TTL
		r = binary.BigEndian.AppendUint16(r, uint16(len(data)))
		r = append(r, data...)
	}
	rr(5, edge)
	target := len(r) - len(edge)
	rr(1, []byte{52, 84, 150, 7})
	binary.BigEndian.PutUint16(r[len(r)-16:], 0xc000|uint16(target)) // the A record names the CNAME's target
	return r
}

// encodeName is a DNS name in wire form.
func encodeName(name string) []byte {
	var b []byte
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	return append(b, 0)
}

// query is a DNS query for name with id.
func query(id uint16, name string) []byte {
	q := make([]byte, 12, 64)
	binary.BigEndian.PutUint16(q, id)
	binary.BigEndian.PutUint16(q[2:], 0x0100) // recursion desired
	binary.BigEndian.PutUint16(q[4:], 1)
	q = append(q, encodeName(name)...)
	q = binary.BigEndian.AppendUint16(q, 1) // A
	return binary.BigEndian.AppendUint16(q, 1)
}

func serve(ctx context.Context, w io.Writer, addr net.IP) error {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: addr, Port: 53})
	if err != nil {
		return err
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: addr, Port: 443})
	if err != nil {
		pc.Close()
		return err
	}
	context.AfterFunc(ctx, func() { pc.Close(); ln.Close() })
	fmt.Fprintln(w, "ready")
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if r := answer(buf[:n]); r != nil {
				pc.WriteToUDP(r, from)
			}
		}
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Read(make([]byte, 4096))
				c.Close()
			}()
		}
	})
	wg.Wait()
	return nil
}

// Result is what the client prints.
type Result struct {
	Seconds      float64 `json:"seconds"`
	DNSQueries   int64   `json:"dns_queries"`
	DNSAnswers   int64   `json:"dns_answers"`
	TLSHellos    int64   `json:"tls_hellos"`
	Errors       int64   `json:"errors"`
	HelloBytes   int     `json:"hello_bytes"`
	AnswerBytes  int     `json:"answer_bytes"`
	DNSPerSecond float64 `json:"dns_per_second"`
	TLSPerSecond float64 `json:"tls_per_second"`
}

// clientHello is the first flight of a crypto/tls client for sni.
func clientHello(sni string) ([]byte, error) {
	cli, srv := net.Pipe()
	defer srv.Close()
	go func() {
		tls.Client(cli, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
		cli.Close()
	}()
	buf := make([]byte, 8192)
	n, err := srv.Read(buf)
	if err != nil {
		return nil, fmt.Errorf("making a ClientHello: %w", err)
	}
	return buf[:n], nil
}

func client(ctx context.Context, w io.Writer, addr net.IP, dnsRate, tlsRate int, d time.Duration) error {
	hello, err := clientHello("api.example.com")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var r Result
	r.HelloBytes, r.AnswerBytes = len(hello), len(answer(query(1, "www.example.com")))
	// Every tick (10 ms) sends its share of the second's lookups and
	// connections, each in its own goroutine, as many clients would.
	const tick = 10 * time.Millisecond
	perTick := func(rate int, i int64) int { return int(int64(rate)*(i+1)/100 - int64(rate)*i/100) }
	var wg sync.WaitGroup
	dnsAddr := &net.UDPAddr{IP: addr, Port: 53}
	tlsAddr := &net.TCPAddr{IP: addr, Port: 443}
	lookup := func(id uint16) {
		c, err := net.DialUDP("udp", nil, dnsAddr)
		if err != nil {
			atomic.AddInt64(&r.Errors, 1)
			return
		}
		defer c.Close()
		atomic.AddInt64(&r.DNSQueries, 1)
		if _, err := c.Write(query(id, "www.example.com")); err != nil {
			atomic.AddInt64(&r.Errors, 1)
			return
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err != nil {
			atomic.AddInt64(&r.Errors, 1)
			return
		}
		atomic.AddInt64(&r.DNSAnswers, 1)
	}
	connect := func() {
		c, err := net.DialTCP("tcp", nil, tlsAddr)
		if err != nil {
			atomic.AddInt64(&r.Errors, 1)
			return
		}
		defer c.Close()
		if _, err := c.Write(hello); err != nil {
			atomic.AddInt64(&r.Errors, 1)
			return
		}
		atomic.AddInt64(&r.TLSHellos, 1)
	}
	start := time.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	for i := int64(0); ; i++ {
		for j := range perTick(dnsRate, i) {
			wg.Go(func() { lookup(uint16(i*100 + int64(j))) })
		}
		for range perTick(tlsRate, i) {
			wg.Go(connect)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			r.Seconds = time.Since(start).Seconds()
			r.DNSPerSecond = float64(r.DNSAnswers) / r.Seconds
			r.TLSPerSecond = float64(r.TLSHellos) / r.Seconds
			return json.NewEncoder(w).Encode(r)
		case <-t.C:
		}
	}
}
