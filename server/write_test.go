package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
