//go:build linux

package bpf

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The header the kernel writes before each record of a BPF ring buffer (include/uapi/linux/bpf.h).
const (
	ringBusyBit    = 1 << 31 // the record is being written
	ringDiscardBit = 1 << 30 // the program discarded it
	ringHeaderSize = 8       // the length with the two bits above, then the page offset
)

// nameRing reads the name ring buffer where the kernel maps it, without a system call, and parks its reader
// in Go's network poller. A reader that blocked in epoll_wait, as cilium/ebpf's ringbuf.Reader does, held a
// P in a system call: each time, the Go runtime's monitor thread woke, polled every 20 us for a millisecond
// and more, and took the P back after 10 ms; on this paravirtualised VM that cost more than the events.
type nameRing struct {
	mu       sync.Mutex // held while reading: Close unmaps only after
	consumer []byte     // a page: the consumer position, which the reader writes
	producer []byte     // a page, the producer position, then the data mapped twice, so a record never wraps
	mask     uint64     // the data's size, less one
	file     *os.File   // a copy of the ring's descriptor, in the network poller
	conn     syscall.RawConn
	poked    atomic.Bool // wake the reader now: FlushNames, or its context ended
	closing  atomic.Bool // Close was called
	closed   bool        // the ring is unmapped
}

// newNameRing maps a ring buffer map for reading.
func newNameRing(m *ebpf.Map) (_ *nameRing, err error) {
	size := int(m.MaxEntries())
	page := os.Getpagesize()
	r := &nameRing{mask: uint64(size - 1)}
	defer func() {
		if err != nil {
			r.unmap()
		}
	}()
	if r.consumer, err = unix.Mmap(m.FD(), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("mapping the name ring's consumer page: %w", err)
	}
	if r.producer, err = unix.Mmap(m.FD(), int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		return nil, fmt.Errorf("mapping the name ring: %w", err)
	}
	// A non-blocking copy of the descriptor: os.NewFile puts it in the network poller, whose epoll the
	// kernel wakes when a program asks (BPF_RB_FORCE_WAKEUP).
	fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicating the name ring's descriptor: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("making the name ring's descriptor non-blocking: %w", err)
	}
	r.file = os.NewFile(uintptr(fd), "name ring")
	if r.conn, err = r.file.SyscallConn(); err != nil {
		r.file.Close()
		return nil, fmt.Errorf("polling the name ring: %w", err)
	}
	return r, nil
}

func (r *nameRing) unmap() {
	for _, b := range [][]byte{r.consumer, r.producer} {
		if b != nil {
			_ = unix.Munmap(b)
		}
	}
	r.consumer, r.producer = nil, nil
}

// errRingClosed is what wait and read return once Close was called.
var errRingClosed = errors.New("the name ring is closed")

// Close wakes a waiting reader, waits for a read under way and unmaps the ring.
func (r *nameRing) Close() error {
	r.closing.Store(true)
	err := r.file.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.unmap()
	return err
}

// poke wakes a waiting reader, or the next one, at once.
func (r *nameRing) poke() {
	r.poked.Store(true)
	_ = r.file.SetReadDeadline(time.Unix(1, 0))
}

// wait parks until the kernel wakes the ring's readers (the programs do once it holds wakeAt bytes), poke is
// called or deadline passes. It returns errRingClosed after Close.
func (r *nameRing) wait(deadline time.Time, wakeAt int) error {
	if err := r.file.SetReadDeadline(deadline); err != nil {
		if r.closing.Load() {
			return errRingClosed
		}
		return fmt.Errorf("waiting for name events: %w", err)
	}
	woken := false
	err := r.conn.Read(func(uintptr) bool {
		// The poller forgets a wakeup that came before this call: the ring's fill says it.
		done := woken || r.poked.Load() || r.available() >= wakeAt
		woken = true
		return done
	})
	switch {
	case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case r.closing.Load():
		return errRingClosed
	}
	return fmt.Errorf("waiting for name events: %w", err)
}

func (r *nameRing) positions() (consumer, producer *uint64) {
	return (*uint64)(unsafe.Pointer(&r.consumer[0])), (*uint64)(unsafe.Pointer(&r.producer[0]))
}

// available is how many bytes the ring holds; 0 once closed.
func (r *nameRing) available() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0
	}
	c, p := r.positions()
	return int(atomic.LoadUint64(p) - atomic.LoadUint64(c))
}

// read hands fn each record the ring holds (fn must not keep it: its space goes back to the kernel when fn
// returns) and returns the bytes it took from the ring.
func (r *nameRing) read(fn func([]byte)) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errRingClosed
	}
	cp, pp := r.positions()
	start := atomic.LoadUint64(cp)
	cons, prod := start, atomic.LoadUint64(pp)
	data := r.producer[len(r.producer)-2*int(r.mask+1):]
	for cons < prod {
		at := cons & r.mask
		hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&data[at])))
		if hdr&ringBusyBit != 0 {
			break // still being written: the next read has it
		}
		n := uint64(hdr &^ (ringBusyBit | ringDiscardBit))
		if hdr&ringDiscardBit == 0 {
			fn(data[at+ringHeaderSize : at+ringHeaderSize+n])
		}
		cons += (ringHeaderSize + n + 7) &^ 7
		atomic.StoreUint64(cp, cons)
	}
	return int(cons - start), nil
}
