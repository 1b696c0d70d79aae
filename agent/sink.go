package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/netcost/netcost/agent/internal/metrics"
	"github.com/netcost/netcost/agent/internal/sink"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/usage"
)

// cloudWatchSettings are the flags of the CloudWatch sink.
type cloudWatchSettings struct {
	logGroup, logStream string
	endpoint            string
	spoolDir            string
	spoolMaxBytes       int64
}

func cloudWatchFlags(fs *flag.FlagSet, c *settings) {
	fs.StringVar(&c.cw.logGroup, "log-group", env("NETCOST_LOG_GROUP", sink.DefaultLogGroup), "CloudWatch Logs group of the cloudwatch sink (env NETCOST_LOG_GROUP)")
	fs.StringVar(&c.cw.logStream, "log-stream", env("NETCOST_LOG_STREAM", ""), "its log stream (default: the node's name) (env NETCOST_LOG_STREAM)")
	fs.StringVar(&c.cw.endpoint, "logs-endpoint", env("NETCOST_LOGS_ENDPOINT", ""), "CloudWatch Logs API endpoint, for emulators (env NETCOST_LOGS_ENDPOINT)")
	fs.StringVar(&c.cw.spoolDir, "spool-dir", env("NETCOST_SPOOL_DIR", "/var/lib/netcost/spool"), "where windows wait until CloudWatch accepts them, across restarts (env NETCOST_SPOOL_DIR)")
	fs.Int64Var(&c.cw.spoolMaxBytes, "spool-max-bytes", int64(envInt("NETCOST_SPOOL_MAX_BYTES", 256<<20)), "bound of the spool; past it the oldest windows are dropped, counted and logged (env NETCOST_SPOOL_MAX_BYTES)")
}

func checkCloudWatchFlags(c *settings) error {
	if c.sink != "cloudwatch" {
		return nil
	}
	if c.cw.logStream == "" {
		c.cw.logStream = c.node
	}
	if err := sink.CheckNames(c.cw.logGroup, c.cw.logStream); err != nil {
		return usage.Errorf("%s or %s: %w", c.flag("log-group"), c.flag("log-stream"), err)
	}
	if c.cw.spoolMaxBytes < 1<<20 {
		return usage.Errorf("%s %d: want at least 1048576 (1 MiB)", c.flag("spool-max-bytes"), c.cw.spoolMaxBytes)
	}
	if c.cw.spoolDir == "" {
		return usage.Errorf("%s is empty: the cloudwatch sink needs a directory to spool windows in",
			c.flag("spool-dir"))
	}
	return nil
}

// openSink returns the sink the flags ask for.
func (a *agent) openSink(ctx context.Context, region string, stdout io.Writer) (sink.Sink, error) {
	cfg := a.cfg
	switch cfg.sink {
	case "file":
		return sink.OpenFiles(cfg.dir, cfg.node)
	case "cloudwatch":
		if region == "" {
			return nil, usage.Errorf("%s cloudwatch: no region: set -region, or run where instance metadata answers",
				cfg.flag("sink"))
		}
		awsCfg, err := awscfg.Load(ctx, awscfg.Options{Region: region})
		if err != nil {
			return nil, fmt.Errorf("loading AWS configuration: %w", err)
		}
		cw, err := sink.NewCloudWatch(sink.CloudWatchOptions{Client: sink.NewLogsClient(awsCfg, cfg.cw.endpoint), LogGroup: cfg.cw.logGroup,
			LogStream: cfg.cw.logStream, SpoolDir: cfg.cw.spoolDir, SpoolMaxBytes: cfg.cw.spoolMaxBytes, Log: a.log})
		if err != nil {
			return nil, err
		}
		if a.metrics != nil {
			a.metrics.WatchSpool(func() metrics.SpoolStats {
				s := cw.Stats()
				return metrics.SpoolStats{Windows: s.SpoolWindows, Bytes: s.SpoolBytes, DroppedWindows: s.OverflowWindows,
					DroppedEvents: s.OverflowRecords, DroppedBytes: s.OverflowBytes,
					PublishedRecords: s.PublishedRecords, PublishedBatches: s.PublishedBatches, PublishFailures: s.PublishFailures,
					RejectedRecords: s.RejectedRecords, ReplaySkipped: s.ReplaySkipped,
					LastPublishLatency: s.LastPublishLatency, LastPublished: s.LastPublished}
			})
		}
		return cw, nil
	}
	return sink.NewWriter(stdout), nil
}
