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

// ErrOutcomeUnknown means that a write may or may not have been stored: the
// connection to the database broke after the commit was sent, and whether
// it landed could not be found out. It is also ErrUnavailable. A retry with
// the same idempotency key returns the entry if it was stored and writes it
// if it was not; a retry without a key may store it twice.
var ErrOutcomeUnknown = fmt.Errorf("%w: the write may have been stored", ErrUnavailable)

// KeyConflictError says that an idempotency key already holds an entry
// written by a different request: the key cannot be reused for another
// entry. An identical retry is not an error; it returns the stored entry.
type KeyConflictError struct {
	Key   string // the idempotency key
	ID    int64  // the entry the key holds
	Field string // the first field, in request terms, that differs
}

func (e *KeyConflictError) Error() string {
	return fmt.Sprintf("idempotency_key %q already holds entry %d, written by a different request (%s differs); "+
		"a retry must repeat the request exactly, and a new entry needs a new key", e.Key, e.ID, e.Field)
}

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

// PrunedError says that what was asked for lies in the part of the log
// that retention removed: entries up to Through are gone (see Anchor).
type PrunedError struct {
	Through int64  // the last id removed
	What    string // what could not be answered, such as "entry 12"
	Hint    string // what the caller can do instead, if anything
}

func (e *PrunedError) Error() string {
	msg := fmt.Sprintf("%s: entries up to id %d were pruned (removed by retention)", e.What, e.Through)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}
