package names

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// sniHello builds a minimal ClientHello around one server_name extension holding name as is (crypto/tls
// refuses to send names that are not host names), with the extensions before and after it.
func sniHello(name string, before, after []byte) []byte {
	ext := append([]byte(nil), before...)
	entry := append([]byte{0}, binary.BigEndian.AppendUint16(nil, uint16(len(name)))...)
	entry = append(entry, name...)
	list := append(binary.BigEndian.AppendUint16(nil, uint16(len(entry))), entry...)
	ext = binary.BigEndian.AppendUint16(ext, 0)
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(list)))
	ext = append(ext, list...)
	ext = append(ext, after...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                // session_id
	body = append(body, 0, 2, 0x13, 0x01) // one cipher suite
	body = append(body, 1, 0)             // null compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	hs := append([]byte{1, 0}, binary.BigEndian.AppendUint16(nil, uint16(len(body)))...)
	hs = append(hs, body...)
	rec := append([]byte{22, 3, 1}, binary.BigEndian.AppendUint16(nil, uint16(len(hs)))...)
	return append(rec, hs...)
}

func TestParseClientHello(t *testing.T) {
	labels := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "."
	name255, name253 := labels+strings.Repeat("d", 63), labels+strings.Repeat("d", 61)
	real := clientHello(t, "API.Stripe.com")
	padding := append([]byte{0, 21}, binary.BigEndian.AppendUint16(nil, 600)...)
	padding = append(padding, make([]byte, 600)...)
	nameFirst, nameLast := sniHello("early.example.com", nil, padding), sniHello("late.example.com", padding, nil)
	tests := []struct {
		name  string
		hello []byte
		want  string
	}{
		{"crypto/tls", real, "api.stripe.com"},
		{"cut after the name: still found", real[:bytes.Index(real, []byte("API.Stripe.com"))+len("API.Stripe.com")],
			"api.stripe.com"},
		{"cut inside the name", real[:bytes.Index(real, []byte("API.Stripe.com"))+5], ""},
		{"split over segments, the name in the first", nameFirst[:300], "early.example.com"},
		{"split over segments, the name in the second", nameLast[:300], ""},
		{"the name after padding", nameLast, "late.example.com"},
		{"255-byte name", sniHello(name255, nil, nil), ""},
		{"253-character name", sniHello(name253, nil, nil), name253},
		{"terminal escape", sniHello("evil\x1b]0;owned\x07.example.com", nil, nil), ""},
		{"an address", sniHello("192.0.2.1", nil, nil), ""},
		{"empty name", sniHello("", nil, nil), ""},
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"), ""},
		{"record header only", real[:5], ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseClientHello(tt.hello)
			if got != tt.want {
				t.Errorf("parseClientHello = %q (%v); want %q", got, err, tt.want)
			}
			if (err == nil) != (tt.want != "") {
				t.Errorf("parseClientHello error = %v with name %q", err, got)
			}
		})
	}
}
