// Package awscfg is the one place the CLI and the Lambda turn --region,
// --profile and --endpoint-url into an AWS SDK configuration, and turn the
// SDK's errors into one line a user can act on.
//
// Load goes through the SDK's default chain (environment, shared config and
// credentials files, SSO, web identity, container and instance roles); the
// flags only override what they name. An endpoint URL applies to every
// client built with NewFromConfig from the returned config (aws.Config's
// BaseEndpoint); the SDK's AWS_ENDPOINT_URL_<SERVICE> variables still pick
// one service's endpoint.
package awscfg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/netcost/netcost/internal/usage"
)

// regionName is the shape of AWS region names: us-east-1, ap-southeast-4,
// us-gov-west-1, eu-isoe-west-1.
var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// Options are the shared AWS flags. Empty fields leave the SDK's default
// chain to decide.
type Options struct {
	Region      string // --region, AWS_REGION
	Profile     string // --profile, AWS_PROFILE
	EndpointURL string // --endpoint-url, AWS_ENDPOINT_URL: a local emulator
}

// Validate checks the options without touching the network or the files,
// so that a bad flag fails before any work starts.
func (o Options) Validate() error {
	if err := CheckRegion("--region", o.Region); err != nil {
		return err
	}
	return CheckEndpointURL("--endpoint-url", o.EndpointURL)
}

// CheckRegion returns a usage error naming flag (as the user gave it) when
// region is set but not shaped like an AWS region name. A well-formed name
// AWS does not have yet passes: new regions appear.
func CheckRegion(flag, region string) error {
	if region != "" && !regionName.MatchString(region) {
		return usage.Errorf("%s %q is not a region name: want one like us-east-1 or eu-central-2", flag, region)
	}
	return nil
}

// CheckEndpointURL returns a usage error naming flag when endpoint is set
// but not an http(s)://HOST[:PORT] URL.
func CheckEndpointURL(flag, endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usage.Errorf("%s %q is not a URL: want http(s)://HOST[:PORT], as in http://127.0.0.1:5000", flag, endpoint)
	}
	return nil
}

// Load returns the SDK configuration for o over the default chain. It
// fails with a usage error when no region is known or the profile does not
// exist. Credentials are resolved lazily, at the first call.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	if err := o.Validate(); err != nil {
		return aws.Config{}, err
	}
	var lo []func(*config.LoadOptions) error
	if o.Region != "" {
		lo = append(lo, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		lo = append(lo, config.WithSharedConfigProfile(o.Profile))
	}
	if o.EndpointURL != "" {
		lo = append(lo, config.WithBaseEndpoint(o.EndpointURL))
	}
	lo = append(lo, config.WithLogger(sdkLogger{}))
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		var pe config.SharedConfigProfileNotExistError
		if errors.As(err, &pe) {
			return aws.Config{}, usage.Errorf("AWS profile %q is not in the shared config files (~/.aws/config, ~/.aws/credentials): check --profile or AWS_PROFILE", pe.Profile)
		}
		return aws.Config{}, usage.Errorf("loading the AWS configuration: %v (check AWS_* variables and ~/.aws/config)", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, usage.Errorf("no AWS region: set --region or AWS_REGION")
	}
	if !regionName.MatchString(cfg.Region) {
		return aws.Config{}, usage.Errorf("AWS region %q (from the environment or ~/.aws/config) is not a region name: want one like us-east-1", cfg.Region)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = ownBodyClient{cfg.HTTPClient}
	return cfg, nil
}

// sdkLogger sends the SDK's own log lines to slog's default logger at
// debug level. Left to itself the SDK prints them to stderr ("SDK ... WARN
// falling back to IMDSv1: ..." when there is no instance metadata), where
// they came before netcost's one-line error, which already says what to
// do; --log-level debug (the Lambda's log level) still shows them.
type sdkLogger struct{}

func (sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	slog.Debug(fmt.Sprintf(format, v...), "component", "aws-sdk", "sdk_level", string(c))
}

// ownBodyClient hands the HTTP transport its own copy of each request
// body. The SDK closes the body it built as soon as the response headers
// arrive; when that beats the transport's write loop to the body's end,
// the transport closes the connection under the response being read
// ("use of closed network connection": a failed call, then a retry after
// a backoff). It happened to 1 in 10 GetQueryResults answers of a few MB
// on loopback. The requests here are small JSON documents.
type ownBodyClient struct{ c aws.HTTPClient }

func (o ownBodyClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return o.c.Do(r)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return o.c.Do(r)
}

// Overridden reports whether cfg talks to an endpoint given with
// --endpoint-url (or AWS_ENDPOINT_URL) rather than AWS's own: clients use it
// to pick protocols a local emulator speaks.
func Overridden(cfg aws.Config) bool { return cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" }
