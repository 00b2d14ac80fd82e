package propagation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/propagation"
	"github.com/google/go-cmp/cmp"
)

// graph is an in-memory relation registry: "Type/id -> Type/id [kind]".
type graph []eventlog.Relation

func obj(s string) eventlog.ObjectRef {
	ct, id, _ := strings.Cut(s, "/")
	return eventlog.ObjectRef{ContentType: ct, ObjectID: id}
}

func rels(edges ...string) graph {
	var g graph
	for _, e := range edges {
		from, rest, _ := strings.Cut(e, " -> ")
		to, kind, _ := strings.Cut(rest, " ")
		g = append(g, eventlog.Relation{From: obj(from), To: obj(to), Kind: strings.Trim(kind, "[]")})
	}
	return g
}

func same(a, b eventlog.ObjectRef) bool {
	return strings.EqualFold(a.ContentType, b.ContentType) && a.ObjectID == b.ObjectID
}

func (g graph) EachRelation(ctx context.Context, o eventlog.ObjectRef, reverse bool, fn func(eventlog.Relation) error) error {
	for _, r := range g {
		end := r.From
		if reverse {
			end = r.To
		}
		if same(end, o) {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// cradleRules is CRADLE's own propagation, as a rules file.
const cradleRules = `
rules:
  # Creating or editing an entity or an artifact writes an edit on its
  # entry class.
  - from: [Entity, Artifact]
    on: [create, edit]
    to: EntryClass
  # Creating or editing a note writes an edit on each entity it links to.
  - from: Note
    on: [create, edit]
    to: [Entity]
`

func mustRules(t *testing.T, src string) []propagation.Rule {
	t.Helper()
	r, err := propagation.ParseRules([]byte(src))
	if err != nil {
		t.Fatalf("ParseRules error = %v", err)
	}
	return r
}

// child is what a test expects of a child: "TYPE Object/id <- source id".
func describe(children []eventlog.Event) []string {
	var out []string
	for _, c := range children {
		out = append(out, fmt.Sprintf("%d %s %s/%s <- %d", c.ID, c.Type, c.ContentType, c.ObjectID, c.SourceID))
	}
	return out
}

func TestExpand(t *testing.T) {
	cradle := rels(
		"Entity/e1 -> EntryClass/actor",
		"Note/n1 -> Entity/e1",
		"Note/n1 -> Entity/e2",
		"Note/n1 -> Artifact/a1",
		"Entity/e2 -> EntryClass/actor",
		"Artifact/a1 -> EntryClass/ip",
		"User/u1 -> Entity/e1",
	)
	tests := []struct {
		name    string
		rules   string // empty: the defaults
		g       graph
		src     string
		typ     eventlog.EventType
		related []string
		fanout  int
		want    []string
		wantErr bool
	}{
		{
			name: "cradle entity create edits its entry class", rules: cradleRules, g: cradle,
			src: "Entity/e1", typ: eventlog.TypeCreate,
			want: []string{"101 EDIT EntryClass/actor <- 100"},
		},
		{
			name: "cradle artifact edit edits its entry class", rules: cradleRules, g: cradle,
			src: "Artifact/a1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT EntryClass/ip <- 100"},
		},
		{
			name: "cradle note edit reaches linked entities only", rules: cradleRules, g: cradle,
			src: "Note/n1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT Entity/e1 <- 100", "102 EDIT Entity/e2 <- 100"},
		},
		{
			name: "cradle note delete propagates nothing", rules: cradleRules, g: cradle,
			src: "Note/n1", typ: eventlog.TypeDelete,
		},
		{
			name: "cradle fetch never propagates", rules: cradleRules, g: cradle,
			src: "Entity/e1", typ: eventlog.TypeFetch,
		},
		{
			name: "cradle user propagates nothing", rules: cradleRules, g: cradle,
			src: "User/u1", typ: eventlog.TypeEdit,
		},
		{
			name: "cradle entry class propagates nothing", rules: cradleRules, g: rels("EntryClass/actor -> Entity/e1"),
			src: "EntryClass/actor", typ: eventlog.TypeEdit,
		},
		{
			name: "defaults: create edit delete go one hop along every relation as edit", g: cradle,
			src: "Note/n1", typ: eventlog.TypeDelete,
			want: []string{"101 EDIT Entity/e1 <- 100", "102 EDIT Entity/e2 <- 100", "103 EDIT Artifact/a1 <- 100"},
		},
		{name: "defaults: fetch", g: cradle, src: "Note/n1", typ: eventlog.TypeFetch},
		{name: "defaults: login", g: cradle, src: "Note/n1", typ: eventlog.TypeLogin},
		{name: "defaults: logout", g: cradle, src: "Note/n1", typ: eventlog.TypeLogout},
		{name: "defaults: login failed", g: cradle, src: "Note/n1", typ: eventlog.TypeLoginFailed},
		{
			name: "content types ignore case", g: rels("note/n1 -> ENTITY/e1"),
			src: "Note/n1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT ENTITY/e1 <- 100"},
		},
		{
			name: "object ids do not ignore case", g: rels("Note/N1 -> Entity/e1"),
			src: "Note/n1", typ: eventlog.TypeEdit,
		},
		{
			name: "two relations to one object give one child", g: rels("A/1 -> B/1 [x]", "A/1 -> B/1 [y]", "A/1 -> b/1"),
			src: "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT B/1 <- 100"},
		},
		{
			name:  "diamond gives one child",
			rules: "rules:\n  - depth: 3\n",
			g:     rels("A/1 -> B/1", "A/1 -> C/1", "B/1 -> D/1", "C/1 -> D/1", "D/1 -> E/1"),
			src:   "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT B/1 <- 100", "102 EDIT C/1 <- 100", "103 EDIT D/1 <- 101", "104 EDIT E/1 <- 103"},
		},
		{
			name:  "cycles are harmless",
			rules: "rules:\n  - depth: 5\n",
			g:     rels("A/1 -> B/1", "B/1 -> C/1", "C/1 -> A/1", "C/1 -> B/1"),
			src:   "A/1", typ: eventlog.TypeCreate,
			want: []string{"101 EDIT B/1 <- 100", "102 EDIT C/1 <- 101"},
		},
		{
			name:  "depth bounds the walk",
			rules: "rules:\n  - depth: 2\n",
			g:     rels("A/1 -> B/1", "B/1 -> C/1", "C/1 -> D/1"),
			src:   "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT B/1 <- 100", "102 EDIT C/1 <- 101"},
		},
		{
			name: "default depth is one hop", g: rels("A/1 -> B/1", "B/1 -> C/1"),
			src: "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT B/1 <- 100"},
		},
		{
			name:  "child type and kind from the rule",
			rules: "rules:\n  - on: delete\n    kind: owns\n    as: delete\n",
			g:     rels("A/1 -> B/1 [owns]", "A/1 -> C/1 [links]"),
			src:   "A/1", typ: eventlog.TypeDelete,
			want: []string{"101 DELETE B/1 <- 100"},
		},
		{
			name:  "reverse direction",
			rules: "rules:\n  - direction: reverse\n",
			g:     rels("A/1 -> B/1", "C/1 -> A/1"),
			src:   "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT C/1 <- 100"},
		},
		{
			name:  "both directions",
			rules: "rules:\n  - direction: both\n",
			g:     rels("A/1 -> B/1", "C/1 -> A/1"),
			src:   "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT B/1 <- 100", "102 EDIT C/1 <- 100"},
		},
		{
			name:  "a stop rule keeps an object type from receiving children",
			rules: "rules:\n  - depth: 2\n  - to: User\n    stop: true\n",
			g:     rels("A/1 -> User/u", "A/1 -> B/1", "B/1 -> user/v"),
			src:   "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT B/1 <- 100"},
		},
		{
			name:  "the first rule to reach an object decides",
			rules: "rules:\n  - to: B\n    as: delete\n  - as: fetch\n",
			g:     rels("A/1 -> B/1", "A/1 -> C/1"),
			src:   "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 DELETE B/1 <- 100", "102 FETCH C/1 <- 100"},
		},
		{
			name: "inline related objects get one hop", g: rels("A/1 -> B/1", "X/1 -> Y/1"),
			src: "A/1", typ: eventlog.TypeEdit, related: []string{"X/1", "B/1", "x/1", "A/1"},
			want: []string{"101 EDIT X/1 <- 100", "102 EDIT B/1 <- 100"},
		},
		{
			name: "inline related objects obey the rules", rules: cradleRules, g: nil,
			src: "Note/n1", typ: eventlog.TypeEdit, related: []string{"Artifact/a1", "Entity/e9"},
			want: []string{"101 EDIT Entity/e9 <- 100"},
		},
		{
			name: "inline related objects on a fetch", g: nil,
			src: "A/1", typ: eventlog.TypeFetch, related: []string{"B/1"},
		},
		{
			name: "fan-out at the cap", g: rels("A/1 -> B/1", "A/1 -> B/2", "A/1 -> B/3"), fanout: 3,
			src: "A/1", typ: eventlog.TypeEdit,
			want: []string{"101 EDIT B/1 <- 100", "102 EDIT B/2 <- 100", "103 EDIT B/3 <- 100"},
		},
		{
			name: "fan-out over the cap", g: rels("A/1 -> B/1", "A/1 -> B/2", "A/1 -> B/3"), fanout: 2,
			src: "A/1", typ: eventlog.TypeEdit, wantErr: true,
		},
		{
			name: "fan-out over the cap with inline objects", g: rels("A/1 -> B/1"), fanout: 2,
			src: "A/1", typ: eventlog.TypeEdit, related: []string{"C/1", "C/2"}, wantErr: true,
		},
		{
			name: "duplicates do not count against the cap", g: rels("A/1 -> B/1", "A/1 -> B/1 [k]", "A/1 -> A/1"), fanout: 1,
			src: "A/1", typ: eventlog.TypeEdit, related: []string{"B/1"},
			want: []string{"101 EDIT B/1 <- 100"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := propagation.Config{MaxFanout: tt.fanout}
			if tt.rules != "" {
				cfg.Rules = mustRules(t, tt.rules)
			}
			e, err := propagation.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			o := obj(tt.src)
			src := &eventlog.Event{ID: 100, Type: tt.typ, ContentType: o.ContentType, ObjectID: o.ObjectID}
			var related []eventlog.ObjectRef
			for _, r := range tt.related {
				related = append(related, obj(r))
			}
			got, err := e.Expand(context.Background(), src, related, tt.g)
			if tt.wantErr {
				var fe *eventlog.FanoutError
				if !errors.As(err, &fe) || fe.Limit != tt.fanout {
					t.Fatalf("Expand error = %v, want a FanoutError with limit %d", err, tt.fanout)
				}
				return
			}
			if err != nil {
				t.Fatalf("Expand error = %v", err)
			}
			if diff := cmp.Diff(tt.want, describe(got)); diff != "" {
				t.Errorf("children (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChildCarriesSourceContext(t *testing.T) {
	e, err := propagation.New(propagation.Config{Rules: mustRules(t, "rules:\n  - depth: 2\n")})
	if err != nil {
		t.Fatal(err)
	}
	src := &eventlog.Event{
		ID: 7, Type: eventlog.TypeEdit, ContentType: "Note", ObjectID: "n1", ObjectRepr: "My note",
		Actor:          eventlog.Actor{ID: "42", Name: "alice", Kind: eventlog.ActorUser},
		OccurredTime:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Request:        eventlog.Request{RemoteAddr: "203.0.113.9", Method: "PATCH", Path: "/notes/n1", Status: 200},
		IdempotencyKey: "not-copied",
		Details:        []byte(`{"secret":"not copied"}`),
	}
	got, err := e.Expand(context.Background(), src, nil, rels("Note/n1 -> Entity/e1 [links]", "Entity/e1 -> EntryClass/c"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d children, want 2", len(got))
	}
	for _, c := range got {
		if c.Actor != src.Actor || c.Request != src.Request || !c.OccurredTime.Equal(src.OccurredTime) {
			t.Errorf("child %d = actor %+v request %+v occurred %v, want the source's", c.ID, c.Actor, c.Request, c.OccurredTime)
		}
		if c.IdempotencyKey != "" || strings.Contains(string(c.Details), "secret") {
			t.Errorf("child %d copies the key or details of its source: %+v", c.ID, c)
		}
	}
	var d map[string]map[string]any
	if err := json.Unmarshal(got[1].Details, &d); err != nil {
		t.Fatalf("child details %s: %v", got[1].Details, err)
	}
	want := map[string]any{
		"entry_id":     float64(7),
		"event_type":   "EDIT",
		"object":       map[string]any{"content_type": "Note", "object_id": "n1"},
		"object_repr":  "My note",
		"via":          map[string]any{"content_type": "Entity", "object_id": "e1"},
		"via_entry_id": float64(8),
		"depth":        float64(2),
	}
	if diff := cmp.Diff(want, d["propagated_from"]); diff != "" {
		t.Errorf("details of the depth-2 child (-want +got):\n%s", diff)
	}
	if canon, _ := eventlog.CanonicalJSON(got[0].Details); string(canon) != string(got[0].Details) {
		t.Errorf("child details %s are not in canonical form %s", got[0].Details, canon)
	}
}
