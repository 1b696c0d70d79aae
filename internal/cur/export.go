package cur

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/netcost/netcost/internal/usage"
)

// The layout of a Data Exports export (docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html):
//
//	<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/[<execution-id>/]<export-name>-00001.snappy.parquet
//	<prefix>/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/<export-name>-Manifest.json
//
// An export that overwrites replaces a period's files in place; one that
// creates new files puts each execution's files in a folder of its own. In
// both, the period's Manifest.json names the current files in dataFiles, as
// full S3 URIs (docs.aws.amazon.com/cur/latest/userguide/dataexports-manifest.html).
var (
	dataKey     = regexp.MustCompile(`^(.*?)data/BILLING_PERIOD=(\d{4}-\d{2})/(.+)$`)
	manifestKey = regexp.MustCompile(`^(.*?)metadata/BILLING_PERIOD=(\d{4}-\d{2})/([^/]*Manifest\.json)$`)
	// A legacy CUR: report folders named by their date range
	// (20240101-20240201/), or Parquet partitioned by year and month.
	legacyKey = regexp.MustCompile(`(^|/)(\d{8}-\d{8}/|year=\d{4}/month=\d{1,2}/)`)
)

// isDataFile says whether a key names a data file a reader reads.
func isDataFile(key string) bool {
	return strings.HasSuffix(key, ".parquet") || strings.HasSuffix(key, ".csv.gz")
}

// period is a billing period of an export and its files.
type period struct {
	name      string // YYYY-MM
	files     []object
	manifests []object
}

// export is an export's periods, found by listing its location.
type export struct {
	root    string // the export's folder relative to the location: "" or ending with a slash
	periods map[string]*period
}

// names returns the periods' names, sorted.
func (e *export) names() []string { return slices.Sorted(maps.Keys(e.periods)) }

// discover finds the export among objs, the objects under where: exactly
// one folder holding data/BILLING_PERIOD=... (the location may name the
// export's folder or a folder above it).
func discover(objs []object, where string) (*export, error) {
	exports := map[string]*export{}
	legacy := ""
	get := func(root, name string) *period {
		e := exports[root]
		if e == nil {
			e = &export{root: root, periods: map[string]*period{}}
			exports[root] = e
		}
		p := e.periods[name]
		if p == nil {
			p = &period{name: name}
			e.periods[name] = p
		}
		return p
	}
	for _, o := range objs {
		if m := dataKey.FindStringSubmatch(o.key); m != nil && isDataFile(o.key) {
			p := get(m[1], m[2])
			p.files = append(p.files, o)
		} else if m := manifestKey.FindStringSubmatch(o.key); m != nil {
			p := get(m[1], m[2])
			p.manifests = append(p.manifests, o)
		} else if legacy == "" && legacyKey.MatchString(o.key) {
			legacy = o.key
		}
	}
	switch len(exports) {
	case 1:
		for _, e := range exports {
			return e, nil
		}
	case 0:
		if legacy != "" {
			return nil, usage.Errorf("%s holds a legacy Cost and Usage Report (%s), not a CUR 2.0: netcost reads CUR 2.0; "+
				"create a CUR 2.0 export in AWS Data Exports (see docs/reconcile.md)", where, legacy)
		}
		return nil, usage.Errorf("%s holds no CUR 2.0 data: want EXPORT/data/BILLING_PERIOD=YYYY-MM/*.parquet or *.csv.gz "+
			"under it (check the path or the S3 prefix)", where)
	}
	roots := slices.Sorted(maps.Keys(exports))
	for i, r := range roots {
		roots[i] = strings.TrimSuffix(r, "/")
		if roots[i] == "" {
			roots[i] = "."
		}
	}
	return nil, usage.Errorf("%s holds %d exports (%s): name one of them in --cur", where, len(roots),
		strings.Join(roots, ", "))
}

// manifest is the part of a Data Exports manifest the reader uses.
type manifest struct {
	ExecutionID string   `json:"executionId"`
	DataFiles   []string `json:"dataFiles"`
}

// currentFiles returns the data files of p that hold its current data:
// those its manifest names, or, without a manifest, every data file of the
// period if they come from one execution.
func currentFiles(ctx context.Context, st store, e *export, p *period) ([]object, error) {
	if len(p.manifests) == 0 {
		dirs := map[string]bool{}
		for _, f := range p.files {
			dirs[path.Dir(f.key)] = true
		}
		if len(dirs) > 1 {
			return nil, usage.Errorf("%s: billing period %s holds the files of %d executions of the export and no "+
				"manifest (metadata/BILLING_PERIOD=%s/*Manifest.json) says which are current", st.name(e.root),
				p.name, len(dirs), p.name)
		}
		return p.files, nil
	}
	// One manifest per period; should there be more, the newest speaks.
	mo := slices.MaxFunc(p.manifests, func(a, b object) int { return a.modified.Compare(b.modified) })
	m, err := readManifest(ctx, st, mo.key)
	if err != nil {
		return nil, err
	}
	byKey := map[string]object{}
	for _, f := range p.files {
		byKey[f.key] = f
	}
	var files []object
	for _, uri := range m.DataFiles {
		i := strings.Index(uri, "data/BILLING_PERIOD=")
		key := ""
		if i >= 0 {
			key = e.root + uri[i:]
		}
		f, ok := byKey[key]
		if !ok {
			return nil, fmt.Errorf("the manifest %s names %s, which is not in the export: the export may be "+
				"being rewritten (try again in a few minutes)", st.name(mo.key), uri)
		}
		files = append(files, f)
	}
	return files, nil
}

// maxManifest bounds a manifest's size: it lists columns and files, and is
// read whole.
const maxManifest = 16 << 20

func readManifest(ctx context.Context, st store, key string) (*manifest, error) {
	rc, err := st.open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest+1))
	if err != nil {
		return nil, err
	}
	var m manifest
	if len(b) > maxManifest {
		err = errors.New("larger than 16 MB")
	} else {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		return nil, usage.Errorf("%s is not a Data Exports manifest: %v", st.name(key), err)
	}
	return &m, nil
}
