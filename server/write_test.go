package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog/propagation"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/store"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
)

// The details in a write's response are those stored: the request's own
// for a new entry, the first write's for a retry with the same key.
func TestWriteResponseDetails(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{DSN: filepath.Join(t.TempDir(), "w.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := New(Config{Store: st})
	defer srv.Close()
	ctx := context.Background()
	details := func(k string, v float64) *structpb.Struct {
		return &structpb.Struct{Fields: map[string]*structpb.Value{k: structpb.NewNumberValue(v)}}
	}
	event := func(d *structpb.Struct) *eventlogv1.Event {
		return &eventlogv1.Event{
			EventType:   eventlogv1.EventType_EVENT_TYPE_EDIT,
			Actor:       &eventlogv1.Actor{Name: "alice"},
			ContentType: "Note", ObjectId: "n1", Details: d,
		}
	}
	first, err := srv.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event(details("a", 1)), IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(details("a", 1), first.GetEvent().GetDetails(), protocmp.Transform()); diff != "" {
		t.Errorf("LogEvent details (-sent +got):\n%s", diff)
	}
	// The same details in another order are the same request.
	sent := details("a", 1)
	sent.Fields["b"] = structpb.NewNullValue()
	first, err = srv.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event(sent), IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	retry, err := srv.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event(sent), IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	if retry.GetEvent().GetId() != first.GetEvent().GetId() {
		t.Errorf("retried LogEvent id = %d, want the first write's %d", retry.GetEvent().GetId(), first.GetEvent().GetId())
	}
	if diff := cmp.Diff(sent, retry.GetEvent().GetDetails(), protocmp.Transform()); diff != "" {
		t.Errorf("retried LogEvent details (-first write's +got):\n%s", diff)
	}
	// The key with other details is refused, naming the key and its entry.
	_, err = srv.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event(details("b", 2)), IdempotencyKey: "k"})
	if status.Code(err) != codes.AlreadyExists || !strings.Contains(status.Convert(err).Message(), `idempotency_key "k" already holds entry 1`) ||
		!strings.Contains(status.Convert(err).Message(), "event.details") {
		t.Errorf("LogEvent with a used key and other details: %v, want AlreadyExists naming the key, entry 1 and event.details", err)
	}
	batch, err := srv.LogEvents(ctx, &eventlogv1.LogEventsRequest{Requests: []*eventlogv1.LogEventRequest{
		{Event: event(details("a", 1)), IdempotencyKey: "k"},
		{Event: event(details("d", 4))},
		{Event: event(nil)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []*structpb.Struct{details("a", 1), details("d", 4), nil} {
		if diff := cmp.Diff(want, batch.GetResponses()[i].GetEvent().GetDetails(), protocmp.Transform()); diff != "" {
			t.Errorf("LogEvents response %d details (-want +got):\n%s", i, diff)
		}
	}
}

// The basic view of a write carries where the entry went (id, time, hash,
// source) and how many children it has, and nothing else; the full view
// carries the count too.
func TestWriteViews(t *testing.T) {
	ctx := context.Background()
	engine, err := propagation.New(propagation.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Config{DSN: filepath.Join(t.TempDir(), "v.db"), Expander: engine})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := New(Config{Store: st})
	defer srv.Close()
	note := &eventlogv1.ObjectRef{ContentType: "Note", ObjectId: "n1"}
	if _, err := srv.PutRelations(ctx, &eventlogv1.PutRelationsRequest{Relations: []*eventlogv1.Relation{
		{From: note, To: &eventlogv1.ObjectRef{ContentType: "Entity", ObjectId: "e1"}},
		{From: note, To: &eventlogv1.ObjectRef{ContentType: "Entity", ObjectId: "e2"}},
	}}); err != nil {
		t.Fatal(err)
	}
	event := &eventlogv1.Event{
		EventType: eventlogv1.EventType_EVENT_TYPE_EDIT, Actor: &eventlogv1.Actor{Name: "alice"},
		ContentType: "Note", ObjectId: "n1", ObjectRepr: "a note",
		Details: &structpb.Struct{Fields: map[string]*structpb.Value{"field": structpb.NewStringValue("body")}},
	}
	basic, err := srv.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event, View: eventlogv1.EventView_EVENT_VIEW_BASIC})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := srv.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: basic.GetEvent().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	want := &eventlogv1.LogEventResponse{
		Event:      &eventlogv1.Event{Id: stored.GetEvent().GetId(), Time: stored.GetEvent().GetTime(), Hash: stored.GetEvent().GetHash()},
		ChildCount: 2,
	}
	if diff := cmp.Diff(want, basic, protocmp.Transform()); diff != "" {
		t.Errorf("LogEvent in the basic view (-want +got):\n%s", diff)
	}
	full, err := srv.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event})
	if err != nil {
		t.Fatal(err)
	}
	if full.GetChildCount() != 2 || len(full.GetChildren()) != 2 || full.GetEvent().GetDetails() == nil {
		t.Errorf("LogEvent in the default view: %d children, child_count %d, details %v; want both 2 and the details", len(full.GetChildren()), full.GetChildCount(), full.GetEvent().GetDetails())
	}
	batch, err := srv.LogEvents(ctx, &eventlogv1.LogEventsRequest{
		Requests: []*eventlogv1.LogEventRequest{{Event: event}, {Event: event}},
		View:     eventlogv1.EventView_EVENT_VIEW_BASIC,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range batch.GetResponses() {
		if r.GetEvent().GetDetails() != nil || r.GetEvent().GetActor() != nil || len(r.GetChildren()) != 0 || r.GetChildCount() != 2 || len(r.GetEvent().GetHash()) != 32 {
			t.Errorf("LogEvents response %d in the basic view = %v", i, r)
		}
	}
	_, err = srv.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: event, View: 9})
	if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), "view:") {
		t.Errorf("LogEvent with view 9 = %v, want INVALID_ARGUMENT naming view", err)
	}
}
