package flows

import (
	"encoding/json"
	"testing"
)

func BenchmarkDecode(b *testing.B) {
	r := fakeRecord()
	line := AppendJSON(nil, &r)
	decode := func(line []byte) func(b *testing.B) {
		return func(b *testing.B) {
			d := NewDecoder()
			var out Record
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if err := d.Decode(line, &out); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("netcost", decode(line))
	// A record as this version of the agent writes it: with the instance,
	// remote_reported and remote_lb.
	agent := r
	agent.NodeInstanceID, agent.RemoteReportedRaw = "i-0abc123def4567890", BoolFalse
	agent.RemoteLB = "app/web/50dc6c495c0c9188"
	b.Run("netcost-agent-fields", decode(AppendJSON(nil, &agent)))
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			var out Record
			if err := json.Unmarshal(line, &out); err != nil {
				b.Fatal(err)
			}
			if err := out.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	r := fakeRecord()
	var buf []byte
	for b.Loop() {
		buf = AppendJSON(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeBorrow(b *testing.B) {
	r := fakeRecord()
	line := AppendJSON(nil, &r)
	d := NewDecoder()
	d.Borrow = true
	var out Record
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := d.Decode(line, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSkip is a record a query excludes by its category.
func BenchmarkDecodeSkip(b *testing.B) {
	r := fakeRecord()
	line := AppendJSON(nil, &r)
	d := NewDecoder()
	d.Borrow = true
	d.Skip = func(r *Record) bool { return r.Category != NATGateway }
	var out Record
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if err := d.Decode(line, &out); err != ErrSkipped {
			b.Fatal(err)
		}
	}
}
