package cur

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/usage"
)

// object is a file of an export: its key relative to the location, with
// slashes.
type object struct {
	key      string
	size     int64
	modified time.Time
}

// store is where an export's files are: a directory or an S3 prefix.
type store interface {
	// list returns every object under the location.
	list(ctx context.Context) ([]object, error)
	// open streams an object.
	open(ctx context.Context, key string) (io.ReadCloser, error)
	// readerAt reads an object at offsets, for Parquet.
	readerAt(ctx context.Context, o object) (io.ReaderAt, io.Closer, error)
	// name is an object's name for messages.
	name(key string) string
}

// fetchError is a failure to read an export's files (I/O, network, access),
// as opposed to files whose content is wrong.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// dirStore is an export on a local disk.
type dirStore struct{ root string }

func (d dirStore) list(context.Context) ([]object, error) {
	var objs []object
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		objs = append(objs, object{key: filepath.ToSlash(rel), size: info.Size(), modified: info.ModTime()})
		return nil
	})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, usage.Errorf("reading the CUR at %s: %w", d.root, err)
		}
		return nil, fmt.Errorf("listing %s: %w", d.root, err)
	}
	return objs, nil
}

func (d dirStore) open(_ context.Context, key string) (io.ReadCloser, error) {
	f, err := os.Open(d.name(key))
	if err != nil {
		return nil, &fetchError{err}
	}
	return fileReader{f}, nil
}

func (d dirStore) readerAt(_ context.Context, o object) (io.ReaderAt, io.Closer, error) {
	f, err := os.Open(d.name(o.key))
	if err != nil {
		return nil, nil, &fetchError{err}
	}
	return fileReader{f}, f, nil
}

func (d dirStore) name(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

// fileReader marks a local file's read errors as fetch errors.
type fileReader struct{ f *os.File }

func (r fileReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	if err != nil && err != io.EOF {
		err = &fetchError{err}
	}
	return n, err
}

func (r fileReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = &fetchError{err}
	}
	return n, err
}

func (r fileReader) Close() error { return r.f.Close() }

// s3API is what the reader calls of S3.
type s3API interface {
	s3.ListObjectsV2APIClient
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// s3Store is an export under an S3 prefix.
type s3Store struct {
	client         s3API
	bucket, prefix string // prefix is empty or ends with a slash
}

func newS3Store(client s3API, loc Location) s3Store {
	p := loc.Prefix
	if p != "" {
		p += "/"
	}
	return s3Store{client: client, bucket: loc.Bucket, prefix: p}
}

func (s s3Store) where() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s s3Store) list(ctx context.Context) ([]object, error) {
	var objs []object
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket),
		Prefix: aws.String(s.prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, s.explain(err, s.where())
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if key == "" || strings.HasSuffix(key, "/") {
				continue
			}
			objs = append(objs, object{key: key, size: aws.ToInt64(o.Size), modified: aws.ToTime(o.LastModified)})
		}
	}
	return objs, nil
}

// explain turns an S3 error into one line; a bucket that does not exist is
// the user's to fix.
func (s s3Store) explain(err error, what string) error {
	err = awscfg.Explain(err, what)
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchBucket" || ae.ErrorCode() == "NoSuchKey") {
		return usage.Errorf("%w (check --cur)", err)
	}
	return err
}

func (s s3Store) open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		return nil, &fetchError{s.explain(err, s.name(key))}
	}
	return s3Body{out.Body, s.name(key)}, nil
}

// s3Body marks an object's read errors as fetch errors.
type s3Body struct {
	io.ReadCloser
	name string
}

func (b s3Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = &fetchError{fmt.Errorf("reading %s: %w", b.name, err)}
	}
	return n, err
}

// readerAt reads a Parquet object with ranged GETs: only the footer and the
// column chunks the reader needs cross the network, a buffer
// (parquetReadBuffer) at a time, and nothing is spooled to disk.
func (s s3Store) readerAt(ctx context.Context, o object) (io.ReaderAt, io.Closer, error) {
	return &s3ReaderAt{ctx: ctx, s: s, o: o}, nopCloser{}, nil
}

func (s s3Store) name(key string) string { return "s3://" + s.bucket + "/" + s.prefix + key }

// s3ReaderAt is an io.ReaderAt over ranged GETs of one object.
type s3ReaderAt struct {
	ctx context.Context // the read's context: ReadAt has none of its own
	s   s3Store
	o   object
}

func (r *s3ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.o.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), r.o.size)
	out, err := r.s.client.GetObject(r.ctx, &s3.GetObjectInput{Bucket: aws.String(r.s.bucket),
		Key: aws.String(r.s.prefix + r.o.key), Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end-1))})
	if err != nil {
		return 0, &fetchError{r.s.explain(err, r.s.name(r.o.key))}
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p[:end-off])
	if err != nil {
		return n, &fetchError{fmt.Errorf("reading %s: %w", r.s.name(r.o.key), err)}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
