package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/mototest"
)

// extent is what the notes say of the sample store when a window misses it.
const extent = "the store's 3960 records run from 2026-11-20T09:00:00Z to 2026-11-20T10:00:00Z: " +
	"try --start 2026-11-20T09:00:00Z --end 2026-11-20T10:00:00Z"

// TestEmptyAnswers: a window without records, a window in the future, an
// empty file and a category the window does not hold give an empty answer
// and exit 0, as before, but now with notes that say why and what to try,
// in top's table and JSON, recommend's text and JSON, and the report.
func TestEmptyAnswers(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "flows.jsonl")
	os.WriteFile(empty, nil, 0o644)
	src := "file:" + store
	tests := []struct {
		name string
		args []string // after the command and -s
		want []string
	}{
		{"old window", []string{src, "--start", "2026-11-01", "--end", "2026-11-02"},
			[]string{"no records between 2026-11-01T00:00:00Z and 2026-11-02T00:00:00Z; " + extent}},
		{"future window", []string{src, "--start", "2099-01-01", "--end", "2099-01-02"},
			[]string{"the window is in the future: it is ", "no records between 2099-01-01T00:00:00Z and " +
				"2099-01-02T00:00:00Z; " + extent}},
		{"empty file", []string{"file:" + empty}, []string{"file:" + empty + " holds no flow records"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var top struct {
				Rows  []json.RawMessage `json:"rows"`
				Notes []string          `json:"notes"`
			}
			args := append([]string{"top", "-c", "inter-az", "-o", "json", "-s"}, tt.args...)
			json.Unmarshal([]byte(mustRun(t, args...)), &top)
			var rec struct {
				Notes []string `json:"notes"`
			}
			json.Unmarshal([]byte(mustRun(t, append([]string{"recommend", "-o", "json", "-s"}, tt.args...)...)), &rec)
			outputs := map[string]string{
				"top -o json":       strings.Join(top.Notes, "\n"),
				"top":               mustRun(t, append([]string{"top", "-c", "inter-az", "-s"}, tt.args...)...),
				"recommend -o json": strings.Join(rec.Notes, "\n"),
				"recommend":         mustRun(t, append([]string{"recommend", "-s"}, tt.args...)...),
				"report":            mustRun(t, append([]string{"report", "--dry-run", "-s"}, tt.args...)...),
			}
			if len(top.Rows) != 0 {
				t.Errorf("top: %d rows; want none", len(top.Rows))
			}
			for what, out := range outputs {
				for _, w := range tt.want {
					if !strings.Contains(out, w) {
						t.Errorf("%s %s: output lacks %q:\n%s", what, strings.Join(tt.args, " "), w, out)
					}
				}
			}
		})
	}
	// Records in the window, none of the category.
	var top struct {
		Notes []string `json:"notes"`
	}
	json.Unmarshal([]byte(mustRun(t, "top", "-c", "inter-region", "-o", "json", "-s", src)), &top)
	if want := "none of the 3960 records is inter-region traffic"; !strings.Contains(strings.Join(top.Notes, "\n"), want) {
		t.Errorf("top -c inter-region notes %q; want %q", top.Notes, want)
	}
}

// TestEmptyAWSAnswers: an AWS source that finds nothing says which window
// it read where, and what to try.
func TestEmptyAWSAnswers(t *testing.T) {
	moto := mototest.Start(t)
	insightstest.AWSEnv(t)
	putToMoto(t, moto, "/netcost/flows", newRecentRecords(t, 1)) // records of this hour, not of the window
	var top struct {
		Notes []string `json:"notes"`
	}
	json.Unmarshal([]byte(mustRun(t, "top", "-c", "nat", "-o", "json", "-s", "cloudwatch", "--exact",
		"--endpoint-url", moto, "--region", "us-east-1", "--start", "2026-11-20", "--end", "2026-11-21")), &top)
	want := "no records in cloudwatch:/netcost/flows between 2026-11-20T00:00:00Z and 2026-11-21T00:00:00Z: " +
		"widen the window (such as --since 7d), or check that the agents publish to log group /netcost/flows"
	if !strings.Contains(strings.Join(top.Notes, "\n"), want) {
		t.Errorf("cloudwatch notes %q; want %q", top.Notes, want)
	}

	f := nfmFake(t)
	f.AddMonitor("eks-empty", "ACTIVE")
	json.Unmarshal([]byte(mustRun(t, nfmArgs(f, "--monitor", "eks-empty", "-c", "inter-az", "-o", "json")...)), &top)
	want = "no records in nfm:eks-empty between 2026-11-14T00:00:00Z and 2026-11-21T00:00:00Z: " +
		"widen the window (such as --since 7d), or check that the monitor watches the cluster's subnets"
	if !strings.Contains(strings.Join(top.Notes, "\n"), want) {
		t.Errorf("nfm notes %q; want %q", top.Notes, want)
	}
}
