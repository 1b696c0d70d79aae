//go:build linux

package bpf

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/netnstest"
)

// The end-to-end tests run real traffic between network namespaces joined
// by a veth pair, from processes in their own cgroup v2 directories, and
// compare what the programs counted with the interfaces' own counters.

func TestMain(m *testing.M) {
	if args := os.Getenv("NETCOST_BPF_HELPER"); args != "" {
		if err := helperMain(strings.Fields(args)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperMain is a traffic process, started in its cgroup: it serves or
// sends. Servers print "ready" once listening.
func helperMain(args []string) error {
	n := func(i int) int { v, _ := strconv.Atoi(args[i]); return v }
	switch args[0] {
	case "tcp-server": // ADDR BYTES-TO-SEND
		ln, err := net.Listen("tcp", args[1])
		if err != nil {
			return err
		}
		fmt.Println("ready")
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		c.(*net.TCPConn).SetWriteBuffer(tcpSendBuffer)
		if _, err := io.Copy(io.Discard, c); err != nil {
			return err
		}
		if _, err := c.Write(make([]byte, n(2))); err != nil {
			return err
		}
		return c.Close()
	case "tcp-client": // ADDR BYTES-TO-SEND
		c, err := net.Dial("tcp", args[1])
		if err != nil {
			return err
		}
		c.(*net.TCPConn).SetWriteBuffer(tcpSendBuffer)
		if _, err := c.Write(make([]byte, n(2))); err != nil {
			return err
		}
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, c); err != nil {
			return err
		}
		return c.Close()
	case "udp-server": // ADDR COUNT REPLY-SIZE
		pc, err := net.ListenPacket("udp", args[1])
		if err != nil {
			return err
		}
		fmt.Println("ready")
		buf := make([]byte, 65536)
		for range n(2) {
			pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return err
			}
			if _, err := pc.WriteTo(make([]byte, n(3)), from); err != nil {
				return err
			}
		}
		return pc.Close()
	case "udp-client": // ADDR COUNT SIZE
		c, err := net.Dial("udp", args[1])
		if err != nil {
			return err
		}
		buf := make([]byte, 65536)
		for range n(2) {
			if _, err := c.Write(make([]byte, n(3))); err != nil {
				return err
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(buf); err != nil {
				return err
			}
		}
		return c.Close()
	case "tls-client": // ADDR SERVER-NAME: sends a ClientHello, then gives up
		c, err := net.Dial("tcp", args[1])
		if err != nil {
			return err
		}
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		tls.Client(c, &tls.Config{ServerName: args[2], InsecureSkipVerify: true}).Handshake()
		return c.Close()
	case "udp-spray": // HOST FLOWS SIZE: one datagram to each of FLOWS ports
		c, err := net.ListenPacket("udp4", ":0")
		if err != nil {
			return err
		}
		buf := make([]byte, n(3))
		for i := range n(2) {
			port := 10000 + i%50000
			to := &net.UDPAddr{IP: net.ParseIP(args[1]), Port: port}
			if i >= 50000 { // the second half from another socket: other flows again
				if i == 50000 {
					c.Close()
					if c, err = net.ListenPacket("udp4", ":0"); err != nil {
						return err
					}
				}
			}
			if _, err := c.WriteTo(buf, to); err != nil {
				return err
			}
		}
		return c.Close()
	}
	return fmt.Errorf("unknown helper %q", args[0])
}

// tcpSendBuffer keeps fewer packets in flight than the veth's receive ring
// holds: a packet the ring drops was counted by the sender but never
// reached the wire, and the test would have to guess its size.
const tcpSendBuffer = 64 << 10

// testNet is two namespaces joined by a veth pair, with IPv4 and IPv6
// addresses, static neighbours and no background traffic.
type testNet struct {
	nsA, nsB string
	ifA, ifB string
}

const (
	addrA4, addrB4 = "10.201.0.1", "10.201.0.2"
	addrA6, addrB6 = "fd20:1::1", "fd20:1::2"
)

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	s := netnstest.Suffix()
	n := &testNet{nsA: "nc-a-" + s, nsB: "nc-b-" + s, ifA: "nca" + s, ifB: "ncb" + s}
	for _, ns := range []string{n.nsA, n.nsB} {
		netnstest.Run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	netnstest.Run(t, "ip", "link", "add", n.ifA, "netns", n.nsA, "type", "veth", "peer", "name", n.ifB, "netns", n.nsB)
	macA, macB := "02:00:00:20:01:01", "02:00:00:20:01:02"
	for _, side := range []struct{ ns, dev, mac, a4, a6, peer4, peer6, peerMAC string }{
		{n.nsA, n.ifA, macA, addrA4, addrA6, addrB4, addrB6, macB},
		{n.nsB, n.ifB, macB, addrB4, addrB6, addrA4, addrA6, macA},
	} {
		// No router solicitations or advertisements; the multicast listener
		// reports that joining a group sends are done within milliseconds.
		for _, kv := range []string{"net.ipv6.conf.all.accept_ra=0", "net.ipv6.conf.default.accept_ra=0",
			"net.ipv6.conf.all.router_solicitations=0", "net.ipv6.conf.default.router_solicitations=0",
			"net.ipv6.conf.default.mldv2_unsolicited_report_interval=1", "net.ipv6.conf.default.mldv1_unsolicited_report_interval=1"} {
			netnstest.Run(t, "ip", "netns", "exec", side.ns, "sysctl", "-qw", kv)
		}
		for _, kv := range []string{"accept_ra=0", "router_solicitations=0", "mldv2_unsolicited_report_interval=1", "mldv1_unsolicited_report_interval=1"} {
			netnstest.Run(t, "ip", "netns", "exec", side.ns, "sysctl", "-qw", "net.ipv6.conf."+side.dev+"."+kv)
		}
		netnstest.Run(t, "ip", "-n", side.ns, "link", "set", side.dev, "address", side.mac, "addrgenmode", "none")
		netnstest.Run(t, "ip", "-n", side.ns, "addr", "add", side.a4+"/24", "dev", side.dev)
		netnstest.Run(t, "ip", "-n", side.ns, "addr", "add", side.a6+"/64", "dev", side.dev, "nodad")
		netnstest.Run(t, "ip", "-n", side.ns, "neigh", "add", side.peer4, "lladdr", side.peerMAC, "dev", side.dev, "nud", "permanent")
		netnstest.Run(t, "ip", "-n", side.ns, "neigh", "add", side.peer6, "lladdr", side.peerMAC, "dev", side.dev, "nud", "permanent")
		// Segmentation offload off, software GSO on: the sender's stack
		// builds GSO packets and the device splits them, so the interface
		// counts real segments; GRO on the receiver merges them again.
		netnstest.Run(t, "ip", "netns", "exec", side.ns, "ethtool", "-K", side.dev, "tso", "off", "gso", "on", "gro", "on")
		netnstest.Run(t, "ip", "-n", side.ns, "link", "set", side.dev, "up")
		netnstest.Run(t, "ip", "-n", side.ns, "link", "set", "lo", "up")
	}
	n.waitQuiet(t)
	return n
}

// waitQuiet waits until neither interface has counted a packet for 300ms:
// the listener reports that a new address sends are over.
func (n *testNet) waitQuiet(t *testing.T) {
	t.Helper()
	last := [2]netnstest.Stats{netnstest.LinkStats(t, n.nsA, n.ifA), netnstest.LinkStats(t, n.nsB, n.ifB)}
	quiet := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		now := [2]netnstest.Stats{netnstest.LinkStats(t, n.nsA, n.ifA), netnstest.LinkStats(t, n.nsB, n.ifB)}
		if now == last {
			if quiet++; quiet == 3 {
				return
			}
			continue
		}
		quiet, last = 0, now
	}
	t.Fatal("the test network never went quiet")
}

// sum adds up the flows of a cgroup in a direction.
func sum(flows []Flow, cgroup uint64, dir Direction, check func(Flow)) (bytes, packets uint64) {
	for _, f := range flows {
		if f.CgroupID == cgroup && f.Dir == dir {
			bytes += f.Bytes
			packets += f.Packets
			if check != nil {
				check(f)
			}
		}
	}
	return bytes, packets
}

// tcpExchange runs the helper's TCP server on listen in B's namespace and
// cgroup srvCg, and a client in A's (cgroup cliCg) that dials dial (the
// server, or an address DNATed to it); each sends its bytes. It returns
// when both are done.
func tcpExchange(t *testing.T, n *testNet, srvCg, cliCg, listen, srvBytes, dial, cliBytes string) {
	t.Helper()
	srv, out := netnstest.Start(t, n.nsB, srvCg, "NETCOST_BPF_HELPER", "tcp-server", listen, srvBytes)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("server: %q, %v", line, err)
	}
	cli, _ := netnstest.Start(t, n.nsA, cliCg, "NETCOST_BPF_HELPER", "tcp-client", dial, cliBytes)
	if err := cli.Wait(); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("server: %v", err)
	}
}

// setup loads and attaches the programs, builds the test network and a
// cgroup directory for the test's processes; all of it goes when t ends.
func setup(t *testing.T, cfg Config) (*Counter, *testNet, string) {
	t.Helper()
	netnstest.RequireRoot(t, "this test loads eBPF programs")
	root, err := FindCgroup2()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	n := newTestNet(t)
	base := filepath.Join(root, "netcost-test-"+netnstest.Suffix())
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(base) })
	return c, n, base
}

func TestCountsEqualTheWire(t *testing.T) {
	c, n, base := setup(t, Config{MaxFlows: 65536})

	tests := []struct {
		name           string
		proto          uint8
		server, client []string // helper arguments
		serverAddr     netip.AddrPort
	}{
		{"tcp4", 6, []string{"tcp-server", addrB4 + ":5001", "3000000"}, []string{"tcp-client", addrB4 + ":5001", "7000000"}, netip.MustParseAddrPort(addrB4 + ":5001")},
		{"tcp6", 6, []string{"tcp-server", "[" + addrB6 + "]:5002", "2500000"}, []string{"tcp-client", "[" + addrB6 + "]:5002", "6000000"}, netip.MustParseAddrPort("[" + addrB6 + "]:5002")},
		{"udp4", 17, []string{"udp-server", addrB4 + ":5003", "300", "1200"}, []string{"udp-client", addrB4 + ":5003", "300", "700"}, netip.MustParseAddrPort(addrB4 + ":5003")},
		{"udp6", 17, []string{"udp-server", "[" + addrB6 + "]:5004", "200", "100"}, []string{"udp-client", "[" + addrB6 + "]:5004", "200", "1400"}, netip.MustParseAddrPort("[" + addrB6 + "]:5004")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srvCg, srvID := netnstest.NewCgroup(t, base, tt.name+"-server")
			cliCg, cliID := netnstest.NewCgroup(t, base, tt.name+"-client")
			if _, err := c.Drain(); err != nil { // start from zero
				t.Fatal(err)
			}
			before := [2]netnstest.Stats{netnstest.LinkStats(t, n.nsA, n.ifA), netnstest.LinkStats(t, n.nsB, n.ifB)}
			srv, srvOut := netnstest.Start(t, n.nsB, srvCg, "NETCOST_BPF_HELPER", tt.server...)
			if line, err := srvOut.ReadString('\n'); err != nil || line != "ready\n" {
				t.Fatalf("server: %q, %v", line, err)
			}
			cli, _ := netnstest.Start(t, n.nsA, cliCg, "NETCOST_BPF_HELPER", tt.client...)
			if err := cli.Wait(); err != nil {
				t.Fatalf("client: %v", err)
			}
			if err := srv.Wait(); err != nil {
				t.Fatalf("server: %v", err)
			}
			time.Sleep(50 * time.Millisecond) // the last ACKs
			d, err := c.Drain()
			if err != nil {
				t.Fatal(err)
			}
			a := netnstest.LinkStats(t, n.nsA, n.ifA).Sub(before[0])
			b := netnstest.LinkStats(t, n.nsB, n.ifB).Sub(before[1])
			// The programs count every cgroup on the machine: other tests'
			// traffic shares the map, but this test's flows must fit.
			for _, o := range d.Overflow {
				if o.CgroupID == cliID || o.CgroupID == srvID {
					t.Errorf("overflow %+v; want none for this test's cgroups", o)
				}
			}
			if len(d.Lost) != 0 {
				t.Errorf("lost %+v; want none", d.Lost)
			}
			if a.Dropped+b.Dropped != 0 {
				t.Fatalf("the veth dropped %d packets: their size is unknown, so exact totals cannot be checked", a.Dropped+b.Dropped)
			}
			want := []struct {
				who      string
				id       uint64
				dir      Direction
				bytes    uint64
				packets  uint64
				local    netip.Addr
				remoteOK func(netip.AddrPort) bool
			}{
				{"client egress", cliID, Egress, a.TxBytes, a.TxPackets, tt.serverAddr.Addr(), func(r netip.AddrPort) bool { return r == tt.serverAddr }},
				{"client ingress", cliID, Ingress, a.RxBytes, a.RxPackets, tt.serverAddr.Addr(), func(r netip.AddrPort) bool { return r == tt.serverAddr }},
				{"server ingress", srvID, Ingress, b.RxBytes, b.RxPackets, tt.serverAddr.Addr(), nil},
				{"server egress", srvID, Egress, b.TxBytes, b.TxPackets, tt.serverAddr.Addr(), nil},
			}
			for _, w := range want {
				got, pkts := sum(d.Flows, w.id, w.dir, func(f Flow) {
					if f.Proto != tt.proto {
						t.Errorf("%s: flow %+v has protocol %d; want %d", w.who, f, f.Proto, tt.proto)
					}
					if w.remoteOK != nil && !w.remoteOK(f.Remote) && f.Remote.Port() != 0 {
						t.Errorf("%s: flow to %v; want %v", w.who, f.Remote, tt.serverAddr)
					}
					if w.remoteOK == nil && f.Local.Port() != 0 && f.Local != tt.serverAddr {
						t.Errorf("%s: flow at %v; want %v", w.who, f.Local, tt.serverAddr)
					}
				})
				if got != w.bytes || pkts != w.packets {
					t.Errorf("%s: counted %d bytes in %d packets; the wire carried %d in %d", w.who, got, pkts, w.bytes, w.packets)
				}
				if got == 0 {
					t.Errorf("%s: nothing counted", w.who)
				}
			}
		})
	}
}

// TestFullMapLosesNothing sends 5,000 distinct UDP flows into a flow map
// of 1,024 entries that nobody drains, then 100,000 more while draining
// every few milliseconds: the flows that did not fit are in their
// cgroup's overflow count, and the cgroup's total is exactly what it sent.
func TestFullMapLosesNothing(t *testing.T) {
	c, n, base := setup(t, Config{MaxFlows: 1024, Grace: time.Millisecond})
	cg, id := netnstest.NewCgroup(t, base, "spray")
	if _, err := c.Drain(); err != nil {
		t.Fatal(err)
	}

	const flows, payload = 100000, 100
	// Each drain is tallied before the next.
	var bytes, packets, flowRecords, overflowBytes uint64
	drains := 0
	var d *Deltas
	tally := func() {
		drains++
		b, p := sum(d.Flows, id, Egress, func(Flow) { flowRecords++ })
		bytes, packets = bytes+b, packets+p
		for _, o := range d.Overflow {
			if o.CgroupID == id && o.Dir == Egress {
				bytes += o.Bytes
				packets += o.Packets
				overflowBytes += o.Bytes
			}
		}
		for dir, l := range d.Lost {
			t.Errorf("lost %s: %+v; want nothing lost", dir, l)
		}
	}
	// First more flows than the map holds, with nobody draining: some
	// must overflow, however fast the drains below turn out to be.
	const first = 5000
	spray, _ := netnstest.Start(t, n.nsA, cg, "NETCOST_BPF_HELPER", "udp-spray", addrB4, strconv.Itoa(first), strconv.Itoa(payload))
	if err := spray.Wait(); err != nil {
		t.Fatalf("spray: %v", err)
	}
	d, err := c.Drain()
	if err != nil {
		t.Fatal(err)
	}
	tally()
	if min := uint64((first - 1024) * (20 + 8 + payload)); overflowBytes < min {
		t.Errorf("%d flows into a 1,024-entry map nobody drained: %d bytes through the overflow; want at least %d", first, overflowBytes, min)
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // then an agent drains while the flows come
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				var err error
				if d, err = c.Drain(); err != nil {
					t.Error(err)
					return
				}
				tally()
			}
		}
	}()
	spray, _ = netnstest.Start(t, n.nsA, cg, "NETCOST_BPF_HELPER", "udp-spray", addrB4, strconv.Itoa(flows), strconv.Itoa(payload))
	err = spray.Wait()
	close(stop)
	<-done
	if err != nil {
		t.Fatalf("spray: %v", err)
	}
	if d, err = c.Drain(); err != nil {
		t.Fatal(err)
	}
	tally()
	want := uint64((first + flows) * (20 + 8 + payload))
	if bytes != want || packets != first+flows {
		t.Errorf("counted %d bytes in %d packets; sent %d in %d", bytes, packets, want, first+flows)
	}
	t.Logf("%d drains; %d flow records, %d bytes through the overflow", drains, flowRecords, overflowBytes)
}

// TestTCPHealth: with TCPHealth on, a connection squeezed through a small
// token bucket reports retransmissions and a round-trip time, and is
// forgotten once closed and read.
func TestTCPHealth(t *testing.T) {
	c, n, base := setup(t, Config{MaxFlows: 65536, TCPHealth: true})
	// A queue of a few packets at 20 Mbit/s: a faster sender loses some.
	netnstest.Run(t, "ip", "netns", "exec", n.nsA, "tc", "qdisc", "add", "dev", n.ifA, "root", "tbf", "rate", "20mbit", "burst", "8kb", "limit", "12kb")
	srvCg, _ := netnstest.NewCgroup(t, base, "server")
	cliCg, _ := netnstest.NewCgroup(t, base, "client")
	tcpExchange(t, n, srvCg, cliCg, addrB4+":5005", "1000", addrB4+":5005", "3000000")
	time.Sleep(50 * time.Millisecond)
	hs, err := c.Health()
	if err != nil {
		t.Fatal(err)
	}
	server := netip.MustParseAddrPort(addrB4 + ":5005")
	var client *Health
	for i, h := range hs {
		if h.Remote == server {
			client = &hs[i]
		}
	}
	if client == nil {
		t.Fatalf("no health for the client's connection to %v in %+v", server, hs)
	}
	if client.Retransmits == 0 || client.SRTT <= 0 || client.RTTSamples == 0 || !client.Closed {
		t.Errorf("client health = %+v; want retransmissions, an RTT and closed", *client)
	}
	again, err := c.Health()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range again {
		if h.Remote == server {
			t.Errorf("closed connection still reported after it was read: %+v", h)
		}
	}
	t.Logf("client: %d retransmissions, srtt %v over %d samples", client.Retransmits, client.SRTT, client.RTTSamples)
}

// TestLoopback: a client and a server in one namespace, in two cgroups,
// over 127.0.0.1 and ::1: each side's egress is what the loopback device
// carried, and so is each side's ingress.
func TestLoopback(t *testing.T) {
	c, n, base := setup(t, Config{MaxFlows: 65536})
	for _, tt := range []struct{ name, server, client, udpServer, udpClient string }{
		{"ipv4", "127.0.0.1:6001", "127.0.0.1:6001", "127.0.0.1:6002", "127.0.0.1:6002"},
		{"ipv6", "[::1]:6003", "[::1]:6003", "[::1]:6004", "[::1]:6004"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srvCg, srvID := netnstest.NewCgroup(t, base, tt.name+"-server")
			cliCg, cliID := netnstest.NewCgroup(t, base, tt.name+"-client")
			if _, err := c.Drain(); err != nil {
				t.Fatal(err)
			}
			before := netnstest.LinkStats(t, n.nsA, "lo")
			for _, pair := range [][2][]string{
				{{"tcp-server", tt.server, "4000000"}, {"tcp-client", tt.client, "9000000"}},
				{{"udp-server", tt.udpServer, "100", "3000"}, {"udp-client", tt.udpClient, "100", "30000"}},
			} {
				srv, out := netnstest.Start(t, n.nsA, srvCg, "NETCOST_BPF_HELPER", pair[0]...)
				if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
					t.Fatalf("server: %q, %v", line, err)
				}
				cli, _ := netnstest.Start(t, n.nsA, cliCg, "NETCOST_BPF_HELPER", pair[1]...)
				if err := cli.Wait(); err != nil {
					t.Fatalf("client: %v", err)
				}
				if err := srv.Wait(); err != nil {
					t.Fatalf("server: %v", err)
				}
			}
			time.Sleep(50 * time.Millisecond)
			d, err := c.Drain()
			if err != nil {
				t.Fatal(err)
			}
			lo := netnstest.LinkStats(t, n.nsA, "lo").Sub(before)
			cliOut, cliOutP := sum(d.Flows, cliID, Egress, nil)
			srvOut, srvOutP := sum(d.Flows, srvID, Egress, nil)
			cliIn, cliInP := sum(d.Flows, cliID, Ingress, nil)
			srvIn, srvInP := sum(d.Flows, srvID, Ingress, nil)
			if cliOut+srvOut != lo.TxBytes || cliIn+srvIn != lo.RxBytes {
				t.Errorf("egress %d+%d, ingress %d+%d bytes; loopback carried %d out, %d in", cliOut, srvOut, cliIn, srvIn, lo.TxBytes, lo.RxBytes)
			}
			if cliOut != srvIn || srvOut != cliIn {
				t.Errorf("client sent %d, server received %d; server sent %d, client received %d", cliOut, srvIn, srvOut, cliIn)
			}
			if cliOutP+srvOutP != lo.TxPackets || cliInP+srvInP != lo.RxPackets {
				t.Errorf("packets: counted %d out, %d in; loopback carried %d, %d", cliOutP+srvOutP, cliInP+srvInP, lo.TxPackets, lo.RxPackets)
			}
		})
	}
}

// TestClusterIP: a Service's ClusterIP, DNAT'd by iptables as kube-proxy
// does: egress packets leave with the backend's address, replies reach the
// socket with the ClusterIP; the counter names the backend both ways, and
// the counts still equal the wire.
func TestClusterIP(t *testing.T) {
	c, n, base := setup(t, Config{MaxFlows: 65536})
	const clusterIP = "10.96.0.10"
	netnstest.Run(t, "ip", "netns", "exec", n.nsA, "iptables", "-t", "nat", "-A", "OUTPUT", "-d", clusterIP, "-p", "tcp", "--dport", "80",
		"-j", "DNAT", "--to-destination", addrB4+":5010")
	netnstest.Run(t, "ip", "-n", n.nsA, "route", "add", clusterIP+"/32", "dev", n.ifA)
	srvCg, srvID := netnstest.NewCgroup(t, base, "srv")
	cliCg, cliID := netnstest.NewCgroup(t, base, "cli")
	if _, err := c.Drain(); err != nil {
		t.Fatal(err)
	}
	before := [2]netnstest.Stats{netnstest.LinkStats(t, n.nsA, n.ifA), netnstest.LinkStats(t, n.nsB, n.ifB)}
	tcpExchange(t, n, srvCg, cliCg, addrB4+":5010", "300000", clusterIP+":80", "700000")
	time.Sleep(50 * time.Millisecond)
	d, err := c.Drain()
	if err != nil {
		t.Fatal(err)
	}
	a := netnstest.LinkStats(t, n.nsA, n.ifA).Sub(before[0])
	backend := netip.MustParseAddrPort(addrB4 + ":5010")
	for _, dir := range []Direction{Egress, Ingress} {
		got, _ := sum(d.Flows, cliID, dir, func(f Flow) {
			if f.Remote != backend {
				t.Errorf("client %s flow to %v; want the backend %v, never the ClusterIP", dir, f.Remote, backend)
			}
		})
		want := a.TxBytes
		if dir == Ingress {
			want = a.RxBytes
		}
		if got != want {
			t.Errorf("client %s: %d bytes; the wire carried %d", dir, got, want)
		}
	}
	if b, _ := sum(d.Flows, srvID, Ingress, nil); b == 0 {
		t.Error("the server counted nothing")
	}
}
