// Package report builds the daily network cost report that netcost posts to
// Slack: the window's total spend and its change against the window before,
// the top inter-AZ pairs and NAT gateway talkers with their cost, and the
// top recommendations with their savings and the command to apply each.
//
// Build runs the queries (internal/query, over any source it reads);
// Report.Message lays the answer out as a Block Kit message that reads on a
// phone (short lines and fields, no tables) and always fits Slack's limits;
// Post sends it to an incoming webhook with retries, never revealing the
// webhook URL, which is a secret, in an error.
package report
