package protomap

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	wirev1 "github.com/eventlog/eventlog/proto/eventlog/wire/v1"
	"github.com/google/go-cmp/cmp"
)

// The decoding forms read the bytes of the eventlog.v1 messages of the
// same names: every field has the same number, name, cardinality and
// type, but an event's details. A field added to the API and not to the
// forms fails here.
func TestWireFormsMirrorAPI(t *testing.T) {
	pairs := []struct {
		wire, api protoreflect.MessageDescriptor
	}{
		{(&wirev1.LogEventsRequest{}).ProtoReflect().Descriptor(), (&eventlogv1.LogEventsRequest{}).ProtoReflect().Descriptor()},
		{(&wirev1.LogEventRequest{}).ProtoReflect().Descriptor(), (&eventlogv1.LogEventRequest{}).ProtoReflect().Descriptor()},
		{(&wirev1.Event{}).ProtoReflect().Descriptor(), (&eventlogv1.Event{}).ProtoReflect().Descriptor()},
	}
	// typeName names a field's message or enum type, the forms' own
	// messages by their eventlog.v1 names.
	typeName := func(fd protoreflect.FieldDescriptor) string {
		var n string
		switch {
		case fd.Message() != nil:
			n = string(fd.Message().FullName())
		case fd.Enum() != nil:
			n = string(fd.Enum().FullName())
		}
		return strings.Replace(n, "eventlog.wire.v1.", "eventlog.v1.", 1)
	}
	for _, p := range pairs {
		if p.wire.Name() != p.api.Name() {
			t.Fatalf("pair %s, %s", p.wire.FullName(), p.api.FullName())
		}
		wf, af := p.wire.Fields(), p.api.Fields()
		if wf.Len() != af.Len() {
			t.Errorf("%s has %d fields, %s %d", p.wire.FullName(), wf.Len(), p.api.FullName(), af.Len())
		}
		for i := 0; i < af.Len(); i++ {
			a := af.Get(i)
			w := wf.ByNumber(a.Number())
			if w == nil {
				t.Errorf("%s: no field %d (%s)", p.wire.FullName(), a.Number(), a.Name())
				continue
			}
			if a.FullName() == "eventlog.v1.Event.details" {
				if w.Name() != a.Name() || w.Kind() != protoreflect.BytesKind || !w.IsList() {
					t.Errorf("%s: want repeated bytes details", w.FullName())
				}
				continue
			}
			if w.Name() != a.Name() || w.Kind() != a.Kind() || w.Cardinality() != a.Cardinality() ||
				w.IsList() != a.IsList() || w.IsMap() != a.IsMap() || typeName(w) != typeName(a) {
				t.Errorf("%s (%v %v %s) does not read %s (%v %v %s)", w.FullName(), w.Cardinality(), w.Kind(), typeName(w),
					a.FullName(), a.Cardinality(), a.Kind(), typeName(a))
			}
		}
	}
}

// fullBatch is a LogEventsRequest with every field set.
func fullBatch() *eventlogv1.LogEventsRequest {
	var reqs []*eventlogv1.LogEventRequest
	for i := range 3 {
		e := fullEvent()
		e.ObjectID = strings.Repeat("x", i+1)
		w := eventlog.Write{Event: e, Related: []eventlog.ObjectRef{{ContentType: "Project", ObjectID: "1"}}}
		r := WriteToProto(&w)
		r.Event.IdempotencyKey = "output-only key"
		r.View = eventlogv1.EventView_EVENT_VIEW_FULL
		reqs = append(reqs, r)
	}
	return &eventlogv1.LogEventsRequest{Requests: reqs, View: eventlogv1.EventView_EVENT_VIEW_BASIC}
}

// Decoding with the forms and converting gives every field, and the
// message marshals back to the bytes' meaning.
func TestFromWire(t *testing.T) {
	in := fullBatch()
	raw, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var w wirev1.LogEventsRequest
	if err := proto.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	var got eventlogv1.LogEventsRequest
	LogEventsRequestFromWire(&w, &got)
	checkAllSet(t, "LogEventsRequest", got.ProtoReflect())
	for i, r := range got.GetRequests() {
		checkAllSet(t, "requests", r.ProtoReflect())
		want, _ := DetailsFromProto(in.GetRequests()[i].GetEvent().GetDetails())
		details, err := DetailsFromProto(r.GetEvent().GetDetails())
		if err != nil || string(details) != string(want) {
			t.Errorf("requests[%d] details = %s, %v; want %s", i, details, err, want)
		}
	}
	again, err := proto.Marshal(&got)
	if err != nil {
		t.Fatal(err)
	}
	var back eventlogv1.LogEventsRequest
	if err := proto.Unmarshal(again, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, &back, protocmp.Transform()); diff != "" {
		t.Errorf("marshalled back (-sent +got):\n%s", diff)
	}

	var one wirev1.LogEventRequest
	raw, _ = proto.Marshal(in.GetRequests()[0])
	if err := proto.Unmarshal(raw, &one); err != nil {
		t.Fatal(err)
	}
	var single eventlogv1.LogEventRequest
	LogEventRequestFromWire(&one, &single)
	checkAllSet(t, "LogEventRequest", single.ProtoReflect())

	// No event, and an empty one.
	for _, r := range []*eventlogv1.LogEventRequest{{IdempotencyKey: "k"}, {Event: &eventlogv1.Event{}}} {
		raw, _ := proto.Marshal(r)
		var w wirev1.LogEventRequest
		if err := proto.Unmarshal(raw, &w); err != nil {
			t.Fatal(err)
		}
		var got eventlogv1.LogEventRequest
		LogEventRequestFromWire(&w, &got)
		if diff := cmp.Diff(r, &got, protocmp.Transform()); diff != "" {
			t.Errorf("(-sent +got):\n%s", diff)
		}
	}
}

// Details given twice are merged, as protobuf merges a message field that
// occurs twice.
func TestFromWireDetailsTwice(t *testing.T) {
	first, _ := proto.Marshal(mustStruct(t, map[string]any{"a": 1, "b": "first"}))
	second, _ := proto.Marshal(mustStruct(t, map[string]any{"b": "second", "c": true}))
	var ev []byte
	for _, d := range [][]byte{first, second} {
		ev = protowire.AppendTag(ev, 9, protowire.BytesType)
		ev = protowire.AppendBytes(ev, d)
	}
	raw := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), ev)

	var api eventlogv1.LogEventRequest
	if err := proto.Unmarshal(raw, &api); err != nil {
		t.Fatal(err)
	}
	want, err := DetailsFromProto(api.GetEvent().GetDetails())
	if err != nil {
		t.Fatal(err)
	}
	var w wirev1.LogEventRequest
	if err := proto.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	var got eventlogv1.LogEventRequest
	if !LogEventRequestFromWire(&w, &got) {
		t.Fatal("LogEventRequestFromWire refused two valid occurrences")
	}
	details, err := DetailsFromProto(got.GetEvent().GetDetails())
	if err != nil || string(details) != string(want) || string(want) != `{"a":1,"b":"second","c":true}` {
		t.Errorf("details = %s, %v; want %s", details, err, want)
	}

	// A field cut at the end of one occurrence and finished by the next:
	// protobuf refuses the request, so the forms must not accept it.
	ev = nil
	for _, d := range [][]byte{{0x0a, 0x0a, 0x0a, 0x01, 'k'}, {0x12, 0x05, 0x1a, 0x03, 'a', 'b', 'c'}} {
		ev = protowire.AppendTag(ev, 9, protowire.BytesType)
		ev = protowire.AppendBytes(ev, d)
	}
	raw = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), ev)
	if err := proto.Unmarshal(raw, &api); err == nil {
		t.Fatal("protobuf accepts the split details; the case tests nothing")
	}
	w.Reset()
	if err := proto.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	if LogEventRequestFromWire(&w, &eventlogv1.LogEventRequest{}) {
		t.Error("LogEventRequestFromWire accepts details split across occurrences, which protobuf refuses")
	}
}
