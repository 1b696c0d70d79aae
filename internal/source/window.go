package source

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Window is a time range [Start, End). Zero bounds are open: a file store
// then reads everything it has, and the AWS sources read their default
// window.
type Window struct {
	Start, End time.Time
}

// Contains reports whether t is in the window.
func (w Window) Contains(t time.Time) bool {
	return (w.Start.IsZero() || !t.Before(w.Start)) && (w.End.IsZero() || t.Before(w.End))
}

// ParseDuration parses the length of a window: a Go duration such as 90m
// or 24h, or a whole number of days such as 7d.
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, serr := fmt.Sscanf(n, "%d", &days); serr != nil || fmt.Sprint(days) != n {
			err = serr
			if err == nil {
				err = errors.New("not a whole number of days")
			}
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, &ValueError{Name: "window", Value: s, Msg: "want a positive duration such as 90m, 24h or 7d"}
	}
	return d, nil
}

// ParseTime parses a window's bound: RFC 3339, or a date, or a date and a
// time without seconds, in UTC unless an offset is given.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &ValueError{Name: "time", Value: s,
		Msg: "want RFC 3339 (2026-11-21T10:00:00Z) or a date (2026-11-21)"}
}
