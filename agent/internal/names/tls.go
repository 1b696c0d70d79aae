package names

import "errors"

var (
	errNotHello = errors.New("not a TLS ClientHello")
	errNoSNI    = errors.New("no server_name in the bytes seen")
)

// reader reads big-endian fields from a byte slice; a read past its end empties it and sets short, so that
// the parser checks once at each step rather than at every field.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.b, r.short = nil, true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) uint(n int) int {
	v := 0
	for _, c := range r.bytes(n) {
		v = v<<8 | int(c)
	}
	return v
}

// vector reads a field of n length bytes and the bytes they count; a vector cut short by the end of the
// input yields what is there, with short set.
func (r *reader) vector(n int) reader {
	if n > len(r.b) {
		r.b, r.short = nil, true
		return reader{short: true}
	}
	l := r.uint(n)
	if l > len(r.b) {
		v := reader{b: r.b, short: true}
		r.b = nil
		return v
	}
	return reader{b: r.bytes(l)}
}

var errBadSNI = errors.New("server_name is not a DNS name")

// serverName returns the server_name (SNI) of a TLS ClientHello at the start of a TCP stream, lower case
// and validated, written in buf: no allocation. hello may stop anywhere (the first segment of a ClientHello
// larger than one, or the kernel's bound): the name is found if its extension lies in the bytes given.
func serverName(buf *[maxWire]byte, hello []byte) ([]byte, error) {
	r := reader{b: hello}
	// The record: handshake (22), a version of 3.x, and its length; the handshake may go on in later
	// records, of which only this one's bytes are read.
	if r.uint(1) != 22 || r.uint(1) != 3 {
		return nil, errNotHello
	}
	r.bytes(1)
	rec := r.vector(2)
	if r.short && len(rec.b) == 0 {
		return nil, errNotHello
	}
	// The handshake message: client_hello (1) and its 3-byte length.
	if rec.uint(1) != 1 {
		return nil, errNotHello
	}
	body := rec.vector(3)
	body.bytes(2 + 32) // client_version, random
	body.vector(1)     // session_id
	body.vector(2)     // cipher_suites
	body.vector(1)     // compression_methods
	exts := body.vector(2)
	for len(exts.b) > 0 {
		typ := exts.uint(2)
		ext := exts.vector(2)
		if exts.short && len(ext.b) == 0 {
			break
		}
		if typ != 0 { // server_name
			continue
		}
		list := ext.vector(2)
		for len(list.b) > 0 {
			kind := list.uint(1)
			name := list.vector(2)
			if name.short {
				return nil, errNoSNI // cut short: a part of a name is no name
			}
			if kind != 0 { // host_name
				continue
			}
			n, ok := lowerName(buf, name.b)
			if !ok {
				return nil, errBadSNI
			}
			return n, nil
		}
		return nil, errNoSNI
	}
	return nil, errNoSNI
}
