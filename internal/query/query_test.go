package query

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/usage"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestParseWindow(t *testing.T) {
	tests := []struct {
		since, start, end string
		want              Window
	}{
		{"", "", "", Window{}},
		{"24h", "", "", Window{now.Add(-24 * time.Hour), now}},
		{"7d", "", "", Window{now.Add(-7 * 24 * time.Hour), now}},
		{"90m", "", "", Window{now.Add(-90 * time.Minute), now}},
		{"", "2026-11-20", "", Window{time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), now}},
		{"", "2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", Window{time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}},
		{"", "2026-11-20T11:00:00+02:00", "2026-11-20T10:00", Window{time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}},
		{"", "", "2026-11-21", Window{End: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		got, err := ParseWindow(now, tt.since, tt.start, tt.end)
		if err != nil || !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) {
			t.Errorf("ParseWindow(%q, %q, %q) = %v, %v; want %v", tt.since, tt.start, tt.end, got, err, tt.want)
		}
	}
	for _, bad := range [][3]string{{"0h", "", ""}, {"-2h", "", ""}, {"1.5d", "", ""}, {"d", "", ""}, {"soon", "", ""},
		{"1h", "2026-11-20", ""}, {"", "2026-11-21", "2026-11-21"}, {"", "2026-13-01", ""}, {"", "", "tomorrow"}} {
		if _, err := ParseWindow(now, bad[0], bad[1], bad[2]); err == nil || !errors.Is(err, usage.Err) {
			t.Errorf("ParseWindow(%q) error = %v; want a usage error", bad, err)
		}
	}
}

func TestParseSource(t *testing.T) {
	if s, err := ParseSource("file:/var/lib/netcost:flows"); err != nil || s.Path != "/var/lib/netcost:flows" || s.String() != "file:/var/lib/netcost:flows" {
		t.Errorf("ParseSource = %+v, %v", s, err)
	}
	for in, want := range map[string]string{"nfm": "nfm:", "nfm:eks-prod": "nfm:eks-prod"} {
		if s, err := ParseSource(in); err != nil || s.String() != want {
			t.Errorf("ParseSource(%q) = %v, %v; want %s", in, s, err, want)
		}
	}
	for in, want := range map[string]string{"": "--source is required", "file:": "needs a path",
		"http://x": `unknown source "http://x"`} {
		if _, err := ParseSource(in); err == nil || !errors.Is(err, usage.Err) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSource(%q) error = %v; want a usage error containing %q", in, err, want)
		}
	}
}
