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
	// PinPath is a directory on a bpf filesystem where the links and the
	// maps are pinned, so that the kernel keeps counting while no process
	// holds them and a later Open adopts them (see pin.go). Empty: nothing
	// is pinned and Close detaches the programs.
	PinPath string
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
	gen   uint32    // the generation the programs write to
	epoch uint64    // ctl[1]: generation switches so far
	eph   uint16    // ephemeral_min as loaded: 0 keeps every port
	names *nameRing // nil unless cfg.Names
	pin   *pinned   // nil unless cfg.PinPath

	// pending says the generation the programs left holds counts that
	// Swap read and Release has not yet removed.
	pending bool

	flushMu      sync.Mutex
	flushWaiting []chan struct{} // FlushNames calls that ReadNames has yet to answer

	keys  []flowFlowKey // a batch of flows as the kernel hands them
	vals  []flowFlowVal
	batch Deltas // what Swap hands on
}

// Open loads the programs with the maps sized by cfg and attaches them at
// the cgroup v2 root. On any error it leaves nothing loaded or attached.
func Open(cfg Config) (_ *Counter, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.PinPath != "" {
		return openPinned(cfg)
	}
	c, err := load(cfg, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	for _, a := range c.attachments() {
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cfg.CgroupRoot, Attach: a.attach, Program: a.prog})
		if err != nil {
			return nil, fmt.Errorf("attaching %s at %s: %w", a.attach, cfg.CgroupRoot, err)
		}
		c.links = append(c.links, l)
	}
	return c, nil
}

// attachment is a program and where it attaches at the cgroup root; name
// is its pinned link's.
type attachment struct {
	name   string
	prog   *ebpf.Program
	attach ebpf.AttachType
}

// attachments are the programs cfg attaches: the counting ones, and the TCP
// health one if asked for.
func (c *Counter) attachments() []attachment {
	atts := []attachment{{flowProgCountEgress, c.objs.CountEgress, ebpf.AttachCGroupInetEgress},
		{flowProgCountIngress, c.objs.CountIngress, ebpf.AttachCGroupInetIngress}}
	if c.cfg.TCPHealth {
		atts = append(atts, attachment{flowProgTcpHealth, c.objs.TcpHealth, ebpf.AttachCGroupSockOps})
	}
	return atts
}

// flowSpec is the embedded collection with its maps sized and its
// constants set as cfg says.
func flowSpec(cfg Config) (*ebpf.CollectionSpec, uint16, error) {
	spec, err := loadFlow()
	if err != nil {
		return nil, 0, fmt.Errorf("reading the embedded BPF object: %w", err)
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
		return nil, 0, fmt.Errorf("setting the ephemeral port range: %w", err)
	}
	if err := setNames(spec, cfg); err != nil {
		return nil, 0, err
	}
	return spec, ephemeral, nil
}

// load loads the programs and maps without attaching them; the maps in
// replace (pinned ones) are used instead of new ones.
func load(cfg Config, replace map[string]*ebpf.Map) (*Counter, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("removing the memlock rlimit: %w", err)
	}
	spec, ephemeral, err := flowSpec(cfg)
	if err != nil {
		return nil, err
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("counting CPUs: %w", err)
	}
	c := &Counter{cfg: cfg, ncpu: ncpu, eph: ephemeral}
	if err := spec.LoadAndAssign(&c.objs, &ebpf.CollectionOptions{MapReplacements: replace}); err != nil {
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
	if err := c.readCtl(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// readCtl learns the generation the programs write to and the epoch: 0 in
// new maps, what the last process left in pinned ones.
func (c *Counter) readCtl() error {
	var gen, epoch uint32 // ctl's values are 32 bits: a switch a second lasts 136 years
	if err := c.objs.Ctl.Lookup(uint32(0), &gen); err != nil {
		return fmt.Errorf("reading the map generation: %w", err)
	}
	if err := c.objs.Ctl.Lookup(uint32(1), &epoch); err != nil {
		return fmt.Errorf("reading the epoch: %w", err)
	}
	c.gen, c.epoch = gen&1, uint64(epoch)
	return nil
}

// Close frees what this process holds; a ReadNames running returns.
// Unpinned, it detaches the programs and the counts not drained are gone;
// pinned, the programs keep counting into the pinned maps for the next Open.
func (c *Counter) Close() error {
	var errs []error
	if c.names != nil {
		errs = append(errs, c.names.Close())
		c.names = nil
	}
	for _, l := range c.links {
		errs = append(errs, l.Close())
	}
	c.links = nil
	errs = append(errs, c.objs.Close())
	if c.pin != nil {
		errs = append(errs, c.pin.close())
		c.pin = nil
	}
	return errors.Join(errs...)
}

// Drain returns what was counted since the last Drain. It switches the
// programs to the other generation of maps, waits cfg.Grace, and reads and
// empties the generation they left. A byte counted while Drain runs lands
// in this Drain or the next, never in neither or both. It holds a whole
// drain at once (flowcount and the tests); the agent hands Swap's batches
// straight on instead.
func (c *Counter) Drain() (*Deltas, error) {
	d := &Deltas{}
	resetDeltas(d)
	if _, err := c.Swap(func(b *Deltas) { d.append(b) }); err != nil {
		return nil, err
	}
	if err := c.Release(); err != nil {
		return nil, err
	}
	return d, nil
}

// append adds b's counts to d's.
func (d *Deltas) append(b *Deltas) {
	d.Flows = append(d.Flows, b.Flows...)
	d.Overflow = append(d.Overflow, b.Overflow...)
	if d.Lost == nil {
		d.Lost = map[Direction]Overflow{}
	}
	for dir, o := range b.Lost {
		l := d.Lost[dir]
		l.Dir, l.Bytes, l.Packets = dir, l.Bytes+o.Bytes, l.Packets+o.Packets
		d.Lost[dir] = l
	}
}

// Mark names a set of counts: those of the generation that the epoch-th
// switch of the maps of a pinned layout left. A window written with its
// Mark lets a later process tell whether counts it finds in the kernel are
// already written (see Recover).
type Mark struct {
	Layout string // the layout's directory under PinPath; empty unpinned
	Epoch  uint64
}

// Swap switches the programs to the other generation of maps, waits
// cfg.Grace, and hands the generation they left to add, leaving its counts
// in the kernel until Release: a process that dies before it wrote them
// loses nothing, the next one finds them (Recover). It returns their Mark.
//
// add gets the counts in batches of at most 4,096 flows, the overflow and
// lost counts in the last, and never an empty one; it must not keep the
// batch, whose buffers are reused. A window of 50,000 flows is never held
// here whole: the caller folds each batch into what it keeps.
func (c *Counter) Swap(add func(*Deltas)) (Mark, error) {
	if c.pending {
		return Mark{}, errors.New("switching map generations: the last switch's counts are not released")
	}
	old := c.gen
	next := 1 - old
	// The epoch first: a process that dies between the two writes leaves an
	// epoch no window names on an empty generation, never counts under an
	// epoch a window already names.
	if err := c.objs.Ctl.Put(uint32(1), uint32(c.epoch+1)); err != nil {
		return Mark{}, fmt.Errorf("numbering map generations: %w", err)
	}
	c.epoch++
	if err := c.objs.Ctl.Put(uint32(0), next); err != nil {
		return Mark{}, fmt.Errorf("switching map generations: %w", err)
	}
	c.gen = next
	c.pending = true
	time.Sleep(c.cfg.Grace)
	flows, ovf, lostBase := c.genMaps(old)
	if _, err := c.readGen(flows, ovf, c.objs.Lost, lostBase, add); err != nil {
		return Mark{}, err
	}
	return c.mark(), nil
}

// mark is the Mark of the generation the programs left.
func (c *Counter) mark() Mark {
	m := Mark{Epoch: c.epoch}
	if c.pin != nil {
		m.Layout = c.pin.layout
	}
	return m
}

func resetDeltas(d *Deltas) {
	d.Flows, d.Overflow = d.Flows[:0], d.Overflow[:0]
	if d.Lost == nil {
		d.Lost = map[Direction]Overflow{}
	}
	clear(d.Lost)
}

// genMaps returns generation gen's maps and its first index in lost.
func (c *Counter) genMaps(gen uint32) (flows, ovf *ebpf.Map, lostBase uint32) {
	if gen == 1 {
		return c.objs.Flows1, c.objs.Overflow1, 3
	}
	return c.objs.Flows0, c.objs.Overflow0, 0
}

// readGen hands the counts of a generation no program writes to (its flow
// and overflow maps, and lost's entries from lostBase) to add, in batches,
// and says whether there were any.
func (c *Counter) readGen(flows, ovf, lost *ebpf.Map, lostBase uint32, add func(*Deltas)) (bool, error) {
	some, err := c.readFlows(flows, add)
	if err != nil {
		return some, err
	}
	d := &c.batch
	resetDeltas(d)
	if err := readOverflow(ovf, d); err != nil {
		return some, err
	}
	if err := c.readLost(lost, lostBase, d); err != nil {
		return some, err
	}
	if len(d.Overflow) > 0 || len(d.Lost) > 0 {
		add(d)
		some = true
	}
	return some, nil
}

// Release removes from the kernel the counts the last Swap read: call it
// once they are written. No program writes to that generation after Swap's
// grace, so it empties the generation whole rather than keep a copy of
// every key it read (56 bytes a flow) for a window's length.
func (c *Counter) Release() error {
	if !c.pending {
		return nil
	}
	flows, ovf, lostBase := c.genMaps(1 - c.gen)
	if err := c.emptyFlows(flows); err != nil {
		return fmt.Errorf("emptying flows: %w", err)
	}
	if err := emptyMap(ovf, make([]flowOverflowKey, 0, 64)); err != nil {
		return fmt.Errorf("emptying overflow: %w", err)
	}
	zero := make([]flowFlowVal, c.ncpu)
	for _, dir := range []Direction{Egress, Ingress} {
		if err := c.objs.Lost.Put(lostBase+uint32(dir), zero); err != nil {
			return fmt.Errorf("emptying lost counts: %w", err)
		}
	}
	c.pending = false
	return nil
}

const batch = 4096

// buffers returns the batch buffers for the flow maps, made on first use.
func (c *Counter) buffers() ([]flowFlowKey, []flowFlowVal) {
	if c.keys == nil {
		c.keys = make([]flowFlowKey, batch)
		c.vals = make([]flowFlowVal, batch)
	}
	return c.keys, c.vals
}

// emptyFlows deletes every flow of m, a batch at a time.
func (c *Counter) emptyFlows(m *ebpf.Map) error {
	keys, vals := c.buffers()
	var cursor ebpf.MapBatchCursor
	for {
		// The cursor walks the hash's buckets: deleting what it has passed
		// does not disturb it.
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		if errors.Is(err, ebpf.ErrNotSupported) {
			return emptyMap(m, keys[:0])
		}
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
		if err := deleteKeys(m, keys[:n]); err != nil {
			return err
		}
		if err != nil { // ErrKeyNotExist: the last batch
			return nil
		}
	}
}

// emptyMap deletes every key of m, gathering up to cap(buf) keys before
// deleting them, for maps or kernels without batch lookups.
func emptyMap[K any](m *ebpf.Map, buf []K) error {
	for {
		buf = buf[:0]
		var k K
		it := m.Iterate()
		var v flowFlowVal
		for len(buf) < cap(buf) && it.Next(&k, &v) {
			buf = append(buf, k)
		}
		if err := it.Err(); err != nil {
			return err
		}
		if len(buf) == 0 {
			return nil
		}
		if err := deleteKeys(m, buf); err != nil {
			return err
		}
	}
}

// deleteKeys deletes keys from m, in batches where the kernel can.
func deleteKeys[K any](m *ebpf.Map, keys []K) error {
	for len(keys) > 0 {
		n := min(len(keys), batch)
		_, err := m.BatchDelete(keys[:n], nil)
		if errors.Is(err, ebpf.ErrNotSupported) {
			for i := range keys {
				if err := m.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
					return err
				}
			}
			return nil
		}
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// readFlows hands m's flows to add, a batch at a time, without removing
// them, and says whether there were any.
func (c *Counter) readFlows(m *ebpf.Map, add func(*Deltas)) (bool, error) {
	keys, vals := c.buffers()
	d := &c.batch
	var cursor ebpf.MapBatchCursor
	some := false
	for {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		if errors.Is(err, ebpf.ErrNotSupported) {
			return c.readFlowsOneByOne(m, add)
		}
		if n > 0 {
			resetDeltas(d)
			for i := range n {
				f := flowFromKey(&keys[i])
				f.Bytes, f.Packets = vals[i].Bytes, vals[i].Packets
				d.Flows = append(d.Flows, f)
			}
			add(d)
			some = true
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return some, nil
		}
		if err != nil {
			return some, fmt.Errorf("reading flows: %w", err)
		}
	}
}

// readFlowsOneByOne is for kernels without batch operations on hashes (before 5.6).
func (c *Counter) readFlowsOneByOne(m *ebpf.Map, add func(*Deltas)) (bool, error) {
	var k flowFlowKey
	var v flowFlowVal
	d := &c.batch
	resetDeltas(d)
	some := false
	it := m.Iterate()
	for it.Next(&k, &v) {
		f := flowFromKey(&k)
		f.Bytes, f.Packets = v.Bytes, v.Packets
		d.Flows = append(d.Flows, f)
		if len(d.Flows) == batch {
			add(d)
			resetDeltas(d)
			some = true
		}
	}
	if err := it.Err(); err != nil {
		return some, fmt.Errorf("reading flows: %w", err)
	}
	if len(d.Flows) > 0 {
		add(d)
		some = true
	}
	return some, nil
}

// readOverflow appends m's overflow counts to d.
func readOverflow(m *ebpf.Map, d *Deltas) error {
	var k flowOverflowKey
	var v flowFlowVal
	it := m.Iterate()
	for it.Next(&k, &v) {
		d.Overflow = append(d.Overflow, Overflow{CgroupID: k.CgroupId, Dir: Direction(k.Dir), Bytes: v.Bytes,
			Packets: v.Packets})
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("reading overflow: %w", err)
	}
	return nil
}

// readLost adds the lost counts of the generation whose entries start at
// base to d.
func (c *Counter) readLost(m *ebpf.Map, base uint32, d *Deltas) error {
	vals := make([]flowFlowVal, c.ncpu)
	for _, dir := range []Direction{Egress, Ingress} {
		if err := m.Lookup(base+uint32(dir), &vals); err != nil {
			return fmt.Errorf("reading lost counts: %w", err)
		}
		l := d.Lost[dir]
		for _, v := range vals {
			l.Bytes += v.Bytes
			l.Packets += v.Packets
		}
		if l.Bytes != 0 || l.Packets != 0 {
			l.Dir = dir
			d.Lost[dir] = l
		}
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
