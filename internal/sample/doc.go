// Package sample generates realistic, deterministic schema-1 flow records for
// tests, demos and benchmarks.
//
// The scenario is an e-commerce cluster "shop" in us-east-1: one VPC, two
// availability zones (us-east-1a = use1-az1, us-east-1b = use1-az2), one node
// in each. Both subnets route 0.0.0.0/0 to a single NAT gateway in use1-az2, so
// the NAT is cross-AZ for the use1-az1 node; only the use1-az1 subnet has an S3
// gateway endpoint. In namespace "shop", graphql (one pod per AZ) calls the
// products Service (one pod per AZ, spread half in-zone, half cross-zone by
// kube-proxy: the chatty Service) and the orders Service (one pod, in
// use1-az1). orders writes to DynamoDB and sqs-sender to SQS through the NAT,
// images uploads to S3 through the NAT, reports reads from S3 through the
// gateway endpoint, payments calls api.stripe.com through the NAT, and the
// datadog-agent DaemonSet ships logs to Datadog through the NAT. Pods resolve
// names with the coredns pod on their node, and a hostNetwork process sends a
// little UDP to an address nobody can place.
//
// Both agents report their own side, so every pod-to-pod transfer appears
// twice, as the sender's egress record and the receiver's ingress record, with
// equal bytes and packets. Bytes vary from window to window with a seeded PCG
// generator but every full hour of every flow carries exactly its hourly mean,
// so that the totals are known in advance; Truth reports what was emitted.
//
// Generate streams the records; WriteStore writes the two-node store that
// testdata/store holds (one plain and one gzip-compressed JSON Lines file);
// WriteScaled writes a large store of many copies of the cluster for
// benchmarks. The samplegen command wraps both.
package sample
