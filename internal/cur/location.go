package cur

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/netcost/netcost/internal/source"
)

// Kind says where a CUR is read from.
type Kind int

const (
	// File is an export in its own layout on a local disk, or one data file.
	File Kind = iota + 1
	// S3 is an export in its own layout in an S3 bucket.
	S3
	// Athena is a table of AWS's CUR 2.0 Athena integration: the
	// aggregation runs there and only its result comes back.
	Athena
)

// Location is a parsed --cur value.
type Location struct {
	Kind     Kind
	Path     string // File
	Bucket   string // S3
	Prefix   string // S3: the key prefix, without leading or trailing slashes
	Database string // Athena
	Table    string // Athena
}

// athenaName is what Athena accepts as a database or table name without
// quoting: letters, digits and underscores (the Glue catalog lowercases).
var athenaName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

const locationForms = "file:PATH, s3://BUCKET/PREFIX or athena:DATABASE.TABLE"

// ParseLocation parses a --cur value: file:PATH, s3://BUCKET/PREFIX or
// athena:DATABASE.TABLE. Errors are source.ValueErrors that name the value
// and the forms it may take, under --cur; source.Rename puts another name.
func ParseLocation(s string) (Location, error) {
	switch {
	case strings.HasPrefix(s, "file:"):
		p := strings.TrimPrefix(s, "file:")
		if p == "" {
			return Location{}, &source.ValueError{Name: "--cur", Value: s, Msg: "no path after file: (want " + locationForms + ")"}
		}
		return Location{Kind: File, Path: p}, nil
	case strings.HasPrefix(s, "s3://"):
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(s, "s3://"), "/")
		if bucket == "" || strings.ContainsAny(bucket, " \\") {
			return Location{}, &source.ValueError{Name: "--cur", Value: s,
				Msg: "no bucket name after s3:// (want " + locationForms + ")"}
		}
		return Location{Kind: S3, Bucket: bucket, Prefix: strings.Trim(prefix, "/")}, nil
	case strings.HasPrefix(s, "athena:"):
		db, table, ok := strings.Cut(strings.TrimPrefix(s, "athena:"), ".")
		if !ok || !athenaName.MatchString(db) || !athenaName.MatchString(table) {
			return Location{}, &source.ValueError{Name: "--cur", Value: s, Msg: "want athena:DATABASE.TABLE, " +
				"two names of letters, digits and underscores (as in athena:cur_db.cur2)"}
		}
		return Location{Kind: Athena, Database: db, Table: table}, nil
	}
	return Location{}, &source.ValueError{Name: "--cur", Value: s, Msg: "want " + locationForms}
}

// String returns the location as the user wrote it (canonically).
func (l Location) String() string {
	switch l.Kind {
	case File:
		return "file:" + l.Path
	case S3:
		if l.Prefix == "" {
			return "s3://" + l.Bucket
		}
		return "s3://" + l.Bucket + "/" + l.Prefix
	case Athena:
		return fmt.Sprintf("athena:%s.%s", l.Database, l.Table)
	}
	return ""
}
