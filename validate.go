package eventlog

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// typeChoices lists the event types a write accepts, for error messages.
var typeChoices = func() string {
	var names []string
	for _, t := range EventTypes() {
		names = append(names, t.String())
	}
	return strings.Join(names, ", ")
}()

// OccurredMin and OccurredMax bound Event.OccurredTime. The lower bound is
// exclusive: the canonical form stores an absent time as 0 Unix
// microseconds, so the epoch itself cannot be told apart from "not given".
var (
	OccurredMin = time.Unix(0, 0).UTC()
	OccurredMax = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// Validate checks an entry a writer sends: the fields a writer gives, within
// the limits above; the fields the store assigns are not looked at. Errors
// are *InvalidError naming the field as it is in a LogEventRequest:
// "event.actor.name", "event.details", "idempotency_key".
func (e *Event) Validate() error {
	switch {
	case e.Type == TypeUnspecified:
		return Invalid("event.event_type", "required: one of %s", typeChoices)
	case !e.Type.Valid():
		return Invalid("event.event_type", "unknown value %d: want one of %s", e.Type, typeChoices)
	}
	if err := e.Actor.validate("event.actor"); err != nil {
		return err
	}
	if err := CheckRequired("event.content_type", e.ContentType, MaxShortString); err != nil {
		return err
	}
	if err := CheckRequired("event.object_id", e.ObjectID, MaxObjectID); err != nil {
		return err
	}
	if err := CheckString("event.object_repr", e.ObjectRepr, MaxLongString, false); err != nil {
		return err
	}
	if err := e.Request.validate("event.request"); err != nil {
		return err
	}
	if t := e.OccurredTime; !t.IsZero() && (!t.After(OccurredMin) || t.After(OccurredMax)) {
		return Invalid("event.occurred_time", "want a time after %s and before year 10000, got %s",
			OccurredMin.Format(time.RFC3339), t.Format(time.RFC3339Nano))
	}
	if err := checkIdempotencyKey("idempotency_key", e.IdempotencyKey); err != nil {
		return err
	}
	if len(e.Details) > MaxDetailsBytes {
		return Invalid("event.details", "at most %d bytes once serialized as JSON, got %d", MaxDetailsBytes, len(e.Details))
	}
	return nil
}

func (a *Actor) validate(field string) error {
	if blank(a.ID) && blank(a.Name) {
		return Invalid(field, "required: at least one of id and name")
	}
	// The fields' paths are only built for an error.
	if CheckString("", a.ID, MaxShortString, true) != nil {
		return CheckString(field+".id", a.ID, MaxShortString, true)
	}
	if CheckString("", a.Name, MaxShortString, true) != nil {
		return CheckString(field+".name", a.Name, MaxShortString, true)
	}
	if !a.Kind.Valid() {
		return Invalid(field+".kind", "unknown value %d: want one of USER, SERVICE, SYSTEM or UNSPECIFIED", a.Kind)
	}
	return nil
}

func (r *Request) validate(field string) error {
	for _, c := range [...]struct {
		name string
		s    string
		max  int
	}{
		{"remote_addr", r.RemoteAddr, MaxLongString},
		{"method", r.Method, MaxShortString},
		{"path", r.Path, MaxLongString},
		{"protocol", r.Protocol, MaxShortString},
		{"user_agent", r.UserAgent, MaxLongString},
		{"request_id", r.RequestID, MaxShortString},
	} {
		// The field's path is only built for an error.
		if CheckString("", c.s, c.max, false) != nil {
			return CheckString(field+"."+c.name, c.s, c.max, false)
		}
	}
	if r.Status != 0 && (r.Status < 100 || r.Status > 599) {
		return Invalid(field+".status", "want 0 (unknown) or an HTTP status code from 100 to 599, got %d", r.Status)
	}
	return nil
}

func checkIdempotencyKey(field, key string) error {
	if len(key) > MaxIdempotencyKey {
		return Invalid(field, "at most %d bytes, got %d", MaxIdempotencyKey, len(key))
	}
	if !utf8.ValidString(key) {
		return Invalid(field, "not valid UTF-8")
	}
	for i, r := range key {
		if !unicode.IsPrint(r) {
			return Invalid(field, "non-printable character %U at byte %d: want printable characters only", r, i)
		}
	}
	return nil
}

// Validate checks the filters of a listing. Errors name the field as in a
// ListEventsRequest: "actor", "source_id", "end_time".
func (f *Filter) Validate() error {
	for _, c := range [...]struct {
		name string
		s    string
		max  int
	}{
		{"actor", f.Actor, MaxShortString},
		{"content_type", f.ContentType, MaxShortString},
		{"object_id", f.ObjectID, MaxObjectID},
	} {
		if err := CheckString(c.name, c.s, c.max, true); err != nil {
			return err
		}
	}
	if f.SourceID != nil && *f.SourceID < 0 {
		return Invalid("source_id", "must not be negative, got %d", *f.SourceID)
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return Invalid("end_time", "must not be before start_time (%s), got %s",
			f.Start.Format(time.RFC3339Nano), f.End.Format(time.RFC3339Nano))
	}
	return nil
}

// Validate checks an object named by a write or a relation: both fields
// are required identifiers. Errors name "content_type" or "object_id".
func (r *ObjectRef) Validate() error {
	if err := CheckRequired("content_type", r.ContentType, MaxShortString); err != nil {
		return err
	}
	return CheckRequired("object_id", r.ObjectID, MaxObjectID)
}

// Validate checks a relation. Errors name "from.content_type",
// "to.object_id", "kind" and so on.
func (r *Relation) Validate() error {
	for _, end := range []struct {
		name string
		ref  *ObjectRef
	}{{"from", &r.From}, {"to", &r.To}} {
		if err := end.ref.Validate(); err != nil {
			return Within(end.name, err)
		}
	}
	return CheckString("kind", r.Kind, MaxShortString, true)
}

// Within returns err with the field of an *InvalidError put under
// prefix: Within("requests[3]", err on "event.actor") is an error on
// "requests[3].event.actor". Other errors are returned as they are.
func Within(prefix string, err error) error {
	inv, ok := err.(*InvalidError)
	if !ok || prefix == "" {
		return err
	}
	sep := "."
	if strings.HasPrefix(inv.Field, "[") {
		sep = ""
	}
	return &InvalidError{Field: prefix + sep + inv.Field, Problem: inv.Problem}
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// CheckRequired checks an identifier that must be given: empty or white
// space only is rejected, and so is anything CheckString rejects of an
// identifier.
func CheckRequired(field, s string, max int) error {
	if blank(s) {
		return Invalid(field, "required")
	}
	return CheckString(field, s, max, true)
}

// CheckString checks that s, the value of field, is valid UTF-8 of at most
// max bytes without NUL characters (which neither backend stores). An
// identifier (ident) must also be free of control characters.
func CheckString(field, s string, max int, ident bool) error {
	if len(s) > max {
		return Invalid(field, "at most %d bytes, got %d", max, len(s))
	}
	// Printable ASCII, the common case, passes every check.
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return nil
	}
	if !utf8.ValidString(s) {
		return Invalid(field, "not valid UTF-8")
	}
	for i, r := range s {
		switch {
		case r == 0:
			return Invalid(field, "NUL character at byte %d", i)
		case ident && unicode.IsControl(r):
			return Invalid(field, "control character %U at byte %d: identifiers must not contain control characters", r, i)
		}
	}
	return nil
}
