// Package query holds the use cases over the records of a source
// (internal/source): the top contributors of a category, the spend of a
// window and the recommendations, priced with costmodel. Batch answers
// several of them with one read of a file store.
package query
