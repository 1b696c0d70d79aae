package cur

import (
	"encoding/csv"
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzCSVScanner checks the scanner against encoding/csv: the same fields
// of the same records, and an error where it finds one. Carriage returns
// are left out: the CUR writes none, and encoding/csv drops them inside
// quoted fields too.
func FuzzCSVScanner(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n",
		"a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\n",
		"a,b\n\"multi\nline\",2\n\n3,4",
		"a,b\n1,\"unterminated\n",
		"a,b\n1,2,3\n",
		"a,b\n1,x\"y\n",
		"a,b\n\"x\"y,2\n",
		"a\n\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, '\r') {
			return
		}
		want, wantErr := csv.NewReader(strings.NewReader(s)).ReadAll()
		got, gotErr := scanAll(s)
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("%q: encoding/csv: %v; scanner: %v", s, wantErr, gotErr)
		}
		if wantErr == nil && !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%q: scanner %q; encoding/csv %q", s, got, want)
		}
	})
}

// scanAll reads every field of every record with the scanner.
func scanAll(s string) ([][]string, error) {
	c := newCSVScanner(strings.NewReader(s))
	h, err := c.header()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	all := [][]string{h}
	c.setWant(slices.Collect(func(yield func(int) bool) {
		for i := range h {
			if !yield(i) {
				return
			}
		}
	}))
	for {
		if err := c.scan(); err == io.EOF {
			return all, nil
		} else if err != nil {
			return nil, err
		}
		rec := make([]string, len(c.fields))
		for i, v := range c.fields {
			rec[i] = strings.Clone(v) // fields alias the scanner's buffers
		}
		all = append(all, rec)
	}
}
