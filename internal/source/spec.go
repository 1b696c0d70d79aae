package source

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/netcost/netcost/internal/usage"
)

// Spec names a source as --source does: its kind ("file", "cloudwatch" or
// "nfm") and what of that kind: the file or directory, the log group, the
// monitor ("" for the region's one ACTIVE monitor).
type Spec struct {
	Kind string
	Path string
}

func (s Spec) String() string { return s.Kind + ":" + s.Path }

// DefaultLogGroup is where the agents publish their records.
const DefaultLogGroup = "/netcost/flows"

var logGroupName = regexp.MustCompile(`^[A-Za-z0-9_\-/.#]{1,512}$`)

// Parse parses file:PATH, cloudwatch[:LOGGROUP], nfm or nfm:MONITOR.
func Parse(s string) (Spec, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch kind {
	case "file":
		if rest == "" {
			return Spec{}, &ValueError{Name: "source", Value: s, Msg: "want a path, as in file:/var/lib/netcost/flows"}
		}
		return Spec{Kind: "file", Path: rest}, nil
	case "nfm":
		return Spec{Kind: "nfm", Path: rest}, nil
	case "cloudwatch":
		if rest == "" {
			rest = DefaultLogGroup
		}
		if !logGroupName.MatchString(rest) {
			return Spec{}, &ValueError{Name: "source", Value: s, Msg: "a log group name is 1 to 512 of A-Z a-z 0-9 _ - / . #, " +
				"as in cloudwatch:" + DefaultLogGroup}
		}
		return Spec{Kind: "cloudwatch", Path: rest}, nil
	}
	return Spec{}, &ValueError{Name: "source", Value: s,
		Msg: "want file:PATH (a JSONL file or a directory of them), cloudwatch[:LOGGROUP] or nfm[:MONITOR]"}
}

// A ValueError is a value that names no source or window, as the user gave
// it. Name says what the value is for ("source", "window", "time"); a
// caller that took the value from a flag or an environment variable puts
// that name instead (Rename). It is a usage error.
type ValueError struct {
	Name  string
	Value string
	Msg   string // what is wrong, and what would do
}

func (e *ValueError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s is required: %s", e.Name, e.Msg)
	}
	return fmt.Sprintf("%s %q: %s", e.Name, e.Value, e.Msg)
}

// Unwrap makes every ValueError a usage error.
func (e *ValueError) Unwrap() error { return usage.Err }

// Rename returns err with the name of its ValueError replaced by name,
// such as "--since" or "NETCOST_WINDOW"; other errors as they are.
func Rename(err error, name string) error {
	var ve *ValueError
	if !errors.As(err, &ve) {
		return err
	}
	named := *ve
	named.Name = name
	return &named
}
