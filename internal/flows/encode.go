package flows

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends r as one JSON object, without a newline, in the field
// order of DESIGN.md, omitting empty fields. It is what agents write and what
// encoding/json would produce, only faster.
func AppendJSON(b []byte, r *Record) []byte {
	b = append(b, `{"schema":`...)
	b = strconv.AppendInt(b, int64(r.Schema), 10)
	b = append(b, `,"ts":"`...)
	if r.TS.Nanosecond() == 0 {
		b = r.TS.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	} else {
		b = r.TS.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, `","window_s":`...)
	b = strconv.AppendInt(b, r.WindowS, 10)
	b = appendStr(b, "cluster", r.Cluster)
	b = appendStr(b, "node", r.Node)
	b = appendStr(b, "region", r.Region)
	b = appendStr(b, "node_instance_id", r.NodeInstanceID)
	b = appendStr(b, "direction", r.Direction.String())
	b = appendStr(b, "category", r.Category.String())
	b = appendStr(b, "protocol", r.Protocol.String())
	b = appendStr(b, "local_ip", r.LocalIP)
	b = appendStr(b, "local_pod", r.LocalPod)
	b = appendStr(b, "local_namespace", r.LocalNamespace)
	b = appendStr(b, "local_workload", r.LocalWorkload)
	b = appendStr(b, "local_workload_kind", r.LocalWorkloadKind)
	b = appendStr(b, "local_az", r.LocalAZ)
	b = appendStr(b, "local_az_id", r.LocalAZID)
	b = appendStr(b, "local_subnet", r.LocalSubnet)
	b = appendStr(b, "remote_ip", r.RemoteIP)
	if r.RemotePort != 0 {
		b = append(b, `,"remote_port":`...)
		b = strconv.AppendUint(b, uint64(r.RemotePort), 10)
	}
	b = appendStr(b, "remote_pod", r.RemotePod)
	b = appendStr(b, "remote_namespace", r.RemoteNamespace)
	b = appendStr(b, "remote_workload", r.RemoteWorkload)
	b = appendStr(b, "remote_service", r.RemoteService)
	b = appendStr(b, "remote_node", r.RemoteNode)
	b = appendStr(b, "remote_az", r.RemoteAZ)
	b = appendStr(b, "remote_az_id", r.RemoteAZID)
	b = appendStr(b, "remote_name", r.RemoteName)
	b = appendStr(b, "remote_name_source", r.RemoteNameSource)
	switch r.RemoteReportedRaw {
	case BoolFalse:
		b = append(b, `,"remote_reported":false`...)
	case BoolTrue:
		b = append(b, `,"remote_reported":true`...)
	}
	b = appendStr(b, "remote_lb", r.RemoteLB)
	b = appendStr(b, "remote_aws_service", r.RemoteAWSService)
	b = appendStr(b, "remote_region", r.RemoteRegion)
	b = appendStr(b, "via", r.Via)
	b = appendStr(b, "via_az_id", r.ViaAZID)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendUint(b, r.Bytes, 10)
	b = append(b, `,"packets":`...)
	b = strconv.AppendUint(b, r.Packets, 10)
	return append(b, '}')
}

func appendStr(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendQuoted(b, v)
}

const hexDigits = "0123456789abcdef"

// appendQuoted writes v as a JSON string, escaping what JSON requires.
func appendQuoted(b []byte, v string) []byte {
	b = append(b, '"')
	for i := 0; i < len(v); {
		c := v[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, v[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
