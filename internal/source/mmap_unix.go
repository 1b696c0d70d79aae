//go:build unix

package source

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapFile maps the first size bytes of a regular file read-only, or returns
// nil if it cannot; the caller then reads it instead. Reading a mapping
// saves the copy that read(2) makes, which is a quarter of the CPU a large
// query spends.
func mapFile(f *os.File, size int64) []byte {
	if size == 0 || size != int64(int(size)) {
		return nil
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL) // a hint for read-ahead
	return data
}

func unmapFile(data []byte) { _ = unix.Munmap(data) }

// dropPages tells the kernel this process is done with the whole pages of
// b, so that a long read does not hold the file in its resident set.
func dropPages(b []byte) {
	ps := uintptr(os.Getpagesize())
	start := unsafePointer(b)
	end := start + uintptr(len(b))
	first, last := (start+ps-1)&^(ps-1), end&^(ps-1)
	if last > first {
		_ = unix.Madvise(b[first-start:last-start], unix.MADV_DONTNEED)
	}
}

func unsafePointer(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
