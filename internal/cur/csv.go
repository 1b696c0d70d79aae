package cur

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
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
	cr := csv.NewReader(zr)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return csvError(name, err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 { // a UTF-8 byte order mark, which spreadsheet tools write
		header[0] = trimBOM(header[0])
	}
	idx := columnIndex(header)
	if err := checkColumns(name, func(c string) bool { return idx(c) >= 0 }, byResource); err != nil {
		return err
	}
	iType, iUsage, iStart, iEnd := idx(colItemType), idx(colUsageType), idx(colStart), idx(colEnd)
	iAmount, iCost, iProduct, iCurrency := idx(colAmount), idx(colCost), idx(colProductCode), idx(colCurrency)
	iResource, iRegion := idx(colResource), idx(colProductRegion)
	if !byResource {
		iResource = -1
	}
	field := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return rec[i]
	}
	var times timeCache
	it := lineItem{items: 1}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(name, err)
		}
		it.itemType, it.usageType = field(rec, iType), field(rec, iUsage)
		it.productCode, it.currency = field(rec, iProduct), field(rec, iCurrency)
		it.resource, it.productRegion = field(rec, iResource), field(rec, iRegion)
		if it.start, err = times.parse(field(rec, iStart)); err == nil {
			it.end, err = times.parse(field(rec, iEnd))
		}
		if err == nil {
			it.amount, err = parseNumber(field(rec, iAmount))
		}
		if err == nil {
			it.cost, err = parseNumber(field(rec, iCost))
		}
		if err != nil {
			line, _ := cr.FieldPos(0)
			return usage.Errorf("%s, line %d: %v", name, line, err)
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
	c.s[i], c.ms[i] = s, ms
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
