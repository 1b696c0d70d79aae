// Package names learns a DNS name for each remote a pod talks to from what the pod itself saw: the DNS
// answers it received (for the names it asked) and the TLS server names it sent. The kernel hands the
// payloads over as bpf.NameEvent; this package parses them (they are whatever a stranger sent: every
// length is checked, every name validated) and keeps a bounded table per pod that the collector reads at
// each window's end. It never makes a connection or a query of its own.
package names
