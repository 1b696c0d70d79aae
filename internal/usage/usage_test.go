package usage

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestUsage(t *testing.T) {
	err := Errorf("--since %q: %w", "x", fs.ErrNotExist)
	if !errors.Is(err, Err) || !errors.Is(err, fs.ErrNotExist) || err.Error() != `--since "x": file does not exist` {
		t.Errorf("Errorf = %v; want a usage error wrapping fs.ErrNotExist", err)
	}
	if err := Wrap(fs.ErrNotExist); !errors.Is(err, Err) || err.Error() != fs.ErrNotExist.Error() {
		t.Errorf("Wrap = %v; want a usage error saying what its cause says", err)
	}
	if Wrap(nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
	if plain := fmt.Errorf("reading: %w", fs.ErrNotExist); errors.Is(plain, Err) {
		t.Error("a plain error is a usage error")
	}
}
