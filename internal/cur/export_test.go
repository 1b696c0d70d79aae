package cur

import "time"

// Internals the external tests use.
var (
	AthenaQuery        = athenaQuery
	AthenaPeriodsQuery = athenaPeriodsQuery
)

// NewAthenaReader returns a Reader over an Athena client of the test's,
// polling every millisecond.
func NewAthenaReader(client athenaAPI) *Reader {
	r := newReader(nil, client, nil)
	r.poll = time.Millisecond
	return r
}
