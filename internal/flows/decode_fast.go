package flows

import (
	"encoding/binary"
	"time"
)

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
