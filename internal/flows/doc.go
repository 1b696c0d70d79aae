// Package flows is netcost's shared vocabulary: the schema-1 flow record that
// agents write and every reader consumes, its categories, its JSON encoding
// and strict decoding, and validation.
//
// It imports only the standard library and internal/safetext (itself
// standard library only: the validator rejects the characters the
// renderers escape), so that the cost model, the CLI and the Lambda can
// depend on it without pulling in AWS, eBPF or CLI libraries.
package flows
