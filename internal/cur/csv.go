package cur

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/netcost/netcost/internal/usage"
)

// readCSV streams the line items of a gzip-compressed CSV data file to add,
// a record at a time, finding the columns by the header. name names the
// file in errors.
func readCSV(r io.Reader, name string, byResource bool, add func(*lineItem)) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		var fe *fetchError
		if errors.As(err, &fe) {
			return err
		}
		return usage.Errorf("%s is not a gzip file: %v", name, err)
	}
	defer zr.Close()
	cs := newCSVScanner(zr)
	header, err := cs.header()
	if err != nil {
		return csvError(name, err)
	}
	if len(header) > 0 { // a UTF-8 byte order mark, which spreadsheet tools write
		header[0] = trimBOM(header[0])
	}
	idx := columnIndex(header)
	if err := checkColumns(name, func(c string) bool { return idx(c) >= 0 }, byResource); err != nil {
		return err
	}
	cols := []int{idx(colItemType), idx(colUsageType), idx(colStart), idx(colEnd), idx(colAmount), idx(colCost),
		idx(colProductCode), idx(colCurrency), -1, idx(colProductRegion)}
	if byResource {
		cols[8] = idx(colResource)
	}
	cs.setWant(cols)
	f := cs.fields
	var times timeCache
	it := lineItem{items: 1}
	for {
		if err := cs.scan(); err == io.EOF {
			return nil
		} else if err != nil {
			return csvError(name, err)
		}
		it.itemType, it.usageType, it.productCode, it.currency = f[0], f[1], f[6], f[7]
		it.resource, it.productRegion = f[8], f[9]
		if it.start, err = times.parse(f[2]); err == nil {
			it.end, err = times.parse(f[3])
		}
		if err == nil {
			it.amount, err = parseNumber(f[4])
		}
		if err == nil {
			it.cost, err = parseNumber(f[5])
		}
		if err != nil {
			return usage.Errorf("%s, record %d: %v", name, cs.record, err)
		}
		add(&it)
	}
}

func csvError(name string, err error) error {
	var fe *fetchError
	if errors.As(err, &fe) {
		return err
	}
	return usage.Errorf("reading %s: %v", name, err)
}

func trimBOM(s string) string {
	if len(s) >= 3 && s[:3] == "\ufeff" {
		return s[3:]
	}
	return s
}

// parseNumber parses a CSV number; empty is 0.
func parseNumber(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return x, nil
}

// timeCache parses timestamps, remembering the last two: an hourly export
// repeats the same start and end on many rows.
type timeCache struct {
	s  [2]string
	ms [2]int64
	n  int
}

func (c *timeCache) parse(s string) (int64, error) {
	for i := range c.s {
		if c.s[i] == s && s != "" {
			return c.ms[i], nil
		}
	}
	ms, err := parseTimestamp(s)
	if err != nil {
		return 0, err
	}
	i := c.n % 2
	c.s[i], c.ms[i] = strings.Clone(s), ms // s may alias a buffer the next record overwrites
	c.n++
	return ms, nil
}

// parseTimestamp parses a CUR timestamp into Unix milliseconds: RFC 3339 as
// the CSV writes it (2024-01-01T00:00:00.000Z), or with a space for the T
// and no zone, in UTC, as Athena prints timestamps (2024-01-01 00:00:00.000).
// Empty is 0.
func parseTimestamp(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("%q is not a timestamp", s)
}
