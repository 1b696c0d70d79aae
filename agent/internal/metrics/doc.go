// Package metrics is the agent's own health for Prometheus: what it drained
// from the kernel, what it wrote and how publishing went, how full its flow
// map and its spool are, and the process's CPU and memory. Server serves them
// on /metrics (OpenMetrics 1.0 when the scraper asks for it, the Prometheus
// text format otherwise), with /healthz (the process answers) and /readyz
// (the counter is attached and its first drain is done).
//
// The agent calls Drained after each read of the kernel's counts and
// Published after each window it hands to its sink; a sink that spools
// reports its depth through WatchSpool. Nothing here reads the kernel or the
// sink itself, so scrapes never race the drain loop.
package metrics
