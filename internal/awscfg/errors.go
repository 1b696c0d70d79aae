package awscfg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/netcost/netcost/internal/usage"
)

// Error is an AWS API error explained in one line. The SDK's error, with
// its request id, stays in the chain for errors.As and for debug logs.
type Error struct {
	Msg   string
	Usage bool // the user fixes it (exit 2)
	Err   error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the SDK's error, and usage.Err when the user fixes it.
func (e *Error) Unwrap() []error {
	if e.Usage {
		return []error{e.Err, usage.Err}
	}
	return []error{e.Err}
}

func explained(isUsage bool, err error, format string, a ...any) error {
	return &Error{Msg: fmt.Sprintf(format, a...), Usage: isUsage, Err: err}
}

// Explain turns an error from an AWS API call into one line that says what
// went wrong and how to fix it (an *Error).
// what names the thing the call was about, such as `log group
// "/netcost/flows"`; it may be empty. Missing resources and missing or
// rejected credentials are usage errors (exit 2); denied permissions,
// throttling and unreachable endpoints are not. Cancellation passes
// through unchanged.
func Explain(err error, what string) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	op := "AWS"
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		op = oe.ServiceID + " " + oe.OperationName
	}
	about, on, paren := "", "", ""
	if what != "" {
		about, on, paren = " "+what, " on "+what, " ("+what+")"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg := ae.ErrorCode(), strings.TrimSpace(ae.ErrorMessage())
		if msg == "" {
			msg = code
		}
		switch {
		case code == "ResourceNotFoundException" || strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "NotFoundException"):
			return explained(true, err, "%s:%s not found: %s (check the name and --region)", op, about, msg)
		case strings.HasPrefix(code, "AccessDenied") || code == "UnauthorizedOperation" || code == "UnauthorizedException" || code == "Forbidden":
			return explained(false, err, "%s: access denied%s: %s (grant the caller's IAM role %s, or use another --profile)", op, on, msg, iamAction(oe))
		case code == "UnrecognizedClientException" || code == "InvalidClientTokenId" || code == "InvalidSignatureException" ||
			code == "SignatureDoesNotMatch" || code == "ExpiredToken" || code == "ExpiredTokenException":
			return explained(true, err, "%s: the AWS credentials were rejected (%s: %s): refresh them or pick others with --profile or AWS_PROFILE", op, code, msg)
		case isThrottle(code):
			return explained(false, err, "%s: throttled by AWS (%s: %s): retry later, or ask for a smaller window", op, code, msg)
		}
		return explained(false, err, "%s%s: %s: %s", op, paren, code, msg)
	}
	if s := err.Error(); strings.Contains(s, "retrieve credentials") || strings.Contains(s, "get identity") {
		return explained(true, err, "%s: no AWS credentials found: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", op)
	}
	var ne net.Error
	var oerr *net.OpError
	if errors.As(err, &oerr) || errors.As(err, &ne) {
		return explained(false, err, "%s: cannot reach the endpoint: %v (check --endpoint-url, the network and --region)", op, innermost(err))
	}
	return fmt.Errorf("%s%s: %w", op, paren, err)
}

func isThrottle(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
		"RequestLimitExceeded", "LimitExceededException", "ServiceQuotaExceededException", "RequestThrottled":
		return true
	}
	return false
}

// iamAction names the IAM action a denied call needs, as in
// logs:StartQuery.
func iamAction(oe *smithy.OperationError) string {
	if oe == nil {
		return "the permission"
	}
	prefix := map[string]string{"CloudWatch Logs": "logs", "CloudWatch": "cloudwatch", "EC2": "ec2",
		"NetworkFlowMonitor": "networkflowmonitor", "Secrets Manager": "secretsmanager", "STS": "sts", "SSM": "ssm"}[oe.ServiceID]
	if prefix == "" {
		return oe.OperationName
	}
	return prefix + ":" + oe.OperationName
}

// innermost is the last error of a chain of single wraps: for a network
// failure, the bit that says what happened ("connection refused").
func innermost(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
