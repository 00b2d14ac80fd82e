package propagation_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	"github.com/eventlog/eventlog/propagation"
	"github.com/google/go-cmp/cmp"
)

func TestParseRules(t *testing.T) {
	got := mustRules(t, `
rules:
  - from: [Note, Memo]
    on: [create, EDIT, event_type_delete]
    to: Entity
    kind: links
    as: fetch
    depth: 3
    direction: both
  - to: [User]
    stop: true
  - {}
`)
	want := []propagation.Rule{
		{
			From: []string{"Note", "Memo"}, To: []string{"Entity"}, Kind: "links",
			On: []eventlog.EventType{eventlog.TypeCreate, eventlog.TypeEdit, eventlog.TypeDelete},
			As: eventlog.TypeFetch, Depth: 3, Direction: propagation.Both, Line: 3,
		},
		{From: []string{"*"}, To: []string{"User"}, On: eventlog.EventTypes(), As: eventlog.TypeEdit, Depth: 1, Stop: true, Line: 10},
		{
			From: []string{"*"}, To: []string{"*"}, As: eventlog.TypeEdit, Depth: 1, Line: 12,
			On: []eventlog.EventType{eventlog.TypeCreate, eventlog.TypeEdit, eventlog.TypeDelete},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseRules (-want +got):\n%s", diff)
	}
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty file", "", "1: empty file"},
		{"not a mapping", "- a\n", "1: want a mapping"},
		{"unknown top key", "rules: []\nrulez: []\n", `2: unknown key "rulez"`},
		{"no rules key", "other: 1\n", `1: unknown key "other"`},
		{"rules not a list", "rules: 3\n", `1: "rules" must be a list`},
		{"rule not a mapping", "rules:\n  - edit\n", "2: a rule must be a mapping"},
		{"unknown rule key", "rules:\n  - from: A\n    too: B\n", `3: unknown key "too"`},
		{"bad event type", "rules:\n  - on: [create, explode]\n", `2: on: unknown event type "explode"`},
		{"bad child type", "rules:\n  - as: nope\n", `2: as: unknown event type "nope"`},
		{"depth zero", "rules:\n  - depth: 0\n", "2: depth: want 1 to 5, got 0"},
		{"depth too deep", "rules:\n  -\n    depth: 6\n", "3: depth: want 1 to 5, got 6"},
		{"depth not a number", "rules:\n  - depth: far\n", "2: depth: want a whole number"},
		{"bad direction", "rules:\n  - direction: sideways\n", "2: direction: want forward, reverse or both"},
		{"bad stop", "rules:\n  - stop: maybe\n", "2: stop: want true or false"},
		{"stop with as", "rules:\n  - stop: true\n    as: edit\n", "2: a stop rule takes only"},
		{"empty on", "rules:\n  - on: []\n", "2: on: an empty list matches nothing"},
		{"empty to", "rules:\n  - to: []\n", "2: to: an empty list matches nothing"},
		{"kind a list", "rules:\n  - kind: [a]\n", "2: kind: want a single value"},
		{"twice", "rules:\n  - to: A\n    to: B\n", `3: "to" given twice`},
		{"syntax", "rules:\n  - from: [A\n", "1: did not find expected ',' or ']'"},
		{"tab indent", "rules:\n\t- from: A\n", "2: found character that cannot start any token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := propagation.ParseRules([]byte(tt.src))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ParseRules(%q) error = %v, want it to start with %q", tt.src, err, tt.want)
			}
		})
	}
}

func TestLoadRulesNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte("rules:\n  - on: [create]\n  - as: bogus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := propagation.LoadRules(path)
	if want := path + ":3: as: unknown event type"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("LoadRules error = %v, want it to start with %q", err, want)
	}
	if _, err := propagation.LoadRules(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Errorf("LoadRules of a missing file: no error")
	}
}

func TestNoRulesPropagateNothing(t *testing.T) {
	rules := mustRules(t, "rules: []\n")
	e, err := propagation.New(propagation.Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Expand(t.Context(), &eventlog.Event{ID: 1, Type: eventlog.TypeEdit, ContentType: "A", ObjectID: "1"}, nil, rels("A/1 -> B/1"))
	if err != nil || len(got) != 0 {
		t.Errorf("Expand with no rules = %v, %v; want nothing", got, err)
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte(cradleRules))
	f.Add([]byte("rules:\n  - {from: '*', on: [create], to: [A, B], kind: k, as: edit, depth: 5, direction: both}\n"))
	f.Add([]byte("rules:\n  - to: User\n    stop: true\n"))
	f.Add([]byte("rules: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := propagation.ParseRules(data)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Depth < 1 || r.Depth > eventlog.MaxDepth || len(r.On) == 0 || len(r.From) == 0 || len(r.To) == 0 {
				t.Fatalf("ParseRules accepted an invalid rule %+v", r)
			}
			_ = r.Describe()
		}
		if _, err := propagation.New(propagation.Config{Rules: rules}); err != nil {
			t.Fatalf("New rejected parsed rules: %v", err)
		}
	})
}

// The shipped example reproduces CRADLE's propagation: every event type
// on every kind of CRADLE object, over a registry that relates each of them
// the way CRADLE's models do.
func TestCradleRulesFile(t *testing.T) {
	rules, err := propagation.LoadRules("../deploy/rules.cradle.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mustRules(t, cradleRules), rules, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Line"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("deploy/rules.cradle.yaml differs from the CRADLE rules of the tests (-want +got):\n%s", diff)
	}
	e, err := propagation.New(propagation.Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	g := rels(
		"Entity/e1 -> EntryClass/actor", // an entity and its entry class
		"Artifact/a1 -> EntryClass/ip",  // an artifact and its entry class
		"Note/n1 -> Entity/e1",          // a note and what it links to
		"Note/n1 -> Artifact/a1",
		"EntryClass/actor -> Entity/e1", // relations from the objects that propagate nothing
		"User/u1 -> Entity/e1",
		"Report/r1 -> Note/n1",
		"Report/r1 -> Entity/e1",
	)
	// What CRADLE writes: creating or editing an entity or an artifact (an
	// entry of an artifact class) edits its entry class; creating or
	// editing a note edits each entity it links to, and neither the
	// artifacts it links to nor the entry classes behind them. Nothing
	// else propagates.
	want := map[string][]string{
		"CREATE Entity/e1":   {"EDIT EntryClass/actor"},
		"EDIT Entity/e1":     {"EDIT EntryClass/actor"},
		"CREATE Artifact/a1": {"EDIT EntryClass/ip"},
		"EDIT Artifact/a1":   {"EDIT EntryClass/ip"},
		"CREATE Note/n1":     {"EDIT Entity/e1"},
		"EDIT Note/n1":       {"EDIT Entity/e1"},
	}
	for _, src := range []string{"Entity/e1", "Artifact/a1", "Note/n1", "EntryClass/actor", "User/u1", "Report/r1"} {
		for _, typ := range eventlog.EventTypes() {
			name := typ.String() + " " + src
			t.Run(name, func(t *testing.T) {
				o := obj(src)
				got, err := e.Expand(t.Context(), &eventlog.Event{ID: 100, Type: typ, ContentType: o.ContentType, ObjectID: o.ObjectID}, nil, g)
				if err != nil {
					t.Fatalf("Expand error = %v", err)
				}
				var children []string
				for _, c := range got {
					if c.SourceID != 100 {
						t.Errorf("child %s/%s has source %d, want the original entry 100: CRADLE propagates one hop", c.ContentType, c.ObjectID, c.SourceID)
					}
					children = append(children, c.Type.String()+" "+c.ContentType+"/"+c.ObjectID)
				}
				if diff := cmp.Diff(want[name], children); diff != "" {
					t.Errorf("children (-want +got):\n%s", diff)
				}
			})
		}
	}
}
