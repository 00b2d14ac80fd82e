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

// eventFromProto checks an event sent by a client and converts it into *e,
// which it overwrites (on an error, *e is not to be used). field is
// the event's path in the request, such as "event" or "requests[3].event";
// errors are *eventlog.InvalidError naming the full path of the offending
// field. idempotencyKey is the request's key, a sibling of the event in the
// request (so "requests[3].idempotency_key"). Output-only fields of pe are
// ignored.
//
// What the domain types cannot hold is checked here: an absent event, enum
// values outside the tables, timestamps that are not valid, details that
// cannot be JSON or hold NUL characters. The rest is eventlog.Event.Validate.
func eventFromProto(e *eventlog.Event, field string, pe *eventlogv1.Event, idempotencyKey string) error {
	if pe == nil {
		return eventlog.Invalid(field, "required")
	}
	if pt := pe.GetEventType(); pt != eventlogv1.EventType_EVENT_TYPE_UNSPECIFIED {
		if _, ok := protomap.EventTypeFromProto(pt); !ok {
			return eventlog.Invalid(field+".event_type", "unknown value %d: want one of %s", int32(pt), typeChoices)
		}
	}
	if pk := pe.GetActor().GetKind(); !knownKind(pk) {
		return eventlog.Invalid(field+".actor.kind", "unknown value %d: want one of USER, SERVICE, SYSTEM or UNSPECIFIED", int32(pk))
	}
	var occurred time.Time
	if ts := pe.GetOccurredTime(); ts != nil {
		t, err := timeFromProto(field+".occurred_time", ts)
		if err != nil {
			return err
		}
		// The zero time.Time (year 1) would read as "not given".
		if t.IsZero() {
			return eventlog.Invalid(field+".occurred_time", "want a time after %s and before year 10000, got %s",
				eventlog.OccurredMin.Format(time.RFC3339), t.Format(time.RFC3339Nano))
		}
		occurred = t.Truncate(time.Microsecond)
	}
	details, err := detailsFromProto(field, pe.GetDetails())
	if err != nil {
		return err
	}

	protomap.SetEventFromProto(e, pe, details)
	e.OccurredTime = occurred
	e.IdempotencyKey = idempotencyKey
	e.ID, e.Time, e.SourceID, e.Hash, e.PrevHash = 0, time.Time{}, 0, nil, nil
	if err := e.Validate(); err != nil {
		return eventlog.Within(strings.TrimSuffix(sibling(field, ""), "."), err)
	}
	return nil
}

func knownKind(k eventlogv1.ActorKind) bool {
	_, ok := protomap.ActorKindFromProto(k)
	return ok
}

// timeFromProto checks that ts is a valid timestamp and returns it in UTC.
func timeFromProto(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, eventlog.Invalid(field, "not a valid timestamp (seconds %d, nanos %d): want a time from year 1 to 9999 and nanos from 0 to 999999999",
			ts.GetSeconds(), ts.GetNanos())
	}
	return ts.AsTime().UTC(), nil
}

// detailsFromProto returns s, the details of the event at path event, in
// canonical JSON form, or nil when s is nil or has no fields. Its size is
// eventlog.Event.Validate's to check.
func detailsFromProto(event string, s *structpb.Struct) ([]byte, error) {
	canon, nul, empty, err := protomap.AppendDetails(nil, s)
	if empty {
		return nil, nil
	}
	if err == nil && !nul {
		return canon, nil
	}
	// The field's path is only built for an error.
	field := event + ".details"
	if errors.Is(err, protomap.ErrUndecodable) {
		return nil, eventlog.Invalid(field, "%v", err)
	}
	if err != nil {
		return nil, eventlog.Invalid(field, "cannot be written as JSON: %v", err)
	}
	if nul && len(canon) <= eventlog.MaxDetailsBytes {
		return nil, eventlog.Invalid(field, "keys and strings must not contain a NUL character")
	}
	return canon, nil
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
	f.Actor, f.ContentType, f.ObjectID = req.GetActor(), req.GetContentType(), req.GetObjectId()
	if req != nil && req.SourceId != nil {
		id := req.GetSourceId()
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
	f.Start, f.End = start, end
	if err := f.Validate(); err != nil {
		return f, p, err
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
	if req != nil && req.AfterId != nil {
		switch {
		case req.GetAfterId() < 0:
			return f, p, eventlog.Invalid("after_id", "must not be negative, got %d", req.GetAfterId())
		case !p.Ascending:
			return f, p, eventlog.Invalid("after_id", `lists oldest first: send order_by "id asc" with it`)
		case req.GetPageToken() != "":
			return f, p, eventlog.Invalid("after_id", "send either after_id or page_token, not both: the page token already says where to continue")
		}
		p.Cursor = req.GetAfterId()
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

// countFromProto checks a CountEvents request and returns the query it
// asks for. now is the end of the range when the request gives none.
func countFromProto(req *eventlogv1.CountEventsRequest, now time.Time) (eventlog.CountQuery, error) {
	var q eventlog.CountQuery
	f, _, err := listFromProto(&eventlogv1.ListEventsRequest{
		EventType: req.GetEventType(), Actor: req.GetActor(), ContentType: req.GetContentType(),
		ObjectId: req.GetObjectId(), SourceId: req.SourceId,
		StartTime: req.GetStartTime(), EndTime: req.GetEndTime(),
	})
	if err != nil {
		return q, err
	}
	if f.Start.IsZero() {
		return q, eventlog.Invalid("start_time", "required: counts cover a bounded range of time")
	}
	if f.End.IsZero() {
		f.End = now.UTC().Truncate(time.Microsecond)
		if f.End.Before(f.Start) {
			return q, eventlog.Invalid("start_time", "must not be in the future when end_time is absent, got %s", f.Start.Format(time.RFC3339Nano))
		}
	}
	q.Filter = f
	var ok bool
	if q.Width, ok = protomap.BucketWidthFromProto(req.GetBucketWidth()); !ok {
		return q, eventlog.Invalid("bucket_width", "want BUCKET_WIDTH_MINUTE, BUCKET_WIDTH_HOUR or BUCKET_WIDTH_DAY, got %v", req.GetBucketWidth())
	}
	if q.Group, ok = protomap.CountGroupFromProto(req.GetGroupBy()); !ok {
		return q, eventlog.Invalid("group_by", "unknown grouping %v", req.GetGroupBy())
	}
	return q, q.Validate()
}
