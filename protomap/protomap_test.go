package protomap

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// fullEvent sets every field of Event.
func fullEvent() eventlog.Event {
	return eventlog.Event{
		ID:           12,
		Time:         time.Date(2030, 1, 1, 0, 0, 0, 123000, time.UTC),
		OccurredTime: time.Date(2029, 12, 31, 23, 59, 59, 456000, time.UTC),
		Type:         eventlog.TypeLoginFailed,
		Actor:        eventlog.Actor{ID: "u-1", Name: "bob", Kind: eventlog.ActorService},
		ContentType:  "User",
		ObjectID:     "5",
		ObjectRepr:   "Bob «b»",
		Details:      []byte(`{"a":[1,2.5,"x"],"b":{},"c":null}`),
		SourceID:     3,
		Request: eventlog.Request{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: "/u/5", Protocol: "HTTP/2.0",
			Status: 401, UserAgent: "curl/8.0", RequestID: "r-1",
		},
		IdempotencyKey: "k",
		Hash:           []byte{9},
		PrevHash:       []byte{8},
	}
}

func TestEventRoundTrip(t *testing.T) {
	e := fullEvent()
	pe := EventToProto(&e)
	want := &eventlogv1.Event{
		Id:           12,
		Time:         timestamppb.New(e.Time),
		OccurredTime: timestamppb.New(e.OccurredTime),
		EventType:    eventlogv1.EventType_EVENT_TYPE_LOGIN_FAILED,
		Actor:        &eventlogv1.Actor{Id: "u-1", Name: "bob", Kind: eventlogv1.ActorKind_ACTOR_KIND_SERVICE},
		ContentType:  "User",
		ObjectId:     "5",
		ObjectRepr:   "Bob «b»",
		Details: mustStruct(t, map[string]any{
			"a": []any{1, 2.5, "x"}, "b": map[string]any{}, "c": nil,
		}),
		SourceId: 3,
		Request: &eventlogv1.RequestContext{
			RemoteAddr: "203.0.113.7", Method: "POST", Path: "/u/5", Protocol: "HTTP/2.0",
			Status: 401, UserAgent: "curl/8.0", RequestId: "r-1",
		},
		IdempotencyKey: "k",
		Hash:           []byte{9},
		PrevHash:       []byte{8},
	}
	if diff := cmp.Diff(want, pe, protocmp.Transform()); diff != "" {
		t.Errorf("EventToProto mismatch (-want +got):\n%s", diff)
	}
	checkAllSet(t, "Event", pe.ProtoReflect())

	got, err := EventFromProto(pe)
	if err != nil {
		t.Fatalf("EventFromProto: %v", err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("EventFromProto(EventToProto(e)) mismatch (-want +got):\n%s", diff)
	}
}

// checkAllSet fails for every field of m, and of the messages it holds,
// that is not set: a field the mapping forgets.
func checkAllSet(t *testing.T, path string, m protoreflect.Message) {
	t.Helper()
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := path + "." + string(fd.Name())
		if !m.Has(fd) {
			t.Errorf("%s is not set by the mapping", name)
			continue
		}
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() &&
			strings.HasPrefix(string(fd.Message().FullName()), "eventlog.") {
			checkAllSet(t, name, m.Get(fd).Message())
		}
	}
}

func TestEventZero(t *testing.T) {
	pe := EventToProto(&eventlog.Event{})
	want := &eventlogv1.Event{Actor: &eventlogv1.Actor{}}
	if diff := cmp.Diff(want, pe, protocmp.Transform()); diff != "" {
		t.Errorf("EventToProto(zero) mismatch (-want +got):\n%s", diff)
	}
	got, err := EventFromProto(&eventlogv1.Event{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(eventlog.Event{}, got); diff != "" {
		t.Errorf("EventFromProto(empty) mismatch (-want +got):\n%s", diff)
	}
}

// TestEventTypes walks every value of both enums.
func TestEventTypes(t *testing.T) {
	for _, dt := range append([]eventlog.EventType{eventlog.TypeUnspecified}, eventlog.EventTypes()...) {
		pt := EventTypeToProto(dt)
		if got, want := pt.String(), "EVENT_TYPE_"+dt.String(); got != want {
			t.Errorf("EventTypeToProto(%v) = %v, want %v", dt, got, want)
		}
		if back, ok := EventTypeFromProto(pt); !ok || back != dt {
			t.Errorf("EventTypeFromProto(%v) = %v, %v, want %v", pt, back, ok, dt)
		}
	}
	for n := range eventlogv1.EventType_name {
		pt := eventlogv1.EventType(n)
		dt, ok := EventTypeFromProto(pt)
		if !ok {
			t.Errorf("EventTypeFromProto(%v) unknown", pt)
		}
		if back := EventTypeToProto(dt); back != pt {
			t.Errorf("EventTypeToProto(EventTypeFromProto(%v)) = %v", pt, back)
		}
	}
	if _, ok := EventTypeFromProto(99); ok {
		t.Error("EventTypeFromProto(99) is known")
	}
	if got := EventTypeToProto(99); got != eventlogv1.EventType_EVENT_TYPE_UNSPECIFIED {
		t.Errorf("EventTypeToProto(99) = %v, want UNSPECIFIED", got)
	}
}

func TestActorKinds(t *testing.T) {
	for k := eventlog.ActorKind(0); k.Valid(); k++ {
		pk := ActorKindToProto(k)
		want := "ACTOR_KIND_" + strings.ToUpper(k.String())
		if k == eventlog.ActorUnspecified {
			want = "ACTOR_KIND_UNSPECIFIED"
		}
		if pk.String() != want {
			t.Errorf("ActorKindToProto(%v) = %v, want %v", k, pk, want)
		}
		if back, ok := ActorKindFromProto(pk); !ok || back != k {
			t.Errorf("ActorKindFromProto(%v) = %v, %v, want %v", pk, back, ok, k)
		}
	}
	for n := range eventlogv1.ActorKind_name {
		pk := eventlogv1.ActorKind(n)
		k, ok := ActorKindFromProto(pk)
		if !ok || ActorKindToProto(k) != pk {
			t.Errorf("ActorKindFromProto(%v) = %v, %v, which does not convert back", pk, k, ok)
		}
	}
	if _, ok := ActorKindFromProto(99); ok {
		t.Error("ActorKindFromProto(99) is known")
	}
}

func TestBreakKinds(t *testing.T) {
	seen := map[eventlogv1.ChainBreakKind]bool{}
	for k := eventlog.BreakKind(1); !strings.HasPrefix(k.String(), "BreakKind("); k++ {
		pk := BreakKindToProto(k)
		if pk == eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_UNSPECIFIED {
			t.Errorf("BreakKindToProto(%v) missing", k)
		}
		if seen[pk] {
			t.Errorf("BreakKindToProto(%v) = %v, used twice", k, pk)
		}
		seen[pk] = true
		if back, ok := BreakKindFromProto(pk); !ok || back != k {
			t.Errorf("BreakKindFromProto(%v) = %v, %v, want %v", pk, back, ok, k)
		}
	}
	for n := range eventlogv1.ChainBreakKind_name {
		pk := eventlogv1.ChainBreakKind(n)
		_, ok := BreakKindFromProto(pk)
		if want := pk != eventlogv1.ChainBreakKind_CHAIN_BREAK_KIND_UNSPECIFIED; ok != want {
			t.Errorf("BreakKindFromProto(%v) known = %v, want %v", pk, ok, want)
		}
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	for _, r := range []eventlog.VerifyResult{
		{Start: 1, End: 9, Checked: 9, EndHash: []byte{1}, Head: eventlog.Head{LastID: 9, LastHash: []byte{1}}, HeadChecked: true},
		{Start: 4, End: 6, Checked: 2, EndHash: []byte{2}, Head: eventlog.Head{LastID: 9, LastHash: []byte{3}}, Next: 7,
			Break: &eventlog.ChainBreak{ID: 7, Kind: eventlog.BreakLink, Problem: "prev_hash differs"}},
	} {
		pr := VerifyToProto(&r)
		got := VerifyFromProto(pr)
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("VerifyFromProto(VerifyToProto(r)) mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestRelationRoundTrip(t *testing.T) {
	r := eventlog.Relation{From: eventlog.ObjectRef{ContentType: "A", ObjectID: "1"}, To: eventlog.ObjectRef{ContentType: "B", ObjectID: "2"}, Kind: "k"}
	pr := RelationToProto(r)
	checkAllSet(t, "Relation", pr.ProtoReflect())
	if diff := cmp.Diff(r, RelationFromProto(pr)); diff != "" {
		t.Errorf("RelationFromProto(RelationToProto(r)) mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteToProto(t *testing.T) {
	e := fullEvent()
	w := eventlog.Write{Event: e, Related: []eventlog.ObjectRef{{ContentType: "A", ObjectID: "1"}}}
	req := WriteToProto(&w)
	if req.GetIdempotencyKey() != "k" || req.GetEvent().GetIdempotencyKey() != "" {
		t.Errorf("WriteToProto key: request %q, event %q; want the key in the request only", req.GetIdempotencyKey(), req.GetEvent().GetIdempotencyKey())
	}
	if diff := cmp.Diff([]*eventlogv1.ObjectRef{{ContentType: "A", ObjectId: "1"}}, req.GetRelated(), protocmp.Transform()); diff != "" {
		t.Errorf("WriteToProto related mismatch (-want +got):\n%s", diff)
	}
	// Back: what a writer gives comes back, the key in the event.
	back, err := WriteFromProto(req)
	if err != nil {
		t.Fatal(err)
	}
	if field := back.Event.RequestDiff(&w.Event); field != "" || back.Event.IdempotencyKey != "k" {
		t.Errorf("WriteFromProto(WriteToProto(w)): %s differs, key %q", field, back.Event.IdempotencyKey)
	}
	if diff := cmp.Diff(w.Related, back.Related); diff != "" {
		t.Errorf("WriteFromProto related mismatch (-want +got):\n%s", diff)
	}
}

func TestFilterToProto(t *testing.T) {
	src := int64(0)
	f := eventlog.Filter{
		Type: eventlog.TypeEdit, Actor: "alice", ContentType: "Entry", ObjectID: "4", SourceID: &src,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
	}
	want := &eventlogv1.ListEventsRequest{
		EventType: "EDIT", Actor: "alice", ContentType: "Entry", ObjectId: "4", SourceId: &src,
		StartTime: timestamppb.New(f.Start), EndTime: timestamppb.New(f.End),
	}
	if diff := cmp.Diff(want, FilterToProto(f), protocmp.Transform()); diff != "" {
		t.Errorf("FilterToProto mismatch (-want +got):\n%s", diff)
	}
	back, err := FilterFromProto(FilterToProto(f))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back); diff != "" {
		t.Errorf("FilterFromProto(FilterToProto(f)) mismatch (-want +got):\n%s", diff)
	}
	if _, err := FilterFromProto(&eventlogv1.ListEventsRequest{EventType: "nope"}); err == nil {
		t.Error("FilterFromProto(event type nope) error = nil, want one")
	}
	after := int64(7)
	st := FilterToStream(f, &after)
	if st.GetAfterId() != 7 || st.GetEventType() != "EDIT" || st.GetSourceId() != 0 || st.SourceId == nil {
		t.Errorf("FilterToStream = %v", st)
	}
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every value of the count enums maps to a domain value, but UNSPECIFIED
// bucket width; values outside them do not.
func TestCountEnums(t *testing.T) {
	for n := range eventlogv1.BucketWidth_name {
		w := eventlogv1.BucketWidth(n)
		d, ok := BucketWidthFromProto(w)
		if want := w != eventlogv1.BucketWidth_BUCKET_WIDTH_UNSPECIFIED; ok != want || (ok && d <= 0) {
			t.Errorf("BucketWidthFromProto(%v) = %v, %v", w, d, ok)
		}
	}
	seen := map[eventlog.CountGroup]bool{}
	for n := range eventlogv1.CountGroupBy_name {
		g := eventlogv1.CountGroupBy(n)
		d, ok := CountGroupFromProto(g)
		if !ok || seen[d] {
			t.Errorf("CountGroupFromProto(%v) = %v, %v (or another value maps to it)", g, d, ok)
		}
		seen[d] = true
	}
	if _, ok := BucketWidthFromProto(99); ok {
		t.Error("BucketWidthFromProto(99) is known")
	}
	if _, ok := CountGroupFromProto(99); ok {
		t.Error("CountGroupFromProto(99) is known")
	}
}

// An Arena converts as EventToProtoDetails does, also once it is used up.
func TestArenaEventToProtoDetails(t *testing.T) {
	at := time.Date(2026, 12, 3, 8, 34, 56, 123456000, time.UTC)
	events := []eventlog.Event{
		{ID: 1, Time: at, Type: eventlog.TypeEdit, Actor: eventlog.Actor{ID: "u1", Name: "alice", Kind: eventlog.ActorUser},
			ContentType: "Note", ObjectID: "n1", ObjectRepr: "Note 1", SourceID: 0, Hash: []byte{1}, PrevHash: []byte{2},
			Request: eventlog.Request{RemoteAddr: "203.0.113.7", Method: "POST", Path: "/x", Protocol: "HTTP/1.1", Status: 201, UserAgent: "ua", RequestID: "r1"}},
		{ID: 2, Time: at, OccurredTime: at.Add(-time.Hour), Type: eventlog.TypeCreate, IdempotencyKey: "k", SourceID: 1},
		{ID: 3},
	}
	details, err := structpb.NewStruct(map[string]any{"a": 1.0})
	if err != nil {
		t.Fatal(err)
	}
	a := NewArena(2) // the third entry is converted past its end
	for i := range events {
		got, want := a.EventToProtoDetails(&events[i], details), EventToProtoDetails(&events[i], details)
		if !proto.Equal(got, want) {
			t.Errorf("entry %d: Arena gave %v, want %v", i, got, want)
		}
	}
}
