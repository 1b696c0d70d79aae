package sink

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/netcost/netcost/internal/flows"
)

// CloudWatch publishes records as EMF lines to a CloudWatch Logs stream.
//
// Write puts the window in the spool (on disk, synced) and returns; a
// goroutine publishes the spool oldest first, in batches within
// PutLogEvents' limits, and removes a window once all its events were
// accepted. So a window survives an outage and a restart, and the next run
// publishes what the last one left before anything new.
//
// Exactly once: every event carries its window's window_id and its seq in
// the window. PutLogEvents has no idempotency token, so when a put failed
// in a way that leaves its fate unknown (a lost response, a 5xx, a
// timeout), and for every window a previous run left, the publisher reads
// the stream's events at the window's timestamps (GetLogEvents) and sends
// only the events that are not there. For the same reason PutLogEvents is
// not retried by the SDK, whose retryer would resend a put whose response
// was lost: the publisher retries it, with backoff and jitter, on
// throttling, 5xx and network errors, and looks before resending.
// Without logs:GetLogEvents it resends, and says so once.
type CloudWatch struct {
	api    *cloudwatchlogs.Client
	group  string
	stream string
	log    *slog.Logger
	enc    emf
	spool  *spool
	run    string // this process's id, the first part of its window ids

	minBackoff, maxBackoff time.Duration
	closeTimeout           time.Duration
	limits                 batchLimits

	windows atomic.Uint64 // windows written by this process
	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	ctx     context.Context
	cancel  context.CancelFunc

	// Owned by the publishing goroutine.
	ready      bool // the stream exists, as far as we know
	down       bool // the last attempt failed: logged once until it works again
	warnedRead bool
	batch      []types.InputLogEvent

	published, batches, failures, rejected, skipped atomic.Uint64
	lastLatency, lastPublished                      atomic.Int64
}

// CloudWatchOptions configure a CloudWatch sink.
type CloudWatchOptions struct {
	Client        *cloudwatchlogs.Client // see NewLogsClient
	LogGroup      string                 // default /netcost/flows
	LogStream     string                 // required: the node's name
	Namespace     string                 // metrics namespace, default netcost
	SpoolDir      string                 // required
	SpoolMaxBytes int64                  // required, > 0
	Log           *slog.Logger

	// MinBackoff and MaxBackoff bound the wait between failed attempts
	// (defaults 1s and 1m); CloseTimeout is how long Close tries to publish
	// what is left (default 10s). What is left stays in the spool.
	MinBackoff, MaxBackoff, CloseTimeout time.Duration
}

// DefaultLogGroup is where agents publish unless told otherwise.
const DefaultLogGroup = "/netcost/flows"

// PutLogEvents' limits (CloudWatch Logs quotas).
const (
	maxBatchBytes  = 1_048_576 // the sum of each message's UTF-8 length plus 26
	eventOverhead  = 26
	maxBatchEvents = 10_000
	maxBatchSpan   = 24 * time.Hour
)

type batchLimits struct {
	bytes, events int
	span          time.Duration
}

var (
	logGroupRE  = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	logStreamRE = regexp.MustCompile(`^[^:*]{1,512}$`)
)

// CheckNames says what is wrong with a log group or stream name, if anything.
func CheckNames(group, stream string) error {
	if !logGroupRE.MatchString(group) {
		return fmt.Errorf("log group %q: want 1 to 512 letters, digits or . - _ / #", group)
	}
	if !logStreamRE.MatchString(stream) {
		return fmt.Errorf("log stream %q: want 1 to 512 characters, no : or *", stream)
	}
	return nil
}

// NewLogsClient returns a CloudWatch Logs client for cfg; endpoint, if set,
// replaces AWS's (for emulators). Calls other than PutLogEvents are retried
// by the SDK's standard retryer (5 attempts, backoff with jitter) without
// its client-side retry quota, which would only turn a long outage into
// "quota exceeded" errors: the publisher backs off on its own.
func NewLogsClient(cfg aws.Config, endpoint string) *cloudwatchlogs.Client {
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 5
			so.RateLimiter = ratelimit.None
		})
	})
}

// NewCloudWatch opens the spool and starts publishing, beginning with the
// windows a previous run left. It does not call AWS: an agent starts and
// counts while CloudWatch is unreachable.
func NewCloudWatch(o CloudWatchOptions) (*CloudWatch, error) {
	if o.LogGroup == "" {
		o.LogGroup = DefaultLogGroup
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if err := CheckNames(o.LogGroup, o.LogStream); err != nil {
		return nil, err
	}
	if o.Client == nil || o.SpoolDir == "" || o.SpoolMaxBytes <= 0 {
		return nil, errors.New("the CloudWatch sink needs a client, a spool directory and a spool bound")
	}
	enc, err := newEMF(o.Namespace)
	if err != nil {
		return nil, err
	}
	sp, err := openSpool(o.SpoolDir, o.SpoolMaxBytes, o.Log)
	if err != nil {
		return nil, err
	}
	var id [8]byte
	rand.Read(id[:])
	c := &CloudWatch{
		api: o.Client, group: o.LogGroup, stream: o.LogStream, log: o.Log, enc: enc, spool: sp,
		run:        strconv.FormatUint(binary.LittleEndian.Uint64(id[:])>>24, 36), // 40 bits, at most 8 characters
		minBackoff: cmp.Or(o.MinBackoff, time.Second), maxBackoff: cmp.Or(o.MaxBackoff, time.Minute),
		closeTimeout: cmp.Or(o.CloseTimeout, 10*time.Second),
		limits:       batchLimits{bytes: maxBatchBytes, events: maxBatchEvents, span: maxBatchSpan},
		kick:         make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if n, b, _ := sp.depth(); n > 0 {
		c.log.Info("publishing the windows a previous run left first", "windows", n, "bytes", b, "dir", o.SpoolDir)
	}
	go c.loop()
	c.poke()
	return c, nil
}

func (c *CloudWatch) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Write spools one window's records and returns once they are on disk; they
// are published in the background. A window the spool cannot hold at all
// is dropped and counted (see Stats); Write returns an error only for
// records it cannot encode.
func (c *CloudWatch) Write(_ context.Context, recs []flows.Record) error {
	_, err := c.write(recs, nil)
	return err
}

// WriteMarked is Write, with m in the window's file, and then in the
// spool's commit file, which outlives the window once it is published.
// A window the spool keeps in memory only (its disk failed) is not
// committed: the kernel's counts stay the ones to write.
func (c *CloudWatch) WriteMarked(_ context.Context, recs []flows.Record, m Mark) error {
	e, err := c.write(recs, &m)
	if err != nil {
		return err
	}
	if e != nil && e.name == "" {
		return nil
	}
	if e == nil && len(recs) == 0 && m == c.spool.lastMark() {
		return nil
	}
	return c.spool.committed(e, m)
}

// Committed returns the Mark of the last window written.
func (c *CloudWatch) Committed() Mark { return c.spool.lastMark() }

// write spools a window, with m in its header when given; it returns the
// spool's entry, nil when there were no records or the window was dropped.
func (c *CloudWatch) write(recs []flows.Record, m *Mark) (*spoolEntry, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	// Events go in timestamp order, as PutLogEvents wants; an agent's
	// window has one timestamp, so this is usually the identity.
	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return recs[a].TS.Compare(recs[b].TS) })
	wid := c.run + "." + strconv.FormatUint(c.windows.Add(1), 10)
	head := spoolHeader{WindowID: wid, Events: len(recs), FirstMS: recs[order[0]].TS.UnixMilli(),
		LastMS: recs[order[len(order)-1]].TS.UnixMilli(), Mark: m}
	var buf []byte
	e, err := c.spool.add(head, func(w io.Writer) error {
		for seq, i := range order {
			r := &recs[i]
			buf = strconv.AppendInt(buf[:0], r.TS.UnixMilli(), 10)
			buf = append(c.enc.append(append(buf, ' '), r, wid, seq), '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errOverflow) {
		return nil, fmt.Errorf("spooling a window: %w", err)
	}
	c.poke()
	return e, nil
}

// Close publishes what it can within the close timeout and stops; the rest
// stays in the spool for the next run.
func (c *CloudWatch) Close() error {
	c.once.Do(func() {
		close(c.stop)
		t := time.AfterFunc(c.closeTimeout, c.cancel)
		<-c.done
		t.Stop()
		c.cancel()
		if n, b, _ := c.spool.depth(); n > 0 {
			c.log.Warn("windows left in the spool for the next run", "windows", n, "bytes", b)
		}
	})
	return nil
}

// CloudWatchStats are the sink's counters since it started.
type CloudWatchStats struct {
	PublishedRecords   uint64        // events CloudWatch accepted
	PublishedBatches   uint64        // successful PutLogEvents calls
	PublishFailures    uint64        // failed calls to CloudWatch, each retried later
	RejectedRecords    uint64        // events CloudWatch refused (too old or too new), or set aside unpublishable
	ReplaySkipped      uint64        // events a replay found already in CloudWatch and did not send again
	LastPublishLatency time.Duration // of the last successful PutLogEvents call
	LastPublished      time.Time     // when it returned
	SpoolWindows       int           // windows waiting
	SpoolBytes         int64
	OverflowWindows    uint64 // windows dropped because the spool was full
	OverflowRecords    uint64
	OverflowBytes      uint64
}

// Stats returns the sink's counters.
func (c *CloudWatch) Stats() CloudWatchStats {
	n, b, of := c.spool.depth()
	s := CloudWatchStats{
		PublishedRecords: c.published.Load(), PublishedBatches: c.batches.Load(), PublishFailures: c.failures.Load(),
		RejectedRecords: c.rejected.Load(), ReplaySkipped: c.skipped.Load(),
		LastPublishLatency: time.Duration(c.lastLatency.Load()),
		SpoolWindows:       n, SpoolBytes: b, OverflowWindows: of.windows, OverflowRecords: of.events, OverflowBytes: of.bytes,
	}
	if t := c.lastPublished.Load(); t != 0 {
		s.LastPublished = time.Unix(0, t)
	}
	return s
}

// loop publishes the spool whenever a window arrives, and after a failure
// again after a backoff that doubles up to maxBackoff, with jitter, however
// many windows arrive meanwhile.
func (c *CloudWatch) loop() {
	defer close(c.done)
	var backoff time.Duration
	for {
		var kick <-chan struct{}
		var wait <-chan time.Time
		var t *time.Timer
		if backoff == 0 {
			kick = c.kick
		} else {
			t = time.NewTimer(backoff/2 + mrand.N(backoff/2+1)) // "equal jitter"
			wait = t.C
		}
		select {
		case <-kick:
		case <-wait:
		case <-c.stop:
			c.publishAll(c.ctx) // one last pass, bounded by the close timeout
			return
		}
		if t != nil {
			t.Stop()
		}
		if err := c.publishAll(c.ctx); err != nil {
			backoff = min(max(2*backoff, c.minBackoff), c.maxBackoff)
			continue
		}
		backoff = 0
	}
}

// publishAll publishes the spool oldest first and stops at the first failure.
func (c *CloudWatch) publishAll(ctx context.Context) error {
	for _, e := range c.spool.pending() {
		err := c.publish(ctx, e)
		if errors.Is(err, errGone) {
			continue // dropped to make room meanwhile, and counted
		}
		if errors.As(err, new(*rejectError)) {
			c.rejected.Add(uint64(e.head.Events - e.acked))
			c.spool.reject(e, err)
			continue
		}
		if err != nil {
			c.failures.Add(1)
			c.report(err)
			return err
		}
		c.spool.remove(e)
		if c.down {
			c.down = false
			n, _, _ := c.spool.depth()
			c.log.Info("CloudWatch Logs accepts events again; publishing the spool", "windows_left", n)
		}
	}
	return nil
}

// report logs a failure: an outage once, until it ends; a refusal that a
// person must fix every time, with what to do.
func (c *CloudWatch) report(err error) {
	var ae smithy.APIError
	if errors.As(err, &ae) && !retryable(err) {
		hint := ""
		switch ae.ErrorCode() {
		case "AccessDeniedException", "AccessDenied":
			hint = fmt.Sprintf("give the agent's role logs:CreateLogStream, logs:PutLogEvents and logs:GetLogEvents on log group %s (logs:CreateLogGroup too, unless the group is created for it)", c.group)
		case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
			hint = "the agent's AWS credentials are not valid here: check its IAM role (Pod Identity or IRSA) and -region"
		}
		c.log.Error("CloudWatch Logs refuses the agent's events; they stay in the spool and are retried", "group", c.group, "stream", c.stream, "error", err, "fix", hint)
		c.down = true
		return
	}
	if !c.down {
		c.log.Warn("CloudWatch Logs unreachable: windows are spooled and published when it returns", "group", c.group, "error", err)
	}
	c.down = true
}

// rejectError is a window that CloudWatch will never accept (a malformed
// request) or that cannot be read back from the spool.
type rejectError struct{ err error }

func (e *rejectError) Error() string { return e.err.Error() }
func (e *rejectError) Unwrap() error { return e.err }

// publish sends a window's events that CloudWatch does not have yet.
func (c *CloudWatch) publish(ctx context.Context, e *spoolEntry) error {
	if !c.ready {
		if err := c.ensureStream(ctx); err != nil {
			return err
		}
	}
	var present []bool
	if e.check {
		var err error
		if present, err = c.present(ctx, e); err != nil {
			return err
		}
	}
	r, err := c.spool.open(e)
	if errors.Is(err, os.ErrNotExist) && !c.spool.has(e) {
		return errGone
	}
	if err != nil {
		return &rejectError{fmt.Errorf("reading a spooled window: %w", err)}
	}
	defer r.close()
	c.batch = c.batch[:0]
	var size int
	var first int64
	seq := 0
	flush := func(next int) error {
		if len(c.batch) == 0 {
			e.acked = next
			return nil
		}
		if err := c.put(ctx, e); err != nil {
			return err
		}
		e.acked = next
		c.batch, size = c.batch[:0], 0
		return nil
	}
	for ; ; seq++ {
		ts, msg, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &rejectError{fmt.Errorf("reading a spooled window: %w", err)}
		}
		if seq < e.acked || seq < len(present) && present[seq] {
			continue
		}
		n := len(msg) + eventOverhead
		if len(c.batch) > 0 && (size+n > c.limits.bytes || len(c.batch) == c.limits.events || time.Duration(ts-first)*time.Millisecond >= c.limits.span) {
			if err := flush(seq); err != nil {
				return err
			}
		}
		if len(c.batch) == 0 {
			first = ts
		}
		c.batch = append(c.batch, types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(string(msg))})
		size += n
	}
	if seq != e.head.Events {
		return &rejectError{fmt.Errorf("the window holds %d events; its header says %d", seq, e.head.Events)}
	}
	return flush(seq)
}

// put sends c.batch.
func (c *CloudWatch) put(ctx context.Context, e *spoolEntry) error {
	start := time.Now()
	call := func() (*cloudwatchlogs.PutLogEventsOutput, error) {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return c.api.PutLogEvents(actx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: aws.String(c.group), LogStreamName: aws.String(c.stream), LogEvents: c.batch,
		}, func(o *cloudwatchlogs.Options) { o.RetryMaxAttempts = 1 }) // see CloudWatch: retried here, after a look
	}
	out, err := call()
	if errors.As(err, new(*types.ResourceNotFoundException)) {
		// The stream is gone (deleted, or an emulator restarted): nothing
		// was stored; create it and send again.
		if err = c.ensureStream(ctx); err == nil {
			start = time.Now()
			out, err = call()
		}
	}
	if err != nil {
		if !sentNothing(err) {
			e.check = true
		}
		var nf *types.ResourceNotFoundException
		var ip *types.InvalidParameterException
		switch {
		case errors.As(err, &nf):
			c.ready = false // created again on the next attempt (an emulator restarted, or someone deleted it)
		case errors.As(err, &ip):
			return &rejectError{fmt.Errorf("PutLogEvents to %s/%s: %w", c.group, c.stream, err)}
		}
		return fmt.Errorf("PutLogEvents to %s/%s: %w", c.group, c.stream, err)
	}
	c.lastLatency.Store(int64(time.Since(start)))
	c.lastPublished.Store(time.Now().UnixNano())
	c.batches.Add(1)
	accepted := len(c.batch)
	if ri := out.RejectedLogEventsInfo; ri != nil {
		// Events outside CloudWatch's time range are refused, not retried.
		n := 0
		if i := ri.TooOldLogEventEndIndex; i != nil {
			n += int(*i) + 1
		}
		if i := ri.ExpiredLogEventEndIndex; i != nil {
			n = max(n, int(*i)+1)
		}
		if i := ri.TooNewLogEventStartIndex; i != nil {
			n += len(c.batch) - int(*i)
		}
		n = min(n, len(c.batch))
		accepted -= n
		c.rejected.Add(uint64(n))
		c.log.Error("CloudWatch Logs refused events outside its time range (older than 14 days or the group's retention, or more than 2 hours ahead): check the node's clock",
			"window_id", e.head.WindowID, "refused", n)
	}
	c.published.Add(uint64(accepted))
	return nil
}

// sentNothing reports whether a failed call certainly changed nothing:
// the service answered with a 4xx error, or no connection was made.
func sentNothing(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500 {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryable reports whether an error is an outage (throttling, 5xx, network)
// rather than a refusal.
func retryable(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500 {
		var ae smithy.APIError
		return errors.As(err, &ae) && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
	}
	return true
}

// ensureStream creates the log stream, and the group if it is missing.
// The usual IAM policy grants logs:CreateLogStream but not CreateLogGroup,
// so the group is created only when the stream cannot be.
func (c *CloudWatch) ensureStream(ctx context.Context) error {
	create := func() error {
		_, err := c.api.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(c.group), LogStreamName: aws.String(c.stream)})
		if errors.As(err, new(*types.ResourceAlreadyExistsException)) {
			return nil
		}
		return err
	}
	err := create()
	if errors.As(err, new(*types.ResourceNotFoundException)) {
		_, err = c.api.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(c.group)})
		if err == nil || errors.As(err, new(*types.ResourceAlreadyExistsException)) {
			c.log.Info("created the log group", "group", c.group)
			err = create()
		}
	}
	if err != nil {
		return fmt.Errorf("creating log stream %s in %s: %w", c.stream, c.group, err)
	}
	c.ready = true
	return nil
}

// present reads the stream's events at the window's timestamps and
// returns which of the window's events are already there.
func (c *CloudWatch) present(ctx context.Context, e *spoolEntry) ([]bool, error) {
	have := make([]bool, e.head.Events)
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(c.group), LogStreamName: aws.String(c.stream), StartFromHead: aws.Bool(true),
		StartTime: aws.Int64(e.head.FirstMS), EndTime: aws.Int64(e.head.LastMS + 1),
	}
	var id struct {
		WindowID string `json:"window_id"`
		Seq      int    `json:"seq"`
	}
	found := 0
	for {
		out, err := c.api.GetLogEvents(ctx, in)
		if errors.As(err, new(*types.ResourceNotFoundException)) {
			c.ready = false
			break // nothing there
		}
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "AccessDeniedException" || ae.ErrorCode() == "AccessDenied") {
			if !c.warnedRead {
				c.log.Warn("cannot read the log stream to see what a replay already sent: resending whole windows, which may duplicate events after a lost response; grant logs:GetLogEvents", "error", err)
				c.warnedRead = true
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading back %s/%s: %w", c.group, c.stream, err)
		}
		for _, ev := range out.Events {
			id.WindowID, id.Seq = "", -1
			if json.Unmarshal([]byte(aws.ToString(ev.Message)), &id) == nil && id.WindowID == e.head.WindowID &&
				id.Seq >= 0 && id.Seq < len(have) && !have[id.Seq] {
				have[id.Seq] = true
				found++
			}
		}
		// A page may be empty with more to come; the same token again is the end.
		if out.NextForwardToken == nil || in.NextToken != nil && *out.NextForwardToken == *in.NextToken {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	e.check = false
	if found > 0 {
		c.skipped.Add(uint64(found))
		c.log.Info("a replayed window was already in CloudWatch in part or whole: sending only the rest", "window_id", e.head.WindowID, "present", found, "events", e.head.Events)
	}
	return have, nil
}
