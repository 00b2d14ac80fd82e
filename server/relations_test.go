package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/google/go-cmp/cmp"
)

func objRef(ct, id string) *eventlogv1.ObjectRef {
	return &eventlogv1.ObjectRef{ContentType: ct, ObjectId: id}
}

func TestRelationsFromProto(t *testing.T) {
	good := &eventlogv1.Relation{From: objRef("Note", "n1"), To: objRef("Entity", "e1"), Kind: "links"}
	many := make([]*eventlogv1.Relation, eventlog.MaxRelationsPerCall+1)
	for i := range many {
		many[i] = good
	}
	tests := []struct {
		name      string
		rels      []*eventlogv1.Relation
		wantField string
	}{
		{"ok", []*eventlogv1.Relation{good}, ""},
		{"none", nil, "relations"},
		{"too many", many, "relations"},
		{"nil relation", []*eventlogv1.Relation{good, nil}, "relations[1]"},
		{"no from", []*eventlogv1.Relation{{To: objRef("A", "1")}}, "relations[0].from"},
		{"no to type", []*eventlogv1.Relation{{From: objRef("A", "1"), To: objRef("", "1")}}, "relations[0].to.content_type"},
		{"no to id", []*eventlogv1.Relation{{From: objRef("A", "1"), To: objRef("B", " ")}}, "relations[0].to.object_id"},
		{"long id", []*eventlogv1.Relation{{From: objRef("A", strings.Repeat("x", eventlog.MaxObjectID+1)), To: objRef("B", "1")}}, "relations[0].from.object_id"},
		{"control in kind", []*eventlogv1.Relation{{From: objRef("A", "1"), To: objRef("B", "1"), Kind: "a\nb"}}, "relations[0].kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := relationsFromProto(tt.rels)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("relationsFromProto error = %v", err)
				}
				want := []eventlog.Relation{{From: eventlog.ObjectRef{ContentType: "Note", ObjectID: "n1"}, To: eventlog.ObjectRef{ContentType: "Entity", ObjectID: "e1"}, Kind: "links"}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("relationsFromProto (-want +got):\n%s", diff)
				}
				return
			}
			var ie *eventlog.InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.wantField {
				t.Errorf("relationsFromProto error = %v, want field %q", err, tt.wantField)
			}
		})
	}
}

func TestRelatedFromProto(t *testing.T) {
	many := make([]*eventlogv1.ObjectRef, eventlog.MaxInlineRelated+1)
	for i := range many {
		many[i] = objRef("A", "1")
	}
	var ie *eventlog.InvalidError
	if _, err := relatedFromProto("requests[2].related", many); !errors.As(err, &ie) || ie.Field != "requests[2].related" {
		t.Errorf("relatedFromProto(too many) error = %v, want field requests[2].related", err)
	}
	if _, err := relatedFromProto("related", []*eventlogv1.ObjectRef{objRef("A", "1"), objRef("B", "")}); !errors.As(err, &ie) || ie.Field != "related[1].object_id" {
		t.Errorf("relatedFromProto(missing id) error = %v, want field related[1].object_id", err)
	}
	if got, err := relatedFromProto("related", nil); got != nil || err != nil {
		t.Errorf("relatedFromProto(nil) = %v, %v; want nil, nil", got, err)
	}
}

func TestRelationPageToken(t *testing.T) {
	kind := "links"
	f := eventlog.RelationFilter{From: &eventlog.ObjectRef{ContentType: "Note"}, Kind: &kind}
	last := eventlog.Relation{From: eventlog.ObjectRef{ContentType: "Note", ObjectID: "n/1"}, To: eventlog.ObjectRef{ContentType: "Entity", ObjectID: "é"}, Kind: "links"}
	tok := encodeRelationToken(last, f)
	got, err := decodeRelationToken(tok, f)
	if err != nil {
		t.Fatalf("decodeRelationToken(encoded) error = %v", err)
	}
	if diff := cmp.Diff(&last, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// The same filter spelled in another case is the same filter.
	if _, err := decodeRelationToken(tok, eventlog.RelationFilter{From: &eventlog.ObjectRef{ContentType: "NOTE"}, Kind: &kind}); err != nil {
		t.Errorf("token with the filter in another case: %v", err)
	}
	other := "other"
	for _, bad := range []struct {
		name string
		tok  string
		f    eventlog.RelationFilter
	}{
		{"other filter", tok, eventlog.RelationFilter{Kind: &other}},
		{"no filter", tok, eventlog.RelationFilter{}},
		{"garbage", "!!!", f},
		{"truncated", tok[:len(tok)-3], f},
		{"event token", encodePageToken(5, eventlog.Filter{}, false), f},
	} {
		var ie *eventlog.InvalidError
		if _, err := decodeRelationToken(bad.tok, bad.f); !errors.As(err, &ie) || ie.Field != "page_token" {
			t.Errorf("%s: decodeRelationToken error = %v, want an invalid page_token", bad.name, err)
		}
	}
}

func FuzzDecodeRelationToken(f *testing.F) {
	f.Add(encodeRelationToken(eventlog.Relation{Kind: "k"}, eventlog.RelationFilter{}))
	f.Add("")
	f.Add("AgAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		r, err := decodeRelationToken(tok, eventlog.RelationFilter{})
		if err != nil {
			return
		}
		if again := encodeRelationToken(*r, eventlog.RelationFilter{}); again != tok {
			t.Fatalf("token %q decodes to %+v, which encodes to %q", tok, r, again)
		}
	})
}
