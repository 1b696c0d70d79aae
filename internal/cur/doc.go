// Package cur reads the network lines of an AWS bill from a Cost and Usage
// Report 2.0, as AWS Data Exports delivers it: an export in its own layout
// (data/BILLING_PERIOD=YYYY-MM/*.parquet or *.csv.gz, with the manifests
// under metadata/ naming a period's current files) on a local disk or in
// S3, or a table of the CUR in Athena, where the same sums run as SQL.
//
// It sums the usage line items of the usage types DESIGN.md's reconcile
// contract names (inter-az, nat-bytes, nat-hours, internet-out,
// inter-region, vpc-endpoint, transit-gateway, public-ipv4) per region,
// and optionally per resource, within a window; credits and other line
// items that are not usage are shown apart, and the month's internet-out
// volume gives the egress tier. Parquet is read a page of the needed
// columns at a time, CSV a record at a time: a month of a large account's
// hourly bill never sits in memory.
//
// Usage types name their region by a short code (USE2-, EU-, APS3-), and
// us-east-1's by none: the table is in usagetype.go, with its sources.
// docs/reconcile.md says which Data Exports settings to choose.
package cur
