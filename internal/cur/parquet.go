package cur

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/netcost/netcost/internal/usage"
)

// parquetBatch is how many values of each column the reader holds at once.
const parquetBatch = 1024

// parquetReadBuffer is the read size of each column chunk: over S3 each
// buffer fill is one ranged GET, so it is large enough for few requests
// and small enough that the dozen columns read stay within a few tens of
// MB.
const parquetReadBuffer = 1 << 20

// column is a column of a Parquet file the reader reads, and how to turn
// its values into what the aggregator wants.
type column struct {
	name  string
	index int // leaf column index in each row group
	str   bool
	num   func(parquet.Value) float64
	time  func(parquet.Value) int64 // Unix milliseconds
}

// readParquet streams the line items of a Parquet data file to add, a row
// group and then a page of each needed column at a time; the columns it
// does not need are never read. name names the file in errors.
func readParquet(r io.ReaderAt, size int64, name string, byResource bool, add func(*lineItem)) error {
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(parquetReadBuffer))
	if err != nil {
		var fe *fetchError
		if errors.As(err, &fe) {
			return err
		}
		return usage.Errorf("%s is not a Parquet file: %v", name, err)
	}
	root := f.Root()
	has := func(n string) bool { c := root.Column(n); return c != nil && c.Leaf() }
	if err := checkColumns(name, has, byResource); err != nil {
		return err
	}
	names := append([]string{}, requiredColumns...)
	names = append(names, colResource, colProductRegion)
	cols := make([]*column, len(names))
	for i, n := range names {
		c := root.Column(n)
		if c == nil || !c.Leaf() || (n == colResource && !byResource) {
			continue // optional and absent, or not needed
		}
		if cols[i], err = parquetColumn(c); err != nil {
			return usage.Errorf("%s: %w", name, err)
		}
	}
	it := lineItem{items: 1}
	for _, rg := range f.RowGroups() {
		if err := readRowGroup(rg, cols, &it, add); err != nil {
			var fe *fetchError
			if errors.As(err, &fe) {
				return err
			}
			return usage.Errorf("reading %s: %v", name, err)
		}
	}
	return nil
}

// readRowGroup reads the columns of one row group in step, a batch at a
// time, and hands each row to add.
func readRowGroup(rg parquet.RowGroup, cols []*column, it *lineItem, add func(*lineItem)) error {
	chunks := rg.ColumnChunks()
	type reader struct {
		r        parquet.ColumnChunkValueReader
		vals     []parquet.Value
		pos, cnt int
	}
	readers := make([]*reader, len(cols))
	for i, c := range cols {
		if c != nil {
			readers[i] = &reader{r: parquet.NewColumnChunkValueReader(chunks[c.index]),
				vals: make([]parquet.Value, parquetBatch)}
			defer readers[i].r.Close()
		}
	}
	for left := rg.NumRows(); left > 0; {
		n := int64(math.MaxInt64)
		for _, rd := range readers {
			if rd == nil {
				continue
			}
			if rd.pos == rd.cnt {
				cnt, err := rd.r.ReadValues(rd.vals)
				if cnt == 0 {
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return err
				}
				rd.pos, rd.cnt = 0, cnt
			}
			n = min(n, int64(rd.cnt-rd.pos))
		}
		n = min(n, left)
		for k := range int(n) {
			for i, rd := range readers {
				if rd == nil {
					continue
				}
				setField(it, i, cols[i], rd.vals[rd.pos+k])
			}
			add(it)
		}
		for _, rd := range readers {
			if rd != nil {
				rd.pos += int(n)
			}
		}
		left -= n
	}
	return nil
}

// setField stores value v of the i-th column of readParquet's names in it.
// Strings alias the page's memory: the aggregator copies what it keeps.
func setField(it *lineItem, i int, c *column, v parquet.Value) {
	var s string
	if c.str && !v.IsNull() {
		if b := v.ByteArray(); len(b) > 0 {
			s = unsafe.String(&b[0], len(b))
		}
	}
	switch i {
	case 0:
		it.itemType = s
	case 1:
		it.usageType = s
	case 2:
		it.start = c.time(v)
	case 3:
		it.end = c.time(v)
	case 4:
		it.amount = c.num(v)
	case 5:
		it.cost = c.num(v)
	case 6:
		it.productCode = s
	case 7:
		it.currency = s
	case 8:
		it.resource = s
	case 9:
		it.productRegion = s
	}
}

// parquetColumn returns how to read c, whose name says which of the
// reader's columns it is, or an error naming its type when the reader
// cannot read it.
func parquetColumn(c *parquet.Column) (*column, error) {
	col := &column{name: c.Name(), index: c.Index()}
	typ := c.Type()
	lt := typ.LogicalType()
	bad := func(want string) error {
		return fmt.Errorf("column %s is %s, not %s as a CUR 2.0 has it", c.Name(), typeName(typ), want)
	}
	switch c.Name() {
	case colStart, colEnd:
		switch {
		case typ.Kind() == parquet.Int64 && timestampUnit(lt) > 0:
			unit := timestampUnit(lt)
			col.time = func(v parquet.Value) int64 {
				if v.IsNull() {
					return 0
				}
				return v.Int64() * int64(unit) / 1e6
			}
		case typ.Kind() == parquet.Int96:
			col.time = func(v parquet.Value) int64 {
				if v.IsNull() {
					return 0
				}
				i := v.Int96()
				nanos := int64(i[1])<<32 | int64(i[0])
				return (int64(i[2])-2440588)*86400e3 + nanos/1e6 // Julian day and nanoseconds into it
			}
		case typ.Kind() == parquet.ByteArray:
			col.time = func(v parquet.Value) int64 {
				ms, _ := parseTimestamp(string(v.ByteArray()))
				return ms
			}
		default:
			return nil, bad("a timestamp")
		}
	case colAmount, colCost:
		switch typ.Kind() {
		case parquet.Double:
			col.num = func(v parquet.Value) float64 { return v.Double() }
		case parquet.Float:
			col.num = func(v parquet.Value) float64 { return float64(v.Float()) }
		case parquet.Int32:
			scale := decimalScale(lt)
			col.num = func(v parquet.Value) float64 { return float64(v.Int32()) / scale }
		case parquet.Int64:
			scale := decimalScale(lt)
			col.num = func(v parquet.Value) float64 { return float64(v.Int64()) / scale }
		case parquet.ByteArray:
			col.num = func(v parquet.Value) float64 {
				x, _ := strconv.ParseFloat(string(v.ByteArray()), 64)
				return x
			}
		default:
			return nil, bad("a double")
		}
	default:
		if typ.Kind() != parquet.ByteArray {
			return nil, bad("a string")
		}
		col.str = true
	}
	if col.num != nil {
		num := col.num
		col.num = func(v parquet.Value) float64 {
			if v.IsNull() {
				return 0
			}
			return num(v)
		}
	}
	return col, nil
}

func typeName(t parquet.Type) string {
	if lt := t.LogicalType(); lt != nil && lt.String() != "" {
		return fmt.Sprintf("%s (%s)", t.Kind(), lt)
	}
	return t.Kind().String()
}

// timestampUnit is the unit of a TIMESTAMP logical type, 0 for another.
func timestampUnit(lt *format.LogicalType) time.Duration {
	if lt == nil {
		return 0
	}
	if ts, ok := lt.Value.(*format.TimestampType); ok && ts.Unit.Value != nil {
		return ts.Unit.Value.Duration()
	}
	return 0
}

// decimalScale is 10^scale of a DECIMAL logical type, 1 for another.
func decimalScale(lt *format.LogicalType) float64 {
	if lt != nil {
		if d, ok := lt.Value.(*format.DecimalType); ok {
			return math.Pow10(int(d.Scale))
		}
	}
	return 1
}
