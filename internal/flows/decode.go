package flows

import (
	"bytes"
	"errors"
	"net/netip"
	"time"
	"unsafe"
)

// Decoder decodes schema-1 records from single JSON lines. It is several times
// faster than encoding/json for this schema and allocates almost nothing:
// strings are interned, so records that repeat the same pods, nodes and
// addresses share their strings. Fields it does not know, such as the EMF
// metadata `_aws`, are skipped. A Decoder is not safe for concurrent use.
type Decoder struct {
	// Skip, if set, sees each record in the agent's layout as soon as its
	// leading fields (schema through protocol: the time, the window, the
	// direction and the category) are decoded. If it returns true, Decode
	// stops there and returns ErrSkipped: the rest of the line is neither
	// decoded nor validated. This is what makes a query over a large store
	// fast when it selects a small part of it. Records in other layouts are
	// decoded whole and the caller filters them.
	Skip func(*Record) bool

	// Borrow makes the strings of decoded records alias the input line
	// instead of being interned: faster, but they are valid only while the
	// line's bytes are unchanged. Use Record.Clone to keep a record.
	Borrow bool

	strs     map[string]string
	ips      map[string]string // valid addresses only
	lastTS   []byte
	lastT    time.Time
	head     head // the previous line's leading fields
	sameHead bool // see SameHead
}

// SameHead reports whether the line just decoded began with the previous
// line's leading fields, byte for byte: the same agent and window. The
// file store's tally of copies (internal/source) uses it.
func (d *Decoder) SameHead() bool { return d.sameHead }

// maxInterned bounds each intern table; past it strings are still decoded, just not shared.
const maxInterned = 1 << 16

// NewDecoder returns a Decoder with empty intern tables.
func NewDecoder() *Decoder {
	return &Decoder{strs: make(map[string]string), ips: make(map[string]string)}
}

// Decode parses one JSON object into r, which it resets first, and validates it.
func (d *Decoder) Decode(line []byte, r *Record) error {
	*r = Record{}
	if ok, err := d.decodeCanonical(line, r); ok {
		if err != nil {
			return err
		}
		return r.validateNoIPs() // the decoder parsed every address it stored
	}
	*r = Record{}
	s := scanner{b: line}
	s.ws()
	if !s.consume('{') {
		return fieldErr("record", "not a JSON object")
	}
	s.ws()
	if s.consume('}') {
		return r.validateNoIPs() // the decoder parsed every address it stored
	}
	for {
		s.ws()
		key, esc, err := s.str()
		if err != nil {
			return fieldErr("record", "bad key: %v", err)
		}
		if esc {
			if key, err = unescape(key); err != nil {
				return fieldErr("record", "bad key: %v", err)
			}
		}
		s.ws()
		if !s.consume(':') {
			return fieldErr(string(key), "want ':' after the key")
		}
		s.ws()
		if err := d.field(&s, key, r); err != nil {
			return err
		}
		s.ws()
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			break
		}
		return fieldErr("record", "want ',' or '}' at byte %d", s.i+1)
	}
	s.ws()
	if s.i != len(s.b) {
		return fieldErr("record", "unexpected data after the object at byte %d", s.i+1)
	}
	return r.validateNoIPs() // the decoder parsed every address it stored
}

// ErrSkipped is returned by Decode when Decoder.Skip rejected the record.
var ErrSkipped = errors.New("record skipped by the caller's filter")

func (d *Decoder) field(s *scanner, key []byte, r *Record) error {
	id := keyID(key)
	if id < 0 {
		return s.skip(0)
	}
	return d.fieldByID(s, id, r)
}

func (d *Decoder) fieldByID(s *scanner, id fieldID, r *Record) error {
	key := fieldNames[id]
	switch id {
	case fSchema:
		n, err := s.uint(key)
		if err != nil {
			return err
		}
		if n > 1<<20 {
			return fieldErr("schema", "unsupported version %d", n)
		}
		r.Schema = int(n)
	case fTs:
		v, err := d.rawString(s, key)
		if err != nil || v == nil {
			return err
		}
		return d.ts(v, r)
	case fWindowS:
		n, err := s.uint(key)
		if err != nil {
			return err
		}
		if n > 1<<40 {
			return fieldErr("window_s", "%d seconds is too long", n)
		}
		r.WindowS = int64(n)
	case fBytes:
		n, err := s.uint(key)
		r.Bytes = n
		return err
	case fPackets:
		n, err := s.uint(key)
		r.Packets = n
		return err
	case fRemotePort:
		n, err := s.uint(key)
		if err != nil {
			return err
		}
		if n > 65535 {
			return fieldErr("remote_port", "%d is not a port (0-65535)", n)
		}
		r.RemotePort = uint16(n)
	case fDirection:
		v, err := d.rawString(s, key)
		if err != nil || v == nil {
			return err
		}
		switch string(v) {
		case "egress":
			r.Direction = Egress
		case "ingress":
			r.Direction = Ingress
		default:
			return fieldErr("direction", "%q is not egress or ingress", v)
		}
	case fProtocol:
		v, err := d.rawString(s, key)
		if err != nil || v == nil {
			return err
		}
		switch string(v) {
		case "tcp":
			r.Protocol = TCP
		case "udp":
			r.Protocol = UDP
		default:
			return fieldErr("protocol", "%q is not tcp or udp", v)
		}
	case fCategory:
		v, err := d.rawString(s, key)
		if err != nil || v == nil {
			return err
		}
		c, ok := parseRecordCategory(v)
		if !ok {
			return fieldErr("category", "unknown category %q", v)
		}
		r.Category = c
	case fRemoteReported:
		switch {
		case s.literal("true"):
			r.RemoteReportedRaw = BoolTrue
		case s.literal("false"):
			r.RemoteReportedRaw = BoolFalse
		case s.null(): // leaves the field as it is, as encoding/json does
		default:
			return fieldErr(key, "want true or false")
		}
	case fLocalIp:
		return d.ip(s, key, &r.LocalIP, false)
	case fRemoteIp:
		return d.ip(s, key, &r.RemoteIP, true)
	default:
		if p := r.stringField(id); p != nil {
			v, err := d.rawString(s, key)
			if err != nil || v == nil {
				return err
			}
			*p = d.intern(v)
			return nil
		}
		return s.skip(0)
	}
	return nil
}

// rawString reads a string value (unescaped) or null, which yields nil.
func (d *Decoder) rawString(s *scanner, key string) ([]byte, error) {
	if s.null() {
		return nil, nil
	}
	v, esc, err := s.str()
	if err != nil {
		return nil, fieldErr(key, "want a string: %v", err)
	}
	if esc {
		v, _, err = decodeText(key, v)
	}
	return v, err
}

func (d *Decoder) intern(b []byte) string {
	if d.Borrow {
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	if v, ok := d.strs[string(b)]; ok {
		return v
	}
	v := string(b)
	if len(d.strs) < maxInterned {
		d.strs[v] = v
	}
	return v
}

func (d *Decoder) ip(s *scanner, key string, dst *string, allowOther bool) error {
	v, err := d.rawString(s, key)
	if err != nil || v == nil {
		return err
	}
	if a, ok := d.ips[string(v)]; ok {
		*dst = a
		return nil
	}
	if d.Borrow && len(d.ips) >= maxInterned {
		clear(d.ips) // borrowed decoding keeps validating from a bounded cache
	}
	if allowOther && string(v) == OtherIP {
		*dst = OtherIP
		return nil
	}
	if _, err := netip.ParseAddr(string(v)); err != nil {
		if allowOther {
			return fieldErr(key, "%q is not an IP address or %q", v, OtherIP)
		}
		return fieldErr(key, "%q is not an IP address", v)
	}
	a := string(v)
	if len(d.ips) < maxInterned {
		d.ips[a] = a
	}
	*dst = a
	return nil
}

func (d *Decoder) ts(v []byte, r *Record) error {
	if len(v) > 0 && bytes.Equal(v, d.lastTS) {
		r.TS = d.lastT
		return nil
	}
	t, ok := parseUTCSeconds(v)
	if !ok {
		var err error
		t, err = time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return fieldErr("ts", "%q is not an RFC 3339 time such as 2026-11-21T10:00:00Z", v)
		}
		t = t.UTC()
	}
	d.lastTS = append(d.lastTS[:0], v...)
	d.lastT = t
	r.TS = t
	return nil
}

// parseUTCSeconds parses the agent's own format, YYYY-MM-DDTHH:MM:SSZ, quickly.
func parseUTCSeconds(v []byte) (time.Time, bool) {
	if len(v) != 20 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' || v[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[5:7])
	d, ok3 := num(v[8:10])
	h, ok4 := num(v[11:13])
	mi, ok5 := num(v[14:16])
	sec, ok6 := num(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d { // 2026-02-30 normalises to March: not a valid date
		return time.Time{}, false
	}
	return t, true
}
