package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	nfm "github.com/aws/aws-sdk-go-v2/service/networkflowmonitor"
	nfmtypes "github.com/aws/aws-sdk-go-v2/service/networkflowmonitor/types"
	"github.com/aws/smithy-go"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/usage"
)

// nfmAPI is what the nfm source calls of Network Flow Monitor: the
// monitor list and the monitor top-contributors query.
type nfmAPI interface {
	nfm.ListMonitorsAPIClient
	GetMonitor(context.Context, *nfm.GetMonitorInput, ...func(*nfm.Options)) (*nfm.GetMonitorOutput, error)
	StartQueryMonitorTopContributors(context.Context, *nfm.StartQueryMonitorTopContributorsInput,
		...func(*nfm.Options)) (*nfm.StartQueryMonitorTopContributorsOutput, error)
	GetQueryStatusMonitorTopContributors(context.Context, *nfm.GetQueryStatusMonitorTopContributorsInput,
		...func(*nfm.Options)) (*nfm.GetQueryStatusMonitorTopContributorsOutput, error)
	nfm.GetQueryResultsMonitorTopContributorsAPIClient
	StopQueryMonitorTopContributors(context.Context, *nfm.StopQueryMonitorTopContributorsInput,
		...func(*nfm.Options)) (*nfm.StopQueryMonitorTopContributorsOutput, error)
}

// NFMDefaultWindow is the window of an nfm query given no --since or
// --start: Network Flow Monitor needs both ends of its window.
const NFMDefaultWindow = 24 * time.Hour

// nfmLimit is how many top contributors a query asks for per destination
// category: the most the API gives.
const nfmLimit = 500

// NFM notes, shown with every answer from the source.
const (
	NFMTopOnlyNote = "nfm: Network Flow Monitor keeps top contributors only " +
		"(at most 500 flows per destination category and window): " +
		"totals are the sum of those flows, a lower bound of the bill"
	NFMNATNote = "nfm: Network Flow Monitor has no NAT category: " +
		"the nat view is every flow whose traversed constructs include a NAT gateway " +
		"(mostly UNCLASSIFIED ones, which hold the internet-bound traffic); " +
		"its bytes are counted as sent, an upper bound of internet egress"
)

// nfmCategories are the destination categories the API knows, each the
// flows category of the same name.
var nfmCategories = []nfmtypes.DestinationCategory{
	nfmtypes.DestinationCategoryIntraAz, nfmtypes.DestinationCategoryInterAz, nfmtypes.DestinationCategoryInterVpc,
	nfmtypes.DestinationCategoryInterRegion, nfmtypes.DestinationCategoryAmazonS3,
	nfmtypes.DestinationCategoryAmazonDynamodb, nfmtypes.DestinationCategoryUnclassified,
}

// nfmReader answers views from one monitor's top contributors.
type nfmReader struct {
	api     nfmAPI
	region  string // of the client: rows without a localRegion are priced here
	monitor string // "" until picked
	logger  *slog.Logger
	lenient bool  // skip rows that are not valid records instead of stopping
	skipped int64 // rows skipped
	// Status polling: the first wait, doubled up to pollMax, and the most
	// a query may take.
	pollFirst, pollMax, pollTimeout time.Duration
}

func newNFMReader(api nfmAPI, region, monitor string, logger *slog.Logger) *nfmReader {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &nfmReader{api: api, region: region, monitor: monitor, logger: logger,
		pollFirst: 100 * time.Millisecond, pollMax: 5 * time.Second, pollTimeout: 10 * time.Minute}
}

// pickMonitor checks the monitor asked for, or finds the one ACTIVE
// monitor of the region when none was.
func (n *nfmReader) pickMonitor(ctx context.Context) error {
	if n.monitor != "" {
		out, err := n.api.GetMonitor(ctx, &nfm.GetMonitorInput{MonitorName: aws.String(n.monitor)})
		if err != nil {
			return nfmError(err, fmt.Sprintf("monitor %q", n.monitor))
		}
		if out.MonitorStatus != nfmtypes.MonitorStatusActive {
			n.logger.Warn("the Network Flow Monitor monitor is not ACTIVE: its data may be partial",
				"monitor", n.monitor, "status", out.MonitorStatus)
		}
		return nil
	}
	var active, others []string
	p := nfm.NewListMonitorsPaginator(n.api, &nfm.ListMonitorsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nfmError(err, "")
		}
		for _, m := range out.Monitors {
			if m.MonitorStatus == nfmtypes.MonitorStatusActive {
				active = append(active, aws.ToString(m.MonitorName))
			} else {
				others = append(others, fmt.Sprintf("%s (%s)", aws.ToString(m.MonitorName), m.MonitorStatus))
			}
		}
	}
	switch {
	case len(active) == 1:
		n.monitor = active[0]
		return nil
	case len(active) > 1:
		slices.Sort(active)
		return usage.Errorf("--source nfm: %d active Network Flow Monitor monitors in %s (%s): pick one with --monitor NAME",
			len(active), n.region, strings.Join(active, ", "))
	case len(others) > 0:
		return usage.Errorf("--source nfm: no ACTIVE Network Flow Monitor monitor in %s (%s): "+
			"pass --monitor NAME, or activate one", n.region, strings.Join(others, ", "))
	}
	return usage.Errorf("--source nfm: no Network Flow Monitor monitor in %s: "+
		"create one for the cluster's VPC (or check --region)", n.region)
}

// categoriesFor lists the destination categories whose rows the view
// may select: mayMatch is asked about a row of each category, as records
// it could not exclude whatever their other fields.
func categoriesFor(mayMatch func(*flows.Record) bool) []nfmtypes.DestinationCategory {
	var out []nfmtypes.DestinationCategory
	for _, c := range nfmCategories {
		cat, err := flows.ParseCategory(string(c))
		if err != nil {
			continue
		}
		if mayMatch == nil || mayMatch(&flows.Record{Category: cat}) {
			out = append(out, c)
		}
	}
	return out
}

// topContributors runs one query to its end and returns its rows. It
// stops the query when it gives up on it, cancelled or failed.
func (n *nfmReader) topContributors(ctx context.Context, cat nfmtypes.DestinationCategory,
	w Window) (rows []nfmtypes.MonitorTopContributorsRow, err error) {
	start, err := n.api.StartQueryMonitorTopContributors(ctx, &nfm.StartQueryMonitorTopContributorsInput{
		MonitorName: aws.String(n.monitor), StartTime: aws.Time(w.Start), EndTime: aws.Time(w.End),
		MetricName: nfmtypes.MonitorMetricDataTransferred, DestinationCategory: cat, Limit: aws.Int32(nfmLimit),
	})
	if err != nil {
		return nil, nfmError(err, fmt.Sprintf("monitor %q", n.monitor))
	}
	id := aws.ToString(start.QueryId)
	log := n.logger.With("monitor", n.monitor, "category", cat, "query_id", id)
	done := false
	defer func() {
		if done {
			return
		}
		// Free the query slot: queries count against a quota until they end.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, serr := n.api.StopQueryMonitorTopContributors(sctx, &nfm.StopQueryMonitorTopContributorsInput{
			MonitorName: aws.String(n.monitor), QueryId: aws.String(id)}); serr != nil {
			log.Warn("stopping the Network Flow Monitor query", "error", serr)
		}
	}()
	deadline := time.Now().Add(n.pollTimeout)
	for wait := n.pollFirst; ; wait = min(2*wait, n.pollMax) {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		st, err := n.api.GetQueryStatusMonitorTopContributors(ctx, &nfm.GetQueryStatusMonitorTopContributorsInput{
			MonitorName: aws.String(n.monitor), QueryId: aws.String(id)})
		if err != nil {
			return nil, nfmError(err, fmt.Sprintf("monitor %q", n.monitor))
		}
		log.Debug("Network Flow Monitor query status", "status", st.Status)
		if st.Status == nfmtypes.QueryStatusSucceeded {
			break
		}
		if st.Status == nfmtypes.QueryStatusFailed || st.Status == nfmtypes.QueryStatusCanceled {
			done = true
			return nil, fmt.Errorf("the Network Flow Monitor query %s (%s, monitor %q) ended %s: "+
				"retry, or ask for a smaller window", id, cat, n.monitor, st.Status)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the Network Flow Monitor query %s (%s, monitor %q) is still %s after %s: "+
				"ask for a smaller window", id, cat, n.monitor, st.Status, n.pollTimeout)
		}
	}
	p := nfm.NewGetQueryResultsMonitorTopContributorsPaginator(n.api, &nfm.GetQueryResultsMonitorTopContributorsInput{
		MonitorName: aws.String(n.monitor), QueryId: aws.String(id)},
		func(o *nfm.GetQueryResultsMonitorTopContributorsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, nfmError(err, fmt.Sprintf("monitor %q", n.monitor))
		}
		if out.Unit != "" && out.Unit != nfmtypes.MetricUnitBytes {
			return nil, fmt.Errorf("the Network Flow Monitor answered DATA_TRANSFERRED in %s; netcost reads Bytes", out.Unit)
		}
		rows = append(rows, out.TopContributors...)
	}
	done = true
	return rows, nil
}

// nfmWindow is the window an nfm query asks for: open ends close at now
// and NFMDefaultWindow before the end.
func nfmWindow(w Window, now time.Time) Window {
	if w.End.IsZero() {
		w.End = now
	}
	if w.Start.IsZero() {
		w.Start = w.End.Add(-NFMDefaultWindow)
	}
	return w
}

// read answers a view: a query per destination category the view may
// select, each row as a record.
func (n *nfmReader) read(ctx context.Context, w Window, mayMatch func(*flows.Record) bool,
	fn func(*flows.Record) error) error {
	cats := categoriesFor(mayMatch)
	if len(cats) == 0 {
		return usage.Errorf("--source nfm: Network Flow Monitor has no category for this view "+
			"(its destination categories are %s); internet-bound traffic is in unclassified", nfmCategoryList())
	}
	if err := n.pickMonitor(ctx); err != nil {
		return err
	}
	for _, cat := range cats {
		rows, err := n.topContributors(ctx, cat, w)
		if err != nil {
			return err
		}
		n.logger.Debug("Network Flow Monitor top contributors", "monitor", n.monitor, "category", cat, "rows", len(rows))
		for i := range rows {
			r, ok := n.record(&rows[i], cat, w)
			if !ok {
				continue
			}
			// The same validation as a file's records: a name holding a
			// control character could steer a terminal, or add a line to
			// a command a recommendation prints.
			if err := r.Validate(); err != nil {
				if !n.lenient {
					return usage.Errorf("monitor %q, a %s top contributor: %w (pass --strict=false to skip such rows)",
						n.monitor, cat, err)
				}
				if n.skipped++; n.skipped <= 5 {
					n.logger.Warn("skipping a bad Network Flow Monitor row", "monitor", n.monitor, "category", cat, "err", err)
				}
				continue
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
	}
	return nil
}

func nfmCategoryList() string {
	var s []string
	for _, c := range nfmCategories {
		s = append(s, string(c))
	}
	return strings.Join(s, ", ")
}

// azID matches an Availability Zone ID (use1-az1, usw2-lax1-az1) rather
// than a name (us-east-1a).
var azID = regexp.MustCompile(`^[a-z]{2,}[0-9]+(-[a-z]+[0-9]+)?-az[0-9]+$`)

func setAZ(name, id *string, v string) {
	if azID.MatchString(v) {
		*id = v
	} else {
		*name = v
	}
}

// hopPrefixes are the traversed components that bill bytes, the NAT
// gateway first: the same ids the agent puts in via.
var hopPrefixes = []string{"nat-", "vpce-", "tgw-", "pcx-"}

// via picks the billed hop among the traversed constructs.
func via(cs []nfmtypes.TraversedComponent) string {
	for _, p := range hopPrefixes {
		for _, c := range cs {
			id := aws.ToString(c.ComponentId)
			if id == "" {
				// An ARN such as arn:aws:ec2:REGION:ACCOUNT:natgateway/nat-0123.
				_, id, _ = strings.Cut(aws.ToString(c.ComponentArn), "/")
			}
			if strings.HasPrefix(id, p) {
				return id
			}
		}
	}
	return ""
}

// record maps a top-contributor row to a record: the local end is the
// monitored instance (its pod when NFM names one), the value is bytes
// sent, the window is the query's; the remote never reports the bytes.
// Rows with no bytes are dropped.
func (n *nfmReader) record(row *nfmtypes.MonitorTopContributorsRow, cat nfmtypes.DestinationCategory,
	w Window) (flows.Record, bool) {
	v := aws.ToInt64(row.Value)
	if v <= 0 {
		return flows.Record{}, false
	}
	if row.DestinationCategory != "" {
		cat = row.DestinationCategory
	}
	c, err := flows.ParseCategory(string(cat))
	if err != nil {
		c = flows.Unclassified
	}
	r := flows.Record{
		Schema: flows.SchemaVersion, TS: w.Start, WindowS: int64(w.End.Sub(w.Start) / time.Second),
		Region: cmpOr(aws.ToString(row.LocalRegion), n.region), Direction: flows.Egress, Category: c, Protocol: flows.TCP,
		Node: aws.ToString(row.LocalInstanceId), LocalIP: aws.ToString(row.LocalIp),
		LocalSubnet: aws.ToString(row.LocalSubnetId), RemoteIP: cmpOr(aws.ToString(row.RemoteIp), aws.ToString(row.DnatIp)),
		RemoteNode: aws.ToString(row.RemoteInstanceId), RemoteRegion: aws.ToString(row.RemoteRegion),
		Via: via(row.TraversedConstructs), Bytes: uint64(v),
		// NFM counts a flow's bytes once, as its sender's: no row meters
		// them at the receiver's interface, which the cost model must price.
		RemoteReportedRaw: flows.BoolFalse,
	}
	if id := aws.ToString(row.LocalInstanceId); flows.ValidInstanceID(id) {
		r.NodeInstanceID = id // the node as the bill names it, for reconciling by resource
	}
	if row.TargetPort != nil && *row.TargetPort > 0 && *row.TargetPort < 1<<16 {
		r.RemotePort = uint16(*row.TargetPort)
	}
	setAZ(&r.LocalAZ, &r.LocalAZID, aws.ToString(row.LocalAz))
	setAZ(&r.RemoteAZ, &r.RemoteAZID, aws.ToString(row.RemoteAz))
	if k := row.KubernetesMetadata; k != nil {
		r.LocalPod, r.LocalNamespace = aws.ToString(k.LocalPodName), aws.ToString(k.LocalPodNamespace)
		r.RemotePod, r.RemoteNamespace = aws.ToString(k.RemotePodName), aws.ToString(k.RemotePodNamespace)
		r.RemoteService = aws.ToString(k.RemoteServiceName)
	}
	switch c {
	case flows.AmazonS3:
		r.RemoteAWSService = "S3"
	case flows.AmazonDynamoDB:
		r.RemoteAWSService = "DYNAMODB"
	}
	return r, true
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// nfmError explains an API error in one line. The quota error (402) says
// what to do about NFM's query quota; the rest are explained as any AWS
// error.
func nfmError(err error, what string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ServiceQuotaExceededException" {
		return &awscfg.Error{Err: err, Msg: fmt.Sprintf("NetworkFlowMonitor: query quota exceeded "+
			"(402 ServiceQuotaExceededException: %s): wait for running queries to finish, then retry; "+
			"Service Quotas can raise the limit", strings.TrimSpace(ae.ErrorMessage()))}
	}
	return awscfg.Explain(err, what)
}

// Monitor is an AWS Network Flow Monitor monitor: its top contributors of
// a window, as records.
type Monitor struct {
	Name    string // "" for the region's one ACTIVE monitor
	AWS     awscfg.Options
	Lenient bool // skip rows that are not valid records instead of stopping at the first
	Logger  *slog.Logger
}

func (m *Monitor) String() string { return Spec{Kind: "nfm", Path: m.Name}.String() }

// Read answers the queries one after the other, each with the queries of
// the destination categories its view may select. A span is the window
// asked for: NFM says nothing of its data's own extent.
func (m *Monitor) Read(ctx context.Context, qs []*Query) ([]Span, error) {
	cfg, err := awscfg.Load(ctx, m.AWS)
	if err != nil {
		return nil, err
	}
	sps := make([]Span, len(qs))
	for i, q := range qs {
		n := newNFMReader(nfm.NewFromConfig(cfg), cfg.Region, m.Name, m.Logger)
		n.lenient = m.Lenient
		if sps[i], err = n.answer(ctx, q); err != nil {
			return nil, err
		}
	}
	return sps, nil
}

// answer reads the rows of q's window that its view selects.
func (n *nfmReader) answer(ctx context.Context, q *Query) (Span, error) {
	var match, mayMatch func(*flows.Record) bool
	if q.View != nil {
		match, mayMatch = q.View.Matches, q.View.MayMatch
	}
	fn := q.Begin(1)
	w := nfmWindow(q.Window, time.Now().UTC().Truncate(time.Second))
	sp := Span{Start: w.Start, End: w.End}
	nat := false
	err := n.read(ctx, w, mayMatch, func(r *flows.Record) error {
		sp.Stats.Records++
		if match != nil && !match(r) {
			return nil
		}
		sp.Matched++
		nat = nat || r.ViaNAT()
		return fn(0, r, 1)
	})
	if err != nil {
		return Span{}, err
	}
	sp.Stats.Skipped = n.skipped
	sp.Source = Spec{Kind: "nfm", Path: n.monitor}.String()
	sp.Notes = append(sp.Notes, NFMTopOnlyNote)
	if nat {
		sp.Notes = append(sp.Notes, NFMNATNote)
	}
	return sp, nil
}
