package eventlog

import (
	"errors"
	"fmt"
)

// ErrNotFound means that the entry or object asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnavailable means that the service is shutting down or its store cannot
// be reached; the caller may retry elsewhere or later.
var ErrUnavailable = errors.New("unavailable")

// InvalidError says that one field of a request does not hold what is
// expected. Field is the field's path in the request, such as
// "event.actor.name" or "page_token".
type InvalidError struct {
	Field   string
	Problem string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Problem) }

// Invalid returns an *InvalidError for field, its problem formatted as by
// fmt.Sprintf.
func Invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// FanoutError says that a write would propagate to more objects than the
// cap on children per source entry allows; nothing was written.
type FanoutError struct {
	Limit  int       // the cap
	Source ObjectRef // the object acted on
}

func (e *FanoutError) Error() string {
	return fmt.Sprintf("an entry on %s/%s would propagate to more than %d objects, the cap on children per entry (--max-fanout); nothing was written",
		e.Source.ContentType, e.Source.ObjectID, e.Limit)
}
