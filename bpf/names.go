//go:build linux

package bpf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
)

// defaultNamesRing is the name ring's size: at 5,000 DNS answers, as many
// queries and 1,000 ClientHellos a second (about 3 MB/s) it holds a third
// of a second, which ReadNames reads every quarter of a second.
const defaultNamesRing = 1 << 20

// ReadNames reads the ring as seldom as it can: names are needed at the
// window's end, seconds later, and on this machine (a paravirtualised 2-vCPU
// VM) each wakeup of the agent costs about a third of a millisecond of CPU
// (bench/names: a ring four times larger, read a quarter as often, took
// 0.13% of a core less at the budget's rate). It sleeps until the ring,
// filling as fast as since the last read, would be three quarters full (a
// second when idle, about 250 ms at the budget's 3 MB/s with the default
// ring, at least namesPollMin), and the programs wake it sooner only when
// the ring is three quarters full (namesWakeAt): a burst after an idle
// second has a quarter of the ring to fill while the reader wakes.
const (
	namesPollMax = time.Second
	namesPollMin = 10 * time.Millisecond
)

// nextPoll is how long until the next read of a ring of ring bytes, from
// which the last read took read bytes, since before.
func nextPoll(read int, since time.Duration, ring int) time.Duration {
	if read <= 0 || since <= 0 {
		return namesPollMax
	}
	d := time.Duration(float64(since) * float64(namesWakeAt(ring)) / float64(read))
	return min(max(d, namesPollMin), namesPollMax)
}

// namesWakeAt is how full a ring of ring bytes is when ReadNames reads it.
func namesWakeAt(ring int) int { return ring / 4 * 3 }

// errNamesOff is ReadNames' and NamesLost's answer when capture is off.
var errNamesOff = errors.New("name capture is off: open the Counter with Config.Names")

// checkNamesRing checks a ring size the kernel takes: a power of two, at
// least a page.
func checkNamesRing(n int) error {
	page := os.Getpagesize()
	if n < page || n&(n-1) != 0 {
		return fmt.Errorf("NamesRingBytes %d: want a power of two of at least the page size, %d", n, page)
	}
	return nil
}

// ReadNames calls fn for each name event until ctx is done or the Counter is
// closed; then it returns nil. fn must not keep ev.Payload after it returns:
// the ring's space is reused. One goroutine at a time may call it.
func (c *Counter) ReadNames(ctx context.Context, fn func(*NameEvent)) error {
	if c.names == nil {
		return fmt.Errorf("reading names: %w", errNamesOff)
	}
	r := c.names
	stop := context.AfterFunc(ctx, r.poke)
	defer stop()
	var ev NameEvent
	last := time.Now()
	deadline := last // read what is there now
	for {
		// Ask again before each wait, at the programs' own threshold: a wakeup
		// they sent while the ring was read is one the poller may have dropped.
		if err := r.wait(deadline, namesWakeAt(c.cfg.NamesRingBytes)); err != nil {
			if errors.Is(err, errRingClosed) {
				return nil
			}
			return fmt.Errorf("reading names: %w", err)
		}
		if ctx.Err() != nil {
			return nil
		}
		// Everything in the ring when FlushNames asked is read below: then its
		// callers may go on. One that asks meanwhile pokes again.
		r.poked.Store(false)
		c.flushMu.Lock()
		waiting := c.flushWaiting
		c.flushWaiting = nil
		c.flushMu.Unlock()
		now := time.Now()
		read, err := r.read(func(b []byte) {
			if decodeName(b, &ev) {
				ev.Read = now
				fn(&ev)
			}
		})
		if err != nil {
			return nil // closed while reading
		}
		for _, ch := range waiting {
			close(ch)
		}
		deadline = now.Add(nextPoll(read, now.Sub(last), c.cfg.NamesRingBytes))
		last = now
	}
}

// FlushNames returns once ReadNames has handed its fn every event the ring
// held when FlushNames was called, so that a window's end sees the names
// its flows' packets brought, or when ctx is done first (as it will be if
// no ReadNames runs). ReadNames otherwise reads up to a second late.
func (c *Counter) FlushNames(ctx context.Context) error {
	if c.names == nil {
		return fmt.Errorf("flushing names: %w", errNamesOff)
	}
	ch := make(chan struct{})
	c.flushMu.Lock()
	c.flushWaiting = append(c.flushWaiting, ch)
	c.flushMu.Unlock()
	c.names.poke()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flushing names: %w", ctx.Err())
	}
}

// decodeName fills ev from a ring record: a name_event header, then its
// payload. The offsets are the generated type's, so that the layout is
// written once, in flow.c. It reports false for a record too short for what
// it claims (the programs never write one).
func decodeName(b []byte, ev *NameEvent) bool {
	var h flowNameEvent
	if len(b) < int(unsafe.Sizeof(h)) {
		return false
	}
	le := binary.LittleEndian
	n := int(le.Uint16(b[unsafe.Offsetof(h.PayloadLen):]))
	payload := b[unsafe.Sizeof(h):]
	if n > len(payload) {
		return false
	}
	local := netip.AddrFrom16([16]byte(b[unsafe.Offsetof(h.LocalAddr):])).Unmap()
	remote := netip.AddrFrom16([16]byte(b[unsafe.Offsetof(h.RemoteAddr):])).Unmap()
	*ev = NameEvent{
		Kind:        NameKind(b[unsafe.Offsetof(h.Kind)]),
		CgroupID:    le.Uint64(b[unsafe.Offsetof(h.CgroupId):]),
		NetnsCookie: le.Uint64(b[unsafe.Offsetof(h.NetnsCookie):]),
		Proto:       b[unsafe.Offsetof(h.Proto)],
		Local:       netip.AddrPortFrom(local, le.Uint16(b[unsafe.Offsetof(h.LocalPort):])),
		Remote:      netip.AddrPortFrom(remote, le.Uint16(b[unsafe.Offsetof(h.RemotePort):])),
		Payload:     payload[:n],
		Truncated:   b[unsafe.Offsetof(h.Truncated)] != 0,
	}
	return true
}

// NamesLost is how many name events the ring buffer had no room for, since Open.
func (c *Counter) NamesLost() (uint64, error) {
	if c.names == nil {
		return 0, fmt.Errorf("reading lost names: %w", errNamesOff)
	}
	vals := make([]uint64, c.ncpu)
	if err := c.objs.NamesLost.Lookup(uint32(0), &vals); err != nil {
		return 0, fmt.Errorf("reading lost names: %w", err)
	}
	var total uint64
	for _, v := range vals {
		total += v
	}
	return total, nil
}

// openNames makes the ring's reader, when capture is on.
func (c *Counter) openNames() error {
	if !c.cfg.Names {
		return nil
	}
	r, err := newNameRing(c.objs.Names)
	if err != nil {
		return fmt.Errorf("opening the name ring: %w", err)
	}
	c.names = r
	return nil
}

// setNames sizes the ring and sets the load-time switches: capture off
// leaves the smallest ring, which the programs never write to.
func setNames(spec *ebpf.CollectionSpec, cfg Config) error {
	ring := os.Getpagesize()
	on := uint8(0)
	if cfg.Names {
		ring, on = cfg.NamesRingBytes, 1
	}
	spec.Maps[flowMapNames].MaxEntries = uint32(ring)
	if err := spec.Variables[flowVarNamesWakeup].Set(uint32(namesWakeAt(ring))); err != nil {
		return fmt.Errorf("setting the name ring's wakeup: %w", err)
	}
	if err := spec.Variables[flowVarNamesOn].Set(on); err != nil {
		return fmt.Errorf("setting name capture: %w", err)
	}
	return nil
}
