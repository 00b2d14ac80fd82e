package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

// typeChoices lists the event types a write accepts, for error messages.
var typeChoices = func() string {
	var names []string
	for _, t := range eventlog.EventTypes() {
		names = append(names, t.String())
	}
	return strings.Join(names, ", ")
}()

// occurredMin and occurredMax bound Event.OccurredTime. The lower bound is
// exclusive: the canonical form stores an absent time as 0 Unix
// microseconds, so the epoch itself cannot be told apart from "not given".
var (
	occurredMin = time.Unix(0, 0).UTC()
	occurredMax = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// eventFromProto checks an event sent by a client and converts it. field is
// the event's path in the request, such as "event" or "requests[3].event";
// errors are *eventlog.InvalidError naming the full path of the offending
// field. idempotencyKey is the request's key, a sibling of the event in the
// request (so "requests[3].idempotency_key"). Output-only fields of pe are
// ignored.
func eventFromProto(field string, pe *eventlogv1.Event, idempotencyKey string) (eventlog.Event, error) {
	if pe == nil {
		return eventlog.Event{}, eventlog.Invalid(field, "required")
	}
	var e eventlog.Event
	var err error

	switch pt := pe.GetEventType(); {
	case pt == eventlogv1.EventType_EVENT_TYPE_UNSPECIFIED:
		return eventlog.Event{}, eventlog.Invalid(field+".event_type", "required: one of %s", typeChoices)
	default:
		t, ok := protomap.EventTypeFromProto(pt)
		if !ok {
			return eventlog.Event{}, eventlog.Invalid(field+".event_type", "unknown value %d: want one of %s", int32(pt), typeChoices)
		}
		e.Type = t
	}

	if e.Actor, err = actorFromProto(field+".actor", pe.GetActor()); err != nil {
		return eventlog.Event{}, err
	}
	if e.ContentType, err = required(field+".content_type", pe.GetContentType(), eventlog.MaxShortString); err != nil {
		return eventlog.Event{}, err
	}
	if e.ObjectID, err = required(field+".object_id", pe.GetObjectId(), eventlog.MaxObjectID); err != nil {
		return eventlog.Event{}, err
	}
	if e.ObjectRepr, err = text(field+".object_repr", pe.GetObjectRepr(), eventlog.MaxLongString); err != nil {
		return eventlog.Event{}, err
	}
	if e.Request, err = requestFromProto(field+".request", pe.GetRequest()); err != nil {
		return eventlog.Event{}, err
	}
	if pe.GetOccurredTime() != nil {
		if e.OccurredTime, err = occurredFromProto(field+".occurred_time", pe.GetOccurredTime()); err != nil {
			return eventlog.Event{}, err
		}
	}
	if e.IdempotencyKey, err = idempotencyKeyFromProto(sibling(field, "idempotency_key"), idempotencyKey); err != nil {
		return eventlog.Event{}, err
	}
	if e.Details, err = detailsFromProto(field+".details", pe.GetDetails()); err != nil {
		return eventlog.Event{}, err
	}
	return e, nil
}

func actorFromProto(field string, pa *eventlogv1.Actor) (eventlog.Actor, error) {
	if pa == nil {
		return eventlog.Actor{}, eventlog.Invalid(field, "required: the actor's id, name or both")
	}
	if blank(pa.GetId()) && blank(pa.GetName()) {
		return eventlog.Actor{}, eventlog.Invalid(field, "required: at least one of id and name")
	}
	a := eventlog.Actor{ID: pa.GetId(), Name: pa.GetName()}
	if err := checkString(field+".id", a.ID, eventlog.MaxShortString, true); err != nil {
		return a, err
	}
	if err := checkString(field+".name", a.Name, eventlog.MaxShortString, true); err != nil {
		return a, err
	}
	k, ok := protomap.ActorKindFromProto(pa.GetKind())
	if !ok {
		return a, eventlog.Invalid(field+".kind", "unknown value %d: want one of USER, SERVICE, SYSTEM or UNSPECIFIED", int32(pa.GetKind()))
	}
	a.Kind = k
	return a, nil
}

func requestFromProto(field string, pr *eventlogv1.RequestContext) (eventlog.Request, error) {
	r := protomap.RequestFromProto(pr)
	for _, c := range [...]struct {
		name string
		s    string
		max  int
	}{
		{"remote_addr", r.RemoteAddr, eventlog.MaxLongString},
		{"method", r.Method, eventlog.MaxShortString},
		{"path", r.Path, eventlog.MaxLongString},
		{"protocol", r.Protocol, eventlog.MaxShortString},
		{"user_agent", r.UserAgent, eventlog.MaxLongString},
		{"request_id", r.RequestID, eventlog.MaxShortString},
	} {
		// The field's path is only built for an error.
		if checkString("", c.s, c.max, false) != nil {
			return r, checkString(field+"."+c.name, c.s, c.max, false)
		}
	}
	if r.Status != 0 && (r.Status < 100 || r.Status > 599) {
		return r, eventlog.Invalid(field+".status", "want 0 (unknown) or an HTTP status code from 100 to 599, got %d", r.Status)
	}
	return r, nil
}

func occurredFromProto(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	t, err := timeFromProto(field, ts)
	if err != nil {
		return t, err
	}
	t = t.Truncate(time.Microsecond)
	if !t.After(occurredMin) || t.After(occurredMax) {
		return time.Time{}, eventlog.Invalid(field, "want a time after %s and before year 10000, got %s",
			occurredMin.Format(time.RFC3339), ts.AsTime().Format(time.RFC3339Nano))
	}
	return t, nil
}

// timeFromProto checks that ts is a valid timestamp and returns it in UTC.
func timeFromProto(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, eventlog.Invalid(field, "not a valid timestamp (seconds %d, nanos %d): want a time from year 1 to 9999 and nanos from 0 to 999999999",
			ts.GetSeconds(), ts.GetNanos())
	}
	return ts.AsTime().UTC(), nil
}

func idempotencyKeyFromProto(field, key string) (string, error) {
	if len(key) > eventlog.MaxIdempotencyKey {
		return "", eventlog.Invalid(field, "at most %d bytes, got %d", eventlog.MaxIdempotencyKey, len(key))
	}
	if !utf8.ValidString(key) {
		return "", eventlog.Invalid(field, "not valid UTF-8")
	}
	for i, r := range key {
		if !unicode.IsPrint(r) {
			return "", eventlog.Invalid(field, "non-printable character %U at byte %d: want printable characters only", r, i)
		}
	}
	return key, nil
}

// detailsFromProto returns s in canonical JSON form, or nil when s is nil or
// has no fields.
func detailsFromProto(field string, s *structpb.Struct) ([]byte, error) {
	if len(s.GetFields()) == 0 {
		return nil, nil
	}
	canon, nul, err := protomap.AppendCanonicalDetails(nil, s)
	if err != nil {
		return nil, eventlog.Invalid(field, "cannot be written as JSON: %v", err)
	}
	if len(canon) > eventlog.MaxDetailsBytes {
		return nil, eventlog.Invalid(field, "at most %d bytes once serialized as JSON, got %d", eventlog.MaxDetailsBytes, len(canon))
	}
	if nul {
		return nil, eventlog.Invalid(field, "keys and strings must not contain a NUL character")
	}
	return canon, nil
}

// required checks an identifier that must be given: empty or white space
// only is rejected, and so are control characters.
func required(field, s string, max int) (string, error) {
	if blank(s) {
		return "", eventlog.Invalid(field, "required")
	}
	if err := checkString(field, s, max, true); err != nil {
		return "", err
	}
	return s, nil
}

// text is checkString for free text, returning s when it passes.
func text(field, s string, max int) (string, error) {
	if err := checkString(field, s, max, false); err != nil {
		return "", err
	}
	return s, nil
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// checkString checks that s, the value of field, is valid UTF-8 of at most
// max bytes without NUL characters (which neither backend stores). An
// identifier (ident) must also be free of control characters.
func checkString(field, s string, max int, ident bool) error {
	if len(s) > max {
		return eventlog.Invalid(field, "at most %d bytes, got %d", max, len(s))
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
		return eventlog.Invalid(field, "not valid UTF-8")
	}
	for i, r := range s {
		switch {
		case r == 0:
			return eventlog.Invalid(field, "NUL character at byte %d", i)
		case ident && unicode.IsControl(r):
			return eventlog.Invalid(field, "control character %U at byte %d: identifiers must not contain control characters", r, i)
		}
	}
	return nil
}

// sibling returns the path of the field called name next to the last element
// of path: sibling("requests[3].event", "idempotency_key") is
// "requests[3].idempotency_key".
func sibling(path, name string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i+1] + name
	}
	return name
}

// listFromProto checks a ListEvents request and returns the filter and page
// it asks for.
func listFromProto(req *eventlogv1.ListEventsRequest) (eventlog.Filter, eventlog.Page, error) {
	var f eventlog.Filter
	var p eventlog.Page
	var err error

	if s := req.GetEventType(); s != "" {
		if len(s) > maxKeyword {
			err = errors.New("too long")
		} else {
			f.Type, err = eventlog.ParseEventType(s)
		}
		if err != nil {
			return f, p, eventlog.Invalid("event_type", "want one of create, delete, edit, fetch, login, logout, login_failed (any case, EVENT_TYPE_ prefix optional) or empty for any, got %s", quoteShort(s))
		}
	}
	for _, c := range []struct {
		name string
		dst  *string
		s    string
		max  int
	}{
		{"actor", &f.Actor, req.GetActor(), eventlog.MaxShortString},
		{"content_type", &f.ContentType, req.GetContentType(), eventlog.MaxShortString},
		{"object_id", &f.ObjectID, req.GetObjectId(), eventlog.MaxObjectID},
	} {
		if err := checkString(c.name, c.s, c.max, true); err != nil {
			return f, p, err
		}
		*c.dst = c.s
	}
	if req != nil && req.SourceId != nil {
		id := req.GetSourceId()
		if id < 0 {
			return f, p, eventlog.Invalid("source_id", "must not be negative, got %d", id)
		}
		f.SourceID = &id
	}
	var start, end time.Time
	if req.GetStartTime() != nil {
		if start, err = timeFromProto("start_time", req.GetStartTime()); err != nil {
			return f, p, err
		}
	}
	if req.GetEndTime() != nil {
		if end, err = timeFromProto("end_time", req.GetEndTime()); err != nil {
			return f, p, err
		}
	}
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return f, p, eventlog.Invalid("end_time", "must not be before start_time (%s), got %s",
			start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	// Entries are stored to the microsecond: rounding the bounds inward
	// selects exactly the same entries and makes them comparable in a page
	// token.
	if !start.IsZero() {
		if t := start.Truncate(time.Microsecond); !t.Equal(start) {
			start = t.Add(time.Microsecond)
		}
	}
	f.Start = start
	f.End = end.Truncate(time.Microsecond)

	if p.Limit, err = pageSize(req.GetPageSize()); err != nil {
		return f, p, err
	}

	orderBy := req.GetOrderBy()
	if len(orderBy) > maxKeyword {
		return f, p, eventlog.Invalid("order_by", `want "id desc" (the default, newest first) or "id asc", got %s`, quoteShort(req.GetOrderBy()))
	}
	switch eventlog.Fold(strings.Join(strings.Fields(orderBy), " ")) {
	case "", "id desc":
	case "id asc":
		p.Ascending = true
	default:
		return f, p, eventlog.Invalid("order_by", `want "id desc" (the default, newest first) or "id asc", got %s`, quoteShort(req.GetOrderBy()))
	}

	if s := req.GetPageToken(); s != "" {
		tok, err := decodePageToken(s)
		if err != nil {
			return f, p, err
		}
		if tok.ascending != p.Ascending {
			return f, p, eventlog.Invalid("page_token", "issued for order_by %q; send that order_by or start again without a page token", orderName(tok.ascending))
		}
		if tok.filter != filterFingerprint(f) {
			return f, p, eventlog.Invalid("page_token", "does not match the request's filters; start again without a page token")
		}
		p.Cursor = tok.lastID
	}
	return f, p, nil
}

func orderName(ascending bool) string {
	if ascending {
		return "id asc"
	}
	return "id desc"
}

// pageSize applies AIP-158 to a requested page size: 0 means the default,
// values above the maximum are lowered to it, negative values are invalid.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, eventlog.Invalid("page_size", "must not be negative, got %d", n)
	case n == 0:
		return eventlog.DefaultPageSize, nil
	case n > eventlog.MaxPageSize:
		return eventlog.MaxPageSize, nil
	}
	return int(n), nil
}

// A page token is the base64url encoding, without padding, of
//
//	version (1 byte, pageTokenVersion)
//	last id (uvarint, positive)
//	order (1 byte: 0 newest first, 1 oldest first)
//	filter fingerprint (8 bytes, big-endian; see filterFingerprint)
//
// It is opaque to clients. The decoder accepts only the exact bytes the
// encoder produces.
const pageTokenVersion = 1

// maxPageTokenLen bounds the encoded length: 1+10+1+8 bytes in base64.
const maxPageTokenLen = 27

type pageToken struct {
	lastID    int64
	ascending bool
	filter    uint64
}

// encodePageToken returns the token for the page after the entry lastID of a
// listing with filter f in the given order.
func encodePageToken(lastID int64, f eventlog.Filter, ascending bool) string {
	return pageToken{lastID: lastID, ascending: ascending, filter: filterFingerprint(f)}.encode()
}

func (t pageToken) encode() string {
	b := make([]byte, 0, 20)
	b = append(b, pageTokenVersion)
	b = binary.AppendUvarint(b, uint64(t.lastID))
	if t.ascending {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, t.filter)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePageToken parses a token made by encodePageToken. Any error is an
// *eventlog.InvalidError on "page_token".
func decodePageToken(s string) (pageToken, error) {
	malformed := eventlog.Invalid("page_token", "malformed; pass the next_page_token of a previous response unchanged, or start again without a page token")
	if len(s) > maxPageTokenLen {
		return pageToken{}, malformed
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) == 0 {
		return pageToken{}, malformed
	}
	if b[0] != pageTokenVersion {
		return pageToken{}, eventlog.Invalid("page_token", "issued by another version of the service; start again without a page token")
	}
	b = b[1:]
	id, n := binary.Uvarint(b)
	if n <= 0 || id == 0 || id > math.MaxInt64 {
		return pageToken{}, malformed
	}
	b = b[n:]
	if len(b) != 1+8 || b[0] > 1 {
		return pageToken{}, malformed
	}
	t := pageToken{lastID: int64(id), ascending: b[0] == 1, filter: binary.BigEndian.Uint64(b[1:])}
	// Reject other spellings of the same values (a varint padded with
	// zero groups), so that one position has exactly one token.
	if t.encode() != s {
		return pageToken{}, malformed
	}
	return t, nil
}

// filterFingerprint returns the first 8 bytes of the SHA-256 of the
// normalized filter: filters that select the same entries have the same
// fingerprint. Actor and content type match ignoring case and are lowered;
// the type is its name; times are Unix microseconds.
func filterFingerprint(f eventlog.Filter) uint64 {
	b := make([]byte, 0, 128)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	opt := func(present bool, v int64) {
		if !present {
			b = append(b, 0)
			return
		}
		b = append(b, 1)
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	if f.Type != eventlog.TypeUnspecified {
		str(f.Type.String())
	} else {
		str("")
	}
	str(eventlog.Fold(f.Actor))
	str(eventlog.Fold(f.ContentType))
	str(f.ObjectID)
	opt(f.SourceID != nil, derefOr(f.SourceID, 0))
	opt(!f.Start.IsZero(), f.Start.UnixMicro())
	opt(!f.End.IsZero(), f.End.UnixMicro())
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}

func derefOr(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}

// verifyFromProto checks a VerifyChain request.
func verifyFromProto(req *eventlogv1.VerifyChainRequest) (eventlog.VerifyOptions, error) {
	var o eventlog.VerifyOptions
	if req.GetStartId() < 0 {
		return o, eventlog.Invalid("start_id", "must not be negative, got %d", req.GetStartId())
	}
	if req.GetEndId() < 0 {
		return o, eventlog.Invalid("end_id", "must not be negative, got %d", req.GetEndId())
	}
	o.Start, o.End = req.GetStartId(), req.GetEndId()
	return o, nil
}

// maxKeyword bounds order_by and the event_type filter before they are
// parsed; the longest accepted values are a few bytes.
const maxKeyword = 64

// quoteShort quotes s for an error message, cut short: messages never carry
// more than a little of what a client sent.
func quoteShort(s string) string {
	const max = 64
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}
