package source

import (
	"errors"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/usage"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Spec{
		"file:/var/lib/netcost:flows":  {"file", "/var/lib/netcost:flows"},
		"nfm":                          {"nfm", ""},
		"nfm:eks-prod":                 {"nfm", "eks-prod"},
		"cloudwatch":                   {"cloudwatch", DefaultLogGroup},
		"cloudwatch:":                  {"cloudwatch", DefaultLogGroup},
		"cloudwatch:/eks/prod/netcost": {"cloudwatch", "/eks/prod/netcost"},
	} {
		if got, err := Parse(in); err != nil || got != want || got.String() != want.Kind+":"+want.Path {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"": "source is required: want file:PATH (a JSONL file or a directory of them), " +
			"cloudwatch[:LOGGROUP] or nfm[:MONITOR]",
		"file:": `source "file:": want a path, as in file:/var/lib/netcost/flows`,
		"http://x": `source "http://x": want file:PATH (a JSONL file or a directory of them), ` +
			`cloudwatch[:LOGGROUP] or nfm[:MONITOR]`,
		"cloudwatch:/bad group": `source "cloudwatch:/bad group": a log group name is 1 to 512 of ` +
			`A-Z a-z 0-9 _ - / . #, as in cloudwatch:/netcost/flows`,
	} {
		if _, err := Parse(in); err == nil || !errors.Is(err, usage.Err) || err.Error() != want {
			t.Errorf("Parse(%q) error = %v; want a usage error %q", in, err, want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	durations := map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute}
	for in, want := range durations {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0h", "-2h", "1.5d", "d", "+7d", "07d", "soon", ""} {
		_, err := ParseDuration(in)
		if want := `window "` + in + `": want a positive duration such as 90m, 24h or 7d`; in == "" {
			want = "window is required: want a positive duration such as 90m, 24h or 7d"
			if err == nil || err.Error() != want {
				t.Errorf("ParseDuration(%q) error = %v; want %q", in, err, want)
			}
		} else if err == nil || !errors.Is(err, usage.Err) || err.Error() != want {
			t.Errorf("ParseDuration(%q) error = %v; want a usage error %q", in, err, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-11-20":                time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"2026-11-20T10:00":          time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		"2026-11-20T11:00:00+02:00": time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseTime(in); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	want := `time "2026-13-01": want RFC 3339 (2026-11-21T10:00:00Z) or a date (2026-11-21)`
	if _, err := ParseTime("2026-13-01"); err == nil || !errors.Is(err, usage.Err) || err.Error() != want {
		t.Errorf("ParseTime(2026-13-01) error = %v; want a usage error %q", err, want)
	}
}

// TestRename: a caller names the value as its user gave it, once.
func TestRename(t *testing.T) {
	_, err := ParseDuration("abc")
	for name, want := range map[string]string{
		"--since":        `--since "abc": want a positive duration such as 90m, 24h or 7d`,
		"NETCOST_WINDOW": `NETCOST_WINDOW "abc": want a positive duration such as 90m, 24h or 7d`,
	} {
		if got := Rename(err, name); !errors.Is(got, usage.Err) || got.Error() != want {
			t.Errorf("Rename(%v, %q) = %v; want a usage error %q", err, name, got, want)
		}
	}
	if err.Error() != `window "abc": want a positive duration such as 90m, 24h or 7d` {
		t.Errorf("Rename changed its argument: %v", err)
	}
	other := errors.New("other")
	if Rename(other, "--since") != other {
		t.Error("Rename changed an error that is not a ValueError")
	}
}
