package bpf

import (
	"net/netip"
	"time"
)

// NameKind says what a NameEvent's payload holds.
type NameKind uint8

const (
	// NameDNSQuery is a DNS query the pod sent (to port 53, any address): it tells user space which names
	// the pod asked for, so that an answer for a name it did not ask is dropped.
	NameDNSQuery NameKind = 1
	// NameDNSAnswer is a DNS response the pod received (from port 53, any address).
	NameDNSAnswer NameKind = 2
	// NameTLSHello is the first segment of a TCP stream the pod sent that starts a TLS ClientHello.
	NameTLSHello NameKind = 3
)

// NameEvent is the start of a packet's L4 payload that the programs handed to user space so that it can
// name a remote from what the pod itself saw. The kernel only recognises and copies; user space parses,
// validates and decides (the payload is whatever a stranger sent).
//
// For DNS over TCP the payload starts with the message's 2-byte length, as on the wire. Payload holds at
// most the kernel's bound; Truncated says the packet carried more.
type NameEvent struct {
	Kind        NameKind
	CgroupID    uint64
	NetnsCookie uint64 // the pod's network namespace: every container of a pod shares it
	Proto       uint8  // 6 (TCP) or 17 (UDP)
	Local       netip.AddrPort
	Remote      netip.AddrPort
	Payload     []byte
	Truncated   bool
	// Read is when the reader took the event from the ring, one clock reading for all it took at once: the
	// time for whoever needs one, with no clock read per event.
	Read time.Time
}
