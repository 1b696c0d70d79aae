//go:build linux

package bpf

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/internal/flows"
)

// Direction says which way a flow's bytes went, seen from its cgroup; the
// programs store flows.Egress (1) and flows.Ingress (2).
type Direction = flows.Direction

// The directions, as the programs store them.
const (
	Egress  = flows.Egress
	Ingress = flows.Ingress
)

// Config sizes and places a Counter. The zero value is usable.
type Config struct {
	// MaxFlows is how many flows each of the two map generations holds
	// between drains (default 65536). Flows beyond it are not lost: their
	// bytes go to their cgroup's overflow count.
	MaxFlows uint32
	// MaxCgroups sizes the overflow map: cgroups (pods, containers and
	// system services) on the node, times two directions (default 16384).
	MaxCgroups uint32
	// CgroupRoot is where the programs attach; default: the cgroup v2
	// mount found in /proc/self/mountinfo.
	CgroupRoot string
	// KeepEphemeralPorts keys flows by both ports. By default a port at or
	// above the node's ephemeral range (net.ipv4.ip_local_port_range) facing
	// a port below it is keyed as 0: flows are per service, not per
	// connection, which is what billing needs and what keeps connection
	// churn from churning the maps.
	KeepEphemeralPorts bool
	// TCPHealth attaches a sock_ops program that keeps each TCP
	// connection's retransmissions and smoothed RTT (see Counter.Health).
	// Off, nothing is attached and it costs nothing.
	TCPHealth bool
	// Names turns on passive naming: the programs copy the start of DNS
	// queries and answers (port 53) and TLS ClientHellos to a ring buffer
	// that ReadNames reads. Off, the verifier drops the capture: no copies.
	Names bool
	// NamesRingBytes sizes that ring: a power of two of at least a page
	// (default 1 MiB).
	NamesRingBytes int
	// Grace is how long Drain waits after switching generations before it
	// reads the old one, so that no program still writes to it (default 5ms;
	// a program runs for well under a microsecond, without preemption).
	Grace time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.MaxFlows == 0 {
		c.MaxFlows = 65536
	}
	if c.MaxCgroups == 0 {
		c.MaxCgroups = 16384
	}
	if c.Grace == 0 {
		c.Grace = 5 * time.Millisecond
	}
	if c.NamesRingBytes == 0 {
		c.NamesRingBytes = defaultNamesRing
	}
	if err := checkNamesRing(c.NamesRingBytes); err != nil {
		return c, err
	}
	if c.CgroupRoot == "" {
		root, err := FindCgroup2()
		if err != nil {
			return c, err
		}
		c.CgroupRoot = root
	}
	return c, nil
}

// Flow is what one flow sent or received since the last Drain.
type Flow struct {
	CgroupID    uint64
	NetnsCookie uint64
	Local       netip.AddrPort // IPv4 addresses are plain IPv4, not IPv4-mapped
	Remote      netip.AddrPort
	Proto       uint8 // IP protocol number: 6 TCP, 17 UDP
	Dir         Direction
	Bytes       uint64 // IP-level, as the packets cross a NIC (GSO-corrected)
	Packets     uint64
}

// Overflow is what a cgroup sent or received while the flow map was full.
type Overflow struct {
	CgroupID uint64
	Dir      Direction
	Bytes    uint64
	Packets  uint64
}

// Deltas is what the kernel counted since the last Drain: the flows, the
// overflow per cgroup and direction, and what even the overflow map could
// not take (Lost, by direction; 0 unless MaxCgroups is too small). Every
// byte is in exactly one of them.
type Deltas struct {
	Flows    []Flow
	Overflow []Overflow
	Lost     map[Direction]Overflow
}

// Counter is the loaded and attached programs.
type Counter struct {
	objs  flowObjects
	links []link.Link
	cfg   Config
	ncpu  int
	gen   uint32
	eph   uint16          // ephemeral_min as loaded: 0 keeps every port
	lost  [3]flowFlowVal  // totals of the lost array at the last drain
	names *ringbuf.Reader // nil unless cfg.Names

	flushMu      sync.Mutex
	flushWaiting []chan struct{} // FlushNames calls that ReadNames has yet to answer

	keys []flowFlowKey
	vals []flowFlowVal
}

// Open loads the programs with the maps sized by cfg and attaches them at
// the cgroup v2 root. On any error it leaves nothing loaded or attached.
func Open(cfg Config) (_ *Counter, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c, err := load(cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	for _, a := range []struct {
		prog   *ebpf.Program
		attach ebpf.AttachType
	}{{c.objs.CountEgress, ebpf.AttachCGroupInetEgress}, {c.objs.CountIngress, ebpf.AttachCGroupInetIngress}} {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cfg.CgroupRoot, Attach: a.attach, Program: a.prog})
		if err != nil {
			return nil, fmt.Errorf("attaching %s at %s: %w", a.attach, cfg.CgroupRoot, err)
		}
		c.links = append(c.links, l)
	}
	if cfg.TCPHealth {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cfg.CgroupRoot, Attach: ebpf.AttachCGroupSockOps, Program: c.objs.TcpHealth})
		if err != nil {
			return nil, fmt.Errorf("attaching the TCP health program at %s: %w", cfg.CgroupRoot, err)
		}
		c.links = append(c.links, l)
	}
	return c, nil
}

// load loads the programs and maps without attaching them.
func load(cfg Config) (*Counter, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("removing the memlock rlimit: %w", err)
	}
	spec, err := loadFlow()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded BPF object: %w", err)
	}
	for _, name := range []string{flowMapFlows0, flowMapFlows1} {
		spec.Maps[name].MaxEntries = cfg.MaxFlows
	}
	for _, name := range []string{flowMapOverflow0, flowMapOverflow1} {
		spec.Maps[name].MaxEntries = cfg.MaxCgroups * 2
	}
	spec.Maps[flowMapHealth].MaxEntries = cfg.MaxFlows
	spec.Maps[flowMapNat].MaxEntries = cfg.MaxFlows
	ephemeral := uint16(0)
	if !cfg.KeepEphemeralPorts {
		ephemeral = ephemeralMin()
	}
	if err := spec.Variables["ephemeral_min"].Set(ephemeral); err != nil {
		return nil, fmt.Errorf("setting the ephemeral port range: %w", err)
	}
	if err := setNames(spec, cfg); err != nil {
		return nil, err
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("counting CPUs: %w", err)
	}
	c := &Counter{cfg: cfg, ncpu: ncpu, eph: ephemeral}
	if err := spec.LoadAndAssign(&c.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("loading the flow programs: %+v", ve)
		}
		return nil, fmt.Errorf("loading the flow programs: %w", err)
	}
	if err := c.openNames(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Close detaches the programs and frees the maps; a ReadNames running
// returns. Counts not drained are gone.
func (c *Counter) Close() error {
	var errs []error
	if c.names != nil {
		errs = append(errs, c.names.Close())
	}
	for _, l := range c.links {
		errs = append(errs, l.Close())
	}
	c.links = nil
	errs = append(errs, c.objs.Close())
	return errors.Join(errs...)
}

// Drain returns what was counted since the last Drain. It switches the
// programs to the other generation of maps, waits cfg.Grace, and reads and
// empties the generation they left. A byte counted while Drain runs lands
// in this Drain or the next, never in neither or both.
func (c *Counter) Drain() (*Deltas, error) {
	d := &Deltas{}
	if err := c.DrainInto(d); err != nil {
		return nil, err
	}
	return d, nil
}

// DrainInto is Drain into d, whose slices it reuses: an agent draining
// 50k flows every few seconds keeps one set of buffers instead of making
// new garbage each time. What d held before is gone.
func (c *Counter) DrainInto(d *Deltas) error {
	d.Flows, d.Overflow = d.Flows[:0], d.Overflow[:0]
	if d.Lost == nil {
		d.Lost = map[Direction]Overflow{}
	}
	clear(d.Lost)
	old := c.gen
	next := 1 - old
	if err := c.objs.Ctl.Put(uint32(0), next); err != nil {
		return fmt.Errorf("switching map generations: %w", err)
	}
	c.gen = next
	time.Sleep(c.cfg.Grace)

	flows, ovf := c.objs.Flows0, c.objs.Overflow0
	if old == 1 {
		flows, ovf = c.objs.Flows1, c.objs.Overflow1
	}
	if err := c.drainFlows(flows, d); err != nil {
		return err
	}
	if err := c.drainOverflow(ovf, d); err != nil {
		return err
	}
	return c.drainLost(d)
}

const batch = 4096

func (c *Counter) drainFlows(m *ebpf.Map, d *Deltas) error {
	if cap(c.keys) < batch {
		c.keys = make([]flowFlowKey, batch)
		c.vals = make([]flowFlowVal, batch)
	}
	var cursor ebpf.MapBatchCursor
	for {
		n, err := m.BatchLookupAndDelete(&cursor, c.keys[:batch], c.vals[:batch], nil)
		for i := range n {
			f := flowFromKey(&c.keys[i])
			f.Bytes, f.Packets = c.vals[i].Bytes, c.vals[i].Packets
			d.Flows = append(d.Flows, f)
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			return c.drainFlowsOneByOne(m, d)
		}
		if err != nil {
			return fmt.Errorf("draining flows: %w", err)
		}
	}
}

// drainFlowsOneByOne is for kernels without batch operations on hashes (before 5.6).
func (c *Counter) drainFlowsOneByOne(m *ebpf.Map, d *Deltas) error {
	var k flowFlowKey
	var v flowFlowVal
	var keys []flowFlowKey
	it := m.Iterate()
	for it.Next(&k, &v) {
		keys = append(keys, k)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("listing flows: %w", err)
	}
	for i := range keys {
		if err := m.LookupAndDelete(&keys[i], &v); err != nil {
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				continue
			}
			return fmt.Errorf("draining flows: %w", err)
		}
		f := flowFromKey(&keys[i])
		f.Bytes, f.Packets = v.Bytes, v.Packets
		d.Flows = append(d.Flows, f)
	}
	return nil
}

func (c *Counter) drainOverflow(m *ebpf.Map, d *Deltas) error {
	var k flowOverflowKey
	var v flowFlowVal
	var keys []flowOverflowKey
	it := m.Iterate()
	for it.Next(&k, &v) {
		keys = append(keys, k)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("listing overflow: %w", err)
	}
	for i := range keys {
		if err := m.LookupAndDelete(&keys[i], &v); err != nil {
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				continue
			}
			return fmt.Errorf("draining overflow: %w", err)
		}
		o := Overflow{CgroupID: keys[i].CgroupId, Dir: Direction(keys[i].Dir), Bytes: v.Bytes, Packets: v.Packets}
		d.Overflow = append(d.Overflow, o)
	}
	return nil
}

func (c *Counter) drainLost(d *Deltas) error {
	vals := make([]flowFlowVal, c.ncpu)
	for _, dir := range []Direction{Egress, Ingress} {
		if err := c.objs.Lost.Lookup(uint32(dir), &vals); err != nil {
			return fmt.Errorf("reading lost counts: %w", err)
		}
		var total flowFlowVal
		for _, v := range vals {
			total.Bytes += v.Bytes
			total.Packets += v.Packets
		}
		prev := c.lost[dir]
		if total.Bytes != prev.Bytes || total.Packets != prev.Packets {
			d.Lost[dir] = Overflow{Dir: dir, Bytes: total.Bytes - prev.Bytes, Packets: total.Packets - prev.Packets}
		}
		c.lost[dir] = total
	}
	return nil
}

func flowFromKey(k *flowFlowKey) Flow {
	local := netip.AddrFrom16(k.LocalAddr).Unmap()
	remote := netip.AddrFrom16(k.RemoteAddr).Unmap()
	return Flow{CgroupID: k.CgroupId, NetnsCookie: k.NetnsCookie,
		Local: netip.AddrPortFrom(local, k.LocalPort), Remote: netip.AddrPortFrom(remote, k.RemotePort),
		Proto: k.Proto, Dir: Direction(k.Dir)}
}

// EphemeralMin is the lowest port the programs take for ephemeral: a flow
// from such a port to a lower one is keyed without it (0: every port kept).
func (c *Counter) EphemeralMin() uint16 { return c.eph }

// KeepPorts makes flows to destinations in p keep their ephemeral port, so
// that each connection is its own flow: Services' ClusterIPs, which user
// space translates to their backends per connection. It holds 4096
// prefixes (ErrKeepPortsFull beyond).
func (c *Counter) KeepPorts(p netip.Prefix) error {
	if !p.IsValid() {
		return fmt.Errorf("keeping ports for %v: not a prefix", p)
	}
	p = p.Masked()
	k := flowKeepKey{Prefixlen: uint32(p.Bits()), Addr: p.Addr().As16()}
	if p.Addr().Is4() {
		k.Prefixlen += 96
	}
	if err := c.objs.KeepPorts.Put(&k, uint8(1)); err != nil {
		if errors.Is(err, unix.E2BIG) {
			return fmt.Errorf("keeping ports for %v: %w", p, ErrKeepPortsFull)
		}
		return fmt.Errorf("keeping ports for %v: %w", p, err)
	}
	return nil
}

// ErrKeepPortsFull says the keep_ports map has no room for another prefix.
var ErrKeepPortsFull = errors.New("the map of Service addresses is full (4096 prefixes)")

// ProgramStats returns how often the programs ran and for how long in all,
// as the kernel counts them while the sysctl kernel.bpf_stats_enabled is 1
// (it counts nothing otherwise).
func (c *Counter) ProgramStats() (runs uint64, total time.Duration, err error) {
	for _, p := range []*ebpf.Program{c.objs.CountEgress, c.objs.CountIngress} {
		st, err := p.Stats()
		if err != nil {
			return 0, 0, fmt.Errorf("reading program statistics: %w", err)
		}
		runs += st.RunCount
		total += st.Runtime
	}
	return runs, total, nil
}

// Health is a TCP connection's health as TCP itself counts it.
type Health struct {
	NetnsCookie uint64
	Local       netip.AddrPort
	Remote      netip.AddrPort
	Retransmits uint32        // segments retransmitted since the connection began
	SRTT        time.Duration // smoothed round-trip time
	RTTSamples  uint32
	Closed      bool // the connection is gone: this is its last report
}

// Health returns the connections the TCP health program knows (Config.TCPHealth),
// and forgets the ones that closed. Counts are cumulative over each
// connection's life: the caller keeps the last value to get deltas.
func (c *Counter) Health() ([]Health, error) {
	if !c.cfg.TCPHealth {
		return nil, errors.New("TCP health is off: open the Counter with Config.TCPHealth")
	}
	var (
		k      flowHealthKey
		v      flowHealthVal
		out    []Health
		closed []flowHealthKey
	)
	it := c.objs.Health.Iterate()
	for it.Next(&k, &v) {
		h := Health{NetnsCookie: k.NetnsCookie,
			Local:       netip.AddrPortFrom(netip.AddrFrom16(k.LocalAddr).Unmap(), k.LocalPort),
			Remote:      netip.AddrPortFrom(netip.AddrFrom16(k.RemoteAddr).Unmap(), k.RemotePort),
			Retransmits: v.TotalRetrans, SRTT: time.Duration(v.SrttUs) * time.Microsecond, RTTSamples: v.RttSamples, Closed: v.Closed != 0}
		out = append(out, h)
		if h.Closed {
			closed = append(closed, k)
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("reading TCP health: %w", err)
	}
	for i := range closed {
		if err := c.objs.Health.Delete(&closed[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil, fmt.Errorf("forgetting a closed connection: %w", err)
		}
	}
	return out, nil
}

// ephemeralMin reads the low end of the node's ephemeral port range,
// 32768 (Linux's default) if it cannot.
func ephemeralMin() uint16 {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.ParseUint(f[0], 10, 16)
	if err != nil || n == 0 {
		return 32768
	}
	return uint16(n)
}
