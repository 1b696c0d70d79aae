// Package safetext makes text that came from outside netcost (a flow
// record, a TLS certificate, a DNS answer, an HTTP reply) safe to show on a
// terminal, in a CSV or Markdown file, or in a Slack message.
//
// Escape is the one function every renderer passes such text through: it
// replaces the characters that could steer a terminal (ESC and the other
// C0 and C1 controls, DEL), break a line or a record (CR, LF, TAB, U+2028,
// U+2029), or reorder what is shown (the Unicode bidi controls, as in
// CVE-2021-42574), and the bytes of invalid UTF-8, by visible escapes such
// as \x1b and \u202e. Everything else is left as it is, so that ordinary
// text, non-ASCII letters included, prints unchanged. JSON output needs no
// such care: encoding/json escapes what it must.
//
// It imports only the standard library, so that internal/flows can reject
// the same characters in records that the renderers escape.
package safetext
