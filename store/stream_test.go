package store_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/google/go-cmp/cmp"
)

var streamTests = []struct {
	name string
	fn   func(t *testing.T, b backend)
}{
	{"HeadAndWatch", testHeadAndWatch},
	{"MatchAgreesWithList", testMatchAgreesWithList},
}

func testHeadAndWatch(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s1, s2 := open(t, dsn, nil), open(t, dsn, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if h, err := s1.Head(ctx); err != nil || h != 0 {
		t.Fatalf("Head of an empty log = %d, %v; want 0", h, err)
	}
	var mu sync.Mutex
	var woken []int64
	watched := make(chan error, 1)
	go func() {
		watched <- s1.Watch(ctx, t.Logf, func(id int64) {
			mu.Lock()
			woken = append(woken, id)
			mu.Unlock()
		})
	}()
	if s1.Dialect() == "postgres" {
		// Once LISTEN has taken effect the watcher wakes with 0; a commit
		// made before then is announced to no one.
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			n := len(woken)
			mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("Watch did not start listening within 30s")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	mustAppend(t, s2, ev(eventlog.TypeEdit, "a", "T", "1"), ev(eventlog.TypeEdit, "a", "T", "2"))
	if h, err := s1.Head(ctx); err != nil || h != 2 {
		t.Errorf("Head after two entries = %d, %v; want 2", h, err)
	}
	if s1.Dialect() == "postgres" {
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			got := append([]int64(nil), woken...)
			mu.Unlock()
			// The first wake, once the listener is up, is 0: commits
			// made before it were announced to no one. Then the
			// announcement of the append.
			if len(got) > 0 && got[0] != 0 {
				t.Fatalf("Watch woke first with %d, want 0 (look at the head once listening)", got[0])
			}
			if len(got) > 0 && got[len(got)-1] == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Watch woke with %v within 5s, want the last id 2 from a commit through another store", got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	cancel()
	select {
	case err := <-watched:
		if err != nil {
			t.Errorf("Watch returned %v after its context ended, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Watch did not return after its context ended")
	}
}

// testMatchAgreesWithList checks that Filter.Match, which streams filter
// in memory with, selects exactly what the store's queries select.
func testMatchAgreesWithList(t *testing.T, b backend) {
	c := &clock{now: t0}
	s := open(t, b.newDSN(t), c)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	types := eventlog.EventTypes()
	var batch []eventlog.Event
	for i := range 300 {
		e := eventlog.Event{
			Type:        types[rng.IntN(len(types))],
			Actor:       eventlog.Actor{ID: pick("1", "2", "Ab"), Name: pick("alice", "ALICE", "Bob", "émile", "ÉMILE")},
			ContentType: pick("Entry", "entry", "Note", "NOTE", "Ärtifact"),
			ObjectID:    pick("x", "X", "y"),
			SourceID:    int64(rng.IntN(3)),
		}
		batch = append(batch, e)
		if i%30 == 29 {
			c.Set(t0.Add(time.Duration(i) * time.Second))
			mustAppend(t, s, batch...)
			batch = nil
		}
	}
	all := listAll(t, s, eventlog.Filter{})
	for i := range 200 {
		f := eventlog.Filter{}
		if rng.IntN(3) == 0 {
			f.Type = types[rng.IntN(len(types))]
		}
		if rng.IntN(2) == 0 {
			f.Actor = pick("alice", "Alice", "bob", "ab", "AB", "émile", "Émile", "2")
		}
		if rng.IntN(2) == 0 {
			f.ContentType = pick("entry", "ENTRY", "note", "ärtifact", "ÄRTIFACT")
		}
		if rng.IntN(3) == 0 {
			f.ObjectID = pick("x", "X", "y")
		}
		if rng.IntN(3) == 0 {
			v := int64(rng.IntN(3))
			f.SourceID = &v
		}
		if rng.IntN(3) == 0 {
			f.Start = t0.Add(time.Duration(rng.IntN(300)) * time.Second)
		}
		if rng.IntN(3) == 0 {
			f.End = t0.Add(time.Duration(rng.IntN(300)) * time.Second)
		}
		var want []int64
		for j := range all {
			if f.Match(&all[j]) {
				want = append(want, all[j].ID)
			}
		}
		got := ids(listAll(t, s, f))
		if len(got) == 0 {
			got = nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("filter %d %+v: Match (-) and List (+) disagree:\n%s", i, f, diff)
		}
	}
}
