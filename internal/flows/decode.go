package flows

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
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

// head remembers the leading fields of the last line in the agent's layout
// (schema through region, and node_instance_id if it follows), which one
// agent's records of one window share: when the next line starts with the
// same bytes, they are not parsed again.
type head struct {
	prefix  []byte  // the line up to the end of the region or node_instance_id value; empty if unusable
	next    fieldID // the field after the prefix
	schema  int
	ts      time.Time
	windowS int64
	strs    [4]struct{ off, n int } // cluster, node, region, node_instance_id in prefix; n < 0 if absent
}

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

// canonKey is a key of the agent's layout, with its quoted form `"key":`
// as three little-endian words and masks, to match it without a call.
type canonKey struct {
	quoted string
	w, m   [3]uint64
}

// canonicalKeys are the keys in the order AppendJSON writes them.
var canonicalKeys = func() (keys [numFields]canonKey) {
	for id, name := range fieldNames {
		q := `"` + name + `":`
		if len(q) > 24 {
			panic("canonical key longer than 24 bytes: " + q)
		}
		k := canonKey{quoted: q}
		var buf [24]byte
		copy(buf[:], q)
		for i := range 3 {
			k.w[i] = binary.LittleEndian.Uint64(buf[i*8:])
			for j := 0; j < 8 && i*8+j < len(q); j++ {
				k.m[i] |= 0xff << (8 * j)
			}
		}
		keys[id] = k
	}
	return keys
}()

// at reports whether b starts with the key.
func (k *canonKey) at(b []byte) bool {
	if len(b) < 24 {
		return len(b) >= len(k.quoted) && string(b[:len(k.quoted)]) == k.quoted
	}
	return binary.LittleEndian.Uint64(b)&k.m[0] == k.w[0] &&
		binary.LittleEndian.Uint64(b[8:])&k.m[1] == k.w[1] &&
		binary.LittleEndian.Uint64(b[16:])&k.m[2] == k.w[2]
}

// decodeCanonical decodes a line in exactly AppendJSON's layout, which is
// what agents write, without scanning keys: each key is matched against
// the ones that may come next. It returns false, having decided nothing,
// at the first sign of another layout; the generic path then takes over.
func (d *Decoder) decodeCanonical(line []byte, r *Record) (bool, error) {
	s := scanner{b: line}
	h := &d.head
	d.sameHead = false
	if !s.consume('{') {
		h.prefix = h.prefix[:0] // the next line's head is compared with this line's only
		return false, nil
	}
	next := fieldID(0)
	first := true
	if n := len(h.prefix); n > 0 && len(line) > n && string(line[:n]) == string(h.prefix) {
		d.sameHead = true
		r.Schema, r.TS, r.WindowS = h.schema, h.ts, h.windowS
		for i, p := range [4]*string{&r.Cluster, &r.Node, &r.Region, &r.NodeInstanceID} {
			if f := h.strs[i]; f.n >= 0 {
				*p = d.intern(line[f.off : f.off+f.n])
			}
		}
		s.i, next, first = n, h.next, false
	} else {
		h.prefix = h.prefix[:0]
		h.strs = [4]struct{ off, n int }{{0, -1}, {0, -1}, {0, -1}, {0, -1}}
	}
	plainHead := true // no escapes in the leading strings: the prefix can be reused
	for ; ; first = false {
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			s.ws()
			return s.i == len(s.b), nil
		}
		if !first && !s.consume(',') {
			return false, nil
		}
		rest := s.b[s.i:]
		k := next
		for k < numFields && !canonicalKeys[k].at(rest) {
			k++
		}
		if k == numFields {
			return false, nil
		}
		s.i += len(canonicalKeys[k].quoted)
		if s.i < len(s.b) && s.b[s.i] <= ' ' {
			return false, nil // whitespace: another writer's layout
		}
		next = k + 1
		// Plain strings, most of the line, take the short way.
		if p := r.stringField(k); p != nil && s.i < len(s.b) && s.b[s.i] == '"' {
			v, esc, err := s.str()
			if err != nil {
				return true, fieldErr(fieldNames[k], "want a string: %v", err)
			}
			if esc {
				var changed bool
				if v, changed, err = decodeText(fieldNames[k], v); err != nil {
					return true, err
				}
				plainHead = plainHead && !changed
			}
			*p = d.intern(v)
			if k <= fNodeInstanceId && plainHead {
				if k >= fCluster {
					h.strs[k-fCluster] = struct{ off, n int }{s.i - 1 - len(v), len(v)}
				}
				switch {
				case k == fRegion && r.Schema == SchemaVersion && !r.TS.IsZero():
					h.prefix = append(h.prefix[:0], line[:s.i]...)
					h.next = fRegion + 1
					h.schema, h.ts, h.windowS = r.Schema, r.TS, r.WindowS
				case k == fNodeInstanceId && len(h.prefix) > 0 && h.next == fNodeInstanceId:
					// The prefix ends at this line's region: take the instance in.
					h.prefix = append(h.prefix[:0], line[:s.i]...)
					h.next = fNodeInstanceId + 1
				}
			}
			continue
		}
		if err := d.fieldByID(&s, k, r); err != nil {
			return true, err
		}
		if k == fProtocol && d.Skip != nil && r.Schema == SchemaVersion && !r.TS.IsZero() &&
			r.WindowS > 0 && r.Category.valid() && r.Direction != 0 && r.Protocol != 0 && d.Skip(r) {
			return true, ErrSkipped
		}
	}
}

// ErrSkipped is returned by Decode when Decoder.Skip rejected the record.
var ErrSkipped = errors.New("record skipped by the caller's filter")

// fieldID numbers the record's keys in the order AppendJSON writes them.
type fieldID int

const (
	fSchema fieldID = iota
	fTs
	fWindowS
	fCluster
	fNode
	fRegion
	fNodeInstanceId
	fDirection
	fCategory
	fProtocol
	fLocalIp
	fLocalPod
	fLocalNamespace
	fLocalWorkload
	fLocalWorkloadKind
	fLocalAz
	fLocalAzId
	fLocalSubnet
	fRemoteIp
	fRemotePort
	fRemotePod
	fRemoteNamespace
	fRemoteWorkload
	fRemoteService
	fRemoteNode
	fRemoteAz
	fRemoteAzId
	fRemoteName
	fRemoteReported
	fRemoteLb
	fRemoteAwsService
	fRemoteRegion
	fVia
	fViaAzId
	fBytes
	fPackets
	numFields
)

var fieldNames = [numFields]string{
	"schema", "ts", "window_s", "cluster", "node", "region", "node_instance_id", "direction", "category",
	"protocol", "local_ip", "local_pod", "local_namespace", "local_workload", "local_workload_kind", "local_az",
	"local_az_id", "local_subnet", "remote_ip", "remote_port", "remote_pod", "remote_namespace",
	"remote_workload", "remote_service", "remote_node", "remote_az", "remote_az_id", "remote_name",
	"remote_reported", "remote_lb", "remote_aws_service", "remote_region", "via", "via_az_id", "bytes",
	"packets",
}

// keyID returns the field a key names, or -1.
func keyID(key []byte) fieldID {
	switch string(key) {
	case "schema":
		return fSchema
	case "ts":
		return fTs
	case "window_s":
		return fWindowS
	case "cluster":
		return fCluster
	case "node":
		return fNode
	case "region":
		return fRegion
	case "node_instance_id":
		return fNodeInstanceId
	case "direction":
		return fDirection
	case "category":
		return fCategory
	case "protocol":
		return fProtocol
	case "local_ip":
		return fLocalIp
	case "local_pod":
		return fLocalPod
	case "local_namespace":
		return fLocalNamespace
	case "local_workload":
		return fLocalWorkload
	case "local_workload_kind":
		return fLocalWorkloadKind
	case "local_az":
		return fLocalAz
	case "local_az_id":
		return fLocalAzId
	case "local_subnet":
		return fLocalSubnet
	case "remote_ip":
		return fRemoteIp
	case "remote_port":
		return fRemotePort
	case "remote_pod":
		return fRemotePod
	case "remote_namespace":
		return fRemoteNamespace
	case "remote_workload":
		return fRemoteWorkload
	case "remote_service":
		return fRemoteService
	case "remote_node":
		return fRemoteNode
	case "remote_az":
		return fRemoteAz
	case "remote_az_id":
		return fRemoteAzId
	case "remote_name":
		return fRemoteName
	case "remote_reported":
		return fRemoteReported
	case "remote_lb":
		return fRemoteLb
	case "remote_aws_service":
		return fRemoteAwsService
	case "remote_region":
		return fRemoteRegion
	case "via":
		return fVia
	case "via_az_id":
		return fViaAzId
	case "bytes":
		return fBytes
	case "packets":
		return fPackets
	}
	return -1
}

// stringField returns the address of the plain string field id, or nil.
func (r *Record) stringField(id fieldID) *string {
	switch id {
	case fCluster:
		return &r.Cluster
	case fNode:
		return &r.Node
	case fRegion:
		return &r.Region
	case fNodeInstanceId:
		return &r.NodeInstanceID
	case fLocalPod:
		return &r.LocalPod
	case fLocalNamespace:
		return &r.LocalNamespace
	case fLocalWorkload:
		return &r.LocalWorkload
	case fLocalWorkloadKind:
		return &r.LocalWorkloadKind
	case fLocalAz:
		return &r.LocalAZ
	case fLocalAzId:
		return &r.LocalAZID
	case fLocalSubnet:
		return &r.LocalSubnet
	case fRemotePod:
		return &r.RemotePod
	case fRemoteNamespace:
		return &r.RemoteNamespace
	case fRemoteWorkload:
		return &r.RemoteWorkload
	case fRemoteService:
		return &r.RemoteService
	case fRemoteNode:
		return &r.RemoteNode
	case fRemoteAz:
		return &r.RemoteAZ
	case fRemoteAzId:
		return &r.RemoteAZID
	case fRemoteName:
		return &r.RemoteName
	case fRemoteLb:
		return &r.RemoteLB
	case fRemoteAwsService:
		return &r.RemoteAWSService
	case fRemoteRegion:
		return &r.RemoteRegion
	case fVia:
		return &r.Via
	case fViaAzId:
		return &r.ViaAZID
	}
	return nil
}

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

// decodeText decodes a string value that str marked (it holds a
// backslash, or a byte outside printable ASCII) and rejects it if it holds
// what no name does (checkText), before and after unescaping: invalid
// UTF-8, which unescaping would hide, and escaped control characters.
// changed says that the result is not v's bytes.
func decodeText(key string, v []byte) (_ []byte, changed bool, err error) {
	if err := checkText(key, unsafe.String(unsafe.SliceData(v), len(v))); err != nil {
		return nil, false, err
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v, false, nil
	}
	if v, err = unescape(v); err != nil {
		return nil, false, fieldErr(key, "%v", err)
	}
	return v, true, checkText(key, unsafe.String(unsafe.SliceData(v), len(v)))
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

// unescape decodes a JSON string's escapes (and replaces invalid UTF-8, as
// encoding/json does); it is the rare path, so it leaves the work to
// encoding/json.
func unescape(raw []byte) ([]byte, error) {
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return nil, errEscape
	}
	return []byte(s), nil
}

// scanner walks one JSON line.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) null() bool { return s.literal("null") }

// literal consumes lit (true, false or null) if the input continues with it.
func (s *scanner) literal(lit string) bool {
	if s.i < len(s.b) && s.b[s.i] == lit[0] && bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.i += len(lit)
		return true
	}
	return false
}

// str reads a JSON string and returns its raw contents and whether it needs
// unescaping or checking (it holds a backslash or a byte outside printable
// ASCII: DEL, or a byte of a multi-byte character).
func (s *scanner) str() ([]byte, bool, error) {
	if !s.consume('"') {
		return nil, false, errNotString
	}
	start := s.i
	b := s.b
	// Look at 8 bytes at a time for a quote, a backslash or a non-ASCII byte.
	i := start
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		// v-0x20 sets the high bit of a byte below 0x20, v+1 of DEL, v of a
		// byte above: a borrow or a carry only flags bytes above one of these.
		m := hasZeroByte(v^(swarOnes*'"')) | hasZeroByte(v^(swarOnes*'\\')) | ((v-swarOnes*0x20)|(v+swarOnes)|v)&swarHigh
		if m == 0 {
			continue
		}
		j := i + bits.TrailingZeros64(m)/8
		switch c := b[j]; {
		case c == '"':
			s.i = j + 1
			return b[start:j], false, nil
		case c < 0x20:
			return nil, false, errControl
		}
		return s.strSlow(start)
	}
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return b[start:i], false, nil
		case c < 0x20:
			return nil, false, errControl
		case c == '\\' || c >= 0x7f:
			return s.strSlow(start)
		}
	}
	return nil, false, errUnterminated
}

const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// hasZeroByte sets the high bit of the lowest zero byte of v (and maybe of
// bytes above it, which callers ignore).
func hasZeroByte(v uint64) uint64 { return (v - swarOnes) &^ v & swarHigh }

func (s *scanner) strSlow(start int) ([]byte, bool, error) {
	s.i = start
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return nil, false, errUnterminated
		}
		end := s.i + j
		// Count the backslashes before the quote: an odd number escapes it.
		k := end
		for k > start && s.b[k-1] == '\\' {
			k--
		}
		s.i = end + 1
		if (end-k)%2 == 0 {
			v := s.b[start:end]
			for _, c := range v {
				if c < 0x20 {
					return nil, false, errControl
				}
			}
			return v, bytes.IndexByte(v, '\\') >= 0 || !isPlain(v), nil
		}
	}
}

// isPlain reports whether b is printable ASCII (control characters below
// 0x20 are refused before this is asked).
func isPlain(b []byte) bool {
	for _, c := range b {
		if c >= 0x7f {
			return false
		}
	}
	return true
}

type scanError string

func (e scanError) Error() string { return string(e) }

const (
	errNotString    scanError = "not a string"
	errUnterminated scanError = "unterminated string"
	errControl      scanError = "control character in a string (escape it)"
	errEscape       scanError = "invalid escape in a string"
)

// uint reads a non-negative integer.
func (s *scanner) uint(key string) (uint64, error) {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		j := s.i + 1
		for j < len(s.b) && (s.b[j] >= '0' && s.b[j] <= '9' || s.b[j] == '.') {
			j++
		}
		return 0, fieldErr(key, "negative value %s; want a non-negative integer", s.b[s.i:j])
	}
	start := s.i
	var n uint64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		d := uint64(s.b[s.i] - '0')
		if s.i-start >= 19 && n > (1<<64-1-d)/10 { // 19 digits always fit
			return 0, fieldErr(key, "number too large")
		}
		n = n*10 + d
		s.i++
	}
	if s.i == start {
		end := s.i
		for end < len(s.b) && end-start < 20 && s.b[end] != ',' && s.b[end] != '}' {
			end++
		}
		return 0, fieldErr(key, "want a non-negative integer, got %s", s.b[start:end])
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, fieldErr(key, "want an integer, got a fraction or exponent")
	}
	if s.i-start > 1 && s.b[start] == '0' {
		return 0, fieldErr(key, "leading zero in %s", s.b[start:s.i])
	}
	return n, nil
}

// skip skips any JSON value.
func (s *scanner) skip(depth int) error {
	if depth > 64 {
		return fieldErr("record", "nested too deeply")
	}
	if s.i >= len(s.b) {
		return fieldErr("record", "truncated JSON")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, err := s.str()
		if err != nil {
			return fieldErr("record", "%v", err)
		}
		return nil
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		s.i++
		s.ws()
		if s.consume(closer) {
			return nil
		}
		for {
			s.ws()
			if c == '{' {
				if _, _, err := s.str(); err != nil {
					return fieldErr("record", "bad key: %v", err)
				}
				s.ws()
				if !s.consume(':') {
					return fieldErr("record", "want ':' at byte %d", s.i+1)
				}
				s.ws()
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.consume(',') {
				continue
			}
			if s.consume(closer) {
				return nil
			}
			return fieldErr("record", "want ',' or '%c' at byte %d", closer, s.i+1)
		}
	default:
		start := s.i
		for s.i < len(s.b) {
			c := s.b[s.i]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				break
			}
			s.i++
		}
		lit := s.b[start:s.i]
		switch string(lit) {
		case "true", "false", "null":
			return nil
		}
		if !validNumber(lit) {
			return fieldErr("record", "invalid JSON value %q", lit)
		}
		return nil
	}
}

// validNumber reports whether b is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}
