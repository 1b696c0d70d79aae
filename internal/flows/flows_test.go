package flows

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeRecord returns a valid inter-AZ record; mutate it to taste.
func fakeRecord() Record {
	return Record{
		Schema: 1, TS: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), WindowS: 60,
		Cluster: "shop", Node: "ip-10-0-1-10.ec2.internal", Region: "us-east-1",
		Direction: Egress, Category: InterAZ, Protocol: TCP,
		LocalIP: "10.0.1.15", LocalPod: "graphql-7d9f8b6c5-x2x9q", LocalNamespace: "shop",
		LocalWorkload: "graphql", LocalWorkloadKind: "Deployment", LocalAZ: "us-east-1a", LocalAZID: "use1-az1",
		LocalSubnet: "subnet-0a1", RemoteIP: "10.0.2.33", RemotePort: 8080, RemotePod: "products-5f7c9-abcde",
		RemoteNamespace: "shop", RemoteWorkload: "products", RemoteService: "products",
		RemoteNode: "ip-10-0-2-20.ec2.internal", RemoteAZ: "us-east-1b", RemoteAZID: "use1-az2",
		Bytes: 123456789, Packets: 90000,
	}
}

func TestParseCategory(t *testing.T) {
	tests := []struct {
		in   string
		want Category
	}{
		{"inter-az", InterAZ}, {"INTER_AZ", InterAZ}, {"Inter-AZ", InterAZ}, {"inter_az", InterAZ},
		{"s3", AmazonS3}, {"AMAZON_S3", AmazonS3}, {"dynamodb", AmazonDynamoDB}, {"nat", NATGateway},
		{"NAT_GATEWAY", NATGateway}, {"internet", Internet}, {"unclassified", Unclassified},
		{"intra-az", IntraAZ}, {"inter-vpc", InterVPC}, {"inter-region", InterRegion},
	}
	for _, tt := range tests {
		got, err := ParseCategory(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseCategory(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "interaz", "egress", "s4"} {
		if _, err := ParseCategory(bad); err == nil || !strings.Contains(err.Error(), "inter-az") {
			t.Errorf("ParseCategory(%q) error = %v; want one listing the categories", bad, err)
		}
	}
	for _, c := range Categories {
		if got, _ := ParseCategory(c.CLIName()); got != c {
			t.Errorf("ParseCategory(%q) = %v; want %v", c.CLIName(), got, c)
		}
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	full := fakeRecord()
	full.RemoteName, full.RemoteAWSService, full.RemoteRegion = "sqs.us-east-1.amazonaws.com", "AMAZON", "us-east-1"
	full.RemoteNameSource = NameFromSNI
	full.Via, full.ViaAZID = "nat-0b2", "use1-az2"
	full.NodeInstanceID, full.RemoteReportedRaw, full.RemoteLB = "i-0abc123def4567890", BoolTrue, "app/web/50dc6c49"
	unreported := fakeRecord()
	unreported.NodeInstanceID, unreported.RemoteReportedRaw = "i-0abc1234", BoolFalse
	unreported.RemoteLB = "classic/legacy-lb"
	minimal := Record{Schema: 1, TS: full.TS, WindowS: 60, Region: "eu-west-1", Direction: Ingress,
		Category: Unclassified, Protocol: UDP, LocalIP: "fd00::1", RemoteIP: OtherIP}
	odd := fakeRecord()
	odd.LocalPod = "we\"ird\\pod\u00e9"
	odd.TS = time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	// AppendJSON escapes control characters as encoding/json does, but no
	// name holds one: the decoder refuses the record.
	controls := fakeRecord()
	controls.LocalPod = "pod\n\u2028\x1b\x7f"
	for name, rec := range map[string]Record{"full": full, "unreported": unreported, "minimal": minimal, "escapes": odd,
		"controls": controls} {
		t.Run(name, func(t *testing.T) {
			line := AppendJSON(nil, &rec)
			var got Record
			err := NewDecoder().Decode(line, &got)
			switch {
			case name == "controls":
				if err == nil || !strings.Contains(err.Error(), "local_pod: ") {
					t.Errorf("Decode(%s) error = %v; want one refusing local_pod", line, err)
				}
			case err != nil:
				t.Fatalf("Decode(%s) error: %v", line, err)
			case !reflect.DeepEqual(got, rec):
				t.Errorf("Decode(AppendJSON(r)) = %+v; want %+v", got, rec)
			}
			var std Record
			if err := json.Unmarshal(line, &std); err != nil {
				t.Fatalf("encoding/json cannot read AppendJSON output %s: %v", line, err)
			}
			if !reflect.DeepEqual(std, rec) {
				t.Errorf("json.Unmarshal(AppendJSON(r)) = %+v; want %+v", std, rec)
			}
			want, _ := json.Marshal(&rec)
			var a, b map[string]any
			_ = json.Unmarshal(want, &a)
			_ = json.Unmarshal(line, &b)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("AppendJSON = %s; encoding/json = %s", line, want)
			}
		})
	}
}

func TestDecodeAcceptsForeignLayout(t *testing.T) {
	// Another writer's key order, whitespace, nulls, EMF metadata, unknown keys.
	line := `  { "_aws": {"Timestamp": 1,
	"CloudWatchMetrics": [{"Namespace": "netcost", "Dimensions": [["cluster"]], "Metrics": [{"Name": "bytes"}]}]},
	"bytes": 10, "packets": 1, "remote_ip": "52.94.0.1", "local_ip": "10.0.1.5", "protocol": "udp",
	"category": "NAT_GATEWAY", "direction": "egress", "region": "us-east-1", "window_s": 60,
	"ts": "2026-11-21T10:00:00.000+00:00", "schema": 1, "remote_pod": null, "future_field": [1, "x", {"y": true}],
	"via": "nat-\u0030b2" }  `
	var r Record
	if err := NewDecoder().Decode([]byte(line), &r); err != nil {
		t.Fatalf("Decode error: %v", err)
	}
	if r.Via != "nat-0b2" || r.Bytes != 10 || r.Protocol != UDP ||
		!r.TS.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("Decode = %+v", r)
	}
}

func TestDecodeErrors(t *testing.T) {
	base := string(AppendJSON(nil, ptr(fakeRecord())))
	tests := []struct {
		name, line, want string
	}{
		{"negative bytes", strings.Replace(base, `"bytes":123456789`, `"bytes":-5`, 1), "bytes: negative value -5"},
		{"fractional bytes", strings.Replace(base, `"bytes":123456789`, `"bytes":1.5`, 1), "bytes: want an integer"},
		{"string bytes", strings.Replace(base, `"bytes":123456789`, `"bytes":"12"`, 1), "bytes: want a non-negative integer"},
		{"huge bytes", strings.Replace(base, `"bytes":123456789`, `"bytes":99999999999999999999999`, 1),
			"bytes: number too large"},
		{"bad local ip", strings.Replace(base, `"10.0.1.15"`, `"10.0.1.300"`, 1),
			`local_ip: "10.0.1.300" is not an IP address`},
		{"bad remote ip", strings.Replace(base, `"10.0.2.33"`, `"products"`, 1),
			`remote_ip: "products" is not an IP address`},
		{"unknown category", strings.Replace(base, `"INTER_AZ"`, `"inter-az"`, 1), `category: unknown category "inter-az"`},
		{"bad direction", strings.Replace(base, `"egress"`, `"out"`, 1), `direction: "out" is not egress or ingress`},
		{"bad protocol", strings.Replace(base, `"tcp"`, `"icmp"`, 1), `protocol: "icmp" is not tcp or udp`},
		{"schema 2", strings.Replace(base, `"schema":1`, `"schema":2`, 1), "schema: unsupported version 2"},
		{"no schema", strings.Replace(base, `"schema":1,`, ``, 1), "schema: missing"},
		{"bad ts", strings.Replace(base, `2026-11-21T10:00:00Z`, `yesterday`, 1), `ts: "yesterday" is not an RFC 3339 time`},
		{"feb 30", strings.Replace(base, `2026-11-21T10:00:00Z`, `2026-02-30T10:00:00Z`, 1), `ts: "2026-02-30T10:00:00Z"`},
		{"zero window", strings.Replace(base, `"window_s":60`, `"window_s":0`, 1), "window_s: must be a positive"},
		{"port too big", strings.Replace(base, `"remote_port":8080`, `"remote_port":70000`, 1),
			"remote_port: 70000 is not a port"},
		{"truncated", base[:len(base)/2], "unterminated string"},
		{"trailing garbage", base + `x`, "unexpected data after the object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"not json", `hello`, "not a JSON object"},
		{"missing remote", strings.Replace(base, `"remote_ip":"10.0.2.33",`, ``, 1), "remote_ip: missing"},
		{"packets above bytes", strings.Replace(base, `"packets":90000`, `"packets":999999999`, 1),
			"packets: 999999999 packets"},
		{"via az without via", strings.Replace(base, `"bytes"`, `"via_az_id":"use1-az2","bytes"`, 1),
			"via_az_id: set without via"},
		{"no region", strings.Replace(base, `"region":"us-east-1",`, ``, 1), "region: missing"},
		{"bad escape", strings.Replace(base, `"shop"`, `"sh\xop"`, 1), "invalid escape"},
		{"control character", strings.Replace(base, `"shop"`, "\"sh\top\"", 1), "control character"},
		{"NaN in unknown field", strings.Replace(base, `"bytes"`, `"x":NaN,"bytes"`, 1), "invalid JSON value"},
		{"leading zero in unknown field", strings.Replace(base, `"bytes"`, `"x":01,"bytes"`, 1), "invalid JSON value"},
		{"short instance id", strings.Replace(base, `"direction"`, `"node_instance_id":"i-0e2e","direction"`, 1),
			`node_instance_id: "i-0e2e" is not an EC2 instance ID`},
		{"upper-case instance id", strings.Replace(base, `"direction"`, `"node_instance_id":"i-0ABC1234","direction"`, 1),
			"node_instance_id"},
		{"instance id as a number", strings.Replace(base, `"direction"`, `"node_instance_id":12,"direction"`, 1),
			"node_instance_id: want a string"},
		{"reported as a string", strings.Replace(base, `"bytes"`, `"remote_reported":"true","bytes"`, 1),
			"remote_reported: want true or false"},
		{"reported as a number", strings.Replace(base, `"bytes"`, `"remote_reported":1,"bytes"`, 1),
			"remote_reported: want true or false"},
		{"reported misspelt", strings.Replace(base, `"bytes"`, `"remote_reported":tru,"bytes"`, 1),
			"remote_reported: want true or false"},
		{"reported run on", strings.Replace(base, `"bytes"`, `"remote_reported":truex,"bytes"`, 1), "want ',' or '}'"},
		{"lb without kind", strings.Replace(base, `"bytes"`, `"remote_lb":"web/50dc6c495c0c9188","bytes"`, 1),
			`remote_lb: "web/50dc6c495c0c9188" is not a load balancer`},
		{"lb with the ELB prefix", strings.Replace(base, `"bytes"`, `"remote_lb":"ELB app/web/50dc","bytes"`, 1),
			"remote_lb"},
		{"lb without id", strings.Replace(base, `"bytes"`, `"remote_lb":"net/tcp","bytes"`, 1), "remote_lb"},
		{"name with a space", strings.Replace(base, `"bytes"`, `"remote_name":"api stripe.com","bytes"`, 1),
			`remote_name: "api stripe.com" is not a DNS name`},
		{"name label too long", strings.Replace(base, `"bytes"`, `"remote_name":"`+strings.Repeat("a", 64)+`.com","bytes"`, 1),
			"remote_name"},
		{"name source unknown", strings.Replace(base, `"bytes"`,
			`"remote_name":"api.stripe.com","remote_name_source":"guess","bytes"`, 1),
			`remote_name_source: "guess" is invalid`},
		{"name source without name", strings.Replace(base, `"bytes"`, `"remote_name_source":"dns","bytes"`, 1),
			"remote_name_source: set without remote_name"},
		{"classic lb with id", strings.Replace(base, `"bytes"`, `"remote_lb":"classic/web/50dc","bytes"`, 1), "remote_lb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			err := NewDecoder().Decode([]byte(tt.line), &r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode(%s) error = %v; want one containing %q", tt.line, err, tt.want)
			}
			if !errors.Is(err, ErrBadRecord) {
				t.Errorf("errors.Is(%v, ErrBadRecord) = false", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzDecode checks the fast decoder against encoding/json plus Validate:
// whatever one accepts, the other accepts with the same result, and nothing panics.
func FuzzDecode(f *testing.F) {
	f.Add(string(AppendJSON(nil, ptr(fakeRecord()))))
	f.Add(`{"schema":1,"ts":"2026-11-21T10:00:00Z","window_s":60,"region":"r","direction":"egress",` +
		`"category":"INTER_AZ","protocol":"tcp","local_ip":"::1","remote_ip":"other","bytes":1,"packets":1}`)
	f.Add(`{"a":[{"b":"\"}"}],"schema":1}`)
	agent := fakeRecord()
	agent.NodeInstanceID, agent.RemoteReportedRaw = "i-0abc123def4567890", BoolFalse
	agent.RemoteLB = "net/tcp-in/fe67e401c04c39d7"
	line := string(AppendJSON(nil, &agent))
	f.Add(line)
	f.Add(strings.Replace(line, `"remote_reported":false`, `"remote_reported":null`, 1))
	f.Add(strings.Replace(line, `"remote_reported":false`, `"remote_reported":true,"remote_reported":null`, 1))
	f.Add(`{"schema":1,"ts":"2026-11-21T10:00:00Z","window_s":60,"region":"r","direction":"egress",` +
		`"category":"INTER_AZ","protocol":"tcp","local_ip":"::1","remote_ip":"other","remote_reported":false,` +
		`"remote_lb":"classic/x","node_instance_id":"i-01234567","bytes":1,"packets":1}`)
	f.Fuzz(func(t *testing.T, line string) {
		var fast Record
		ferr := NewDecoder().Decode([]byte(line), &fast)
		if ferr != nil {
			return
		}
		if err := fast.Validate(); err != nil {
			t.Fatalf("Decode accepted %q but Validate says %v", line, err)
		}
		var std Record
		if err := json.Unmarshal([]byte(line), &std); err != nil {
			t.Fatalf("Decode accepted %q, which encoding/json rejects: %v", line, err)
		}
		if hasCaseVariantKey(line) {
			return // encoding/json matches keys case-insensitively; the schema does not
		}
		if !fast.TS.Equal(std.TS) {
			t.Fatalf("ts: fast %v, std %v for %q", fast.TS, std.TS, line)
		}
		fast.TS, std.TS = time.Time{}, time.Time{}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("Decode(%q) = %+v; encoding/json = %+v", line, fast, std)
		}
	})
}

// FuzzDecodeSequence checks that what a Decoder remembers from one line (the
// intern tables, the last time, the shared leading fields) never changes how
// it decodes the next: decoding b after a equals decoding b afresh.
func FuzzDecodeSequence(f *testing.F) {
	r := fakeRecord()
	a := string(AppendJSON(nil, &r))
	r.Node, r.Bytes, r.Category = "ip-10-0-9-9", 7, IntraAZ
	f.Add(a, string(AppendJSON(nil, &r)))
	r.Node = "ip-10-0-1-10.ec2.internal"
	f.Add(a, string(AppendJSON(nil, &r)))
	f.Add(a, strings.Replace(a, `"region":"us-east-1"`, `"region":"us-east-1x"`, 1))
	f.Add(a, strings.Replace(a, `"region":"us-east-1",`, `"region":"us-east-1"}`, 1))
	f.Add(a, strings.Replace(a, `"bytes":123456789`, `"bytes":-1`, 1))
	// The head may end at node_instance_id: the same, another, or none.
	withID := strings.Replace(a, `"direction"`, `"node_instance_id":"i-0abc123def4567890","direction"`, 1)
	f.Add(withID, withID)
	f.Add(withID, strings.Replace(withID, "i-0abc123def4567890", "i-0abc123def4567891", 1))
	f.Add(withID, a)
	f.Add(a, withID)
	f.Add(withID, strings.Replace(withID, `"i-0abc123def4567890"`, `"i-0abc123def456789"`, 1))
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, borrow := range []bool{false, true} {
			d := NewDecoder()
			d.Borrow = borrow
			var ra, rb, fresh Record
			_ = d.Decode([]byte(a), &ra)
			errB := d.Decode([]byte(b), &rb)
			f := NewDecoder()
			f.Borrow = borrow
			errF := f.Decode([]byte(b), &fresh)
			if (errB == nil) != (errF == nil) || errB != nil && errB.Error() != errF.Error() {
				t.Fatalf("borrow=%v: after %q, Decode(%q) error = %v; afresh %v", borrow, a, b, errB, errF)
			}
			if errB == nil && !reflect.DeepEqual(rb, fresh) {
				t.Fatalf("borrow=%v: after %q, Decode(%q) = %+v; afresh %+v", borrow, a, b, rb, fresh)
			}
		}
	})
}

func TestDecodeSpacesAfterColons(t *testing.T) {
	// Python's json.dumps writes ", " and ": ": the same record either way.
	r := fakeRecord()
	line := string(AppendJSON(nil, &r))
	spaced := strings.NewReplacer(`":`, `": `, `,"`, `, "`).Replace(line)
	var got Record
	if err := NewDecoder().Decode([]byte(spaced), &got); err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("Decode(%s) = %+v, %v; want %+v", spaced, got, err, r)
	}
}

// hasCaseVariantKey reports whether line has a key that equals a field name
// only when case is ignored.
func hasCaseVariantKey(line string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(line), &m) != nil {
		return false
	}
	for k := range m {
		for _, f := range fieldNames {
			if k != f && strings.EqualFold(k, f) {
				return true
			}
		}
	}
	return false
}

// TestRemoteReported: the field when present, else the rule older agents'
// readers applied: a record that names a remote pod or node is reported.
func TestRemoteReported(t *testing.T) {
	for _, tt := range []struct {
		name      string
		raw       OptBool
		pod, node string
		want      bool
	}{
		{"older agent, pod", BoolUnset, "products-1", "", true},
		{"older agent, node", BoolUnset, "", "ip-10-0-2-20", true},
		{"older agent, neither", BoolUnset, "", "", false},
		{"fargate pod", BoolFalse, "products-1", "fargate-ip-10-0-2-9", false},
		{"reported pod", BoolTrue, "products-1", "ip-10-0-2-20", true},
		{"load balancer", BoolFalse, "", "", false},
		{"reported without names", BoolTrue, "", "", true},
	} {
		r := fakeRecord()
		r.RemoteReportedRaw, r.RemotePod, r.RemoteNode = tt.raw, tt.pod, tt.node
		if got := r.RemoteReported(); got != tt.want {
			t.Errorf("%s: RemoteReported() = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestValidLB(t *testing.T) {
	for _, tt := range []struct {
		lb   string
		ok   bool
		kind LBKind
	}{
		{"app/web/50dc6c495c0c9188", true, LBApplication},
		{"net/tcp-in/fe67e401c04c39d7", true, LBNetwork},
		{"gwy/inspect/0123456789abcdef", true, LBGateway},
		{"classic/legacy-web", true, LBClassic},
		{"classic/legacy/x", false, ""},
		{"app/web", false, ""},
		{"app//50dc6c495c0c9188", false, ""},
		{"app/web/", false, ""},
		{"app/web/50DC6C495C0C9188", false, ""},
		{"app/we_b/50dc6c495c0c9188", false, ""},
		{"app/" + strings.Repeat("a", 33) + "/50dc", false, ""},
		{"app/web/" + strings.Repeat("a", 33), false, ""},
		{"alb/web/50dc6c495c0c9188", false, ""},
		{"", false, ""},
	} {
		if got := ValidLB(tt.lb); got != tt.ok {
			t.Errorf("ValidLB(%q) = %v; want %v", tt.lb, got, tt.ok)
		}
		r := Record{RemoteLB: tt.lb}
		if got := r.RemoteLBKind(); tt.ok && got != tt.kind {
			t.Errorf("RemoteLBKind(%q) = %q; want %q", tt.lb, got, tt.kind)
		}
	}
	for id, ok := range map[string]bool{"i-0abc123def4567890": true, "i-0abc1234": true, "i-0abc123": false,
		"i-0abc123def456789": false,
		"i-0abc123g":         false, "0abc1234": false, "i-0ABC1234": false, "": false} {
		if got := ValidInstanceID(id); got != ok {
			t.Errorf("ValidInstanceID(%q) = %v; want %v", id, got, ok)
		}
	}
}

// TestOptBoolJSON: encoding/json reads and writes OptBool as the decoder
// and AppendJSON do: absent and null leave it unset.
func TestOptBoolJSON(t *testing.T) {
	type T struct {
		B OptBool `json:"b,omitempty"`
	}
	for in, want := range map[string]OptBool{`{}`: BoolUnset, `{"b":null}`: BoolUnset, `{"b":false}`: BoolFalse,
		`{"b":true}`: BoolTrue} {
		var v T
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.B != want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, v.B, err, want)
		}
		out, _ := json.Marshal(v)
		if back := strings.Replace(in, `{"b":null}`, `{}`, 1); string(out) != back {
			t.Errorf("Marshal(%v) = %s; want %s", v.B, out, back)
		}
	}
	var v T
	if err := json.Unmarshal([]byte(`{"b":"true"}`), &v); err == nil {
		t.Errorf(`Unmarshal({"b":"true"}) accepted a string`)
	}
}

// TestDecodeHeadTakesInstance: an agent's lines share their leading fields
// through node_instance_id, which the decoder then skips on the next line.
func TestDecodeHeadTakesInstance(t *testing.T) {
	r := fakeRecord()
	r.NodeInstanceID = "i-0abc123def4567890"
	line := AppendJSON(nil, &r)
	d := NewDecoder()
	for i := range 3 {
		var got Record
		if err := d.Decode(line, &got); err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("line %d: Decode = %+v, %v; want %+v", i, got, err, r)
		}
		end := `"node_instance_id":"i-0abc123def4567890"`
		if !bytes.HasSuffix(d.head.prefix, []byte(end)) || d.head.next != fNodeInstanceId+1 {
			t.Fatalf("line %d: the head %q (next %s) does not end at the instance", i, d.head.prefix, fieldNames[d.head.next])
		}
	}
	bad := r
	bad.RemoteReportedRaw = 3
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "remote_reported") {
		t.Errorf("Validate(remote_reported 3) = %v; want a remote_reported error", err)
	}
}
