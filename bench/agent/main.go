// Command spray keeps N UDP flows active: every second it sends one small
// datagram to each of N destination ports of one address, for a duration.
// -to may list prefixes instead (10.203.2.0/24,52.84.0.0/16): the flows
// then go round the prefixes, each to the next address of its prefix, so
// that there are as many remotes as the prefixes hold (up to N).
// With -port, the N flows are N sockets (N ephemeral ports) sending to one
// address and port instead: a node's pods querying a Service (DNS), each
// query its own connection, as conntrack and the agent see it.
// bench/agent/run.sh runs it beside the agent to measure the agent's CPU
// and memory at N active flows.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

func main() {
	to := flag.String("to", "", "destination address, or prefixes separated by commas")
	n := flag.Int("flows", 50000, "active flows (distinct destination ports, from 10000 up)")
	d := flag.Duration("duration", 30*time.Second, "how long")
	port := flag.Int("port", 0, "send from N sockets to this one port instead")
	listen := flag.String("listen", "", "receive and discard UDP on this address instead (a Service's backend)")
	flag.Parse()
	if *listen != "" {
		sink(*listen)
		return
	}
	if *to == "" || *n < 1 || *n > 55000 {
		fmt.Fprintln(os.Stderr, "spray: -to ADDR [-flows 1..55000] [-duration D]")
		os.Exit(2)
	}
	if *port != 0 {
		sockets(*to, *port, *n, *d)
		return
	}
	c, err := net.ListenPacket("udp4", ":0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "spray:", err)
		os.Exit(1)
	}
	dsts, err := targets(*to, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spray:", err)
		os.Exit(2)
	}
	buf := make([]byte, 64)
	end := time.Now().Add(*d)
	for time.Now().Before(end) {
		start := time.Now()
		for _, a := range dsts {
			c.WriteTo(buf, a) // a full socket buffer drops some: fine
		}
		time.Sleep(time.Second - time.Since(start))
	}
}

// targets spreads n flows over the addresses of the prefixes in to (an
// address alone is a one-address prefix): flow p goes to prefix p mod P,
// to its next address, and to port 10000 up once the prefix has no more.
func targets(to string, n int) ([]*net.UDPAddr, error) {
	var ps []netip.Prefix
	for _, f := range strings.Split(to, ",") {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				a = netip.Addr{}
			}
			p = netip.PrefixFrom(a, 32)
		}
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("-to: %q is neither an IPv4 address nor an IPv4 prefix", f)
		}
		ps = append(ps, p.Masked())
	}
	out := make([]*net.UDPAddr, n)
	for i := range n {
		p, k := ps[i%len(ps)], i/len(ps)
		size := 1 << (32 - p.Bits())
		b := p.Addr().As4()
		v := binary.BigEndian.Uint32(b[:]) + uint32(k%size)
		binary.BigEndian.PutUint32(b[:], v)
		out[i] = &net.UDPAddr{IP: net.IP(b[:]), Port: 10000 + k/size}
	}
	return out, nil
}

// sockets sends one datagram a second from each of n sockets to to:port.
func sockets(to string, port, n int, d time.Duration) {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("udp4", net.JoinHostPort(to, fmt.Sprint(port)))
		if err != nil {
			fmt.Fprintln(os.Stderr, "spray:", err)
			os.Exit(1)
		}
		conns[i] = c
	}
	buf := make([]byte, 64)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		start := time.Now()
		for _, c := range conns {
			c.Write(buf)
		}
		time.Sleep(time.Second - time.Since(start))
	}
}

// sink receives and discards datagrams on addr until killed. A datagram
// must reach a socket: conntrack confirms a connection only then.
func sink(addr string) {
	c, err := net.ListenPacket("udp4", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spray:", err)
		os.Exit(1)
	}
	buf := make([]byte, 2048)
	for {
		if _, _, err := c.ReadFrom(buf); err != nil {
			return
		}
	}
}
