package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/client"
	"github.com/eventlog/eventlog/internal/pgtest"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPruneSQLite(t *testing.T) { testPrune(t, filepath.Join(t.TempDir(), "prune.db"), 100, 96) }

// On PostgreSQL a prune drops whole partitions: the first ends at 65,536.
func TestPrunePostgres(t *testing.T) {
	testPrune(t, pgtest.NewDB(t, pgtest.URL(t)), 65_600, 65_536)
}

// testPrune writes old entries and recent ones, keeps a signed checkpoint
// with witness, prunes with the command, and checks that verify passes
// from the anchor, that the kept checkpoint still checks against the
// database, and that the server goes on: appending, proving, witnessed.
func testPrune(t *testing.T, db string, old int, want int64) {
	ctx := context.Background()
	now := time.Now()
	clock := now.Add(-10 * 24 * time.Hour)
	st, err := store.Open(ctx, store.Config{DSN: db, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	write := func(n int, tag string) {
		for done := 0; done < n; {
			batch := make([]eventlog.Write, min(1000, n-done))
			for i := range batch {
				batch[i].Event = eventlog.Event{Type: eventlog.TypeEdit, Actor: eventlog.Actor{Name: "alice"}, ContentType: "Entry",
					ObjectID: fmt.Sprintf("%s-%d", tag, done+i), Details: []byte("{}")}
			}
			if _, err := st.Append(ctx, batch); err != nil {
				t.Fatal(err)
			}
			done += len(batch)
		}
	}
	write(old, "old")
	clock = now
	write(20, "new")
	total := int64(old + 20)
	for {
		h, err := st.Integrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h.Size == total {
			break
		}
	}
	st.Close()

	dir := t.TempDir()
	sk, state := filepath.Join(dir, "signing.key"), filepath.Join(dir, "state")
	out, err := cli(t, nil, "keys", "signing", "new", "--name", "test.example/log", "--out", sk)
	if err != nil {
		t.Fatalf("keys signing new: %v\n%s", err, out)
	}
	vkey := strings.TrimSpace(out)
	ts := startServer(t, db, "--signing-key", sk, "--tree-interval", "50ms")
	env := map[string]string{"EVENTLOG_SERVER": ts.addr}
	witness := func(size int64) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			out, err := cli(t, env, "witness", "--state", state, "--verifier-key", vkey)
			if err == nil && strings.Contains(out, fmt.Sprintf(" %d entries", size)) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("witness never saw %d entries: %v\n%s", size, err, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	witness(total)
	ts.stop(t)

	// Mistakes are refused before anything is done.
	for _, args := range [][]string{
		{"prune", "--db", db},
		{"prune", "--db", db, "--keep", "1d", "--before", "2026-01-01T00:00:00Z"},
		{"prune", "--db", db, "--keep", "5m"},
		{"prune", "--db", db, "--keep", "soon"},
		{"prune", "--db", db, "--before", now.Add(time.Hour).Format(time.RFC3339)},
		{"prune", "--keep", "1d"},
	} {
		if out, err := cli(t, nil, args...); err == nil || exitCode(err) != 2 {
			t.Errorf("%q = %v (exit %d), want a usage error\n%s", args, err, exitCode(err), out)
		}
	}

	out, err = cli(t, nil, "prune", "--db", db, "--keep", "1d", "--dry-run")
	if wantOut := fmt.Sprintf("would remove entries 1 to %d (%d entries)", want, want); err != nil || !strings.Contains(out, wantOut) {
		t.Fatalf("prune --dry-run = %v\n%s\nwant %q", err, out, wantOut)
	}
	out, err = cli(t, nil, "prune", "--db", db, "--keep", "1d")
	if wantOut := fmt.Sprintf("pruned entries up to %d (%d entries removed now)", want, want); err != nil || !strings.Contains(out, wantOut) {
		t.Fatalf("prune = %v\n%s\nwant %q", err, out, wantOut)
	}
	out, err = cli(t, nil, "prune", "--db", db, "--keep", "1d")
	if err != nil || !strings.Contains(out, "nothing to prune before") || !strings.Contains(out, fmt.Sprintf("entries up to %d were pruned", want)) {
		t.Errorf("prune again = %v\n%s", err, out)
	}

	out, err = cli(t, nil, "verify", "--db", db)
	if err != nil || !strings.Contains(out, fmt.Sprintf("OK: entries %d to %d intact", want+1, total)) ||
		!strings.Contains(out, fmt.Sprintf("entries up to %d were pruned", want)) {
		t.Errorf("verify --db after the prune = %v\n%s", err, out)
	}
	out, err = cli(t, nil, "verify", "--db", db, "--checkpoint", state, "--verifier-key", vkey)
	if err != nil || !strings.Contains(out, fmt.Sprintf("the log extends the checkpoint of %d entries", total)) {
		t.Errorf("verify --db --checkpoint kept before the prune = %v\n%s", err, out)
	}

	// The server goes on after the prune.
	ts = startServer(t, db, "--signing-key", sk, "--tree-interval", "50ms")
	env["EVENTLOG_SERVER"] = ts.addr
	c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
	if _, err := c.LogEvent(ctx, &eventlogv1.LogEventRequest{Event: newEvent(eventlogv1.EventType_EVENT_TYPE_EDIT, "bob", "Entry", "after")}); err != nil {
		t.Fatal(err)
	}
	if out := witness(total + 1); !strings.Contains(out, fmt.Sprintf("extending %d", total)) {
		t.Errorf("witness across the prune:\n%s", out)
	}
	if out, err := cli(t, env, "verify"); err != nil || !strings.Contains(out, fmt.Sprintf("entries %d to %d intact", want+1, total+1)) {
		t.Errorf("verify through the server after the prune = %v\n%s", err, out)
	}
	if _, err := c.GetEvent(ctx, &eventlogv1.GetEventRequest{Id: 1}); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "pruned") {
		t.Errorf("GetEvent of a pruned entry = %v, want NotFound saying it was pruned", err)
	}
	_, err = c.GetInclusionProof(ctx, &eventlogv1.GetInclusionProofRequest{Id: 1, TreeSize: total})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "pruned") {
		t.Errorf("GetInclusionProof of a pruned entry = %v, want FailedPrecondition naming the prune", err)
	}
	if _, err := c.GetInclusionProof(ctx, &eventlogv1.GetInclusionProofRequest{Id: want + 1, TreeSize: total}); err != nil {
		t.Errorf("GetInclusionProof of the first kept entry = %v", err)
	}

	// A reader going on from inside the pruned part is told, not moved on
	// silently past what it did not see; one from the start, or from the
	// anchor, reads the entries kept.
	five := int64(5)
	_, err = c.ListEvents(ctx, &eventlogv1.ListEventsRequest{AfterId: &five, OrderBy: "id asc"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), fmt.Sprintf("resume with after_id=%d", want)) {
		t.Errorf("ListEvents after a pruned entry = %v, want FailedPrecondition saying where to resume", err)
	}
	cl, err := client.Dial(ctx, ts.addr, client.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, err := range cl.Follow(fctx, eventlog.Filter{}, 5) {
		var pruned *eventlog.PrunedError
		if !errors.As(err, &pruned) || pruned.Through != want {
			t.Errorf("Follow from a pruned entry = %v, want a PrunedError through %d", err, want)
		}
		break
	}
	for e, err := range cl.Follow(fctx, eventlog.Filter{}, 0) {
		if err != nil || e.ID != want+1 {
			t.Errorf("Follow from the start after the prune = %d, %v; want the first entry kept, %d", e.ID, err, want+1)
		}
		break
	}
	for e, err := range cl.Follow(fctx, eventlog.Filter{}, want) {
		if err != nil || e.ID != want+1 {
			t.Errorf("Follow from the anchor = %d, %v; want %d", e.ID, err, want+1)
		}
		break
	}
}
