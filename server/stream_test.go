package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/store"
	"google.golang.org/protobuf/types/known/structpb"
)

// A subscriber that stops reading while a writer writes much more than
// the hub may hold: the writes go on unhindered, the hub stays within its
// bound, and once the subscriber reads again it gets every entry, in order,
// from the store.
func TestSlowSubscriberBoundedMemory(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{DSN: filepath.Join(t.TempDir(), "slow.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const tailBytes = 64 << 10
	srv := New(Config{Store: st, TailBytes: tailBytes, Heartbeat: time.Hour})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, stop := serveGRPC(t, srv)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	stream, err := c.StreamEvents(ctx, &eventlogv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	// The subscriber reads nothing more while 3,000 entries of about 1 KiB,
	// some 50 times the hub's bound, are written.
	details, _ := structpb.NewStruct(map[string]any{"pad": strings.Repeat("x", 1000)})
	const batches, per = 30, 100
	for b := range batches {
		req := &eventlogv1.LogEventsRequest{}
		for i := range per {
			req.Requests = append(req.Requests, &eventlogv1.LogEventRequest{Event: &eventlogv1.Event{
				EventType: eventlogv1.EventType_EVENT_TYPE_EDIT, Actor: &eventlogv1.Actor{Name: "w"},
				ContentType: "T", ObjectId: fmt.Sprint(b*per + i), Details: details,
			}})
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c.LogEvents(wctx, req)
		wcancel()
		if err != nil {
			t.Fatalf("batch %d with a stalled subscriber: %v", b, err)
		}
	}
	held, n := srv.hub.Held()
	if held > tailBytes+2<<10 {
		t.Errorf("the hub holds %d bytes in %d entries, over its bound of %d", held, n, tailBytes)
	}
	for want := int64(1); want <= batches*per; {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv, waiting for id %d: %v", want, err)
		}
		e := resp.GetEvent()
		if e == nil {
			continue
		}
		if e.GetId() != want {
			t.Fatalf("got id %d, want %d", e.GetId(), want)
		}
		want++
	}
}
