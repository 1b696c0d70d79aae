package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/netcost/netcost/internal/flows"
)

// Mark names the kernel's counts that a window accounts for (a bpf.Mark,
// which this package does not import): the agent reads it back at start to
// tell counts still in the kernel that a window already holds from counts
// no window holds, so that a crash loses nothing and doubles nothing.
type Mark struct {
	Layout string `json:"layout,omitempty"`
	Epoch  uint64 `json:"epoch,omitempty"`
}

// Marked is a Sink that writes a window together with its Mark, so that
// either both are on disk or neither is, and tells the Mark of the last
// window written.
type Marked interface {
	Sink
	WriteMarked(ctx context.Context, recs []flows.Record, m Mark) error
	Committed() Mark
}

// writeCommit replaces the small JSON file at path with v: a temporary
// file, synced, renamed, and the directory synced.
func writeCommit(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("syncing %s: %w", filepath.Dir(path), err)
	}
	return nil
}

// readCommit reads the JSON file at path into v, and says whether it
// exists.
func readCommit(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("reading %s: %w (remove it if nothing else helps: the next windows may then "+
			"repeat counts the last ones hold)", path, err)
	}
	return true, nil
}
