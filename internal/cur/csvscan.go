package cur

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

// csvScanner reads CSV records (RFC 4180: fields in double quotes may hold
// commas, newlines and doubled quotes) and keeps only the fields asked
// for. It exists because a CUR's CSV has a hundred columns and the reader
// wants a dozen: encoding/csv builds every field of every record, which
// made it most of the time of reading a month's bill.
type csvScanner struct {
	br      *bufio.Reader
	want    []int    // per field index, the slot it goes to, or -1
	fields  []string // per slot; they alias the reader's buffers until the next call to scan
	nfields int      // fields per record: the header's
	rec     []byte   // a record longer than the buffer, or across a quoted newline
	scratch []byte   // the unescaped values of quoted fields with doubled quotes
	record  int      // records read, the header included
}

func newCSVScanner(r io.Reader) *csvScanner {
	return &csvScanner{br: bufio.NewReaderSize(r, 1<<20)}
}

// header reads the first record whole.
func (c *csvScanner) header() ([]string, error) {
	line, err := c.line()
	if err != nil {
		return nil, err
	}
	var h []string
	err = splitCSV(line, func(i int, v []byte, quoted bool) error {
		h = append(h, string(unquote(v, quoted, nil)))
		return nil
	})
	c.nfields = len(h)
	return h, err
}

// setWant asks for the fields at the indexes of cols, into fields[0..].
func (c *csvScanner) setWant(cols []int) {
	c.want = make([]int, c.nfields)
	for i := range c.want {
		c.want[i] = -1
	}
	for slot, i := range cols {
		if i >= 0 {
			c.want[i] = slot
		}
	}
	c.fields = make([]string, len(cols))
}

// scan reads the next record into fields; io.EOF at the end.
func (c *csvScanner) scan() error {
	line, err := c.line()
	if err != nil {
		return err
	}
	clear(c.fields)
	c.scratch = c.scratch[:0]
	n := 0
	err = splitCSV(line, func(i int, v []byte, quoted bool) error {
		n++
		if i >= len(c.want) || c.want[i] < 0 {
			return nil
		}
		if quoted && bytes.Contains(v, []byte(`""`)) {
			start := len(c.scratch)
			c.scratch = unquote(v, true, c.scratch)
			v = c.scratch[start:]
		}
		if len(v) > 0 {
			c.fields[c.want[i]] = unsafe.String(&v[0], len(v))
		}
		return nil
	})
	if err == nil && n != c.nfields {
		err = fmt.Errorf("%d fields, the header %d", n, c.nfields)
	}
	if err != nil {
		return fmt.Errorf("record %d: %w", c.record, err)
	}
	return nil
}

// line returns the next record's bytes, without the line end: up to a
// newline outside quotes. Empty lines are skipped, as encoding/csv does.
func (c *csvScanner) line() ([]byte, error) {
	for {
		line, err := c.record1()
		if err != nil || len(line) > 0 {
			return line, err
		}
	}
}

func (c *csvScanner) record1() ([]byte, error) {
	c.record++
	line, err := c.br.ReadSlice('\n')
	if err == nil && bytes.Count(line, []byte{'"'})%2 == 0 {
		return trimEOL(line), nil
	}
	// Longer than the buffer, across a quoted newline, or the last line
	// without a newline: gather it.
	c.rec = append(c.rec[:0], line...)
	for {
		switch {
		case err == bufio.ErrBufferFull:
		case err == io.EOF && len(c.rec) == 0:
			return nil, io.EOF
		case err == io.EOF:
			if bytes.Count(c.rec, []byte{'"'})%2 != 0 {
				return nil, errors.New("a quoted field does not end")
			}
			return trimEOL(c.rec), nil
		case err != nil:
			return nil, err
		case bytes.Count(c.rec, []byte{'"'})%2 == 0:
			return trimEOL(c.rec), nil
		}
		line, err = c.br.ReadSlice('\n')
		c.rec = append(c.rec, line...)
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// splitCSV calls f with each field of a record: its index, its bytes
// (without the quotes of a quoted field) and whether it was quoted.
func splitCSV(b []byte, f func(i int, v []byte, quoted bool) error) error {
	for i, pos := 0, 0; ; i++ {
		var v []byte
		quoted := pos < len(b) && b[pos] == '"'
		if quoted {
			end := pos + 1
			for {
				k := bytes.IndexByte(b[end:], '"')
				if k < 0 {
					return fmt.Errorf("field %d: a quoted field does not end", i+1)
				}
				end += k
				if end+1 < len(b) && b[end+1] == '"' {
					end += 2
					continue
				}
				break
			}
			v, pos = b[pos+1:end], end+1
			if pos < len(b) && b[pos] != ',' {
				return fmt.Errorf("field %d: %q after a quoted field", i+1, b[pos])
			}
		} else {
			end := bytes.IndexByte(b[pos:], ',')
			if end < 0 {
				end = len(b) - pos
			}
			v = b[pos : pos+end]
			if bytes.IndexByte(v, '"') >= 0 {
				return fmt.Errorf("field %d: a quote in a field that is not quoted", i+1)
			}
			pos += end
		}
		if err := f(i, v, quoted); err != nil {
			return err
		}
		if pos >= len(b) {
			return nil
		}
		pos++ // the comma
	}
}

// unquote appends v to dst with doubled quotes made single, when quoted.
func unquote(v []byte, quoted bool, dst []byte) []byte {
	if !quoted {
		return append(dst, v...)
	}
	for {
		k := bytes.Index(v, []byte(`""`))
		if k < 0 {
			return append(dst, v...)
		}
		dst = append(dst, v[:k+1]...)
		v = v[k+2:]
	}
}
