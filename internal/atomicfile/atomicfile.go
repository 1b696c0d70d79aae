// Package atomicfile replaces files whole: readers see the old content or
// the new, never half of it.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to a temporary file beside path, creating the
// directory if needed, and renames it over path.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ErrForeign is returned by ReplaceOwn for a path that holds a file its
// caller did not write.
var ErrForeign = errors.New("holds something else")

// ReplaceOwn writes data to path as WriteFile does, but only where path
// does not exist or is a regular file of at most limit bytes whose content
// own recognises: a cache path that names some other file (a typo such as
// ~/.bashrc) keeps its bytes, and the error wraps ErrForeign. The file is
// checked just before the rename; a writer racing in between is not seen.
func ReplaceOwn(path string, data []byte, limit int64, own func([]byte) bool) error {
	old, err := ReadRegular(path, limit)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, ErrForeign) || err == nil && !own(old):
		return fmt.Errorf("%s %w", path, ErrForeign)
	case err != nil:
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return WriteFile(path, data)
}

// ReadRegular reads path if it is a regular file of at most limit bytes;
// a directory, a device or a larger file is an error wrapping ErrForeign.
func ReadRegular(path string, limit int64) ([]byte, error) {
	// Stat before opening: opening a FIFO would wait for a writer.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > limit {
		return nil, fmt.Errorf("%s %w: not a regular file of at most %d bytes", path, ErrForeign, limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}
