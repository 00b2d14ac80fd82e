package eventlog

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Limits on what one entry may hold. The server rejects anything larger
// before it reaches the store.
const (
	MaxDetailsBytes   = 64 << 10 // serialized JSON of Event.Details
	MaxShortString    = 256      // actor id and name, content type, method, protocol, request id
	MaxObjectID       = 512      // Event.ObjectID
	MaxLongString     = 2048     // object repr, path, user agent, remote address
	MaxIdempotencyKey = 128
	MaxBatch          = 1000 // entries in one LogEvents call
	DefaultPageSize   = 50
	MaxPageSize       = 1000
)

// EventType says what kind of action an entry records.
type EventType uint8

// The event types. The zero value is not a valid type of a stored entry; in a
// Filter it means "any type".
const (
	TypeUnspecified EventType = iota
	TypeCreate
	TypeDelete
	TypeEdit
	TypeFetch
	TypeLogin
	TypeLogout
	TypeLoginFailed
)

var typeNames = [...]string{
	TypeUnspecified: "UNSPECIFIED",
	TypeCreate:      "CREATE",
	TypeDelete:      "DELETE",
	TypeEdit:        "EDIT",
	TypeFetch:       "FETCH",
	TypeLogin:       "LOGIN",
	TypeLogout:      "LOGOUT",
	TypeLoginFailed: "LOGIN_FAILED",
}

// EventTypes lists every valid event type in declaration order.
func EventTypes() []EventType {
	return []EventType{TypeCreate, TypeDelete, TypeEdit, TypeFetch, TypeLogin, TypeLogout, TypeLoginFailed}
}

// String returns the upper-case name, such as "CREATE"; it is also the form
// in which the type is stored.
func (t EventType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("EventType(%d)", t)
}

// Valid reports whether t is one of the defined types other than
// TypeUnspecified.
func (t EventType) Valid() bool { return t > TypeUnspecified && int(t) < len(typeNames) }

// ParseEventType accepts a type name in any case, with or without the
// "EVENT_TYPE_" prefix: "create", "CREATE" and "EVENT_TYPE_CREATE" are the
// same type.
func ParseEventType(s string) (EventType, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	name = strings.TrimPrefix(name, "EVENT_TYPE_")
	for _, t := range EventTypes() {
		if typeNames[t] == name {
			return t, nil
		}
	}
	return TypeUnspecified, fmt.Errorf("unknown event type %q: want one of create, delete, edit, fetch, login, logout, login_failed", s)
}

// ActorKind says what sort of party performed an action.
type ActorKind uint8

// The actor kinds. ActorUnspecified is allowed: the caller did not say.
const (
	ActorUnspecified ActorKind = iota
	ActorUser
	ActorService
	ActorSystem
)

var kindNames = [...]string{
	ActorUnspecified: "",
	ActorUser:        "user",
	ActorService:     "service",
	ActorSystem:      "system",
}

// String returns the stored form: "user", "service", "system" or "".
func (k ActorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ActorKind(%d)", k)
}

// Valid reports whether k is a defined kind (including ActorUnspecified).
func (k ActorKind) Valid() bool { return int(k) < len(kindNames) }

// ParseActorKind is the inverse of ActorKind.String; it ignores case and an
// "ACTOR_KIND_" prefix.
func ParseActorKind(s string) (ActorKind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	name = strings.TrimPrefix(name, "actor_kind_")
	if name == "unspecified" {
		return ActorUnspecified, nil
	}
	for k, n := range kindNames {
		if n == name {
			return ActorKind(k), nil
		}
	}
	return ActorUnspecified, fmt.Errorf("unknown actor kind %q: want user, service or system", s)
}

// Actor is a snapshot of who performed an action.
type Actor struct {
	ID   string
	Name string
	Kind ActorKind
}

// Request is the context of the request that caused an action.
type Request struct {
	RemoteAddr string
	Method     string
	Path       string
	Protocol   string
	Status     int32
	UserAgent  string
	RequestID  string
}

// Event is one entry of the log.
type Event struct {
	// ID is the sequence number, assigned by the store in commit order.
	ID int64
	// Time is the server time of the write, UTC, truncated to microseconds.
	Time time.Time
	// OccurredTime is the client's time of the action; zero when not given.
	OccurredTime time.Time
	Type         EventType
	Actor        Actor
	ContentType  string
	ObjectID     string
	ObjectRepr   string
	// Details is a JSON object in canonical form (see CanonicalJSON), or
	// empty when the entry has none.
	Details []byte
	// SourceID is the entry this one was propagated from; 0 for an original.
	SourceID int64
	Request  Request
	// IdempotencyKey is the client's key for the write; empty when none.
	IdempotencyKey string
	Hash           []byte
	PrevHash       []byte
}

// Filter selects entries. The zero Filter matches every entry; set fields
// combine with AND.
type Filter struct {
	Type        EventType // TypeUnspecified: any type
	Actor       string    // actor id or name, ignoring case
	ContentType string    // ignoring case
	ObjectID    string    // exact
	SourceID    *int64    // nil: any; 0: original entries only
	Start       time.Time // inclusive; zero: unbounded
	End         time.Time // inclusive; zero: unbounded
}

// Page positions a listing: entries after Cursor in the chosen direction, at
// most Limit of them.
type Page struct {
	// Cursor is the id of the last entry of the previous page, exclusive;
	// 0 starts at the newest (descending) or oldest (ascending) entry.
	Cursor int64
	// Ascending lists oldest first; the default is newest first.
	Ascending bool
	// Limit is the number of entries wanted; it must be positive.
	Limit int
}

// RequestDiff compares a stored entry with the entry a write asks for, in
// what the writer gives (not the id, time, hashes or source the store
// assigns), and returns the path of the first field that differs, as in a
// LogEventRequest ("event.actor.name"), or "" when the write asks for
// exactly the stored entry.
func (e *Event) RequestDiff(sent *Event) string {
	switch {
	case e.Type != sent.Type:
		return "event.event_type"
	case e.Actor.ID != sent.Actor.ID:
		return "event.actor.id"
	case e.Actor.Name != sent.Actor.Name:
		return "event.actor.name"
	case e.Actor.Kind != sent.Actor.Kind:
		return "event.actor.kind"
	case e.ContentType != sent.ContentType:
		return "event.content_type"
	case e.ObjectID != sent.ObjectID:
		return "event.object_id"
	case e.ObjectRepr != sent.ObjectRepr:
		return "event.object_repr"
	case !bytes.Equal(e.Details, sent.Details):
		return "event.details"
	case !e.OccurredTime.Equal(sent.OccurredTime):
		return "event.occurred_time"
	case e.Request != sent.Request:
		return "event.request"
	}
	return ""
}
