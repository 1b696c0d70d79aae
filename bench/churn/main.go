// Command churn makes many short TCP connections, for the churn benchmark
// (bench/churn/run.sh): every connection is a new flow for the counters.
//
//	churn server ADDR
//	churn client ADDR [-conns 64] [-duration 10s] [-req 200] [-resp 1000] [-rate 0]
//
// The client runs -conns connections at a time for -duration: each one
// connects, sends a request of -req bytes, reads the -resp bytes of the
// response to the end and closes. With -rate it starts at most that many
// connections a second in all (0: as many as it can). The request's first 8 bytes carry both
// sizes, so the server needs no flags: it reads the request, writes the
// response and closes first (the TIME_WAIT is the server's, and the client
// does not run out of ports). The server prints "ready" once it listens and
// runs until SIGINT or SIGTERM. The client prints one JSON object: the
// connections made, the bytes sent and received by the application and the
// connections a second.
package main

import (
	"context"
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

const usage = "churn server ADDR | churn client ADDR [-conns N] [-duration D] [-req BYTES] [-resp BYTES] [-rate N]"

// header is the request's leading bytes: the request and response sizes.
const header = 8

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "churn")
	err := run(ctx, log, os.Args[1:])
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "churn: %v\n%s\n", err, usage)
		os.Exit(2)
	case err != nil:
		log.Error("churn failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("%w: want a mode and an address", errUsage)
	}
	mode, addr := args[0], args[1]
	switch mode {
	case "server":
		if len(args) != 2 {
			return fmt.Errorf("%w: unexpected argument %q", errUsage, args[2])
		}
		return serve(ctx, log, addr)
	case "client":
		o := clientOptions{addr: addr}
		fs := flag.NewFlagSet("churn client", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.IntVar(&o.conns, "conns", 64, "connections at a time")
		fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to make connections")
		fs.IntVar(&o.req, "req", 200, "request bytes")
		fs.IntVar(&o.resp, "resp", 1000, "response bytes")
		fs.Float64Var(&o.rate, "rate", 0, "connections a second in all; 0: no limit")
		if err := fs.Parse(args[2:]); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		switch {
		case fs.NArg() != 0:
			return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
		case o.conns < 1 || o.duration <= 0 || o.rate < 0:
			return fmt.Errorf("%w: -conns and -duration must be positive, -rate not negative", errUsage)
		case o.req < header || o.req > 1<<20 || o.resp < 0 || o.resp > 1<<20:
			return fmt.Errorf("%w: -req must be %d bytes to 1 MiB, -resp 0 to 1 MiB", errUsage, header)
		}
		r, err := client(ctx, log, o)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown mode %q", errUsage, mode)
}

// serve answers requests on addr until ctx is done.
func serve(ctx context.Context, log *slog.Logger, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	context.AfterFunc(ctx, func() { ln.Close() })
	fmt.Println("ready")
	var wg sync.WaitGroup
	defer wg.Wait()
	var failed atomic.Int64
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				if n := failed.Load(); n > 0 {
					log.Warn("connections failed", "count", n)
				}
				return nil
			}
			return fmt.Errorf("accepting: %w", err)
		}
		wg.Go(func() {
			if err := answer(c); err != nil && failed.Add(1) == 1 {
				log.Warn("answering", "remote", c.RemoteAddr(), "error", err)
			}
		})
	}
}

var zeros = make([]byte, 1<<20)

// answer reads one request from c, writes its response and closes c.
func answer(c net.Conn) error {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var h [header]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	reqLen, respLen := binary.BigEndian.Uint32(h[:4]), binary.BigEndian.Uint32(h[4:])
	if reqLen < header || reqLen > uint32(len(zeros)) || respLen > uint32(len(zeros)) {
		return fmt.Errorf("bad request header: %d, %d bytes", reqLen, respLen)
	}
	if _, err := io.CopyN(io.Discard, c, int64(reqLen-header)); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	if _, err := c.Write(zeros[:respLen]); err != nil {
		return fmt.Errorf("writing the response: %w", err)
	}
	return nil
}

type clientOptions struct {
	addr      string
	conns     int
	duration  time.Duration
	req, resp int
	rate      float64
}

// Result is what the client prints.
type Result struct {
	Connections    int64   `json:"connections"`
	Errors         int64   `json:"errors"`
	BytesSent      int64   `json:"bytes_sent"`
	BytesReceived  int64   `json:"bytes_received"`
	Seconds        float64 `json:"seconds"`
	ConnsPerSecond float64 `json:"conns_per_second"`
	FirstError     string  `json:"first_error,omitempty"`
}

// client runs o.conns workers until o.duration is over or ctx is done.
func client(ctx context.Context, log *slog.Logger, o clientOptions) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	req := make([]byte, o.req)
	binary.BigEndian.PutUint32(req[:4], uint32(o.req))
	binary.BigEndian.PutUint32(req[4:], uint32(o.resp))
	var conns, errs, sent, received atomic.Int64
	var firstErr atomic.Pointer[error]
	d := net.Dialer{Timeout: 5 * time.Second}
	start := time.Now()
	var wg sync.WaitGroup
	for range o.conns {
		wg.Go(func() {
			buf := make([]byte, o.resp+1)
			var every time.Duration // each worker's share of -rate
			if o.rate > 0 {
				every = time.Duration(float64(o.conns) / o.rate * float64(time.Second))
			}
			next := time.Now()
			for ctx.Err() == nil {
				if every > 0 {
					if wait := time.Until(next); wait > 0 {
						time.Sleep(wait)
					}
					next = next.Add(every)
					if ctx.Err() != nil {
						break
					}
				}
				s, r, err := exchange(&d, o.addr, req, buf)
				sent.Add(s)
				received.Add(r)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				conns.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := &Result{Connections: conns.Load(), Errors: errs.Load(), BytesSent: sent.Load(),
		BytesReceived: received.Load(), Seconds: elapsed.Seconds()}
	res.ConnsPerSecond = float64(res.Connections) / res.Seconds
	if p := firstErr.Load(); p != nil {
		res.FirstError = (*p).Error()
		log.Warn("connections failed", "count", res.Errors, "first", res.FirstError)
	}
	if res.Connections == 0 {
		return nil, fmt.Errorf("no connection succeeded: %s", res.FirstError)
	}
	return res, nil
}

// exchange makes one connection: it sends req, reads the response to the
// server's close and closes. It returns the bytes sent and received.
func exchange(d *net.Dialer, addr string, req, buf []byte) (sent, received int64, err error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, 0, fmt.Errorf("connecting: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Write(req)
	if err != nil {
		return int64(n), 0, fmt.Errorf("writing the request: %w", err)
	}
	want := len(buf) - 1
	for {
		m, err := c.Read(buf)
		received += int64(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return int64(n), received, fmt.Errorf("reading the response: %w", err)
		}
	}
	if received != int64(want) {
		return int64(n), received, fmt.Errorf("response of %d bytes; want %d", received, want)
	}
	return int64(n), received, nil
}
