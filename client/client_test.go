package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
)

func dial(t *testing.T, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), addr, append([]client.Option{client.WithInsecure()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(n int) eventlog.Write {
	return eventlog.Write{Event: eventlog.Event{
		Type:        eventlog.TypeEdit,
		Actor:       eventlog.Actor{ID: "u-1", Name: "alice", Kind: eventlog.ActorUser},
		ContentType: "Entry",
		ObjectID:    fmt.Sprint(n),
		Details:     []byte(`{"n":` + fmt.Sprint(n) + `}`),
	}}
}

// sent is what a write's stored entry holds of what was sent.
var sent = cmpopts.IgnoreFields(eventlog.Event{}, "ID", "Time", "Hash", "PrevHash")

func TestCalls(t *testing.T) {
	for name, newDB := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ts := serve(t, newDB(t))
			c := dial(t, ts.addr)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			w := write(1)
			w.Event.IdempotencyKey = "k-1"
			w.Event.OccurredTime = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
			w.Event.Request = eventlog.Request{Method: "POST", Path: "/entries/1", Status: 201}
			got, err := c.LogEvent(ctx, w)
			if err != nil {
				t.Fatalf("LogEvent: %v", err)
			}
			if diff := cmp.Diff(w.Event, got.Event, sent); diff != "" {
				t.Errorf("LogEvent stored mismatch (-sent +stored):\n%s", diff)
			}
			if got.Event.ID != 1 || got.Event.Time.IsZero() || len(got.Event.Hash) == 0 {
				t.Errorf("LogEvent = id %d, time %v, hash %x; want id 1 with a time and a hash", got.Event.ID, got.Event.Time, got.Event.Hash)
			}

			again, err := c.LogEvent(ctx, w)
			if err != nil || again.Event.ID != got.Event.ID {
				t.Errorf("LogEvent retried with its key = id %d, %v; want id %d", again.Event.ID, err, got.Event.ID)
			}

			e, children, err := c.GetEvent(ctx, 1)
			if err != nil {
				t.Fatalf("GetEvent(1): %v", err)
			}
			if diff := cmp.Diff(got.Event, e); diff != "" || children != 0 {
				t.Errorf("GetEvent(1) = %d children, mismatch (-logged +got):\n%s", children, diff)
			}

			batch, err := c.LogEvents(ctx, []eventlog.Write{write(2), write(3), write(4), write(5)})
			if err != nil {
				t.Fatalf("LogEvents: %v", err)
			}
			for i, b := range batch {
				if b.Event.ID != int64(i+2) || b.Event.ObjectID != fmt.Sprint(i+2) {
					t.Errorf("LogEvents[%d] = id %d object %s, want id %d object %d", i, b.Event.ID, b.Event.ObjectID, i+2, i+2)
				}
			}

			var ids []int64
			for e, err := range c.List(ctx, eventlog.Filter{ContentType: "entry"}, client.PageSize(2)) {
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff([]int64{5, 4, 3, 2, 1}, ids); diff != "" {
				t.Errorf("List newest first, pages of 2 (-want +got):\n%s", diff)
			}
			ids = nil
			for e, err := range c.List(ctx, eventlog.Filter{ObjectID: "3"}, client.Ascending()) {
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff([]int64{3}, ids); diff != "" {
				t.Errorf("List object 3 (-want +got):\n%s", diff)
			}

			res, err := c.Verify(ctx, eventlog.VerifyOptions{})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Break != nil || res.Checked != 5 || res.End != 5 || !res.HeadChecked {
				t.Errorf("Verify = %+v, want 5 entries intact and the head checked", res)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ts := serve(t, backends(t)["sqlite"](t))
	c := dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_, _, err := c.GetEvent(ctx, 99)
	if !errors.Is(err, client.ErrNotFound) || !errors.Is(err, eventlog.ErrNotFound) || status.Code(err) != codes.NotFound {
		t.Errorf("GetEvent(99) error = %v, want ErrNotFound with code NotFound", err)
	}

	bad := write(1)
	bad.Event.Actor = eventlog.Actor{}
	_, err = c.LogEvent(ctx, bad)
	var inv *eventlog.InvalidError
	if !errors.As(err, &inv) || inv.Field != "event.actor" {
		t.Errorf("LogEvent without an actor: error = %v, want an InvalidError on event.actor", err)
	}

	batch := []eventlog.Write{write(1), write(2), write(3), write(4)}
	batch[3].Event.ContentType = ""
	_, err = c.LogEvents(ctx, batch)
	if !errors.As(err, &inv) || inv.Field != "requests[3].event.content_type" {
		t.Errorf("LogEvents with no content type in the fourth: error = %v, want an InvalidError on requests[3].event.content_type", err)
	}

	// A key reused with another request: the conflict, with its fields.
	keyed := write(5)
	keyed.Event.IdempotencyKey = "k-5"
	first, err := c.LogEvent(ctx, keyed)
	if err != nil {
		t.Fatal(err)
	}
	keyed.Event.ObjectRepr = "another"
	_, err = c.LogEvent(ctx, keyed)
	var conflict *eventlog.KeyConflictError
	if !errors.As(err, &conflict) || conflict.Key != "k-5" || conflict.ID != first.Event.ID || conflict.Field != "event.object_repr" || status.Code(err) != codes.AlreadyExists {
		t.Errorf("LogEvent reusing a key with another repr: error = %v, want a KeyConflictError naming k-5, entry %d and event.object_repr", err, first.Event.ID)
	}

	err = nil
	for _, err = range c.List(ctx, eventlog.Filter{ObjectID: "\x00"}) {
	}
	if !errors.As(err, &inv) || inv.Field != "object_id" {
		t.Errorf("List with a NUL in object_id: last error = %v, want an InvalidError on object_id", err)
	}

	// A server that is not there.
	ts.stop()
	short, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	_, _, err = c.GetEvent(short, 1)
	if !errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrOutcomeUnknown) {
		t.Errorf("GetEvent from a stopped server: error = %v, want ErrUnavailable", err)
	}
}

func TestRelations(t *testing.T) {
	ts := serve(t, backends(t)["sqlite"](t))
	c := dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rels := []eventlog.Relation{
		{From: eventlog.ObjectRef{ContentType: "Entry", ObjectID: "1"}, To: eventlog.ObjectRef{ContentType: "Feed", ObjectID: "a"}, Kind: "in"},
		{From: eventlog.ObjectRef{ContentType: "Entry", ObjectID: "2"}, To: eventlog.ObjectRef{ContentType: "Feed", ObjectID: "a"}, Kind: "in"},
	}
	if n, err := c.PutRelations(ctx, rels); err != nil || n != 2 {
		t.Fatalf("PutRelations = %d, %v; want 2", n, err)
	}
	if n, err := c.PutRelations(ctx, rels[:1]); err != nil || n != 0 {
		t.Errorf("PutRelations again = %d, %v; want 0", n, err)
	}
	list := func() []eventlog.Relation {
		var out []eventlog.Relation
		for r, err := range c.ListRelations(ctx, eventlog.RelationFilter{To: &eventlog.ObjectRef{ContentType: "Feed", ObjectID: "a"}}) {
			if err != nil {
				t.Fatalf("ListRelations: %v", err)
			}
			out = append(out, r)
		}
		return out
	}
	if diff := cmp.Diff(rels, list()); diff != "" {
		t.Errorf("ListRelations mismatch (-want +got):\n%s", diff)
	}
	if n, err := c.DeleteRelations(ctx, rels[:1]); err != nil || n != 1 {
		t.Errorf("DeleteRelations = %d, %v; want 1", n, err)
	}
	if diff := cmp.Diff(rels[1:], list()); diff != "" {
		t.Errorf("ListRelations after delete mismatch (-want +got):\n%s", diff)
	}
}
