package flows

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"
	"unsafe"

	"github.com/netcost/netcost/internal/safetext"
)

// FieldError says what is wrong with one field of a record.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrBadRecord is matched by errors.Is for every decoding or validation error.
var ErrBadRecord = errors.New("bad flow record")

func (e *FieldError) Is(target error) bool { return target == ErrBadRecord }

// MaxBytes bounds one record's byte count: a PiB, more than 100 Gbit/s for
// a day. It keeps sums of millions of records far from overflowing.
const MaxBytes = 1 << 50

// Validate checks a record against schema 1: the version, the window, the
// enumerations, the addresses, the counts, node_instance_id, remote_name
// (a DNS name) and its source, remote_lb, and that no text field holds a
// control or bidi character or invalid UTF-8 (checkText). It does not
// check the form of other names.
func (r *Record) Validate() error {
	if err := r.validateNoIPs(); err != nil {
		return err
	}
	if err := r.validateText(); err != nil {
		return err
	}
	if _, err := netip.ParseAddr(r.LocalIP); err != nil {
		return fieldErr("local_ip", "%q is not an IP address", r.LocalIP)
	}
	if r.RemoteIP != OtherIP {
		if _, err := netip.ParseAddr(r.RemoteIP); err != nil {
			return fieldErr("remote_ip", "%q is not an IP address or %q", r.RemoteIP, OtherIP)
		}
	}
	return nil
}

// validateNoIPs is Validate without parsing the addresses or checking the
// text, for the decoder, which has done both as it read them.
func (r *Record) validateNoIPs() error {
	if r.Schema != SchemaVersion {
		if r.Schema == 0 {
			return fieldErr("schema", "missing; want 1")
		}
		return fieldErr("schema", "unsupported version %d; this netcost reads version 1", r.Schema)
	}
	if r.TS.IsZero() {
		return fieldErr("ts", "missing; want the window start in RFC 3339 UTC")
	}
	if r.WindowS <= 0 {
		return fieldErr("window_s", "must be a positive number of seconds, got %d", r.WindowS)
	}
	if r.Region == "" {
		return fieldErr("region", "missing; want the AWS region, such as us-east-1")
	}
	if r.Direction != Egress && r.Direction != Ingress {
		return fieldErr("direction", "missing or invalid; want egress or ingress")
	}
	if !r.Category.valid() {
		return fieldErr("category", "missing or invalid; want one of INTRA_AZ, INTER_AZ, INTER_VPC, INTER_REGION, "+
			"AMAZON_S3, AMAZON_DYNAMODB, NAT_GATEWAY, INTERNET, UNCLASSIFIED")
	}
	if r.Protocol != TCP && r.Protocol != UDP {
		return fieldErr("protocol", "missing or invalid; want tcp or udp")
	}
	if r.LocalIP == "" {
		return fieldErr("local_ip", "missing")
	}
	if r.RemoteIP == "" {
		return fieldErr("remote_ip", "missing")
	}
	if r.Bytes > MaxBytes {
		return fieldErr("bytes", "%d is more than a record can hold (%d, a PiB): the count is corrupt",
			r.Bytes, uint64(MaxBytes))
	}
	if r.Packets > r.Bytes {
		return fieldErr("packets", "%d packets cannot carry only %d bytes", r.Packets, r.Bytes)
	}
	if r.ViaAZID != "" && r.Via == "" {
		return fieldErr("via_az_id", "set without via")
	}
	if r.NodeInstanceID != "" && !ValidInstanceID(r.NodeInstanceID) {
		return fieldErr("node_instance_id", "%q is not an EC2 instance ID (i- and 8 or 17 hex digits)", r.NodeInstanceID)
	}
	if r.RemoteReportedRaw > BoolTrue {
		return fieldErr("remote_reported", "invalid value %d; want true or false", uint8(r.RemoteReportedRaw))
	}
	if r.RemoteName != "" && !ValidName(r.RemoteName) {
		return fieldErr("remote_name", "%q is not a DNS name (labels of letters, digits, - and _, at most 253 characters)",
			r.RemoteName)
	}
	if r.RemoteNameSource != "" {
		if !ValidNameSource(r.RemoteNameSource) {
			return fieldErr("remote_name_source", "%q is invalid; want dns, sni, cert or rdns", r.RemoteNameSource)
		}
		if r.RemoteName == "" {
			return fieldErr("remote_name_source", "set without remote_name")
		}
	}
	if r.RemoteLB != "" && !ValidLB(r.RemoteLB) {
		return fieldErr("remote_lb", "%q is not a load balancer: want app/NAME/ID, net/NAME/ID, gwy/NAME/ID or classic/NAME",
			r.RemoteLB)
	}
	return nil
}

// validateText runs checkText on every text field, the addresses included
// (an IPv6 zone is free text).
func (r *Record) validateText() error {
	for id := fieldID(0); id < numFields; id++ {
		if p := r.stringField(id); p != nil {
			if err := checkText(fieldNames[id], *p); err != nil {
				return err
			}
		}
	}
	if err := checkText("local_ip", r.LocalIP); err != nil {
		return err
	}
	return checkText("remote_ip", r.RemoteIP)
}

// checkText rejects a value holding a control character (TAB, CR and LF
// included), a bidi control, a line or paragraph separator, or invalid
// UTF-8: no name a record carries (Kubernetes, AWS, DNS) holds one, and
// shown on a terminal they could steer it. The error quotes the value
// escaped.
func checkText(field, v string) error {
	i := safetext.Index(v)
	if i < 0 {
		return nil
	}
	var what string
	switch r, n := utf8.DecodeRuneInString(v[i:]); {
	case r == utf8.RuneError && n == 1:
		what = fmt.Sprintf("invalid UTF-8 (byte %#02x)", v[i])
	case r < 0x20 || r >= 0x7f && r <= 0x9f:
		what = fmt.Sprintf("a control character (%U)", r)
	default:
		what = fmt.Sprintf("a bidi control or line separator (%U)", r)
	}
	quoted := v
	if len(quoted) > maxQuoted {
		quoted = quoted[:maxQuoted] + "…"
	}
	return fieldErr(field, "%q holds %s, which no name does: the record is corrupt or forged", quoted, what)
}

// maxQuoted is how many bytes of a bad value an error quotes.
const maxQuoted = 80

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
