package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/store"
	"github.com/jmoiron/sqlx"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

func init() {
	treeTests = append(treeTests, struct {
		name string
		fn   func(t *testing.T, b backend)
	}{"PruneKeepsChainTreeAndCounts", testPrune})
}

// appendMany appends n entries at the clock's time, 1,000 a call.
func appendMany(t *testing.T, s *store.Store, n int, tag string) {
	t.Helper()
	for done := 0; done < n; {
		batch := make([]eventlog.Event, min(1000, n-done))
		for i := range batch {
			batch[i] = ev(eventlog.TypeEdit, "alice", "Note", fmt.Sprintf("%s-%d", tag, done+i))
		}
		mustAppend(t, s, batch...)
		done += len(batch)
	}
}

// integrateAll integrates every entry into the Merkle tree.
func integrateAll(t *testing.T, s *store.Store) eventlog.TreeHead {
	t.Helper()
	var last eventlog.TreeHead
	for {
		h, err := s.Integrate(context.Background())
		if err != nil {
			t.Fatalf("Integrate: %v", err)
		}
		if h.Size == last.Size && last.Root != nil {
			return h
		}
		last = h
	}
}

func countAll(t *testing.T, s *store.Store) int64 {
	t.Helper()
	got, err := s.Count(context.Background(), eventlog.CountQuery{
		Filter: eventlog.Filter{Start: t0.Add(-time.Hour), End: t0.Add(100 * time.Hour)}, Width: eventlog.BucketDay})
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	var n int64
	for _, c := range got {
		n += c.N
	}
	return n
}

// A prune removes the oldest entries, whole partitions on PostgreSQL and
// a multiple of 16 entries on SQLite, and leaves a log whose chain
// verifies from the anchor, whose tree roots are those the signed
// checkpoints hold, whose proofs about the entries kept still pass, and
// whose counts no longer hold the removed entries. A prune stopped after
// recording its anchor is finished by the next.
func testPrune(t *testing.T, b backend) {
	ctx := context.Background()
	c := &clock{now: t0}
	dsn := b.newDSN(t)
	s := open(t, dsn, c)

	const old, recent = 70_010, 10_000
	appendMany(t, s, old, "old")
	oldHead := integrateAll(t, s)
	c.Set(t0.Add(48 * time.Hour))
	appendMany(t, s, recent, "new")
	head := integrateAll(t, s)
	if head.Size != old+recent || oldHead.Size != old {
		t.Fatalf("tree sizes %d and %d, want %d and %d", oldHead.Size, head.Size, old, old+recent)
	}
	var want int64 = 70_000 // 70,010 rounded down to whole stored subtrees
	if b.driver == "postgres" {
		want = 65_536 // the first partition; the second holds recent entries
	}

	cutoff := t0.Add(24 * time.Hour)
	dry, err := s.Prune(ctx, store.PruneOptions{Before: cutoff, DryRun: true})
	if err != nil || dry.New || dry.Anchor == nil || dry.Anchor.ThroughID != want || dry.Removed != want {
		t.Fatalf("dry run = %+v, %v; want %d entries to go", dry, err, want)
	}
	if a, err := s.Anchor(ctx); err != nil || a != nil {
		t.Fatalf("Anchor after a dry run = %+v, %v; want none", a, err)
	}

	// Stopped after the anchor: nothing removed yet, but the log starts
	// after it.
	store.SetAfterAnchor(s, func() error { return errors.New("killed") })
	if _, err := s.Prune(ctx, store.PruneOptions{Before: cutoff, By: "test"}); err == nil {
		t.Fatal("Prune with its removal failing returned no error")
	}
	store.SetAfterAnchor(s, nil)
	a, err := s.Anchor(ctx)
	if err != nil || a == nil || a.ThroughID != want || a.Entries != want || !a.Before.Equal(cutoff) || a.PrunedBy == "" {
		t.Fatalf("Anchor = %+v, %v; want one through %d", a, err, want)
	}
	if _, err := s.Get(ctx, 1); err != nil {
		t.Fatalf("entry 1 before the removal: %v", err)
	}
	checkVerifiesFromAnchor(t, s, want)

	res, err := s.Prune(ctx, store.PruneOptions{Before: cutoff, By: "test"})
	if err != nil || res.New || res.Anchor == nil || res.Anchor.ThroughID != want || res.Removed != want {
		t.Fatalf("Prune finishing the stopped one = %+v, %v; want %d entries removed, no new anchor", res, err, want)
	}
	if b.driver == "postgres" && len(res.Partitions) != 1 {
		t.Errorf("partitions dropped %v, want the first one", res.Partitions)
	}
	for _, id := range []int64{1, want} {
		if _, err := s.Get(ctx, id); !errors.Is(err, eventlog.ErrNotFound) {
			t.Errorf("Get(%d) after the prune = %v, want not found", id, err)
		}
	}
	if e, err := s.Get(ctx, want+1); err != nil || e.ID != want+1 {
		t.Errorf("Get(%d), the first entry kept = %v", want+1, err)
	}
	if n := countAll(t, s); n != old+recent-want {
		t.Errorf("counts hold %d entries after the prune, want %d", n, old+recent-want)
	}
	checkVerifiesFromAnchor(t, s, want)

	// The anchor's subtrees and the entries kept give the roots the
	// tree had before the prune.
	r, err := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewRange(0, uint64(want), a.TreeRange)
	if err != nil {
		t.Fatalf("the anchor's tree range: %v", err)
	}
	kept, err := s.ReadChain(ctx, want, head.Size, int(head.Size))
	if err != nil {
		t.Fatal(err)
	}
	for i := range kept {
		if err := r.Append(eventlog.LeafHash(kept[i].Hash), nil); err != nil {
			t.Fatal(err)
		}
		if size := want + int64(i) + 1; size == oldHead.Size || size == head.Size {
			root, _ := r.GetRootHash(nil)
			th := oldHead
			if size == head.Size {
				th = head
			}
			if !bytes.Equal(root, th.Root) {
				t.Errorf("root at size %d from the anchor = %x, want %x", size, root, th.Root)
			}
		}
	}

	// Proofs about kept entries pass; those that need removed ones say so.
	p, err := s.InclusionProof(ctx, want+1, head.Size)
	if err != nil {
		t.Fatalf("InclusionProof(%d): %v", want+1, err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(want), uint64(head.Size), eventlog.LeafHash(kept[0].Hash), p, head.Root); err != nil {
		t.Errorf("inclusion proof of the first kept entry: %v", err)
	}
	cp, err := s.ConsistencyProof(ctx, oldHead.Size, head.Size)
	if err != nil {
		t.Fatalf("ConsistencyProof(%d, %d): %v", oldHead.Size, head.Size, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(oldHead.Size), uint64(head.Size), cp, oldHead.Root, head.Root); err != nil {
		t.Errorf("consistency proof across the prune: %v", err)
	}
	var pruned *eventlog.PrunedError
	if _, err := s.InclusionProof(ctx, 5, head.Size); !errors.As(err, &pruned) || pruned.Through != want {
		t.Errorf("InclusionProof of a pruned entry = %v, want a PrunedError through %d", err, want)
	}
	if _, err := s.ConsistencyProof(ctx, 100, head.Size); !errors.As(err, &pruned) {
		t.Errorf("ConsistencyProof from inside the pruned range = %v, want a PrunedError", err)
	}

	// Reading on from inside the pruned part is refused, not moved past
	// the removed entries without a word; from the anchor it goes on.
	if _, err := s.List(ctx, eventlog.Filter{}, eventlog.Page{Cursor: 10, Ascending: true, Limit: 5}); !errors.As(err, &pruned) || pruned.Through != want {
		t.Errorf("List after a pruned entry = %v, want a PrunedError through %d", err, want)
	}
	if got, err := s.List(ctx, eventlog.Filter{}, eventlog.Page{Cursor: want, Ascending: true, Limit: 1}); err != nil || len(got) != 1 || got[0].ID != want+1 {
		t.Errorf("List after the anchor = %v, %v; want entry %d", ids(got), err, want+1)
	}
	if got, err := s.List(ctx, eventlog.Filter{}, eventlog.Page{Cursor: want + 5, Limit: 10}); err != nil || len(got) != 4 {
		t.Errorf("List newest first down to the anchor = %v, %v; want the 4 entries kept below %d", ids(got), err, want+5)
	}

	// The log goes on; a second prune with the same cutoff has nothing to
	// do; entries after the anchor still cannot be removed.
	appendMany(t, s, 10, "later")
	if res, err := s.Prune(ctx, store.PruneOptions{Before: cutoff}); err != nil || res.New || res.Removed != 0 {
		t.Errorf("a second prune = %+v, %v; want nothing removed", res, err)
	}
	checkVerifiesFromAnchor(t, s, want)
	db := sqlx.MustOpen(b.driver, b.rawDSN(dsn))
	defer db.Close()
	if _, err := db.Exec(db.Rebind(`DELETE FROM events WHERE id = ?`), want+1); err == nil {
		t.Error("deleting an entry after the anchor succeeded; the log must stay append-only")
	}
	if _, err := db.Exec(`DELETE FROM prunes`); err == nil {
		t.Error("deleting the anchor succeeded; it must stay")
	}
}

func checkVerifiesFromAnchor(t *testing.T, s *store.Store, through int64) {
	t.Helper()
	res, err := eventlog.VerifyChain(context.Background(), s, eventlog.VerifyOptions{})
	if err != nil || res.Break != nil || !res.StartedAtPrune || res.Start != through+1 || !res.HeadChecked {
		t.Fatalf("VerifyChain after the prune = %+v, %v; want intact from %d", res, err, through+1)
	}
}
