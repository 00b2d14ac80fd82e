package eventlog

import "strings"

// Fold is the case folding under which filters match actors and content
// types. The store keeps folded copies of those fields and compares them
// with folded filter values, so Match and the store agree.
func Fold(s string) string { return strings.ToLower(s) }

// Match reports whether e passes every filter of f, as the store's queries
// decide it.
func (f *Filter) Match(e *Event) bool {
	switch {
	case f.Type != TypeUnspecified && e.Type != f.Type:
		return false
	case f.Actor != "" && Fold(e.Actor.ID) != Fold(f.Actor) && Fold(e.Actor.Name) != Fold(f.Actor):
		return false
	case f.ContentType != "" && Fold(e.ContentType) != Fold(f.ContentType):
		return false
	case f.ObjectID != "" && e.ObjectID != f.ObjectID:
		return false
	case f.SourceID != nil && e.SourceID != *f.SourceID:
		return false
	case !f.Start.IsZero() && e.Time.Before(f.Start):
		return false
	case !f.End.IsZero() && e.Time.After(f.End):
		return false
	}
	return true
}
