// Package conntrack names the backend of each connection a pod makes to a
// Service's ClusterIP. kube-proxy translates such a connection (iptables
// or nftables DNAT, tested here with iptables; IPVS, which kube-proxy runs
// with net.ipv4.vs.conntrack=1, should show the same, untested) in the
// node's network namespace, after the pod's veth,
// where no socket and so no cgroup program sees the translated packet: the
// counter records the ClusterIP. The node's connection tracking table knows
// where each connection went; this package follows it over netlink
// (ctnetlink) and puts the backend in place of the ClusterIP, per
// connection, before the flows are classified.
//
// It reads the table once at start (a dump, which needs CAP_NET_ADMIN) and
// then follows its new and destroyed connections as events (a multicast
// subscription, made at start; receiving needs no capability), so that the
// agent can drop CAP_NET_ADMIN once it has attached.
package conntrack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// ctnetlink's numbers, from linux/netfilter/nfnetlink*.h.
const (
	subsysCTNetlink = 1 // NFNL_SUBSYS_CTNETLINK
	msgNew          = 0 // IPCTNL_MSG_CT_NEW
	msgGet          = 1 // IPCTNL_MSG_CT_GET
	msgDelete       = 2 // IPCTNL_MSG_CT_DELETE

	groupNew     = 1 // NFNLGRP_CONNTRACK_NEW
	groupDestroy = 3 // NFNLGRP_CONNTRACK_DESTROY

	attrTupleOrig  = 1 // CTA_TUPLE_ORIG
	attrTupleReply = 2 // CTA_TUPLE_REPLY
	attrTupleIP    = 1 // CTA_TUPLE_IP
	attrTupleProto = 2 // CTA_TUPLE_PROTO
	attrIPv4Src    = 1 // CTA_IP_V4_SRC
	attrIPv4Dst    = 2
	attrIPv6Src    = 3
	attrIPv6Dst    = 4
	attrProtoNum   = 1 // CTA_PROTO_NUM
	attrProtoSrc   = 2 // CTA_PROTO_SRC_PORT
	attrProtoDst   = 3 // CTA_PROTO_DST_PORT

	nfgenHeaderLen = 4 // struct nfgenmsg: family, version, resource id
)

// Tuple is one direction of a connection, as conntrack keys it.
type Tuple struct {
	Src, Dst netip.AddrPort
	Proto    uint8 // 6 TCP, 17 UDP
}

// Conn is a tracked connection: as its originator sent it, and as the
// replies come back. Their difference is the NAT it went through.
type Conn struct {
	Orig, Reply Tuple
}

// Backend is where a destination NAT sent the connection: the source of
// its replies, when that is not the address it was sent to.
func (c Conn) Backend() (netip.AddrPort, bool) {
	if !c.Reply.Src.IsValid() || c.Reply.Src == c.Orig.Dst {
		return netip.AddrPort{}, false
	}
	return c.Reply.Src, true
}

// event is what a ctnetlink message says of a connection.
type event struct {
	conn    Conn
	destroy bool
}

// parse decodes a ctnetlink message of type typ: a new (or dumped)
// connection, or a destroyed one.
//
// It walks the attributes itself (attrs) instead of through netlink's
// AttributeDecoder, which costs two dozen allocations a message: a node
// that starts many pods opens tens of thousands of connections in a second,
// and each is an event here.
func parse(typ uint16, data []byte) (event, error) {
	var ev event
	if typ>>8 != subsysCTNetlink {
		return ev, fmt.Errorf("conntrack message of subsystem %d, want %d", typ>>8, subsysCTNetlink)
	}
	ev.destroy = typ&0xff == msgDelete
	if len(data) < nfgenHeaderLen {
		return ev, fmt.Errorf("conntrack message of %d bytes: shorter than its header", len(data))
	}
	err := attrs(data[nfgenHeaderLen:], func(typ uint16, b []byte) error {
		switch typ {
		case attrTupleOrig:
			return parseTuple(b, &ev.conn.Orig)
		case attrTupleReply:
			return parseTuple(b, &ev.conn.Reply)
		}
		return nil
	})
	if err != nil {
		return ev, fmt.Errorf("decoding a conntrack message: %w", err)
	}
	if !ev.conn.Orig.Src.IsValid() || !ev.conn.Orig.Dst.IsValid() {
		return ev, errors.New("conntrack message without its original tuple")
	}
	return ev, nil
}

var errAttr = errors.New("netlink attribute longer than its message")

// attrs calls fn with the type (without the nested and byte-order flags)
// and payload of each netlink attribute in b.
func attrs(b []byte, fn func(typ uint16, data []byte) error) error {
	for len(b) >= 4 {
		n := int(binary.NativeEndian.Uint16(b))
		if n < 4 || n > len(b) {
			return errAttr
		}
		if err := fn(binary.NativeEndian.Uint16(b[2:])&^(netlink.Nested|netlink.NetByteOrder), b[4:n]); err != nil {
			return err
		}
		b = b[min((n+3)&^3, len(b)):] // attributes are 4-byte aligned
	}
	return nil
}

func parseTuple(b []byte, t *Tuple) error {
	var src, dst netip.Addr
	var sport, dport uint16
	err := attrs(b, func(typ uint16, b []byte) error {
		switch typ {
		case attrTupleIP:
			return attrs(b, func(typ uint16, b []byte) error {
				var a *netip.Addr
				switch typ {
				case attrIPv4Src, attrIPv6Src:
					a = &src
				case attrIPv4Dst, attrIPv6Dst:
					a = &dst
				default:
					return nil // an attribute this code does not know
				}
				var ok bool
				if *a, ok = netip.AddrFromSlice(b); !ok {
					return fmt.Errorf("conntrack address of %d bytes", len(b))
				}
				return nil
			})
		case attrTupleProto:
			return attrs(b, func(typ uint16, b []byte) error {
				switch {
				case typ == attrProtoNum && len(b) >= 1:
					t.Proto = b[0]
				case typ == attrProtoSrc && len(b) >= 2:
					sport = binary.BigEndian.Uint16(b)
				case typ == attrProtoDst && len(b) >= 2:
					dport = binary.BigEndian.Uint16(b)
				}
				return nil
			})
		}
		return nil
	})
	if src.IsValid() && dst.IsValid() {
		t.Src, t.Dst = netip.AddrPortFrom(src.Unmap(), sport), netip.AddrPortFrom(dst.Unmap(), dport)
	}
	return err
}
