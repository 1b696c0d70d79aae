// Package curtest writes Cost and Usage Report 2.0 files as AWS Data
// Exports delivers them, for tests and benchmarks: data files in Parquet
// and gzip CSV with the columns of the CUR 2.0 table dictionary
// (docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html), a
// Manifest.json in the shape of the Data Exports manifest
// (docs.aws.amazon.com/cur/latest/userguide/dataexports-manifest.html),
// and an export's folder layout
// (docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html).
package curtest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
)

// Item is a line item. Fields left zero are written empty (NULL in
// Parquet), except Currency, which defaults to USD.
type Item struct {
	Type        string // line_item_line_item_type: Usage, Tax, Credit, ...
	UsageType   string
	Operation   string
	ProductCode string
	ServiceCode string // product_servicecode
	ResourceID  string
	AZ          string
	Account     string
	Description string
	Start, End  time.Time
	Amount      float64 // line_item_usage_amount
	Cost        float64 // line_item_unblended_cost
	Currency    string
	Region      string // product_region_code
	FromRegion  string // product_from_region_code
	ToRegion    string // product_to_region_code
	Unit        string // pricing_unit
	Tags        map[string]string
}

type kind int

const (
	str kind = iota
	num
	stamp
	dict // map<string,string>
)

type col struct {
	name string
	kind kind
	get  func(*Item) any
}

// periodStart is the first instant of the month of t.
func periodStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// columns are the columns written, in the order of a CUR 2.0 export: the
// ones netcost reads and enough of the others (maps, timestamps, strings
// with commas and quotes) that a reader must skip them as it would in a
// real file.
var columns = []col{
	{"bill_bill_type", str, func(*Item) any { return "Anniversary" }},
	{"bill_billing_entity", str, func(*Item) any { return "AWS" }},
	{"bill_billing_period_end_date", stamp, func(it *Item) any { return periodStart(it.Start).AddDate(0, 1, 0) }},
	{"bill_billing_period_start_date", stamp, func(it *Item) any { return periodStart(it.Start) }},
	{"bill_invoice_id", str, func(*Item) any { return "" }},
	{"bill_payer_account_id", str, func(*Item) any { return "111122223333" }},
	{"cost_category", dict, func(*Item) any { return map[string]string{} }},
	{"identity_line_item_id", str, func(it *Item) any {
		return fmt.Sprintf("%x", []byte(it.UsageType+it.Start.String()+it.ResourceID))[:52]
	}},
	{"identity_time_interval", str, func(it *Item) any {
		return it.Start.UTC().Format(time.RFC3339) + "/" + it.End.UTC().Format(time.RFC3339)
	}},
	{"line_item_availability_zone", str, func(it *Item) any { return it.AZ }},
	{"line_item_blended_cost", num, func(it *Item) any { return it.Cost }},
	{"line_item_currency_code", str, func(it *Item) any { return cmpOr(it.Currency, "USD") }},
	{"line_item_legal_entity", str, func(*Item) any { return "Amazon Web Services, Inc." }},
	{"line_item_line_item_description", str, func(it *Item) any { return it.Description }},
	{"line_item_line_item_type", str, func(it *Item) any { return it.Type }},
	{"line_item_net_unblended_cost", num, func(it *Item) any { return it.Cost }},
	{"line_item_operation", str, func(it *Item) any { return it.Operation }},
	{"line_item_product_code", str, func(it *Item) any { return it.ProductCode }},
	{"line_item_resource_id", str, func(it *Item) any { return it.ResourceID }},
	{"line_item_unblended_cost", num, func(it *Item) any { return it.Cost }},
	{"line_item_unblended_rate", str, func(it *Item) any {
		if it.Amount == 0 {
			return ""
		}
		return strconv.FormatFloat(it.Cost/it.Amount, 'f', -1, 64)
	}},
	{"line_item_usage_account_id", str, func(it *Item) any { return cmpOr(it.Account, "111122223333") }},
	{"line_item_usage_amount", num, func(it *Item) any { return it.Amount }},
	{"line_item_usage_end_date", stamp, func(it *Item) any { return it.End }},
	{"line_item_usage_start_date", stamp, func(it *Item) any { return it.Start }},
	{"line_item_usage_type", str, func(it *Item) any { return it.UsageType }},
	{"pricing_unit", str, func(it *Item) any { return it.Unit }},
	{"product", dict, func(it *Item) any {
		m := map[string]string{}
		if it.Region != "" {
			m["region"] = it.Region
		}
		return m
	}},
	{"product_from_region_code", str, func(it *Item) any { return it.FromRegion }},
	{"product_region_code", str, func(it *Item) any { return it.Region }},
	{"product_servicecode", str, func(it *Item) any { return it.ServiceCode }},
	{"product_to_region_code", str, func(it *Item) any { return it.ToRegion }},
	{"resource_tags", dict, func(it *Item) any {
		if it.Tags == nil {
			return map[string]string{}
		}
		return it.Tags
	}},
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Columns returns the names of the columns the writers write.
func Columns() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}

func kept(omit []string) []col {
	var cols []col
	for _, c := range columns {
		if !slices.Contains(omit, c.name) {
			cols = append(cols, c)
		}
	}
	return cols
}

// ParquetWriter writes a Parquet data file as Data Exports does: snappy
// compression, dictionary-encoded strings, optional columns.
type ParquetWriter struct {
	w    *parquet.GenericWriter[any]
	cols []col
	typ  reflect.Type
	rows []any // written a batch at a time
}

// NewParquetWriter writes a data file to w without the columns named in
// omit.
func NewParquetWriter(w io.Writer, omit ...string) *ParquetWriter {
	cols := kept(omit)
	var fields []reflect.StructField
	for i, c := range cols {
		f := reflect.StructField{Name: fmt.Sprintf("F%d", i)}
		switch c.kind {
		case str:
			f.Type, f.Tag = reflect.TypeFor[*string](), reflect.StructTag(`parquet:"`+c.name+`,optional,dict"`)
		case num:
			f.Type, f.Tag = reflect.TypeFor[*float64](), reflect.StructTag(`parquet:"`+c.name+`,optional"`)
		case stamp:
			f.Type = reflect.TypeFor[*time.Time]()
			f.Tag = reflect.StructTag(`parquet:"` + c.name + `,optional,timestamp(millisecond)"`)
		case dict:
			f.Type, f.Tag = reflect.TypeFor[map[string]string](), reflect.StructTag(`parquet:"`+c.name+`"`)
		}
		fields = append(fields, f)
	}
	typ := reflect.StructOf(fields)
	pw := parquet.NewGenericWriter[any](w, parquet.SchemaOf(reflect.New(typ).Interface()),
		parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(1<<20),
		parquet.CreatedBy("netcost curtest", "", ""))
	return &ParquetWriter{w: pw, cols: cols, typ: typ}
}

// Write writes a line item.
func (p *ParquetWriter) Write(it Item) error {
	row := reflect.New(p.typ).Elem()
	for i, c := range p.cols {
		v := c.get(&it)
		switch c.kind {
		case str:
			if s := v.(string); s != "" {
				row.Field(i).Set(reflect.ValueOf(&s))
			}
		case num:
			x := v.(float64)
			row.Field(i).Set(reflect.ValueOf(&x))
		case stamp:
			if t := v.(time.Time); !t.IsZero() {
				t = t.UTC()
				row.Field(i).Set(reflect.ValueOf(&t))
			}
		case dict:
			row.Field(i).Set(reflect.ValueOf(v))
		}
	}
	p.rows = append(p.rows, row.Addr().Interface())
	if len(p.rows) < 4096 {
		return nil
	}
	return p.flush()
}

func (p *ParquetWriter) flush() error {
	_, err := p.w.Write(p.rows)
	p.rows = p.rows[:0]
	return err
}

// Close writes the rows left and the footer.
func (p *ParquetWriter) Close() error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.Close()
}

// CSVWriter writes a gzip-compressed CSV data file as Data Exports does:
// a header of column names, timestamps in RFC 3339 with milliseconds, map
// columns as JSON.
type CSVWriter struct {
	zw   *gzip.Writer
	cw   *csv.Writer
	cols []col
	rec  []string
}

// NewCSVWriter writes a data file to w without the columns named in omit;
// header, if given, replaces the column names (for a legacy CUR's).
func NewCSVWriter(w io.Writer, omit []string, header ...string) (*CSVWriter, error) {
	zw := gzip.NewWriter(w)
	c := &CSVWriter{zw: zw, cw: csv.NewWriter(zw), cols: kept(omit)}
	if header == nil {
		for _, col := range c.cols {
			header = append(header, col.name)
		}
	}
	c.rec = make([]string, len(c.cols))
	return c, c.cw.Write(header)
}

// Write writes a line item.
func (c *CSVWriter) Write(it Item) error {
	for i, col := range c.cols {
		v := col.get(&it)
		switch col.kind {
		case str:
			c.rec[i] = v.(string)
		case num:
			c.rec[i] = strconv.FormatFloat(v.(float64), 'f', -1, 64)
		case stamp:
			c.rec[i] = ""
			if t := v.(time.Time); !t.IsZero() {
				c.rec[i] = t.UTC().Format("2006-01-02T15:04:05.000Z")
			}
		case dict:
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			c.rec[i] = string(b)
		}
	}
	return c.cw.Write(c.rec)
}

// Close flushes the CSV and the gzip stream.
func (c *CSVWriter) Close() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.zw.Close()
}

// CSV is items as a gzip CSV data file, as NewCSVWriter writes one.
func CSV(items []Item, omit []string, header ...string) ([]byte, error) {
	var buf bytes.Buffer
	w, err := NewCSVWriter(&buf, omit, header...)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if err := w.Write(it); err != nil {
			return nil, err
		}
	}
	err = w.Close()
	return buf.Bytes(), err
}

// LegacyHeader returns the columns as a legacy Cost and Usage Report's CSV
// names them (lineItem/UsageType), for the columns that have one.
func LegacyHeader() []string {
	legacy := map[string]string{"line_item_usage_type": "lineItem/UsageType",
		"line_item_line_item_type": "lineItem/LineItemType", "line_item_usage_start_date": "lineItem/UsageStartDate",
		"line_item_usage_end_date": "lineItem/UsageEndDate", "line_item_usage_amount": "lineItem/UsageAmount",
		"line_item_unblended_cost": "lineItem/UnblendedCost", "line_item_product_code": "lineItem/ProductCode",
		"line_item_currency_code": "lineItem/CurrencyCode", "line_item_resource_id": "lineItem/ResourceId"}
	h := Columns()
	for i, c := range h {
		h[i] = cmpOr(legacy[c], c)
	}
	return h
}

// Manifest returns a Data Exports Manifest.json naming dataFiles (full S3
// URIs) as the current files of an execution.
func Manifest(exportARN, executionID string, dataFiles []string) []byte {
	type column struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	var cols []column
	for _, c := range columns {
		cols = append(cols, column{c.name, [...]string{"string", "double", "timestamp", "map<string,string>"}[c.kind]})
	}
	b, err := json.MarshalIndent(map[string]any{"executionId": executionID, "exportArn": exportARN,
		"columns": cols, "dataFiles": dataFiles}, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// DataFile is a data file of an export.
type DataFile struct {
	Period string // YYYY-MM
	// Path is the file's path under data/BILLING_PERIOD=YYYY-MM/: a name,
	// or EXECUTION/NAME for an export that creates new files. A name
	// ending in .parquet is written in Parquet, one ending in .csv.gz in
	// gzip CSV.
	Path  string
	Items []Item
	Omit  []string // columns to leave out
	// Raw, if not nil, is the file's content instead, for files that are
	// not what their name says.
	Raw []byte
}

// Export is an export's files in the Data Exports layout.
type Export struct {
	Name  string
	Files []DataFile
	// Manifests are the periods' Manifest.json: each period's Paths it
	// names as the current files.
	Manifests map[string][]string
}

// Objects returns the export's files keyed by their path under the
// folder that holds the export (NAME/data/BILLING_PERIOD=.../...). The
// manifests name the files as s3://bucket/prefix/NAME/data/..., as Data
// Exports writes them.
func (e Export) Objects(bucket, prefix string) (map[string][]byte, error) {
	objs := map[string][]byte{}
	for _, f := range e.Files {
		b, err := f.bytes()
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", f.Path, err)
		}
		objs[e.Name+"/data/BILLING_PERIOD="+f.Period+"/"+f.Path] = b
	}
	root := "s3://" + bucket + "/"
	if prefix != "" {
		root += prefix + "/"
	}
	for period, paths := range e.Manifests {
		var uris []string
		for _, p := range paths {
			uris = append(uris, root+e.Name+"/data/BILLING_PERIOD="+period+"/"+p)
		}
		arn := "arn:aws:bcm-data-exports:us-east-1:111122223333:export/" + e.Name + "-0a1b2c3d"
		objs[e.Name+"/metadata/BILLING_PERIOD="+period+"/"+e.Name+"-Manifest.json"] =
			Manifest(arn, "exec-"+period, uris)
	}
	return objs, nil
}

func (f DataFile) bytes() ([]byte, error) {
	if f.Raw != nil {
		return f.Raw, nil
	}
	var buf bytes.Buffer
	switch {
	case strings.HasSuffix(f.Path, ".parquet"):
		w := NewParquetWriter(&buf, f.Omit...)
		for _, it := range f.Items {
			if err := w.Write(it); err != nil {
				return nil, err
			}
		}
		err := w.Close()
		return buf.Bytes(), err
	case strings.HasSuffix(f.Path, ".csv.gz"):
		return CSV(f.Items, f.Omit)
	}
	return nil, fmt.Errorf("%s is neither .parquet nor .csv.gz: give its bytes in Raw", f.Path)
}

// WriteDir writes objects (as Objects returns them) under dir.
func WriteDir(dir string, objs map[string][]byte) error {
	for key, b := range objs {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
