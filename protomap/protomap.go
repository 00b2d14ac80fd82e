// Package protomap converts between the API's messages (package
// eventlogv1) and the domain types of package eventlog, in both directions.
// It is the one mapping the server, the client, the command line and the
// gateway share.
//
// Conversion does not validate: a message converted from the API may hold
// what the domain does not allow (an empty actor, an over-long string). The
// server checks what it receives before it converts it.
package protomap

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// EventToProto converts an entry.
func EventToProto(e *eventlog.Event) *eventlogv1.Event {
	return EventToProtoDetails(e, DetailsToProto(e.Details))
}

// EventToProtoDetails is EventToProto with the entry's details already
// converted.
func EventToProtoDetails(e *eventlog.Event, details *structpb.Struct) *eventlogv1.Event {
	var a Arena // empty: every message is allocated on its own
	return a.EventToProtoDetails(e, details)
}

// Arena holds the messages of a number of entries converted together,
// allocated a kind at a time: converting a batch of 1,000 entries makes a
// few slices instead of several messages an entry. Its messages must not
// be copied; once they are used up, it allocates them one by one.
type Arena struct {
	events   []eventlogv1.Event
	times    []timestamppb.Timestamp
	actors   []eventlogv1.Actor
	requests []eventlogv1.RequestContext
}

// NewArena returns an Arena for n entries.
func NewArena(n int) *Arena {
	return &Arena{
		events:   make([]eventlogv1.Event, n),
		times:    make([]timestamppb.Timestamp, n),
		actors:   make([]eventlogv1.Actor, n),
		requests: make([]eventlogv1.RequestContext, n),
	}
}

// take returns the next message of s, or a new one when s is used up.
func take[T any](s *[]T) *T {
	if len(*s) == 0 {
		return new(T)
	}
	m := &(*s)[0]
	*s = (*s)[1:]
	return m
}

// EventToProtoDetails is the package's EventToProtoDetails, in the
// arena's messages.
func (a *Arena) EventToProtoDetails(e *eventlog.Event, details *structpb.Struct) *eventlogv1.Event {
	pe := take(&a.events)
	pe.Id, pe.EventType, pe.ContentType, pe.ObjectId, pe.ObjectRepr = e.ID, EventTypeToProto(e.Type), e.ContentType, e.ObjectID, e.ObjectRepr
	pe.Details, pe.SourceId, pe.IdempotencyKey, pe.Hash, pe.PrevHash = details, e.SourceID, e.IdempotencyKey, e.Hash, e.PrevHash
	pe.Time, pe.OccurredTime = a.time(e.Time), a.time(e.OccurredTime)
	pa := take(&a.actors)
	pa.Id, pa.Name, pa.Kind = e.Actor.ID, e.Actor.Name, ActorKindToProto(e.Actor.Kind)
	pe.Actor = pa
	if r := e.Request; r != (eventlog.Request{}) {
		pr := take(&a.requests)
		pr.RemoteAddr, pr.Method, pr.Path, pr.Protocol = r.RemoteAddr, r.Method, r.Path, r.Protocol
		pr.Status, pr.UserAgent, pr.RequestId = r.Status, r.UserAgent, r.RequestID
		pe.Request = pr
	}
	return pe
}

// time is TimeToProto in the arena's messages.
func (a *Arena) time(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	ts := take(&a.times)
	ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
	return ts
}

// EventFromProto converts an entry. Unknown enum values become the
// domain's unspecified ones; details that cannot be written as JSON are an
// error.
func EventFromProto(pe *eventlogv1.Event) (eventlog.Event, error) {
	details, err := DetailsFromProto(pe.GetDetails())
	if err != nil {
		return eventlog.Event{}, fmt.Errorf("entry %d: details: %w", pe.GetId(), err)
	}
	return EventFromProtoDetails(pe, details), nil
}

// EventFromProtoDetails is EventFromProto with the entry's details already
// converted.
func EventFromProtoDetails(pe *eventlogv1.Event, details []byte) eventlog.Event {
	var e eventlog.Event
	SetEventFromProto(&e, pe, details)
	return e
}

// SetEventFromProto is EventFromProtoDetails into *e, which it overwrites:
// a caller that has the entry's place already fills it without copying it.
func SetEventFromProto(e *eventlog.Event, pe *eventlogv1.Event, details []byte) {
	*e = eventlog.Event{
		ID:             pe.GetId(),
		Time:           TimeFromProto(pe.GetTime()),
		OccurredTime:   TimeFromProto(pe.GetOccurredTime()),
		Actor:          ActorFromProto(pe.GetActor()),
		ContentType:    pe.GetContentType(),
		ObjectID:       pe.GetObjectId(),
		ObjectRepr:     pe.GetObjectRepr(),
		Details:        details,
		SourceID:       pe.GetSourceId(),
		Request:        RequestFromProto(pe.GetRequest()),
		IdempotencyKey: pe.GetIdempotencyKey(),
		Hash:           pe.GetHash(),
		PrevHash:       pe.GetPrevHash(),
	}
	e.Type, _ = EventTypeFromProto(pe.GetEventType())
}

// ActorToProto converts an actor.
func ActorToProto(a eventlog.Actor) *eventlogv1.Actor {
	return &eventlogv1.Actor{Id: a.ID, Name: a.Name, Kind: ActorKindToProto(a.Kind)}
}

// ActorFromProto converts an actor; an unknown kind is unspecified.
func ActorFromProto(pa *eventlogv1.Actor) eventlog.Actor {
	k, _ := ActorKindFromProto(pa.GetKind())
	return eventlog.Actor{ID: pa.GetId(), Name: pa.GetName(), Kind: k}
}

// RequestToProto converts a request context; the zero Request is nil.
func RequestToProto(r eventlog.Request) *eventlogv1.RequestContext {
	if r == (eventlog.Request{}) {
		return nil
	}
	return &eventlogv1.RequestContext{
		RemoteAddr: r.RemoteAddr,
		Method:     r.Method,
		Path:       r.Path,
		Protocol:   r.Protocol,
		Status:     r.Status,
		UserAgent:  r.UserAgent,
		RequestId:  r.RequestID,
	}
}

// RequestFromProto converts a request context; nil is the zero Request.
func RequestFromProto(pr *eventlogv1.RequestContext) eventlog.Request {
	return eventlog.Request{
		RemoteAddr: pr.GetRemoteAddr(),
		Method:     pr.GetMethod(),
		Path:       pr.GetPath(),
		Protocol:   pr.GetProtocol(),
		Status:     pr.GetStatus(),
		UserAgent:  pr.GetUserAgent(),
		RequestID:  pr.GetRequestId(),
	}
}

// TimeToProto converts a time; the zero time is nil.
func TimeToProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// TimeFromProto converts a timestamp to UTC; nil is the zero time.
func TimeFromProto(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime().UTC()
}

// DetailsToProto converts stored details. Stored details were canonical
// JSON objects made from a Struct, so conversion back cannot fail unless
// the store was written to by other means; such details are left out
// rather than failing the whole response.
func DetailsToProto(raw []byte) *structpb.Struct {
	if len(raw) == 0 {
		return nil
	}
	s, err := ParseDetails(raw)
	if err != nil {
		return nil
	}
	return s
}

// DetailsFromProto returns s in canonical JSON form, or nil when s is nil
// or has no fields. It does not check the size of the result or NUL
// characters, which the server refuses.
func DetailsFromProto(s *structpb.Struct) ([]byte, error) {
	canon, _, empty, err := AppendDetails(nil, s)
	if empty {
		return nil, err
	}
	return canon, err
}

// WriteToProto converts a write to a LogEvent request. The event's
// idempotency key goes in the request.
func WriteToProto(w *eventlog.Write) *eventlogv1.LogEventRequest {
	pe := EventToProto(&w.Event)
	pe.IdempotencyKey = ""
	req := &eventlogv1.LogEventRequest{Event: pe, IdempotencyKey: w.Event.IdempotencyKey}
	for _, r := range w.Related {
		req.Related = append(req.Related, RefToProto(r))
	}
	return req
}

// WriteFromProto converts a LogEvent request to a write, its idempotency
// key in the event. It fails only on details that are not JSON.
func WriteFromProto(req *eventlogv1.LogEventRequest) (eventlog.Write, error) {
	e, err := EventFromProto(req.GetEvent())
	if err != nil {
		return eventlog.Write{}, err
	}
	e.IdempotencyKey = req.GetIdempotencyKey()
	w := eventlog.Write{Event: e}
	for _, r := range req.GetRelated() {
		w.Related = append(w.Related, RefFromProto(r))
	}
	return w, nil
}

// WrittenFromProto converts a LogEvent response.
func WrittenFromProto(resp *eventlogv1.LogEventResponse) (eventlog.Written, error) {
	var w eventlog.Written
	var err error
	if w.Event, err = EventFromProto(resp.GetEvent()); err != nil {
		return w, err
	}
	for _, pc := range resp.GetChildren() {
		c, err := EventFromProto(pc)
		if err != nil {
			return w, err
		}
		w.Children = append(w.Children, c)
	}
	return w, nil
}

// RefToProto converts an object reference.
func RefToProto(r eventlog.ObjectRef) *eventlogv1.ObjectRef {
	return &eventlogv1.ObjectRef{ContentType: r.ContentType, ObjectId: r.ObjectID}
}

// RefFromProto converts an object reference.
func RefFromProto(r *eventlogv1.ObjectRef) eventlog.ObjectRef {
	return eventlog.ObjectRef{ContentType: r.GetContentType(), ObjectID: r.GetObjectId()}
}

// RelationToProto converts a relation.
func RelationToProto(r eventlog.Relation) *eventlogv1.Relation {
	return &eventlogv1.Relation{From: RefToProto(r.From), To: RefToProto(r.To), Kind: r.Kind}
}

// RelationFromProto converts a relation.
func RelationFromProto(r *eventlogv1.Relation) eventlog.Relation {
	return eventlog.Relation{From: RefFromProto(r.GetFrom()), To: RefFromProto(r.GetTo()), Kind: r.GetKind()}
}

// FilterToProto converts a filter to a ListEvents request with no paging.
func FilterToProto(f eventlog.Filter) *eventlogv1.ListEventsRequest {
	req := &eventlogv1.ListEventsRequest{
		Actor:       f.Actor,
		ContentType: f.ContentType,
		ObjectId:    f.ObjectID,
		StartTime:   TimeToProto(f.Start),
		EndTime:     TimeToProto(f.End),
	}
	if f.Type != eventlog.TypeUnspecified {
		req.EventType = f.Type.String()
	}
	if f.SourceID != nil {
		id := *f.SourceID
		req.SourceId = &id
	}
	return req
}

// FilterFromProto converts the filters of a ListEvents request; the event
// type is a name as eventlog.ParseEventType reads it. Paging is left out.
func FilterFromProto(req *eventlogv1.ListEventsRequest) (eventlog.Filter, error) {
	f := eventlog.Filter{
		Actor:       req.GetActor(),
		ContentType: req.GetContentType(),
		ObjectID:    req.GetObjectId(),
		Start:       TimeFromProto(req.GetStartTime()),
		End:         TimeFromProto(req.GetEndTime()),
	}
	if req.SourceId != nil {
		id := req.GetSourceId()
		f.SourceID = &id
	}
	if s := req.GetEventType(); s != "" {
		t, err := eventlog.ParseEventType(s)
		if err != nil {
			return f, err
		}
		f.Type = t
	}
	return f, nil
}

// FilterToStream converts a filter to a StreamEvents request, following
// the entries after afterID (or, when afterID is nil, those written from
// now on).
func FilterToStream(f eventlog.Filter, afterID *int64) *eventlogv1.StreamEventsRequest {
	l := FilterToProto(f)
	return &eventlogv1.StreamEventsRequest{
		EventType:   l.EventType,
		Actor:       l.Actor,
		ContentType: l.ContentType,
		ObjectId:    l.ObjectId,
		SourceId:    l.SourceId,
		StartTime:   l.StartTime,
		EndTime:     l.EndTime,
		AfterId:     afterID,
	}
}

// VerifyToProto converts the result of a chain check.
func VerifyToProto(r *eventlog.VerifyResult) *eventlogv1.VerifyChainResponse {
	resp := &eventlogv1.VerifyChainResponse{
		StartId:      r.Start,
		EndId:        r.End,
		CheckedCount: r.Checked,
		EndHash:      r.EndHash,
		HeadChecked:  r.HeadChecked,
		HeadId:       r.Head.LastID,
		HeadHash:     r.Head.LastHash,
		NextStartId:  r.Next,
	}
	if b := r.Break; b != nil {
		resp.FirstBreak = &eventlogv1.ChainBreak{Id: b.ID, Kind: BreakKindToProto(b.Kind), Message: b.Problem}
	}
	return resp
}

// VerifyFromProto converts the result of a chain check; an unknown break
// kind is 0.
func VerifyFromProto(r *eventlogv1.VerifyChainResponse) eventlog.VerifyResult {
	res := eventlog.VerifyResult{
		Start:       r.GetStartId(),
		End:         r.GetEndId(),
		Checked:     r.GetCheckedCount(),
		EndHash:     r.GetEndHash(),
		Head:        eventlog.Head{LastID: r.GetHeadId(), LastHash: r.GetHeadHash()},
		HeadChecked: r.GetHeadChecked(),
		Next:        r.GetNextStartId(),
	}
	if b := r.GetFirstBreak(); b != nil {
		k, _ := BreakKindFromProto(b.GetKind())
		res.Break = &eventlog.ChainBreak{ID: b.GetId(), Kind: k, Problem: b.GetMessage()}
	}
	return res
}
