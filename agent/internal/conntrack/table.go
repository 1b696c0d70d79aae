package conntrack

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/bpf"
)

// Config says which table to follow and what to tell the counter.
type Config struct {
	// NetNS is a network namespace file (/proc/1/ns/net,
	// /var/run/netns/NAME) whose table to follow; empty: the agent's own,
	// which is the node's for a host-network DaemonSet.
	NetNS string
	// Reading another namespace's table takes CAP_SYS_ADMIN (setns(2)) at
	// Open, besides CAP_NET_ADMIN.
	//
	// Prefixes are the Service CIDRs, if known: flows to them keep their
	// ports from the first packet on (KeepPorts is called for each once
	// Open succeeds). Without them, each ClusterIP is learned from the
	// first translated connection to it, and its first packets stay
	// untranslated.
	Prefixes []netip.Prefix
	// KeepPorts tells the counter to keep the ephemeral port of flows to a
	// prefix, so that each connection to it can be translated.
	KeepPorts func(netip.Prefix) error
	// Learn says whether a destination seen translated is a Service's
	// address to learn (nil: all are). Connections to a NodePort or a
	// hostPort are translated too, but they are addressed to a node: its
	// flows must not keep their ports, and such connections are not
	// remembered. It is asked again for each new connection until it says
	// yes (the VPC view it may need can come late).
	Learn func(netip.Addr) bool
	// MaxConns bounds the connections remembered (default 65536). A full
	// table makes room, at most once a minute, by forgetting connections
	// that no flow named for Idle (default 10m): idle ones, and ones whose
	// end no event told: the event was lost, or the connection started
	// before Open (with nf_conntrack_events=2, the default, the kernel
	// only reports the end of connections that started while some program
	// listened: whether one made before Open ends with an event depends on
	// the node's other listeners). Beyond, new connections are not
	// remembered, and their flows stay untranslated.
	MaxConns int
	Idle     time.Duration
	Log      *slog.Logger
}

// Table is the node's translated connections, by their original tuple.
type Table struct {
	cfg    Config
	events *netlink.Conn

	closed atomic.Bool
	done   chan struct{} // closed when Run returns

	mu      sync.Mutex
	conns   map[key]entry
	gen     uint32              // numbers the connections, to tell a tuple's reuse
	dsts    map[netip.Addr]bool // Service addresses learned: the counter keeps their ports
	gone    []goneConn          // destroyed, to forget once their last bytes are drained
	drains  uint64
	evicted time.Time // when a full table last made room
	stats   Stats
	lostLog time.Time
	fullLog bool
}

// maxLearned bounds the learned Service addresses: the counter's
// keep_ports map holds 4096 prefixes, the Service CIDRs among them.
const maxLearned = 4000

// key is a connection's original tuple as plain memory (38 bytes, 40
// with padding), which Go hashes and compares in one go, without netip's
// handles.
type key struct {
	src, dst     [16]byte
	sport, dport uint16
	proto        uint8
}

func keyOf(src, dst netip.AddrPort, proto uint8) key {
	return key{src: src.Addr().As16(), dst: dst.Addr().As16(), sport: src.Port(), dport: dst.Port(), proto: proto}
}

// entry is a translated connection (32 bytes, in the map itself).
type entry struct {
	backend [16]byte
	port    uint16
	gen     uint32 // the connection's number
	used    int64  // Unix seconds a flow or an event last named it (to the minute)
}

func (e entry) addrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(e.backend).Unmap(), e.port)
}

type goneConn struct {
	k     key
	gen   uint32 // the connection that ended, not a later one on the same tuple
	drain uint64
}

// Stats count what the table did since it opened.
type Stats struct {
	Conns              int    // connections remembered now
	TranslatedBytes    uint64 // bytes of flows put on their backend
	UntranslatedBytes  uint64 // bytes of flows to a Service whose connection was not found
	EventsLost         uint64 // times the kernel dropped events (the socket's buffer was full)
	ConnsNotRemembered uint64 // translated connections not kept: MaxConns reached
}

// Open subscribes to the table's events and reads what it holds now. It
// needs CAP_NET_ADMIN in the namespace's owner; the Table then works
// without it. Run must follow, to read the events, and Close end it.
func Open(cfg Config) (*Table, error) {
	t := newTable(cfg)
	cfg = t.cfg
	var nc netlink.Config
	if cfg.NetNS != "" {
		f, err := os.Open(cfg.NetNS)
		if err != nil {
			return nil, fmt.Errorf("opening the network namespace of the conntrack table: %w", err)
		}
		defer f.Close()
		nc.NetNS = int(f.Fd())
	}
	// Subscribe first, then dump: a connection made between the two is in
	// both, never in neither.
	ec := nc
	ec.Groups = 1<<(groupNew-1) | 1<<(groupDestroy-1)
	events, err := netlink.Dial(unix.NETLINK_NETFILTER, &ec)
	if err != nil {
		return nil, fmt.Errorf("subscribing to conntrack events (needs CAP_NET_ADMIN, CAP_SYS_ADMIN for another namespace, and nf_conntrack_netlink): %w", err)
	}
	t.events = events
	// A burst of new connections (a node starting pods) must not overflow
	// the socket: 32 MiB held 50,000 events at once in bench/agent. Above
	// net.core.rmem_max it takes SO_RCVBUFFORCE (CAP_NET_ADMIN).
	if got, err := forceReadBuffer(events, 32<<20); err != nil || got < 32<<20 {
		cfg.Log.Warn("conntrack events: the socket buffer is smaller than asked; bursts of new connections may lose events",
			"asked", 32<<20, "got", got, "error", err)
	}
	learned, err := t.dump(nc)
	if err != nil {
		events.Close()
		return nil, err
	}
	// Only now that the table is followed are ports worth keeping: a kept
	// port makes each connection its own flow, for translation.
	for _, p := range cfg.Prefixes {
		if err := t.keepPorts(p); err != nil {
			events.Close()
			return nil, err
		}
	}
	for _, a := range learned {
		t.keepAddr(a)
	}
	return t, nil
}

func newTable(cfg Config) *Table {
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 65536
	}
	if cfg.Idle == 0 {
		cfg.Idle = 10 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Table{cfg: cfg, conns: map[key]entry{}, dsts: map[netip.Addr]bool{}, done: make(chan struct{})}
}

// forceReadBuffer asks for an n-byte receive buffer and returns what the
// socket got (the kernel reports twice what it holds for data).
func forceReadBuffer(c *netlink.Conn, n int) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var got int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n); serr != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n) // capped at rmem_max
		}
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
			got = v / 2
		}
	}); err != nil {
		return 0, err
	}
	return got, serr
}

// dump reads the connections the table holds now, streaming, and returns
// the Service addresses it learned.
func (t *Table) dump(nc netlink.Config) ([]netip.Addr, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &nc)
	if err != nil {
		return nil, fmt.Errorf("reading the conntrack table: %w", err)
	}
	defer c.Close()
	req := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(subsysCTNetlink<<8 | msgGet), Flags: netlink.Request | netlink.Dump},
		Data:   []byte{unix.AF_UNSPEC, 0, 0, 0}, // every family
	}
	if _, err := c.Send(req); err != nil {
		return nil, fmt.Errorf("reading the conntrack table: %w", err)
	}
	n := 0
	var learned []netip.Addr
	for m, err := range c.ReceiveIter() {
		if err != nil {
			return nil, fmt.Errorf("reading the conntrack table (needs CAP_NET_ADMIN): %w", err)
		}
		ev, err := parse(uint16(m.Header.Type), m.Data)
		if err != nil {
			t.cfg.Log.Debug("conntrack: skipping a message", "error", err)
			continue
		}
		if a := t.handle(ev); a.IsValid() {
			learned = append(learned, a)
		}
		n++
	}
	t.cfg.Log.Info("conntrack table read", "connections", n, "translated", len(t.conns), "service_addresses", len(t.dsts))
	return learned, nil
}

// Run reads events until Close. Events the kernel could not deliver (a full
// socket buffer) are counted and logged; their connections' flows then
// stay untranslated.
//
// It reads the socket directly, every datagram waiting at each wake-up,
// one recvfrom(2) each: a burst of tens of thousands of new connections
// (pods starting, DNS) must be read faster than it arrives.
func (t *Table) Run() error {
	defer close(t.done)
	rc, err := t.events.SyscallConn()
	if err != nil {
		if t.closed.Load() {
			return nil
		}
		return fmt.Errorf("reading conntrack events: %w", err)
	}
	buf := make([]byte, 64<<10)
	for {
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
				switch {
				case err == unix.EAGAIN:
					return false // wait until the socket is readable
				case err == unix.EINTR:
					continue
				case err != nil:
					rerr = err
					return true
				}
				t.datagram(buf[:n])
			}
		})
		switch {
		case t.closed.Load():
			return nil
		case err != nil:
			return fmt.Errorf("reading conntrack events: %w", err)
		case errors.Is(rerr, unix.ENOBUFS):
			t.lost()
		case rerr != nil:
			return fmt.Errorf("reading conntrack events: %w", rerr)
		}
	}
}

// datagram handles the netlink messages of one datagram.
func (t *Table) datagram(b []byte) {
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		t.cfg.Log.Debug("conntrack: skipping a datagram", "error", err)
		return
	}
	for _, m := range msgs {
		ev, err := parse(m.Header.Type, m.Data)
		if err != nil {
			t.cfg.Log.Debug("conntrack: skipping an event", "error", err)
			continue
		}
		t.apply(ev)
	}
}

// apply handles an event, and has the counter keep the ports of flows to
// a Service address it learned from it.
func (t *Table) apply(ev event) {
	if a := t.handle(ev); a.IsValid() {
		t.keepAddr(a)
	}
}

func (t *Table) lost() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.EventsLost++
	if time.Since(t.lostLog) > time.Minute {
		t.lostLog = time.Now()
		t.cfg.Log.Warn("conntrack events lost (socket buffer full): some Service flows stay untranslated", "lost_total", t.stats.EventsLost)
	}
}

// Close stops Run, waits for it if it runs, and lets go of the socket.
// Nothing calls KeepPorts once it returns.
func (t *Table) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	err := t.events.Close()
	select {
	case <-t.done:
	case <-time.After(5 * time.Second): // Run was never started
	}
	return err
}

// handle records a translated connection to a Service, or the end of one.
// It returns the Service address it learned from it, if any, for keepAddr.
func (t *Table) handle(ev event) netip.Addr {
	backend, ok := ev.conn.Backend()
	if !ok {
		return netip.Addr{}
	}
	orig := ev.conn.Orig
	dst := orig.Dst.Addr()
	k := keyOf(orig.Src, orig.Dst, orig.Proto)
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if ev.destroy {
		if e, ok := t.conns[k]; ok {
			t.gone = append(t.gone, goneConn{k, e.gen, t.drains})
		}
		return netip.Addr{}
	}
	var learned netip.Addr
	if !t.dsts[dst] && !t.covered(dst) {
		if len(t.dsts) >= maxLearned || (t.cfg.Learn != nil && !t.cfg.Learn(dst)) {
			return netip.Addr{} // a node's address (NodePort, hostPort): no flow looks it up
		}
		t.dsts[dst] = true
		learned = dst
	}
	if _, ok := t.conns[k]; !ok && len(t.conns) >= t.cfg.MaxConns && !t.makeRoom(now) {
		t.stats.ConnsNotRemembered++
		if !t.fullLog {
			t.fullLog = true
			t.cfg.Log.Warn("conntrack: the table of Service connections is full; new ones stay untranslated", "max", t.cfg.MaxConns)
		}
		return learned
	}
	t.gen++
	t.conns[k] = entry{backend: backend.Addr().As16(), port: backend.Port(), gen: t.gen, used: now.Unix()}
	return learned
}

// makeRoom forgets the connections no flow named for cfg.Idle, at most
// once a minute, and reports whether the table has room now.
func (t *Table) makeRoom(now time.Time) bool {
	if now.Sub(t.evicted) < time.Minute {
		return false
	}
	t.evicted = now
	for k, e := range t.conns {
		if now.Sub(time.Unix(e.used, 0)) >= t.cfg.Idle {
			delete(t.conns, k)
		}
	}
	return len(t.conns) < t.cfg.MaxConns
}

// keepAddr tells the counter to keep the ports of flows to a learned
// Service address.
func (t *Table) keepAddr(a netip.Addr) {
	if err := t.keepPorts(netip.PrefixFrom(a, a.BitLen())); err != nil {
		t.cfg.Log.Warn("conntrack: flows to a Service address keep no ports; they stay untranslated", "address", a, "error", err)
	}
}

func (t *Table) covered(a netip.Addr) bool {
	return slices.ContainsFunc(t.cfg.Prefixes, func(p netip.Prefix) bool { return p.Contains(a) })
}

func (t *Table) keepPorts(p netip.Prefix) error {
	if t.cfg.KeepPorts == nil {
		return nil
	}
	return t.cfg.KeepPorts(p)
}

// TranslateBatch puts the backend in place of a Service address in the
// flows of a batch of a drain, per connection, and then drops the
// ephemeral port (below eph, a port is a service's; 0 keeps every port) as
// the counter does for other flows. A flow to a Service whose connection
// is not known (its event came late or was lost) is passed on as it is,
// port dropped, and its bytes show as the Service address's. Call Drained
// once the drain's last batch is translated.
func (t *Table) TranslateBatch(d *bpf.Deltas, eph uint16) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.translate(d, eph)
}

// Drained ends a drain handed over in batches: a connection destroyed
// before the previous drain is forgotten, its last bytes translated.
func (t *Table) Drained() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.drains++
	t.forget()
}

func (t *Table) translate(d *bpf.Deltas, eph uint16) {
	secs := time.Now().Unix()
	if len(t.conns) == 0 && len(t.dsts) == 0 && len(t.cfg.Prefixes) == 0 {
		return // no Service seen yet
	}
	out := d.Flows[:0]
	for i := range d.Flows {
		f := d.Flows[i]
		if f.Remote.Port() == 0 || (f.Proto != unix.IPPROTO_TCP && f.Proto != unix.IPPROTO_UDP) {
			out = append(out, f)
			continue
		}
		k := keyOf(f.Local, f.Remote, f.Proto)
		if e, ok := t.conns[k]; ok {
			if secs-e.used >= 60 { // a write per connection a minute, not per flow
				e.used = secs
				t.conns[k] = e
			}
			f.Remote = e.addrPort()
			t.stats.TranslatedBytes += f.Bytes
			out = append(out, dropEphemeral(f, eph))
			continue
		}
		if !t.dsts[f.Remote.Addr()] && !t.covered(f.Remote.Addr()) {
			out = append(out, f) // not a Service
			continue
		}
		// A Service's, unknown: its connection's event came late or was
		// lost, or the counter dropped the port (before it learned the
		// address), which leaves nothing to look up.
		t.stats.UntranslatedBytes += f.Bytes
		out = append(out, dropEphemeral(f, eph))
	}
	d.Flows = out
}

// dropEphemeral keys f as the counter keys flows it keeps no port of: an
// ephemeral local port (eph and above) facing a service port is 0.
func dropEphemeral(f bpf.Flow, eph uint16) bpf.Flow {
	if eph != 0 && f.Local.Port() >= eph && f.Remote.Port() < eph {
		f.Local = netip.AddrPortFrom(f.Local.Addr(), 0)
	}
	return f
}

// forget drops connections destroyed before the previous drain: their
// last bytes are translated by now.
func (t *Table) forget() {
	keep := t.gone[:0]
	for _, g := range t.gone {
		if g.drain+1 < t.drains {
			if e, ok := t.conns[g.k]; ok && e.gen == g.gen {
				delete(t.conns, g.k)
			}
		} else {
			keep = append(keep, g)
		}
	}
	t.gone = keep
}

// lookup returns the backend of a connection, by its original tuple.
func (t *Table) lookup(orig Tuple) (netip.AddrPort, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.conns[keyOf(orig.Src, orig.Dst, orig.Proto)]
	return e.addrPort(), ok
}

// Stats returns the counts so far.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Conns = len(t.conns)
	return s
}
