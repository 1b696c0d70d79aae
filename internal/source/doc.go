// Package source reads flow records from where the agents put them: a file
// store (a JSON Lines file or a directory of them, plain or gzip), a
// CloudWatch Logs log group, or AWS Network Flow Monitor. It fetches and
// never prices: it does not import costmodel.
package source
