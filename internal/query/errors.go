package query

import (
	"errors"
	"io/fs"
)

func isPathError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe)
}
