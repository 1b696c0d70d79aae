package flows

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/netcost/netcost/internal/safetext"
)

// TestDecodeRejectsControlText: a name holding a control or bidi character
// or invalid UTF-8, raw or escaped, is a bad record with one clean error,
// in the agents' layout (the fast path) and in any other.
func TestDecodeRejectsControlText(t *testing.T) {
	base := string(AppendJSON(nil, ptr(fakeRecord())))
	tests := []struct {
		name, from, to, want string
	}{
		{"escaped ESC", `"graphql-7d9f8b6c5-x2x9q"`, `"web\u001b]0;pwned\u0007\u001b[31m"`,
			`local_pod: "web\x1b]0;pwned\a\x1b[31m" holds a control character (U+001B), which no name does`},
		{"escaped CR LF", `"graphql"`, `"graphql\r\nshop/forged"`,
			`local_workload: "graphql\r\nshop/forged" holds a control character (U+000D)`},
		{"escaped NUL", `"Deployment"`, `"Deploy\u0000ment"`,
			`local_workload_kind: "Deploy\x00ment" holds a control character (U+0000)`},
		{"escaped TAB", `"products"`, `"prod\tucts"`, `remote_workload: "prod\tucts" holds a control character (U+0009)`},
		{"raw DEL", `"us-east-1a"`, "\"us-east-1a\x7f\"", `local_az: "us-east-1a\x7f" holds a control character (U+007F)`},
		{"raw C1", `"subnet-0a1"`, "\"subnet-\u009b0a1\"",
			`local_subnet: "subnet-\u009b0a1" holds a control character (U+009B)`},
		{"raw RLO", `"ip-10-0-2-20.ec2.internal"`, "\"ip-\u202e.internal\"",
			`remote_node: "ip-\u202e.internal" holds a bidi control or line separator (U+202E)`},
		{"escaped RLO", `"ip-10-0-1-10.ec2.internal"`, `"ip-\u202e.internal"`,
			`node: "ip-\u202e.internal" holds a bidi control or line separator (U+202E)`},
		{"escaped LS", `"use1-az2"`, `"use1\u2028az2"`,
			`remote_az_id: "use1\u2028az2" holds a bidi control or line separator (U+2028)`},
		{"invalid UTF-8", `"shop"`, "\"sh\xffop\"", `cluster: "sh\xffop" holds invalid UTF-8 (byte 0xff)`},
		{"invalid UTF-8 and an escape", `"shop"`, "\"sh\xff\\u00e9\"",
			`cluster: "sh\xff\\u00e9" holds invalid UTF-8 (byte 0xff)`},
		{"remote name", `"bytes"`, `"remote_name":"evil\u001b[31m.example","bytes"`,
			`remote_name: "evil\x1b[31m.example" holds a control character`},
		{"via", `"bytes"`, `"via":"nat-\u202e1","bytes"`, `via: "nat-\u202e1" holds a bidi control`},
		{"IPv6 zone", `"10.0.1.15"`, `"fe80::1%eth0\u001b[31m"`,
			`local_ip: "fe80::1%eth0\x1b[31m" holds a control character`},
		{"long value", `"shop"`, `"` + strings.Repeat("x", 100) + `\u001b"`,
			`cluster: "` + strings.Repeat("x", 80) + `…" holds a control character (U+001B)`},
	}
	for _, tt := range tests {
		line := strings.Replace(base, tt.from, tt.to, 1)
		if line == base {
			t.Fatalf("%s: %s is not in the record", tt.name, tt.from)
		}
		for layout, l := range map[string]string{"agent": line, "other": " " + strings.ReplaceAll(line, `":`, `": `)} {
			t.Run(tt.name+"/"+layout, func(t *testing.T) {
				var r Record
				err := NewDecoder().Decode([]byte(l), &r)
				if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.Is(err, ErrBadRecord) {
					t.Fatalf("Decode(%q) error = %v; want one starting %q", l, err, tt.want)
				}
				if safetext.Index(err.Error()) >= 0 {
					t.Errorf("the error quotes the value raw: %q", err)
				}
			})
		}
	}
}

// TestValidateRejectsControlText: Validate, which checks records that come
// from elsewhere than the decoder (CloudWatch Logs Insights), refuses the
// same in every text field.
func TestValidateRejectsControlText(t *testing.T) {
	for _, bad := range []string{"a\x1bb", "a\nb", "a\x00", "\x7f", "\u0085", "\u202e", "\u2066x", "\u061c", "a\xffb"} {
		for id := fieldID(0); id < numFields; id++ {
			r := fakeRecord()
			p := r.stringField(id)
			if p == nil {
				continue
			}
			*p = bad
			if id == fViaAzId {
				r.Via = "nat-1"
			}
			var fe *FieldError
			if err := r.Validate(); !errors.As(err, &fe) || fe.Field != fieldNames[id] {
				t.Errorf("Validate with %s = %q: %v; want a %s error", fieldNames[id], bad, err, fieldNames[id])
			}
		}
		r := fakeRecord()
		r.RemoteIP = "fe80::1%" + bad
		if err := r.Validate(); err == nil || !strings.HasPrefix(err.Error(), "remote_ip: ") {
			t.Errorf("Validate with remote_ip zone %q: %v", bad, err)
		}
	}
	// Letters and symbols of any script are fine.
	r := fakeRecord()
	r.LocalPod, r.RemoteWorkload = "café-東京", "bücher"
	if err := r.Validate(); err != nil {
		t.Errorf("Validate(non-ASCII names) = %v", err)
	}
	var std Record
	if err := json.Unmarshal(AppendJSON(nil, &r), &std); err != nil || std.Validate() != nil {
		t.Errorf("round trip of non-ASCII names: %v, %v", err, std.Validate())
	}
}
