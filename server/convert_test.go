package server

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	"github.com/eventlog/eventlog/protomap"
)

// fullEvent returns an event with every field a client may set, and the
// output-only ones that it should not.
func fullEvent() *eventlogv1.Event {
	return &eventlogv1.Event{
		Id:           99,
		Time:         timestamppb.New(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)),
		OccurredTime: timestamppb.New(time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)),
		EventType:    eventlogv1.EventType_EVENT_TYPE_EDIT,
		Actor: &eventlogv1.Actor{
			Id:   "u-17",
			Name: "alice",
			Kind: eventlogv1.ActorKind_ACTOR_KIND_USER,
		},
		ContentType: "Entry",
		ObjectId:    "entry-42",
		ObjectRepr:  "Entry «evil.example»\n\tsecond line",
		Details: mustStruct(map[string]any{
			"changed": []any{"name", "description"},
			"old":     map[string]any{"name": "evil", "score": 3.5},
			"ok":      true,
			"none":    nil,
		}),
		SourceId: 7,
		Request: &eventlogv1.RequestContext{
			RemoteAddr: "203.0.113.7",
			Method:     "POST",
			Path:       "/entries/42?x=1",
			Protocol:   "HTTP/1.1",
			Status:     201,
			UserAgent:  "curl/8.0",
			RequestId:  "req-abc",
		},
		IdempotencyKey: "ignored",
		Hash:           []byte{1, 2, 3},
		PrevHash:       []byte{4, 5, 6},
	}
}

// clientEvent returns fullEvent without its output-only fields.
func clientEvent() *eventlogv1.Event {
	pe := fullEvent()
	pe.Id = 0
	pe.Time = nil
	pe.SourceId = 0
	pe.IdempotencyKey = ""
	pe.Hash = nil
	pe.PrevHash = nil
	return pe
}

func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}

func mustStructJSON(t *testing.T, js string) *structpb.Struct {
	t.Helper()
	s := new(structpb.Struct)
	if err := protojson.Unmarshal([]byte(js), s); err != nil {
		t.Fatalf("protojson.Unmarshal(%s): %v", js, err)
	}
	return s
}

// bigDetails returns a Struct whose canonical JSON is exactly n bytes long.
func bigDetails(n int) *structpb.Struct {
	const overhead = len(`{"k":""}`)
	return mustStruct(map[string]any{"k": strings.Repeat("x", n-overhead)})
}

func TestEventFromProtoRoundTrip(t *testing.T) {
	var e eventlog.Event
	err := eventFromProto(&e, "event", fullEvent(), "key-1")
	if err != nil {
		t.Fatalf("eventFromProto(full event) error = %v, want nil", err)
	}
	want := eventlog.Event{
		OccurredTime: time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC),
		Type:         eventlog.TypeEdit,
		Actor:        eventlog.Actor{ID: "u-17", Name: "alice", Kind: eventlog.ActorUser},
		ContentType:  "Entry",
		ObjectID:     "entry-42",
		ObjectRepr:   "Entry «evil.example»\n\tsecond line",
		Details:      []byte(`{"changed":["name","description"],"none":null,"ok":true,"old":{"name":"evil","score":3.5}}`),
		Request: eventlog.Request{
			RemoteAddr: "203.0.113.7",
			Method:     "POST",
			Path:       "/entries/42?x=1",
			Protocol:   "HTTP/1.1",
			Status:     201,
			UserAgent:  "curl/8.0",
			RequestID:  "req-abc",
		},
		IdempotencyKey: "key-1",
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("eventFromProto(full event) mismatch (-want +got):\n%s", diff)
	}

	wantProto := clientEvent()
	wantProto.IdempotencyKey = "key-1"
	if diff := cmp.Diff(wantProto, protomap.EventToProto(&e), protocmp.Transform()); diff != "" {
		t.Errorf("protomap.EventToProto(eventFromProto(full event)) mismatch (-want +got):\n%s", diff)
	}
}

func TestEventFromProtoInvalid(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name      string
		field     string // prefix passed in; "event" when empty
		event     func(*eventlogv1.Event)
		nilEvent  bool
		key       string
		wantField string
		wantIn    string // a part of the problem
	}{
		{name: "nil event", nilEvent: true, wantField: "event", wantIn: "required"},
		{name: "nil event in batch", field: "requests[3].event", nilEvent: true, wantField: "requests[3].event", wantIn: "required"},

		{name: "type unspecified", event: func(e *eventlogv1.Event) { e.EventType = 0 }, wantField: "event.event_type", wantIn: "required: one of CREATE, DELETE, EDIT, FETCH, LOGIN, LOGOUT, LOGIN_FAILED"},
		{name: "type unknown number", event: func(e *eventlogv1.Event) { e.EventType = 99 }, wantField: "event.event_type", wantIn: "unknown value 99"},
		{name: "type negative", event: func(e *eventlogv1.Event) { e.EventType = -1 }, wantField: "event.event_type", wantIn: "unknown value -1"},

		{name: "actor missing", event: func(e *eventlogv1.Event) { e.Actor = nil }, wantField: "event.actor", wantIn: "required"},
		{name: "actor without id or name", event: func(e *eventlogv1.Event) { e.Actor = &eventlogv1.Actor{Kind: eventlogv1.ActorKind_ACTOR_KIND_USER} }, wantField: "event.actor", wantIn: "at least one of id and name"},
		{name: "actor id and name blank", event: func(e *eventlogv1.Event) { e.Actor = &eventlogv1.Actor{Id: " ", Name: "\t"} }, wantField: "event.actor", wantIn: "at least one of id and name"},
		{name: "actor kind unknown", event: func(e *eventlogv1.Event) { e.Actor.Kind = 4 }, wantField: "event.actor.kind", wantIn: "unknown value 4"},
		{name: "actor id too long", event: func(e *eventlogv1.Event) { e.Actor.Id = long(257) }, wantField: "event.actor.id", wantIn: "at most 256 bytes, got 257"},
		{name: "actor id control character", event: func(e *eventlogv1.Event) { e.Actor.Id = "u\x1b[31m" }, wantField: "event.actor.id", wantIn: "control character U+001B"},
		{name: "actor name too long in bytes", event: func(e *eventlogv1.Event) { e.Actor.Name = strings.Repeat("é", 129) }, wantField: "event.actor.name", wantIn: "at most 256 bytes, got 258"},
		{name: "actor name invalid UTF-8", event: func(e *eventlogv1.Event) { e.Actor.Name = "al\xffce" }, wantField: "event.actor.name", wantIn: "UTF-8"},
		{name: "actor name NUL", event: func(e *eventlogv1.Event) { e.Actor.Name = "al\x00ice" }, wantField: "event.actor.name", wantIn: "NUL"},
		{name: "actor name tab", event: func(e *eventlogv1.Event) { e.Actor.Name = "al\tice" }, wantField: "event.actor.name", wantIn: "control character U+0009"},
		{name: "actor name newline", event: func(e *eventlogv1.Event) { e.Actor.Name = "alice\nroot" }, wantField: "event.actor.name", wantIn: "control character U+000A"},
		{name: "actor name C1 control", event: func(e *eventlogv1.Event) { e.Actor.Name = "alice\u0085" }, wantField: "event.actor.name", wantIn: "control character U+0085"},
		{name: "actor name in batch", field: "requests[3].event", event: func(e *eventlogv1.Event) { e.Actor.Name = long(300) }, wantField: "requests[3].event.actor.name", wantIn: "at most 256 bytes, got 300"},

		{name: "content type missing", event: func(e *eventlogv1.Event) { e.ContentType = "" }, wantField: "event.content_type", wantIn: "required"},
		{name: "content type blank", event: func(e *eventlogv1.Event) { e.ContentType = "  " }, wantField: "event.content_type", wantIn: "required"},
		{name: "content type too long", event: func(e *eventlogv1.Event) { e.ContentType = long(257) }, wantField: "event.content_type", wantIn: "at most 256 bytes, got 257"},
		{name: "content type control character", event: func(e *eventlogv1.Event) { e.ContentType = "Entry\r" }, wantField: "event.content_type", wantIn: "control character"},
		{name: "content type invalid UTF-8", event: func(e *eventlogv1.Event) { e.ContentType = "\xc3" }, wantField: "event.content_type", wantIn: "UTF-8"},

		{name: "object id missing", event: func(e *eventlogv1.Event) { e.ObjectId = "" }, wantField: "event.object_id", wantIn: "required"},
		{name: "object id too long", event: func(e *eventlogv1.Event) { e.ObjectId = long(513) }, wantField: "event.object_id", wantIn: "at most 512 bytes, got 513"},
		{name: "object id NUL", event: func(e *eventlogv1.Event) { e.ObjectId = "4\x002" }, wantField: "event.object_id", wantIn: "NUL"},
		{name: "object id newline", event: func(e *eventlogv1.Event) { e.ObjectId = "42\n" }, wantField: "event.object_id", wantIn: "control character"},

		{name: "object repr too long", event: func(e *eventlogv1.Event) { e.ObjectRepr = long(2049) }, wantField: "event.object_repr", wantIn: "at most 2048 bytes, got 2049"},
		{name: "object repr invalid UTF-8", event: func(e *eventlogv1.Event) { e.ObjectRepr = "\xfe" }, wantField: "event.object_repr", wantIn: "UTF-8"},
		{name: "object repr NUL", event: func(e *eventlogv1.Event) { e.ObjectRepr = "a\x00" }, wantField: "event.object_repr", wantIn: "NUL character at byte 1"},

		{name: "remote addr too long", event: func(e *eventlogv1.Event) { e.Request.RemoteAddr = long(2049) }, wantField: "event.request.remote_addr", wantIn: "at most 2048 bytes"},
		{name: "method too long", event: func(e *eventlogv1.Event) { e.Request.Method = long(257) }, wantField: "event.request.method", wantIn: "at most 256 bytes"},
		{name: "path too long", event: func(e *eventlogv1.Event) { e.Request.Path = long(2049) }, wantField: "event.request.path", wantIn: "at most 2048 bytes"},
		{name: "path NUL", event: func(e *eventlogv1.Event) { e.Request.Path = "/a\x00" }, wantField: "event.request.path", wantIn: "NUL"},
		{name: "protocol too long", event: func(e *eventlogv1.Event) { e.Request.Protocol = long(257) }, wantField: "event.request.protocol", wantIn: "at most 256 bytes"},
		{name: "user agent too long", event: func(e *eventlogv1.Event) { e.Request.UserAgent = long(2049) }, wantField: "event.request.user_agent", wantIn: "at most 2048 bytes"},
		{name: "user agent invalid UTF-8", event: func(e *eventlogv1.Event) { e.Request.UserAgent = "\x80" }, wantField: "event.request.user_agent", wantIn: "UTF-8"},
		{name: "request id too long", event: func(e *eventlogv1.Event) { e.Request.RequestId = long(257) }, wantField: "event.request.request_id", wantIn: "at most 256 bytes"},
		{name: "status 99", event: func(e *eventlogv1.Event) { e.Request.Status = 99 }, wantField: "event.request.status", wantIn: "got 99"},
		{name: "status 600", event: func(e *eventlogv1.Event) { e.Request.Status = 600 }, wantField: "event.request.status", wantIn: "from 100 to 599"},
		{name: "status negative", event: func(e *eventlogv1.Event) { e.Request.Status = -200 }, wantField: "event.request.status", wantIn: "got -200"},

		{name: "occurred time bad nanos", event: func(e *eventlogv1.Event) { e.OccurredTime = &timestamppb.Timestamp{Seconds: 1, Nanos: 1e9} }, wantField: "event.occurred_time", wantIn: "not a valid timestamp"},
		{name: "occurred time year 0", event: func(e *eventlogv1.Event) { e.OccurredTime = &timestamppb.Timestamp{Seconds: -62135596801} }, wantField: "event.occurred_time", wantIn: "not a valid timestamp"},
		{name: "occurred time year 10000", event: func(e *eventlogv1.Event) { e.OccurredTime = &timestamppb.Timestamp{Seconds: 253402300800} }, wantField: "event.occurred_time", wantIn: "not a valid timestamp"},
		{name: "occurred time before 1970", event: func(e *eventlogv1.Event) {
			e.OccurredTime = timestamppb.New(time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC))
		}, wantField: "event.occurred_time", wantIn: "after 1970-01-01T00:00:00Z"},
		{name: "occurred time at the epoch", event: func(e *eventlogv1.Event) { e.OccurredTime = &timestamppb.Timestamp{} }, wantField: "event.occurred_time", wantIn: "after 1970"},
		{name: "occurred time within the epoch's microsecond", event: func(e *eventlogv1.Event) { e.OccurredTime = &timestamppb.Timestamp{Nanos: 999} }, wantField: "event.occurred_time", wantIn: "after 1970"},

		{name: "idempotency key too long", key: long(129), wantField: "idempotency_key", wantIn: "at most 128 bytes, got 129"},
		{name: "idempotency key in batch", field: "requests[3].event", key: long(129), wantField: "requests[3].idempotency_key", wantIn: "at most 128 bytes"},
		{name: "idempotency key control character", key: "k\n1", wantField: "idempotency_key", wantIn: "non-printable character U+000A"},
		{name: "idempotency key tab", key: "k\t1", wantField: "idempotency_key", wantIn: "non-printable"},
		{name: "idempotency key zero width space", key: "k\u200b1", wantField: "idempotency_key", wantIn: "non-printable character U+200B"},
		{name: "idempotency key invalid UTF-8", key: "k\xff", wantField: "idempotency_key", wantIn: "UTF-8"},
		{name: "idempotency key NUL", key: "k\x00", wantField: "idempotency_key", wantIn: "non-printable"},

		{name: "details NaN", event: func(e *eventlogv1.Event) {
			e.Details = &structpb.Struct{Fields: map[string]*structpb.Value{"x": structpb.NewNumberValue(math.NaN())}}
		}, wantField: "event.details", wantIn: "cannot be written as JSON"},
		{name: "details infinity", event: func(e *eventlogv1.Event) {
			e.Details = &structpb.Struct{Fields: map[string]*structpb.Value{"x": structpb.NewNumberValue(math.Inf(1))}}
		}, wantField: "event.details", wantIn: "cannot be written as JSON"},
		{name: "details value without kind", event: func(e *eventlogv1.Event) {
			e.Details = &structpb.Struct{Fields: map[string]*structpb.Value{"x": {}}}
		}, wantField: "event.details", wantIn: "cannot be written as JSON"},
		{name: "details invalid UTF-8", event: func(e *eventlogv1.Event) {
			e.Details = &structpb.Struct{Fields: map[string]*structpb.Value{"x": structpb.NewStringValue("\xff")}}
		}, wantField: "event.details", wantIn: "cannot be written as JSON"},
		{name: "details NUL in key", event: func(e *eventlogv1.Event) { e.Details = mustStruct(map[string]any{"a\x00": 1}) }, wantField: "event.details", wantIn: "NUL"},
		{name: "details NUL in nested string", event: func(e *eventlogv1.Event) {
			e.Details = mustStruct(map[string]any{"a": []any{map[string]any{"b": "c\x00"}}})
		}, wantField: "event.details", wantIn: "NUL"},
		{name: "details one byte over the limit", event: func(e *eventlogv1.Event) { e.Details = bigDetails(eventlog.MaxDetailsBytes + 1) }, wantField: "event.details", wantIn: "at most 65536 bytes once serialized as JSON, got 65537"},
		{name: "details too big in batch", field: "requests[0].event", event: func(e *eventlogv1.Event) { e.Details = bigDetails(1 << 20) }, wantField: "requests[0].event.details", wantIn: "at most 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field := tt.field
			if field == "" {
				field = "event"
			}
			var pe *eventlogv1.Event
			if !tt.nilEvent {
				pe = clientEvent()
				if tt.event != nil {
					tt.event(pe)
				}
			}
			err := eventFromProto(new(eventlog.Event), field, pe, tt.key)
			var inv *eventlog.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("eventFromProto(%q, ...) error = %v, want *eventlog.InvalidError on field %q", field, err, tt.wantField)
			}
			if inv.Field != tt.wantField {
				t.Errorf("eventFromProto(%q, ...) error = %v, want field %q", field, err, tt.wantField)
			}
			if !strings.Contains(inv.Problem, tt.wantIn) {
				t.Errorf("eventFromProto(%q, ...) error = %v, want a problem containing %q", field, err, tt.wantIn)
			}
		})
	}
}

func TestEventFromProtoValid(t *testing.T) {
	tests := []struct {
		name  string
		event func(*eventlogv1.Event)
		key   string
		check func(eventlog.Event) string // returns a complaint, or ""
	}{
		{name: "only id", event: func(e *eventlogv1.Event) { e.Actor = &eventlogv1.Actor{Id: "u"} }},
		{name: "only name", event: func(e *eventlogv1.Event) { e.Actor = &eventlogv1.Actor{Name: "n"} }},
		{name: "every actor kind", event: func(e *eventlogv1.Event) { e.Actor.Kind = eventlogv1.ActorKind_ACTOR_KIND_SYSTEM }},
		{name: "actor id at the limit", event: func(e *eventlogv1.Event) { e.Actor.Id = strings.Repeat("a", 256) }},
		{name: "content type at the limit", event: func(e *eventlogv1.Event) { e.ContentType = strings.Repeat("a", 256) }},
		{name: "object id at the limit", event: func(e *eventlogv1.Event) { e.ObjectId = strings.Repeat("a", 512) }},
		{name: "object repr at the limit", event: func(e *eventlogv1.Event) { e.ObjectRepr = strings.Repeat("a", 2048) }},
		{name: "user agent at the limit with control characters", event: func(e *eventlogv1.Event) {
			e.Request.UserAgent = "\x1b[31m" + strings.Repeat("a", 2043)
		}},
		{name: "no request", event: func(e *eventlogv1.Event) { e.Request = nil }},
		{name: "status 0", event: func(e *eventlogv1.Event) { e.Request.Status = 0 }},
		{name: "status 100", event: func(e *eventlogv1.Event) { e.Request.Status = 100 }},
		{name: "status 599", event: func(e *eventlogv1.Event) { e.Request.Status = 599 }},
		{name: "idempotency key at the limit", key: strings.Repeat("k", 128)},
		{name: "idempotency key with spaces and symbols", key: "order 17/é-✓"},
		{
			name: "occurred time truncated to microseconds",
			event: func(e *eventlogv1.Event) {
				e.OccurredTime = &timestamppb.Timestamp{Seconds: 1700000000, Nanos: 123456789}
			},
			check: func(e eventlog.Event) string {
				if want := time.Unix(1700000000, 123456000).UTC(); !e.OccurredTime.Equal(want) || e.OccurredTime.Location() != time.UTC {
					return "OccurredTime = " + e.OccurredTime.String() + ", want " + want.String()
				}
				return ""
			},
		},
		{
			name: "occurred time late in year 9999",
			event: func(e *eventlogv1.Event) {
				e.OccurredTime = &timestamppb.Timestamp{Seconds: 253402300799, Nanos: 999999999}
			},
		},
		{
			name:  "no occurred time",
			event: func(e *eventlogv1.Event) { e.OccurredTime = nil },
			check: func(e eventlog.Event) string {
				if !e.OccurredTime.IsZero() {
					return "OccurredTime = " + e.OccurredTime.String() + ", want zero"
				}
				return ""
			},
		},
		{
			name:  "no details",
			event: func(e *eventlogv1.Event) { e.Details = nil },
			check: func(e eventlog.Event) string {
				if e.Details != nil {
					return "Details = " + string(e.Details) + ", want nil"
				}
				return ""
			},
		},
		{
			name:  "empty details",
			event: func(e *eventlogv1.Event) { e.Details = &structpb.Struct{} },
			check: func(e eventlog.Event) string {
				if e.Details != nil {
					return "Details = " + string(e.Details) + ", want nil"
				}
				return ""
			},
		},
		{
			name:  "details exactly at the limit",
			event: func(e *eventlogv1.Event) { e.Details = bigDetails(eventlog.MaxDetailsBytes) },
			check: func(e eventlog.Event) string {
				if len(e.Details) != eventlog.MaxDetailsBytes {
					return "len(Details) is not MaxDetailsBytes"
				}
				return ""
			},
		},
		{
			name:  "output-only fields ignored",
			event: func(e *eventlogv1.Event) { proto.Merge(e, fullEvent()) },
			check: func(e eventlog.Event) string {
				if e.ID != 0 || !e.Time.IsZero() || e.SourceID != 0 || e.IdempotencyKey != "" || e.Hash != nil || e.PrevHash != nil {
					return "output-only fields were copied"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := clientEvent()
			if tt.event != nil {
				tt.event(pe)
			}
			var e eventlog.Event
			err := eventFromProto(&e, "event", pe, tt.key)
			if err != nil {
				t.Fatalf("eventFromProto() error = %v, want nil", err)
			}
			if tt.check != nil {
				if msg := tt.check(e); msg != "" {
					t.Errorf("eventFromProto(): %s", msg)
				}
			}
		})
	}
}

func TestDetailsCanonical(t *testing.T) {
	const want = `{"a":{"x":[1,"s",{"q":false,"p":null}],"y":2.5},"b":"<&>","c":1e+21}`
	const wantCanon = `{"a":{"x":[1,"s",{"p":null,"q":false}],"y":2.5},"b":"<&>","c":1e+21}`
	tests := []struct {
		name string
		json string
	}{
		{name: "sorted", json: want},
		{name: "reversed", json: `{"c":1e21,"b":"<&>","a":{"y":2.5,"x":[1,"s",{"p":null,"q":false}]}}`},
		{name: "spaced", json: "{ \"b\" : \"\\u003c&>\",\n\"a\":{\"y\":25e-1, \"x\":[1.0,\"s\",{\"q\":false,\"p\":null}]}, \"c\": 1000000000000000000000}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := clientEvent()
			pe.Details = mustStructJSON(t, tt.json)
			var e eventlog.Event
			err := eventFromProto(&e, "event", pe, "")
			if err != nil {
				t.Fatalf("eventFromProto() error = %v, want nil", err)
			}
			if got := string(e.Details); got != wantCanon {
				t.Errorf("eventFromProto() details = %s, want %s", got, wantCanon)
			}
			if diff := cmp.Diff(pe.Details, protomap.EventToProto(&e).GetDetails(), protocmp.Transform()); diff != "" {
				t.Errorf("protomap.EventToProto() details mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSibling(t *testing.T) {
	tests := []struct{ name, path, want string }{
		{name: "top level", path: "event", want: "idempotency_key"},
		{name: "in batch", path: "requests[3].event", want: "requests[3].idempotency_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sibling(tt.path, "idempotency_key"); got != tt.want {
				t.Errorf("sibling(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func ts(s string) *timestamppb.Timestamp {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(t)
}

func tm(s string) time.Time { return ts(s).AsTime() }

func TestListFromProto(t *testing.T) {
	someFilter := eventlog.Filter{Type: eventlog.TypeEdit, Actor: "Alice", SourceID: ptr(int64(0))}
	tests := []struct {
		name       string
		req        *eventlogv1.ListEventsRequest
		wantFilter eventlog.Filter
		wantPage   eventlog.Page
	}{
		{name: "nil request", req: nil, wantPage: eventlog.Page{Limit: 50}},
		{name: "empty request", req: &eventlogv1.ListEventsRequest{}, wantPage: eventlog.Page{Limit: 50}},
		{name: "type lower case", req: &eventlogv1.ListEventsRequest{EventType: "create"}, wantFilter: eventlog.Filter{Type: eventlog.TypeCreate}, wantPage: eventlog.Page{Limit: 50}},
		{name: "type upper case", req: &eventlogv1.ListEventsRequest{EventType: "DELETE"}, wantFilter: eventlog.Filter{Type: eventlog.TypeDelete}, wantPage: eventlog.Page{Limit: 50}},
		{name: "type enum name", req: &eventlogv1.ListEventsRequest{EventType: "EVENT_TYPE_LOGIN_FAILED"}, wantFilter: eventlog.Filter{Type: eventlog.TypeLoginFailed}, wantPage: eventlog.Page{Limit: 50}},
		{
			name:       "string filters",
			req:        &eventlogv1.ListEventsRequest{Actor: "Alice", ContentType: "Entry", ObjectId: "42"},
			wantFilter: eventlog.Filter{Actor: "Alice", ContentType: "Entry", ObjectID: "42"},
			wantPage:   eventlog.Page{Limit: 50},
		},
		{name: "source id zero", req: &eventlogv1.ListEventsRequest{SourceId: ptr(int64(0))}, wantFilter: eventlog.Filter{SourceID: ptr(int64(0))}, wantPage: eventlog.Page{Limit: 50}},
		{name: "source id", req: &eventlogv1.ListEventsRequest{SourceId: ptr(int64(17))}, wantFilter: eventlog.Filter{SourceID: ptr(int64(17))}, wantPage: eventlog.Page{Limit: 50}},
		{
			name:       "time range",
			req:        &eventlogv1.ListEventsRequest{StartTime: ts("2024-01-01T00:00:00Z"), EndTime: ts("2024-02-01T00:00:00Z")},
			wantFilter: eventlog.Filter{Start: tm("2024-01-01T00:00:00Z"), End: tm("2024-02-01T00:00:00Z")},
			wantPage:   eventlog.Page{Limit: 50},
		},
		{
			name:       "time range rounded inward to microseconds",
			req:        &eventlogv1.ListEventsRequest{StartTime: ts("2024-01-01T00:00:00.0000001Z"), EndTime: ts("2024-02-01T00:00:00.0000019Z")},
			wantFilter: eventlog.Filter{Start: tm("2024-01-01T00:00:00.000001Z"), End: tm("2024-02-01T00:00:00.000001Z")},
			wantPage:   eventlog.Page{Limit: 50},
		},
		{
			name:       "empty time range",
			req:        &eventlogv1.ListEventsRequest{StartTime: ts("2024-01-01T00:00:00Z"), EndTime: ts("2024-01-01T00:00:00Z")},
			wantFilter: eventlog.Filter{Start: tm("2024-01-01T00:00:00Z"), End: tm("2024-01-01T00:00:00Z")},
			wantPage:   eventlog.Page{Limit: 50},
		},
		{name: "only start", req: &eventlogv1.ListEventsRequest{StartTime: ts("1960-01-01T00:00:00Z")}, wantFilter: eventlog.Filter{Start: tm("1960-01-01T00:00:00Z")}, wantPage: eventlog.Page{Limit: 50}},
		{name: "page size 1", req: &eventlogv1.ListEventsRequest{PageSize: 1}, wantPage: eventlog.Page{Limit: 1}},
		{name: "page size at maximum", req: &eventlogv1.ListEventsRequest{PageSize: 1000}, wantPage: eventlog.Page{Limit: 1000}},
		{name: "page size above maximum", req: &eventlogv1.ListEventsRequest{PageSize: 1001}, wantPage: eventlog.Page{Limit: 1000}},
		{name: "page size huge", req: &eventlogv1.ListEventsRequest{PageSize: math.MaxInt32}, wantPage: eventlog.Page{Limit: 1000}},
		{name: "order id desc", req: &eventlogv1.ListEventsRequest{OrderBy: "id desc"}, wantPage: eventlog.Page{Limit: 50}},
		{name: "order ID DESC", req: &eventlogv1.ListEventsRequest{OrderBy: "ID DESC"}, wantPage: eventlog.Page{Limit: 50}},
		{name: "order id asc", req: &eventlogv1.ListEventsRequest{OrderBy: "id asc"}, wantPage: eventlog.Page{Limit: 50, Ascending: true}},
		{name: "order with extra spaces", req: &eventlogv1.ListEventsRequest{OrderBy: "  Id \t ASC "}, wantPage: eventlog.Page{Limit: 50, Ascending: true}},
		{
			name: "page token",
			req: &eventlogv1.ListEventsRequest{
				EventType: "edit", Actor: "Alice", SourceId: ptr(int64(0)), PageSize: 10,
				PageToken: encodePageToken(1234, someFilter, false),
			},
			wantFilter: someFilter,
			wantPage:   eventlog.Page{Cursor: 1234, Limit: 10},
		},
		{
			name: "page token ascending, filters in another case",
			req: &eventlogv1.ListEventsRequest{
				EventType: "EVENT_TYPE_EDIT", Actor: "ALICE", SourceId: ptr(int64(0)), OrderBy: "id asc",
				PageToken: encodePageToken(math.MaxInt64, someFilter, true),
			},
			wantFilter: eventlog.Filter{Type: eventlog.TypeEdit, Actor: "ALICE", SourceID: ptr(int64(0))},
			wantPage:   eventlog.Page{Cursor: math.MaxInt64, Limit: 50, Ascending: true},
		},
		{
			name:     "after id",
			req:      &eventlogv1.ListEventsRequest{OrderBy: "id asc", AfterId: ptr(int64(41))},
			wantPage: eventlog.Page{Cursor: 41, Limit: 50, Ascending: true},
		},
		{
			name:     "after id zero",
			req:      &eventlogv1.ListEventsRequest{OrderBy: "id asc", AfterId: ptr(int64(0)), PageSize: 7},
			wantPage: eventlog.Page{Cursor: 0, Limit: 7, Ascending: true},
		},
		{
			name: "page token for rounded times",
			req: &eventlogv1.ListEventsRequest{
				StartTime: ts("2024-01-01T00:00:00.0000001Z"),
				PageToken: encodePageToken(5, eventlog.Filter{Start: tm("2024-01-01T00:00:00.000001Z")}, false),
			},
			wantFilter: eventlog.Filter{Start: tm("2024-01-01T00:00:00.000001Z")},
			wantPage:   eventlog.Page{Cursor: 5, Limit: 50},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p, err := listFromProto(tt.req)
			if err != nil {
				t.Fatalf("listFromProto(%v) error = %v, want nil", tt.req, err)
			}
			if diff := cmp.Diff(tt.wantFilter, f); diff != "" {
				t.Errorf("listFromProto(%v) filter mismatch (-want +got):\n%s", tt.req, diff)
			}
			if diff := cmp.Diff(tt.wantPage, p); diff != "" {
				t.Errorf("listFromProto(%v) page mismatch (-want +got):\n%s", tt.req, diff)
			}
		})
	}
}

// rawToken encodes b as a page token would be, for building malformed ones.
func rawToken(b ...byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestListFromProtoInvalid(t *testing.T) {
	filter := eventlog.Filter{Type: eventlog.TypeCreate, Actor: "alice", ContentType: "Entry", ObjectID: "42", SourceID: ptr(int64(3)),
		Start: tm("2024-01-01T00:00:00Z"), End: tm("2024-02-01T00:00:00Z")}
	// req returns a request matching filter, changed by change.
	req := func(change func(*eventlogv1.ListEventsRequest)) *eventlogv1.ListEventsRequest {
		r := &eventlogv1.ListEventsRequest{
			EventType: "create", Actor: "alice", ContentType: "Entry", ObjectId: "42", SourceId: ptr(int64(3)),
			StartTime: ts("2024-01-01T00:00:00Z"), EndTime: ts("2024-02-01T00:00:00Z"),
			PageToken: encodePageToken(100, filter, false),
		}
		change(r)
		return r
	}
	if _, _, err := listFromProto(req(func(*eventlogv1.ListEventsRequest) {})); err != nil {
		t.Fatalf("listFromProto(unchanged request) error = %v, want nil", err)
	}
	fingerprint := filterFingerprint(filter)
	token := func(prefix ...byte) string {
		return rawToken(binary.BigEndian.AppendUint64(prefix, fingerprint)...)
	}
	if got, want := token(1, 100, 0), encodePageToken(100, filter, false); got != want {
		t.Fatalf("token(1, 100, 0) = %q, want %q: the tests below build the wrong tokens", got, want)
	}

	const mismatch = "does not match the request's filters; start again without a page token"
	tests := []struct {
		name      string
		req       *eventlogv1.ListEventsRequest
		wantField string
		wantIn    string
	}{
		{name: "unknown type", req: req(func(r *eventlogv1.ListEventsRequest) { r.EventType = "bogus" }), wantField: "event_type", wantIn: `got "bogus"`},
		{name: "unspecified type", req: req(func(r *eventlogv1.ListEventsRequest) { r.EventType = "EVENT_TYPE_UNSPECIFIED" }), wantField: "event_type", wantIn: "want one of create"},
		{name: "actor too long", req: req(func(r *eventlogv1.ListEventsRequest) { r.Actor = strings.Repeat("a", 257) }), wantField: "actor", wantIn: "at most 256 bytes, got 257"},
		{name: "actor control character", req: req(func(r *eventlogv1.ListEventsRequest) { r.Actor = "a\nb" }), wantField: "actor", wantIn: "control character"},
		{name: "actor invalid UTF-8", req: req(func(r *eventlogv1.ListEventsRequest) { r.Actor = "\xff" }), wantField: "actor", wantIn: "UTF-8"},
		{name: "content type too long", req: req(func(r *eventlogv1.ListEventsRequest) { r.ContentType = strings.Repeat("a", 257) }), wantField: "content_type", wantIn: "at most 256 bytes"},
		{name: "object id too long", req: req(func(r *eventlogv1.ListEventsRequest) { r.ObjectId = strings.Repeat("a", 513) }), wantField: "object_id", wantIn: "at most 512 bytes"},
		{name: "object id NUL", req: req(func(r *eventlogv1.ListEventsRequest) { r.ObjectId = "\x00" }), wantField: "object_id", wantIn: "NUL"},
		{name: "negative source id", req: req(func(r *eventlogv1.ListEventsRequest) { r.SourceId = ptr(int64(-1)) }), wantField: "source_id", wantIn: "negative"},
		{name: "negative after id", req: &eventlogv1.ListEventsRequest{OrderBy: "id asc", AfterId: ptr(int64(-1))}, wantField: "after_id", wantIn: "negative"},
		{name: "after id newest first", req: &eventlogv1.ListEventsRequest{AfterId: ptr(int64(5))}, wantField: "after_id", wantIn: `order_by "id asc"`},
		{name: "after id with a page token", req: &eventlogv1.ListEventsRequest{OrderBy: "id asc", AfterId: ptr(int64(5)),
			PageToken: encodePageToken(9, eventlog.Filter{}, true)}, wantField: "after_id", wantIn: "not both"},
		{name: "invalid start", req: req(func(r *eventlogv1.ListEventsRequest) { r.StartTime = &timestamppb.Timestamp{Nanos: -1} }), wantField: "start_time", wantIn: "not a valid timestamp"},
		{name: "invalid end", req: req(func(r *eventlogv1.ListEventsRequest) { r.EndTime = &timestamppb.Timestamp{Seconds: math.MaxInt64} }), wantField: "end_time", wantIn: "not a valid timestamp"},
		{name: "start after end", req: req(func(r *eventlogv1.ListEventsRequest) { r.StartTime = ts("2024-03-01T00:00:00Z") }), wantField: "end_time", wantIn: "must not be before start_time"},
		{name: "negative page size", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageSize = -1 }), wantField: "page_size", wantIn: "negative"},
		{name: "order by id alone", req: req(func(r *eventlogv1.ListEventsRequest) { r.OrderBy = "id" }), wantField: "order_by", wantIn: `want "id desc" (the default, newest first) or "id asc", got "id"`},
		{name: "order by time", req: req(func(r *eventlogv1.ListEventsRequest) { r.OrderBy = "time desc" }), wantField: "order_by", wantIn: `"id asc"`},
		{name: "order by descending", req: req(func(r *eventlogv1.ListEventsRequest) { r.OrderBy = "id descending" }), wantField: "order_by", wantIn: `"id desc"`},

		{name: "token not base64", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = "!!!!" }), wantField: "page_token", wantIn: "malformed"},
		{name: "token padded", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken += "=" }), wantField: "page_token", wantIn: "malformed"},
		{name: "token in standard base64", req: req(func(r *eventlogv1.ListEventsRequest) {
			r.PageToken = base64.StdEncoding.EncodeToString([]byte{1, 0xff, 0xff, 0x03, 0, 0xfb, 0xff, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff})
		}), wantField: "page_token", wantIn: "malformed"},
		{name: "token too long", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = strings.Repeat("A", 1000) }), wantField: "page_token", wantIn: "malformed"},
		{name: "token of one character", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = "A" }), wantField: "page_token", wantIn: "malformed"},
		{name: "token wrong version", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = token(2, 100, 0) }), wantField: "page_token", wantIn: "another version"},
		{name: "token version zero", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = token(0, 100, 0) }), wantField: "page_token", wantIn: "another version"},
		{name: "token zero id", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = token(1, 0, 0) }), wantField: "page_token", wantIn: "malformed"},
		{name: "token id above int64", req: req(func(r *eventlogv1.ListEventsRequest) {
			r.PageToken = token(1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0)
		}), wantField: "page_token", wantIn: "malformed"},
		{name: "token varint overflow", req: req(func(r *eventlogv1.ListEventsRequest) {
			r.PageToken = token(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0)
		}), wantField: "page_token", wantIn: "malformed"},
		{name: "token padded varint", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = token(1, 0xe4, 0x00, 0) }), wantField: "page_token", wantIn: "malformed"},
		{name: "token bad order byte", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = token(1, 100, 2) }), wantField: "page_token", wantIn: "malformed"},
		{name: "token trailing byte", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = encodePageToken(100, filter, false) + "A" }), wantField: "page_token", wantIn: "malformed"},
		{name: "token trailing bytes", req: req(func(r *eventlogv1.ListEventsRequest) {
			r.PageToken = rawToken(append(binary.BigEndian.AppendUint64([]byte{1, 100, 0}, fingerprint), 0, 0, 0)...)
		}), wantField: "page_token", wantIn: "malformed"},
		{name: "token truncated", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = rawToken(1, 100, 0, 1, 2, 3) }), wantField: "page_token", wantIn: "malformed"},

		{name: "token for another order", req: req(func(r *eventlogv1.ListEventsRequest) { r.OrderBy = "id asc" }), wantField: "page_token", wantIn: `issued for order_by "id desc"`},
		{name: "token for ascending used descending", req: req(func(r *eventlogv1.ListEventsRequest) { r.PageToken = encodePageToken(100, filter, true) }), wantField: "page_token", wantIn: `issued for order_by "id asc"`},
		{name: "token for another type", req: req(func(r *eventlogv1.ListEventsRequest) { r.EventType = "delete" }), wantField: "page_token", wantIn: mismatch},
		{name: "token for any type", req: req(func(r *eventlogv1.ListEventsRequest) { r.EventType = "" }), wantField: "page_token", wantIn: mismatch},
		{name: "token for another actor", req: req(func(r *eventlogv1.ListEventsRequest) { r.Actor = "bob" }), wantField: "page_token", wantIn: mismatch},
		{name: "token for another content type", req: req(func(r *eventlogv1.ListEventsRequest) { r.ContentType = "User" }), wantField: "page_token", wantIn: mismatch},
		{name: "token for another object id case", req: req(func(r *eventlogv1.ListEventsRequest) { r.ObjectId = "42A" }), wantField: "page_token", wantIn: mismatch},
		{name: "token for another source", req: req(func(r *eventlogv1.ListEventsRequest) { r.SourceId = ptr(int64(4)) }), wantField: "page_token", wantIn: mismatch},
		{name: "token for any source", req: req(func(r *eventlogv1.ListEventsRequest) { r.SourceId = nil }), wantField: "page_token", wantIn: mismatch},
		{name: "token for another start", req: req(func(r *eventlogv1.ListEventsRequest) { r.StartTime = ts("2024-01-01T00:00:00.000001Z") }), wantField: "page_token", wantIn: mismatch},
		{name: "token for no end", req: req(func(r *eventlogv1.ListEventsRequest) { r.EndTime = nil }), wantField: "page_token", wantIn: mismatch},
		{name: "token with another fingerprint", req: req(func(r *eventlogv1.ListEventsRequest) {
			r.PageToken = pageToken{lastID: 100, filter: fingerprint ^ 1}.encode()
		}), wantField: "page_token", wantIn: mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := listFromProto(tt.req)
			var inv *eventlog.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("listFromProto(%v) error = %v, want *eventlog.InvalidError on field %q", tt.req, err, tt.wantField)
			}
			if inv.Field != tt.wantField {
				t.Errorf("listFromProto(%v) error = %v, want field %q", tt.req, err, tt.wantField)
			}
			if !strings.Contains(inv.Problem, tt.wantIn) {
				t.Errorf("listFromProto(%v) error = %v, want a problem containing %q", tt.req, err, tt.wantIn)
			}
		})
	}
}

func TestPageTokenRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		lastID    int64
		filter    eventlog.Filter
		ascending bool
	}{
		{name: "first id", lastID: 1},
		{name: "ascending", lastID: 300, ascending: true},
		{name: "largest id", lastID: math.MaxInt64, filter: eventlog.Filter{Actor: "x"}},
		{name: "every filter", lastID: 42, filter: eventlog.Filter{
			Type: eventlog.TypeFetch, Actor: "Ünïcode", ContentType: "Entry", ObjectID: "o", SourceID: ptr(int64(0)),
			Start: tm("1969-07-20T20:17:40Z"), End: tm("2999-01-01T00:00:00.000001Z"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := encodePageToken(tt.lastID, tt.filter, tt.ascending)
			if len(s) > maxPageTokenLen {
				t.Errorf("encodePageToken() = %q, longer than %d", s, maxPageTokenLen)
			}
			got, err := decodePageToken(s)
			if err != nil {
				t.Fatalf("decodePageToken(%q) error = %v, want nil", s, err)
			}
			want := pageToken{lastID: tt.lastID, ascending: tt.ascending, filter: filterFingerprint(tt.filter)}
			if got != want {
				t.Errorf("decodePageToken(%q) = %+v, want %+v", s, got, want)
			}
		})
	}
}

func TestFilterFingerprint(t *testing.T) {
	same := []struct {
		name string
		a, b eventlog.Filter
	}{
		{
			name: "actor and content type in another case",
			a:    eventlog.Filter{Type: eventlog.TypeEdit, Actor: "Alice", ContentType: "Entry", ObjectID: "Obj"},
			b:    eventlog.Filter{Type: eventlog.TypeEdit, Actor: "aLICE", ContentType: "ENTRY", ObjectID: "Obj"},
		},
		{
			name: "times in another zone",
			a:    eventlog.Filter{Start: tm("2024-01-01T00:00:00Z"), End: tm("2024-01-02T00:00:00Z")},
			b:    eventlog.Filter{Start: tm("2024-01-01T01:00:00+01:00"), End: tm("2024-01-01T19:00:00-05:00")},
		},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			if filterFingerprint(tt.a) != filterFingerprint(tt.b) {
				t.Errorf("filterFingerprint(%+v) != filterFingerprint(%+v), want equal", tt.a, tt.b)
			}
		})
	}
	different := []eventlog.Filter{
		{},
		{SourceID: ptr(int64(0))},
		{SourceID: ptr(int64(1))},
		{Start: time.Unix(0, 0)},
		{End: time.Unix(0, 0)},
		{Actor: "a"},
		{ContentType: "a"},
		{ObjectID: "a"},
		{Actor: "a", ContentType: "b"},
		{Actor: "ab"},
		{ObjectID: "OBJ"},
		{ObjectID: "obj"},
		{Type: eventlog.TypeCreate},
	}
	seen := map[uint64]int{}
	for i, f := range different {
		fp := filterFingerprint(f)
		if j, ok := seen[fp]; ok {
			t.Errorf("filterFingerprint(%+v) == filterFingerprint(%+v), want different", f, different[j])
		}
		seen[fp] = i
	}
}

func FuzzDecodePageToken(f *testing.F) {
	f.Add("")
	f.Add("A")
	f.Add("AQ")
	f.Add("!!!!")
	f.Add(encodePageToken(1, eventlog.Filter{}, false))
	f.Add(encodePageToken(math.MaxInt64, eventlog.Filter{Actor: "a"}, true))
	f.Add(rawToken(1, 0xe4, 0x00, 0, 1, 2, 3, 4, 5, 6, 7, 8))
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := decodePageToken(s)
		if err != nil {
			var inv *eventlog.InvalidError
			if !errors.As(err, &inv) || inv.Field != "page_token" {
				t.Fatalf("decodePageToken(%q) error = %v, want *eventlog.InvalidError on page_token", s, err)
			}
			return
		}
		if tok.lastID <= 0 {
			t.Errorf("decodePageToken(%q) = %+v, want a positive last id", s, tok)
		}
		if got := tok.encode(); got != s {
			t.Errorf("decodePageToken(%q) = %+v, which encodes as %q, want the same token", s, tok, got)
		}
	})
}

func FuzzEventFromProto(f *testing.F) {
	seed := func(pe *eventlogv1.Event, key string) {
		b, err := protojson.Marshal(pe)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, key)
	}
	seed(fullEvent(), "key")
	seed(clientEvent(), "")
	seed(&eventlogv1.Event{}, "")
	pe := clientEvent()
	pe.Details = mustStruct(map[string]any{"n": 1e21, "neg": math.Copysign(0, -1), "deep": []any{[]any{map[string]any{"": ""}}}})
	seed(pe, "k\u00e9")
	f.Add([]byte(`{"eventType":"EVENT_TYPE_CREATE","actor":{"name":"a"},"contentType":"x","objectId":"1","occurredTime":"1970-01-01T00:00:00.000001Z"}`), "")
	f.Add([]byte(`{"eventType":99,"actor":{"kind":7}}`), "\x00")
	f.Add([]byte(`{"details":{"a":"\u0000"}}`), "")

	f.Fuzz(func(t *testing.T, data []byte, key string) {
		var pe eventlogv1.Event
		if err := protojson.Unmarshal(data, &pe); err != nil {
			return
		}
		var e eventlog.Event
		err := eventFromProto(&e, "event", &pe, key)
		if err != nil {
			var inv *eventlog.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("eventFromProto() error = %v, want *eventlog.InvalidError", err)
			}
			if !strings.HasPrefix(inv.Field, "event") && inv.Field != "idempotency_key" {
				t.Errorf("eventFromProto() error = %v, want a field under event or idempotency_key", err)
			}
			return
		}
		// An accepted event survives a trip through the API unchanged.
		var again eventlog.Event
		err = eventFromProto(&again, "event", protomap.EventToProto(&e), e.IdempotencyKey)
		if err != nil {
			t.Fatalf("eventFromProto(protomap.EventToProto(e)) error = %v, want nil", err)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Errorf("eventFromProto(protomap.EventToProto(e)) mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestVerifyFromProto(t *testing.T) {
	for _, tt := range []struct {
		req   *eventlogv1.VerifyChainRequest
		field string
	}{
		{&eventlogv1.VerifyChainRequest{StartId: -1}, "start_id"},
		{&eventlogv1.VerifyChainRequest{EndId: -5}, "end_id"},
	} {
		_, err := verifyFromProto(tt.req)
		var inv *eventlog.InvalidError
		if !errors.As(err, &inv) || inv.Field != tt.field {
			t.Errorf("verifyFromProto(%v) error = %v, want an InvalidError on %s", tt.req, err, tt.field)
		}
	}
	o, err := verifyFromProto(&eventlogv1.VerifyChainRequest{StartId: 3, EndId: 9})
	if err != nil || o.Start != 3 || o.End != 9 {
		t.Errorf("verifyFromProto(3, 9) = %+v, %v", o, err)
	}
}
