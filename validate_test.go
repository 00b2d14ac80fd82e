package eventlog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validEvent() Event {
	return Event{
		Type:         TypeEdit,
		Actor:        Actor{ID: "u-1", Name: "alice", Kind: ActorUser},
		ContentType:  "Entry",
		ObjectID:     "42",
		ObjectRepr:   "Entry «42»\nsecond line",
		Details:      []byte(`{"a":1}`),
		Request:      Request{Method: "POST", Status: 201},
		OccurredTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestEventValidate(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Event)
		wantField string // "" when valid
		wantIn    string
	}{
		{name: "valid", edit: func(*Event) {}},
		{name: "output-only fields are not looked at", edit: func(e *Event) { e.ID, e.SourceID, e.Hash = -1, -1, []byte{0} }},
		{name: "type unspecified", edit: func(e *Event) { e.Type = TypeUnspecified }, wantField: "event.event_type", wantIn: "required: one of CREATE"},
		{name: "type unknown", edit: func(e *Event) { e.Type = 99 }, wantField: "event.event_type", wantIn: "unknown value 99"},
		{name: "actor empty", edit: func(e *Event) { e.Actor = Actor{} }, wantField: "event.actor", wantIn: "at least one of id and name"},
		{name: "actor name control", edit: func(e *Event) { e.Actor.Name = "a\nb" }, wantField: "event.actor.name", wantIn: "control character U+000A"},
		{name: "actor kind unknown", edit: func(e *Event) { e.Actor.Kind = 9 }, wantField: "event.actor.kind", wantIn: "unknown value 9"},
		{name: "content type blank", edit: func(e *Event) { e.ContentType = " " }, wantField: "event.content_type", wantIn: "required"},
		{name: "object id too long", edit: func(e *Event) { e.ObjectID = strings.Repeat("x", MaxObjectID+1) }, wantField: "event.object_id", wantIn: "at most 512 bytes"},
		{name: "object repr NUL", edit: func(e *Event) { e.ObjectRepr = "a\x00" }, wantField: "event.object_repr", wantIn: "NUL character at byte 1"},
		{name: "request path invalid UTF-8", edit: func(e *Event) { e.Request.Path = "/\xff" }, wantField: "event.request.path", wantIn: "UTF-8"},
		{name: "request status", edit: func(e *Event) { e.Request.Status = 99 }, wantField: "event.request.status", wantIn: "got 99"},
		{name: "occurred at the epoch", edit: func(e *Event) { e.OccurredTime = time.Unix(0, 0) }, wantField: "event.occurred_time", wantIn: "after 1970"},
		{name: "idempotency key non-printable", edit: func(e *Event) { e.IdempotencyKey = "k\u200b" }, wantField: "idempotency_key", wantIn: "U+200B"},
		{name: "details too big", edit: func(e *Event) { e.Details = make([]byte, MaxDetailsBytes+1) }, wantField: "event.details", wantIn: "got 65537"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.edit(&e)
			err := e.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field != tt.wantField || !strings.Contains(inv.Problem, tt.wantIn) {
				t.Errorf("Validate() = %v, want an InvalidError on %s containing %q", err, tt.wantField, tt.wantIn)
			}
		})
	}
}

func TestRelationValidate(t *testing.T) {
	ok := Relation{From: ObjectRef{ContentType: "A", ObjectID: "1"}, To: ObjectRef{ContentType: "B", ObjectID: "2"}, Kind: "in"}
	tests := []struct {
		name      string
		edit      func(*Relation)
		wantField string
	}{
		{"valid", func(*Relation) {}, ""},
		{"from content type missing", func(r *Relation) { r.From.ContentType = "" }, "from.content_type"},
		{"to object id control", func(r *Relation) { r.To.ObjectID = "2\n" }, "to.object_id"},
		{"kind NUL", func(r *Relation) { r.Kind = "\x00" }, "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			err := r.Validate()
			var inv *InvalidError
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantField != "" && (!errors.As(err, &inv) || inv.Field != tt.wantField):
				t.Errorf("Validate() = %v, want an InvalidError on %s", err, tt.wantField)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	for _, tt := range []struct{ prefix, field, want string }{
		{"requests[3]", "event.actor", "requests[3].event.actor"},
		{"related", "[2].object_id", "related[2].object_id"},
		{"", "event", "event"},
	} {
		err := Within(tt.prefix, Invalid(tt.field, "bad"))
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Field != tt.want || inv.Problem != "bad" {
			t.Errorf("Within(%q, error on %q) = %v, want an error on %q", tt.prefix, tt.field, err, tt.want)
		}
	}
	plain := errors.New("x")
	if got := Within("p", plain); got != plain {
		t.Errorf("Within(p, plain error) = %v, want it unchanged", got)
	}
}

func TestFilterValidate(t *testing.T) {
	neg := int64(-1)
	start := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		f         Filter
		wantField string
	}{
		{"zero", Filter{}, ""},
		{"every field", Filter{Type: TypeEdit, Actor: "alice", ContentType: "Entry", ObjectID: "7", SourceID: new(int64), Start: start, End: start}, ""},
		{"actor control", Filter{Actor: "a\tb"}, "actor"},
		{"content type too long", Filter{ContentType: strings.Repeat("x", MaxShortString+1)}, "content_type"},
		{"object id NUL", Filter{ObjectID: "\x00"}, "object_id"},
		{"source id negative", Filter{SourceID: &neg}, "source_id"},
		{"end before start", Filter{Start: start, End: start.Add(-time.Nanosecond)}, "end_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			var inv *InvalidError
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantField != "" && (!errors.As(err, &inv) || inv.Field != tt.wantField):
				t.Errorf("Validate() = %v, want an InvalidError on %s", err, tt.wantField)
			}
		})
	}
}
