// Package cur reads the network lines of an AWS bill from a Cost and Usage
// Report 2.0 (AWS Data Exports).
//
// The lines are those of DESIGN.md's reconcile contract: inter-az,
// nat-bytes, nat-hours, internet-out, inter-region, vpc-endpoint,
// transit-gateway and public-ipv4. Usage types name their region by a
// short code (USE2-, EU-, APS3-), and us-east-1's by none: the table is in
// usagetype.go, with its sources.
package cur
