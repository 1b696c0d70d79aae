package awscfg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/netcost/netcost/internal/usage"
)

// isolate clears the AWS environment so the default chain sees only what
// the test gives it, and never a real account or instance role.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir
}

func TestLoadErrors(t *testing.T) {
	isolate(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no region", Options{}, "no AWS region: set --region or AWS_REGION"},
		{"missing profile", Options{Region: "us-east-1", Profile: "nope"}, `AWS profile "nope" is not in the shared config files`},
		{"bad endpoint", Options{Region: "us-east-1", EndpointURL: "localhost:5000"}, `--endpoint-url "localhost:5000" is not a URL`},
		{"endpoint without host", Options{Region: "us-east-1", EndpointURL: "http://"}, "is not a URL"},
		{"malformed region", Options{Region: "bad region!"}, `--region "bad region!" is not a region name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(ctx, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, usage.Err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Load(%+v) = %v, want one usage line containing %q", tc.o, err, tc.want)
			}
		})
	}
}

// TestCheckRegion: every shape of region AWS has passes, and so does a
// well-formed name it does not have yet; anything else is one usage line
// naming the flag as given.
func TestCheckRegion(t *testing.T) {
	for _, r := range []string{"", "us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "cn-north-1", "il-central-1",
		"eu-isoe-west-1", "us-isob-east-1", "xy-newplace-9"} {
		if err := CheckRegion("-region", r); err != nil {
			t.Errorf("CheckRegion(%q) = %v; want nil", r, err)
		}
	}
	for _, r := range []string{"mars-1", "hello", "US-EAST-1", "us-east", "us-east-1a", "us east 1", "u-east-1"} {
		err := CheckRegion("-region", r)
		if want := fmt.Sprintf("-region %q is not a region name", r); err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, usage.Err) {
			t.Errorf("CheckRegion(%q) = %v; want a usage error starting %q", r, err, want)
		}
	}
}

func TestLoadChain(t *testing.T) {
	dir := isolate(t)
	ctx := context.Background()
	// The flags win over the environment, the environment over the files.
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := Load(ctx, Options{})
	if err != nil || cfg.Region != "eu-west-1" || Overridden(cfg) {
		t.Fatalf("env region: %v %q overridden=%v", err, cfg.Region, Overridden(cfg))
	}
	cfg, err = Load(ctx, Options{Region: "us-west-2", EndpointURL: "http://127.0.0.1:5000"})
	if err != nil || cfg.Region != "us-west-2" || !Overridden(cfg) || *cfg.BaseEndpoint != "http://127.0.0.1:5000" {
		t.Fatalf("flags: %v %q %v", err, cfg.Region, cfg.BaseEndpoint)
	}
	os.Unsetenv("AWS_REGION")
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[profile team]\nregion = ap-south-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte("[team]\naws_access_key_id = AKIDTEAM\naws_secret_access_key = s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(ctx, Options{Profile: "team"})
	if err != nil || cfg.Region != "ap-south-1" {
		t.Fatalf("profile: %v %q", err, cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || creds.AccessKeyID != "AKIDTEAM" {
		t.Fatalf("profile credentials: %v %q", err, creds.AccessKeyID)
	}
}

// TestExplain drives a real CloudWatch Logs client against a local server
// answering with the API's error shapes, and checks each error becomes one
// line with the right exit class.
func TestExplain(t *testing.T) {
	isolate(t)
	var code string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(400)
		w.Write([]byte(`{"__type":"` + code + `","message":"msg for ` + code + `"}`))
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	call := func(endpoint string, creds bool) error {
		if creds {
			t.Setenv("AWS_ACCESS_KEY_ID", "test")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		} else {
			os.Unsetenv("AWS_ACCESS_KEY_ID")
			os.Unsetenv("AWS_SECRET_ACCESS_KEY")
		}
		cfg, err := Load(context.Background(), Options{Region: "us-east-1", EndpointURL: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		c := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.RetryMaxAttempts = 1 })
		_, err = c.StartQuery(context.Background(), &cloudwatchlogs.StartQueryInput{LogGroupName: aws.String("/netcost/flows"),
			QueryString: aws.String("fields bytes"), StartTime: aws.Int64(0), EndTime: aws.Int64(1)})
		return Explain(err, `log group "/netcost/flows"`)
	}
	for _, tc := range []struct {
		code  string
		usage bool
		want  string
	}{
		{"ResourceNotFoundException", true, `CloudWatch Logs StartQuery: log group "/netcost/flows" not found: msg for ResourceNotFoundException (check the name and --region)`},
		{"AccessDeniedException", false, "access denied on log group \"/netcost/flows\": msg for AccessDeniedException (grant the caller's IAM role logs:StartQuery"},
		{"ThrottlingException", false, "throttled by AWS (ThrottlingException"},
		{"LimitExceededException", false, "throttled by AWS (LimitExceededException"},
		{"UnrecognizedClientException", true, "the AWS credentials were rejected"},
		{"MalformedQueryException", false, `CloudWatch Logs StartQuery (log group "/netcost/flows"): MalformedQueryException: msg for MalformedQueryException`},
	} {
		code = tc.code
		err := call(srv.URL, true)
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, usage.Err) != tc.usage || strings.Contains(err.Error(), "RequestID") {
			t.Errorf("%s: got %v (usage %v), want %q (usage %v)", tc.code, err, errors.Is(err, usage.Err), tc.want, tc.usage)
		}
		var e *Error
		if !errors.As(err, &e) || e.Err == nil {
			t.Errorf("%s: the SDK error is not kept in the chain: %#v", tc.code, err)
		}
	}
	if err := call(closed, true); err == nil || !strings.Contains(err.Error(), "cannot reach the endpoint: connection refused") || errors.Is(err, usage.Err) {
		t.Errorf("closed port: %v", err)
	}
	if err := call(srv.URL, false); err == nil || !strings.Contains(err.Error(), "no AWS credentials found") || !errors.Is(err, usage.Err) {
		t.Errorf("no credentials: %v", err)
	}
	if err := Explain(context.Canceled, "x"); err != context.Canceled {
		t.Errorf("cancellation must pass through, got %v", err)
	}
}

// TestLargeAnswers: answers of a few MB read back to back on one
// connection never fail (the SDK's early close of the request body used
// to make the transport drop the connection under the answer).
func TestLargeAnswers(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	row := `[{"field":"region","value":"us-east-1"},{"field":"sum_bytes","value":"5"},{"field":"records","value":"1"}],`
	body := []byte(`{"status":"Complete","results":[` + strings.Repeat(row, 30000) + row[:len(row)-1] + `]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write(body)
	}))
	defer srv.Close()
	cfg, err := Load(context.Background(), Options{Region: "us-east-1", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.RetryMaxAttempts = 1 })
	for i := range 40 {
		out, err := c.GetQueryResults(context.Background(), &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String("q")})
		if err != nil || len(out.Results) != 30001 {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// TestSDKLogs: the SDK's own lines (here its warning that instance metadata
// refused a token, as a machine without IMDSv2 does) go to slog at debug
// level, not to stderr, where they came before netcost's error line.
func TestSDKLogs(t *testing.T) {
	isolate(t)
	os.Unsetenv("AWS_EC2_METADATA_DISABLED")
	imds := httptest.NewServer(http.NotFoundHandler())
	defer imds.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)

	var logs strings.Builder
	def := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(def)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w // the SDK's default logger writes to the os.Stderr of Load's time
	cfg, err := Load(t.Context(), Options{Region: "us-east-1"})
	if err == nil {
		_, err = cfg.Credentials.Retrieve(t.Context())
	}
	os.Stderr = stderr
	w.Close()
	printed, _ := io.ReadAll(r)
	if err == nil {
		t.Fatal("credentials from an instance metadata server that answers 404")
	}
	if len(printed) != 0 {
		t.Errorf("the SDK printed to stderr:\n%s", printed)
	}
	if !strings.Contains(logs.String(), `level=DEBUG msg="falling back to IMDSv1:`) || !strings.Contains(logs.String(), "component=aws-sdk sdk_level=WARN") {
		t.Errorf("slog has %q; want the SDK's warning at debug level", logs.String())
	}
}
