package client_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
)

// exampleDSN, when set, gives the database of an example's server
// (TestExamplesOnPostgres sets it); the default is a new SQLite file.
var exampleDSN func() string

// exampleServer starts a server over a new database for an example, and
// returns its address and a function that stops it.
func exampleServer() (string, func()) {
	dir, err := os.MkdirTemp("", "eventlog-example")
	mustNot(err)
	dsn := filepath.Join(dir, "log.db")
	if exampleDSN != nil {
		dsn = exampleDSN()
	}
	ts, err := startServer(dsn, "")
	mustNot(err)
	return ts.addr, func() { ts.stop(); os.RemoveAll(dir) }
}

func ExampleClient_NewLogger() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr, client.WithInsecure())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	// One Logger per process: Log returns at once, batches go out in the
	// background, and retries reuse each entry's idempotency key.
	logger := c.NewLogger(client.LoggerConfig{QueueSize: 10_000, WhenFull: client.Block})
	for i := range 3 {
		err := logger.Log(ctx, eventlog.Write{Event: eventlog.Event{
			Type:        eventlog.TypeFetch,
			Actor:       eventlog.Actor{ID: "7", Name: "bob", Kind: eventlog.ActorUser},
			ContentType: "Report",
			ObjectID:    fmt.Sprint("r-", i),
		}})
		if err != nil {
			fmt.Println(err)
		}
	}
	// At shutdown, deliver what is queued.
	if err := logger.Close(ctx); err != nil {
		fmt.Println(err)
	}
	st := logger.Stats()
	fmt.Println("sent", st.Sent, "dropped", st.Dropped)
	for e, err := range c.List(ctx, eventlog.Filter{ContentType: "report"}, client.Ascending()) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(e.ID, e.Type, e.ObjectID)
	}
	// Output:
	// sent 3 dropped 0
	// 1 FETCH r-0
	// 2 FETCH r-1
	// 3 FETCH r-2
}

func Example() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	// A real deployment: client.Dial(ctx, "eventlog.example:50051",
	// client.WithAPIKey(token)), over TLS by default.
	c, err := client.Dial(ctx, addr, client.WithInsecure(), client.WithUserAgent("billing/1.4"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	w, err := c.LogEvent(ctx, eventlog.Write{Event: eventlog.Event{
		Type:           eventlog.TypeEdit,
		Actor:          eventlog.Actor{ID: "42", Name: "alice", Kind: eventlog.ActorUser},
		ContentType:    "Invoice",
		ObjectID:       "2026-0117",
		Details:        []byte(`{"field":"amount","old":120,"new":150}`),
		IdempotencyKey: "invoice-2026-0117-edit-3",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stored as entry", w.Event.ID)

	e, _, err := c.GetEvent(ctx, w.Event.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Type, e.Actor.Name, e.ContentType, e.ObjectID, string(e.Details))

	_, _, err = c.GetEvent(ctx, 999)
	fmt.Println("entry 999 exists:", !errors.Is(err, client.ErrNotFound))
	// Output:
	// stored as entry 1
	// EDIT alice Invoice 2026-0117 {"field":"amount","new":150,"old":120}
	// entry 999 exists: false
}

func ExampleClient_List() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr, client.WithInsecure())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	for _, who := range []string{"alice", "bob", "alice"} {
		_, err := c.LogEvent(ctx, eventlog.Write{Event: eventlog.Event{
			Type: eventlog.TypeLogin, Actor: eventlog.Actor{Name: who}, ContentType: "Session", ObjectID: who,
		}})
		if err != nil {
			fmt.Println(err)
			return
		}
	}

	// The loop fetches pages as it goes; a failed call is its last item.
	for e, err := range c.List(ctx, eventlog.Filter{Actor: "alice"}, client.Ascending()) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(e.ID, e.Type, e.Actor.Name)
	}
	// Output:
	// 1 LOGIN alice
	// 3 LOGIN alice
}

func ExampleClient_Follow() {
	addr, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, addr, client.WithInsecure())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	go func() {
		for _, obj := range []string{"a", "b", "c"} {
			c.LogEvent(ctx, eventlog.Write{Event: eventlog.Event{
				Type: eventlog.TypeCreate, Actor: eventlog.Actor{Name: "importer"}, ContentType: "File", ObjectID: obj,
			}})
		}
	}()

	// Every entry after id 0, then new ones as they come, through server
	// restarts. Keep the last id handled to start again after it.
	var last int64
	for e, err := range c.Follow(ctx, eventlog.Filter{ContentType: "File"}, 0) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(e.ID, e.ObjectID)
		last = e.ID
		if last == 3 {
			break
		}
	}
	// Output:
	// 1 a
	// 2 b
	// 3 c
}

func ExampleClient_Verify() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr, client.WithInsecure())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	for _, obj := range []string{"1", "2"} {
		if _, err := c.LogEvent(ctx, eventlog.Write{Event: eventlog.Event{
			Type: eventlog.TypeDelete, Actor: eventlog.Actor{Name: "admin"}, ContentType: "User", ObjectID: obj,
		}}); err != nil {
			fmt.Println(err)
			return
		}
	}

	res, err := c.Verify(ctx, eventlog.VerifyOptions{})
	switch {
	case err != nil:
		fmt.Println("could not check:", err)
	case res.Break != nil:
		fmt.Printf("broken at %d: %s\n", res.Break.ID, res.Break.Kind)
	default:
		fmt.Printf("entries %d to %d intact, head checked: %v\n", res.Start, res.End, res.HeadChecked)
	}
	// Output:
	// entries 1 to 2 intact, head checked: true
}

func ExampleDial_invalidArgument() {
	addr, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, addr, client.WithInsecure())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	_, err = c.LogEvent(ctx, eventlog.Write{Event: eventlog.Event{
		Type: eventlog.TypeEdit, Actor: eventlog.Actor{Name: "alice"}, ObjectID: "7",
	}})
	var inv *eventlog.InvalidError
	if errors.As(err, &inv) {
		fmt.Println("invalid:", inv.Field)
	}
	// Output:
	// invalid: event.content_type
}
