package sink

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/netcost/netcost/internal/flows"
)

// An EMF line is the schema-1 record, then the window_id and seq that let
// a replay find which of a window's events CloudWatch already has, then
// the `_aws` metadata from which CloudWatch extracts one metric, `bytes`,
// by [cluster, category] and by [cluster, category, local_namespace].
// Nothing with many values (pods, addresses, nodes) is a dimension: each
// distinct set of dimension values is a metric billed by the month.
// A dimension whose field is empty is left out of its set (an EMF
// dimension must name a field that is present), and a record without a
// local_namespace (host traffic) goes into [cluster, category] only, so
// the per-namespace series add up to the bytes of pods, the other to all.

// DefaultNamespace is the CloudWatch metrics namespace of the EMF lines.
const DefaultNamespace = "netcost"

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9._/#:-]{1,255}$`)

// emf encodes records as EMF lines.
type emf struct {
	aws [2][2]string // the `_aws` object up to its timestamp, by [cluster set][local_namespace set]
}

func newEMF(namespace string) (emf, error) {
	if !namespaceRE.MatchString(namespace) || namespace[0] == ':' {
		return emf{}, fmt.Errorf("metrics namespace %q: want 1 to 255 of: letters, digits, . - _ / # or a colon (not first)", namespace)
	}
	var m emf
	for c, cl := range []string{"", `"cluster",`} {
		for n := range 2 {
			dims := `[` + cl + `"category"]`
			if n == 1 {
				dims += `,[` + cl + `"category","local_namespace"]`
			}
			m.aws[c][n] = `,"_aws":{"CloudWatchMetrics":[{"Namespace":"` + namespace + `","Dimensions":[` + dims +
				`],"Metrics":[{"Name":"bytes","Unit":"Bytes"}]}],"Timestamp":`
		}
	}
	return m, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// append appends r's EMF line, without a newline.
func (m emf) append(b []byte, r *flows.Record, windowID string, seq int) []byte {
	b = flows.AppendJSON(b, r)
	b = b[:len(b)-1] // reopen the object
	b = append(b, `,"window_id":"`...)
	b = append(b, windowID...)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, m.aws[b2i(r.Cluster != "")][b2i(r.LocalNamespace != "")]...)
	b = strconv.AppendInt(b, r.TS.UnixMilli(), 10)
	return append(b, "}}"...)
}
