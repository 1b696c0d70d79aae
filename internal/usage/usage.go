// Package usage marks the errors a user fixes by changing what they asked
// for: a flag, an environment variable, an input file, the name of an AWS
// resource. The commands exit with status 2 on them, 1 on any other error.
package usage

import (
	"errors"
	"fmt"
)

// Err is matched by errors.Is for every usage error.
var Err = errors.New("usage")

// Error marks its cause as a usage error; it says what the cause says.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause and Err.
func (e *Error) Unwrap() []error { return []error{e.Err, Err} }

// Errorf formats a usage error as fmt.Errorf does (%w wraps).
func Errorf(format string, a ...any) error { return &Error{fmt.Errorf(format, a...)} }

// Wrap marks err as a usage error; nil stays nil.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &Error{err}
}
