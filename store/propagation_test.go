package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/propagation"
	"github.com/eventlog/eventlog/store"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
)

// propagationTests are the conformance tests of relations and propagation.
var propagationTests = []struct {
	name string
	fn   func(t *testing.T, b backend)
}{
	{"Relations", testRelations},
	{"RelationPages", testRelationPages},
	{"ChildrenInSameWrite", testChildrenInSameWrite},
	{"PropagationAtomic", testPropagationAtomic},
	{"CyclesDiamondsDepth", testCyclesDiamondsDepth},
	{"FanoutCapWritesNothing", testFanoutCap},
	{"RelationsChangeOnlyTheFuture", testRelationsForward},
	{"IdempotentRetryReturnsChildren", testIdempotentChildren},
	{"ConcurrentWritersChangingRelations", testConcurrentRelations},
}

func openWithRules(t testing.TB, dsn, rules string, fanout int) *store.Store {
	t.Helper()
	cfg := propagation.Config{MaxFanout: fanout}
	if rules != "" {
		r, err := propagation.ParseRules([]byte(rules))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Rules = r
	}
	engine, err := propagation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), store.Config{DSN: dsn, Expander: engine})
	if err != nil {
		t.Fatalf("store.Open error = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ref(s string) eventlog.ObjectRef {
	ct, id, _ := strings.Cut(s, "/")
	return eventlog.ObjectRef{ContentType: ct, ObjectID: id}
}

// relate registers "A/1 -> B/1 [kind]" edges.
func relate(t testing.TB, s *store.Store, edges ...string) int {
	t.Helper()
	var rels []eventlog.Relation
	for _, e := range edges {
		from, rest, _ := strings.Cut(e, " -> ")
		to, kind, _ := strings.Cut(rest, " ")
		rels = append(rels, eventlog.Relation{From: ref(from), To: ref(to), Kind: strings.Trim(kind, "[]")})
	}
	n, err := s.PutRelations(context.Background(), rels)
	if err != nil {
		t.Fatalf("PutRelations error = %v", err)
	}
	return n
}

func write(t *testing.T, s *store.Store, typ eventlog.EventType, object string, related ...string) eventlog.Written {
	t.Helper()
	o := ref(object)
	w := eventlog.Write{Event: ev(typ, "alice", o.ContentType, o.ObjectID)}
	for _, r := range related {
		w.Related = append(w.Related, ref(r))
	}
	out, err := s.Append(context.Background(), []eventlog.Write{w})
	if err != nil {
		t.Fatalf("Append(%s %s) error = %v", typ, object, err)
	}
	return out[0]
}

// tree renders children as "id TYPE Type/id <- source".
func tree(children []eventlog.Event) []string {
	var out []string
	for _, c := range children {
		out = append(out, fmt.Sprintf("%d %s %s/%s <- %d", c.ID, c.Type, c.ContentType, c.ObjectID, c.SourceID))
	}
	return out
}

func relationStrings(rels []eventlog.Relation) []string {
	var out []string
	for _, r := range rels {
		out = append(out, fmt.Sprintf("%s/%s -> %s/%s [%s]", r.From.ContentType, r.From.ObjectID, r.To.ContentType, r.To.ObjectID, r.Kind))
	}
	return out
}

func testRelations(t *testing.T, b backend) {
	s := openWithRules(t, b.newDSN(t), "", 0)
	ctx := context.Background()
	if n := relate(t, s, "Note/n1 -> Entity/e1", "Note/n1 -> Entity/e2 [links]", "Note/n1 -> Entity/e2"); n != 3 {
		t.Errorf("PutRelations of 3 new relations created %d", n)
	}
	if n := relate(t, s, "Note/n1 -> Entity/e1", "note/n1 -> ENTITY/e1", "Note/n2 -> Entity/e1"); n != 1 {
		t.Errorf("PutRelations of 2 existing (one in another case) and 1 new created %d, want 1", n)
	}
	list := func(f eventlog.RelationFilter) []string {
		rels, err := s.ListRelations(ctx, f, nil, 100)
		if err != nil {
			t.Fatalf("ListRelations error = %v", err)
		}
		return relationStrings(rels)
	}
	kind := "links"
	tests := []struct {
		name string
		f    eventlog.RelationFilter
		want []string
	}{
		{"all", eventlog.RelationFilter{}, []string{
			"Note/n1 -> Entity/e1 []", "Note/n1 -> Entity/e2 []", "Note/n1 -> Entity/e2 [links]", "Note/n2 -> Entity/e1 []",
		}},
		{"from object", eventlog.RelationFilter{From: &eventlog.ObjectRef{ContentType: "NOTE", ObjectID: "n2"}}, []string{"Note/n2 -> Entity/e1 []"}},
		{"to object", eventlog.RelationFilter{To: &eventlog.ObjectRef{ContentType: "entity", ObjectID: "e1"}}, []string{
			"Note/n1 -> Entity/e1 []", "Note/n2 -> Entity/e1 []",
		}},
		{"to type", eventlog.RelationFilter{To: &eventlog.ObjectRef{ContentType: "Entity"}}, []string{
			"Note/n1 -> Entity/e1 []", "Note/n1 -> Entity/e2 []", "Note/n1 -> Entity/e2 [links]", "Note/n2 -> Entity/e1 []",
		}},
		{"kind", eventlog.RelationFilter{Kind: &kind}, []string{"Note/n1 -> Entity/e2 [links]"}},
		{"no match", eventlog.RelationFilter{From: &eventlog.ObjectRef{ContentType: "Entity"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, list(tt.f)); diff != "" {
				t.Errorf("ListRelations(%+v) (-want +got):\n%s", tt.f, diff)
			}
		})
	}
	n, err := s.DeleteRelations(ctx, []eventlog.Relation{
		{From: ref("note/n1"), To: ref("entity/e2"), Kind: "links"},
		{From: ref("Note/n9"), To: ref("Entity/e9")}, // missing: not an error
	})
	if err != nil || n != 1 {
		t.Errorf("DeleteRelations = %d, %v; want 1, nil", n, err)
	}
	if got := list(eventlog.RelationFilter{Kind: &kind}); got != nil {
		t.Errorf("after deleting, relations of kind links = %v, want none", got)
	}
}

func testRelationPages(t *testing.T, b backend) {
	s := openWithRules(t, b.newDSN(t), "", 0)
	var edges []string
	for i := range 23 {
		edges = append(edges, fmt.Sprintf("A/%02d -> B/%d", i%5, i))
	}
	relate(t, s, edges...)
	all, err := s.ListRelations(context.Background(), eventlog.RelationFilter{}, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var paged []eventlog.Relation
	var after *eventlog.Relation
	for {
		page, err := s.ListRelations(context.Background(), eventlog.RelationFilter{}, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		if len(page) < 4 {
			break
		}
		after = &page[len(page)-1]
	}
	if len(all) != 23 {
		t.Fatalf("%d relations listed, want 23", len(all))
	}
	if diff := cmp.Diff(relationStrings(all), relationStrings(paged)); diff != "" {
		t.Errorf("pages of 4 (-one page +pages):\n%s", diff)
	}
}

func testChildrenInSameWrite(t *testing.T, b backend) {
	c := &clock{now: t0}
	dsn := b.newDSN(t)
	engine, _ := propagation.New(propagation.Config{})
	s, err := store.Open(context.Background(), store.Config{DSN: dsn, Now: c.Now, Expander: engine})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	relate(t, s, "Note/n1 -> Entity/e1", "Note/n1 -> Entity/e2")
	first := write(t, s, eventlog.TypeCreate, "Other/x") // id 1, no children
	src := eventlog.Write{Event: ev(eventlog.TypeEdit, "bob", "Note", "n1")}
	src.Event.Request = eventlog.Request{RemoteAddr: "192.0.2.1", UserAgent: "ua"}
	src.Related = []eventlog.ObjectRef{ref("Artifact/a1")}
	out, err := s.Append(context.Background(), []eventlog.Write{src, {Event: ev(eventlog.TypeFetch, "bob", "Note", "n1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Children) != 0 {
		t.Errorf("entry on an unrelated object has children %v", tree(first.Children))
	}
	want := []string{"3 EDIT Artifact/a1 <- 2", "4 EDIT Entity/e1 <- 2", "5 EDIT Entity/e2 <- 2"}
	if diff := cmp.Diff(want, tree(out[0].Children)); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
	if out[1].Event.ID != 6 || len(out[1].Children) != 0 {
		t.Errorf("the fetch after it = id %d with %d children, want id 6 with none", out[1].Event.ID, len(out[1].Children))
	}
	for _, ch := range out[0].Children {
		if !ch.Time.Equal(out[0].Event.Time) || ch.Actor != out[0].Event.Actor || ch.Request != src.Event.Request {
			t.Errorf("child %d: time %v actor %+v request %+v, want the source's", ch.ID, ch.Time, ch.Actor, ch.Request)
		}
		stored, err := s.Get(context.Background(), ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ch, stored); diff != "" {
			t.Errorf("stored child (-returned +stored):\n%s", diff)
		}
	}
	if n, err := s.ChildCount(context.Background(), 2); err != nil || n != 3 {
		t.Errorf("ChildCount(2) = %d, %v; want 3", n, err)
	}
	if n, err := s.ChildCount(context.Background(), 3); err != nil || n != 0 {
		t.Errorf("ChildCount(3) = %d, %v; want 0", n, err)
	}
	src2 := int64(2)
	if got := ids(listAll(t, s, eventlog.Filter{SourceID: &src2})); !cmp.Equal(got, []int64{3, 4, 5}) {
		t.Errorf("List(source 2) = %v, want [3 4 5]", got)
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

func testPropagationAtomic(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := openWithRules(t, dsn, "", 0)
	relate(t, s, "Note/n1 -> Entity/e1", "Note/n1 -> Entity/boom", "Note/n1 -> Entity/e3")
	before := write(t, s, eventlog.TypeCreate, "Other/1")

	db, err := sqlx.Open(b.driver, b.rawDSN(dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b.failInsertsOf(t, db, "boom") // the second child cannot be inserted

	if _, err := s.Append(context.Background(), []eventlog.Write{{Event: ev(eventlog.TypeEdit, "a", "Note", "n1")}}); err == nil {
		t.Fatal("Append whose child fails: no error")
	}
	if got := ids(listAll(t, s, eventlog.Filter{})); !cmp.Equal(got, []int64{before.Event.ID}) {
		t.Errorf("after a failed write the log holds %v, want only %d: no source without its children, no orphans", got, before.Event.ID)
	}
	if _, err := s.DeleteRelations(context.Background(), []eventlog.Relation{{From: ref("Note/n1"), To: ref("Entity/boom")}}); err != nil {
		t.Fatal(err)
	}
	w := write(t, s, eventlog.TypeEdit, "Note/n1")
	if diff := cmp.Diff([]string{"3 EDIT Entity/e1 <- 2", "4 EDIT Entity/e3 <- 2"}, tree(w.Children)); w.Event.ID != 2 || diff != "" {
		t.Errorf("next write = id %d, children (-want +got):\n%s", w.Event.ID, diff)
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

func testCyclesDiamondsDepth(t *testing.T, b backend) {
	s := openWithRules(t, b.newDSN(t), "rules:\n  - depth: 3\n", 0)
	relate(t, s,
		"A/1 -> B/1", "A/1 -> C/1", "B/1 -> D/1", "C/1 -> D/1", // a diamond
		"D/1 -> A/1", "D/1 -> B/1", // cycles back
		"D/1 -> E/1", "E/1 -> F/1", // F is four hops away
	)
	w := write(t, s, eventlog.TypeCreate, "A/1")
	want := []string{"2 EDIT B/1 <- 1", "3 EDIT C/1 <- 1", "4 EDIT D/1 <- 2", "5 EDIT E/1 <- 4"}
	if diff := cmp.Diff(want, tree(w.Children)); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

func testFanoutCap(t *testing.T, b backend) {
	s := openWithRules(t, b.newDSN(t), "", 3)
	relate(t, s, "A/1 -> B/1", "A/1 -> B/2", "A/1 -> B/3", "A/2 -> B/1", "A/2 -> B/2")
	ok := write(t, s, eventlog.TypeEdit, "A/2", "B/3") // 3 children: at the cap
	if len(ok.Children) != 3 {
		t.Fatalf("write at the cap has %d children, want 3", len(ok.Children))
	}
	_, err := s.Append(context.Background(), []eventlog.Write{
		{Event: ev(eventlog.TypeEdit, "a", "Other", "1")},
		{Event: ev(eventlog.TypeEdit, "a", "A", "1"), Related: []eventlog.ObjectRef{ref("C/1")}},
	})
	var fe *eventlog.FanoutError
	if !errors.As(err, &fe) || fe.Limit != 3 {
		t.Fatalf("Append over the cap error = %v, want a FanoutError with limit 3", err)
	}
	if got := len(listAll(t, s, eventlog.Filter{})); got != 4 {
		t.Errorf("after a write over the cap the log holds %d entries, want the 4 from before", got)
	}
	checkChain(t, listAll(t, s, eventlog.Filter{}))
}

func testRelationsForward(t *testing.T, b backend) {
	s := openWithRules(t, b.newDSN(t), "", 0)
	relate(t, s, "Note/n1 -> Entity/e1")
	first := write(t, s, eventlog.TypeEdit, "Note/n1")
	if _, err := s.DeleteRelations(context.Background(), []eventlog.Relation{{From: ref("Note/n1"), To: ref("Entity/e1")}}); err != nil {
		t.Fatal(err)
	}
	second := write(t, s, eventlog.TypeEdit, "Note/n1")
	if len(second.Children) != 0 {
		t.Errorf("write after removing the relation has children %v", tree(second.Children))
	}
	stored, err := s.Get(context.Background(), first.Children[0].ID)
	if err != nil {
		t.Fatalf("the earlier child is gone: %v", err)
	}
	if diff := cmp.Diff(first.Children[0], stored); diff != "" {
		t.Errorf("earlier child changed (-before +after):\n%s", diff)
	}
}

func testIdempotentChildren(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := openWithRules(t, dsn, "rules:\n  - depth: 2\n", 0)
	relate(t, s, "A/1 -> B/1", "B/1 -> C/1")
	w := eventlog.Write{Event: ev(eventlog.TypeEdit, "a", "A", "1")}
	w.Event.IdempotencyKey = "with-children"
	first, err := s.Append(context.Background(), []eventlog.Write{w, {Event: ev(eventlog.TypeCreate, "a", "B", "1")}})
	if err != nil {
		t.Fatal(err)
	}
	relate(t, s, "A/1 -> D/1") // a retry does not see later relations
	again, err := s.Append(context.Background(), []eventlog.Write{w})
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Replayed || !again[0].Replayed {
		t.Errorf("Replayed: first write %v, retry %v; want false, true", first[0].Replayed, again[0].Replayed)
	}
	again[0].Replayed = false
	if diff := cmp.Diff(first[0], again[0]); diff != "" {
		t.Errorf("retry (-first +retry):\n%s", diff)
	}
	if len(first[0].Children) != 2 {
		t.Errorf("first write has children %v, want B/1 and C/1", tree(first[0].Children))
	}
}

// testConcurrentRelations writes through two stores while relations are
// put and removed: every write's children are written with it and match
// relations that existed, each object at most once, and the chain holds.
func testConcurrentRelations(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	stores := []*store.Store{openWithRules(t, dsn, "", 0), openWithRules(t, dsn, "", 0)}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				src := eventlog.Write{Event: ev(eventlog.TypeEdit, "w", "Note", fmt.Sprint(i%3))}
				out, err := stores[w%2].Append(ctx, []eventlog.Write{src})
				if err != nil {
					errs <- err
					return
				}
				seen := map[string]bool{}
				for _, c := range out[0].Children {
					if c.SourceID != out[0].Event.ID || seen[c.ObjectID] || c.ContentType != "Entity" {
						errs <- fmt.Errorf("entry %d: bad child %+v", out[0].Event.ID, c)
						return
					}
					seen[c.ObjectID] = true
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 40 {
			rel := eventlog.Relation{From: ref(fmt.Sprintf("Note/%d", i%3)), To: ref(fmt.Sprintf("Entity/%d", i%7))}
			var err error
			if i%3 == 2 {
				_, err = stores[i%2].DeleteRelations(ctx, []eventlog.Relation{rel})
			} else {
				_, err = stores[i%2].PutRelations(ctx, []eventlog.Relation{rel})
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := listAll(t, stores[0], eventlog.Filter{})
	checkChain(t, all)
	sources := 0
	for _, e := range all {
		if e.SourceID == 0 {
			sources++
		}
	}
	if sources != 120 {
		t.Errorf("%d original entries, want 120", sources)
	}
}
