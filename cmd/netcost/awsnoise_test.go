package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSErrorComesFirst runs the built CLI, as a user's shell would, with
// no AWS credentials anywhere, so that the SDK's chain reaches instance
// metadata: netcost's own error is the first and only line on stderr,
// whatever the metadata endpoint does (answers 404, so that the SDK warns
// that it falls back to IMDSv1; refuses connections; is switched off).
// The SDK's lines are debug logs, seen with --log-level debug.
func TestAWSErrorComesFirst(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "netcost")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building netcost: %v\n%s", err, out)
	}
	imds := httptest.NewServer(http.NotFoundHandler())
	defer imds.Close()
	home := t.TempDir()
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" +
			filepath.Join(home, "credentials")}
	args := []string{"top", "-c", "inter-az", "--source", "cloudwatch", "--endpoint-url", closedURL(t)}
	const want = "netcost: CloudWatch Logs StartQuery: no AWS credentials found"
	for name, env := range map[string][]string{
		"IMDS answers 404":     {"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL},
		"IMDS unreachable":     {"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + closedURL(t)},
		"IMDS switched off":    {"AWS_EC2_METADATA_DISABLED=true"},
		"IMDS 404, debug logs": {"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL, "NETCOST_LOG_LEVEL=debug"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(bin, args...)
			cmd.Env = append(append([]string{}, base...), env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if strings.HasSuffix(name, "debug logs") {
				// The SDK's warning, as a debug log line, and netcost's error last.
				if code != 2 || !strings.Contains(stderr.String(), `level=DEBUG msg="falling back to IMDSv1`) ||
					!strings.HasPrefix(lines[len(lines)-1], want) || strings.Contains(stderr.String(), "SDK ") {
					t.Errorf("exit %d (%v), stderr:\n%s\nwant exit 2, the SDK's warning as a debug line, then %q", code, err,
						stderr.String(), want)
				}
				return
			}
			if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], want) || stdout.Len() != 0 {
				t.Errorf("exit %d (%v), stderr:\n%s\nwant exit 2 and one line %q...", code, err, stderr.String(), want)
			}
		})
	}
}
