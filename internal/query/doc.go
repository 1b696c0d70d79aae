// Package query reads flow records from a source over a time window and
// computes the views the CLI and the Lambda share: top contributors of a
// category and recommendations.
package query
