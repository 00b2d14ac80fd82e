package protomap

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventlog/eventlog"
	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	wirev1 "github.com/eventlog/eventlog/proto/eventlog/wire/v1"
	"github.com/google/go-cmp/cmp"
)

var deterministic = proto.MarshalOptions{Deterministic: true}

// byWireForm decodes b as the server did before the hand decoder: with the
// decoding form, then converted. It is the reference the hand decoder is
// held to (the forms are held to protobuf by the tests of wire.go).
func byWireForm(b []byte) (*eventlogv1.LogEventsRequest, bool) {
	var w wirev1.LogEventsRequest
	var m eventlogv1.LogEventsRequest
	if proto.Unmarshal(b, &w) != nil || !LogEventsRequestFromWire(&w, &m) {
		return nil, false
	}
	return &m, true
}

// Every field of a batch, and the messages that are empty or absent, come
// out as protobuf decodes them.
func TestDecodeLogEventsRequest(t *testing.T) {
	full := fullBatch()
	full.Requests[1].Event.Time = &timestamppb.Timestamp{Seconds: -62135596800, Nanos: 999999999}
	full.Requests[1].Event.Hash, full.Requests[1].Event.PrevHash = []byte{1, 2, 3}, []byte{}
	batches := []*eventlogv1.LogEventsRequest{
		full,
		{},
		{View: eventlogv1.EventView_EVENT_VIEW_FULL},
		{Requests: []*eventlogv1.LogEventRequest{{}, {IdempotencyKey: "k"}, {Event: &eventlogv1.Event{}}}},
		{Requests: []*eventlogv1.LogEventRequest{{Event: &eventlogv1.Event{
			Actor: &eventlogv1.Actor{}, Request: &eventlogv1.RequestContext{}, Time: &timestamppb.Timestamp{},
			OccurredTime: &timestamppb.Timestamp{}, Details: mustStruct(t, map[string]any{}),
			EventType: eventlogv1.EventType(-7), SourceId: -1, Id: 1 << 62,
		}, Related: []*eventlogv1.ObjectRef{{}, {ContentType: "ü", ObjectId: "日本"}}}}},
	}
	for i, in := range batches {
		// Deterministic: a Struct's map is written in one order, so
		// that each request alone has the bytes it has in the batch.
		raw, err := deterministic.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := byWireForm(raw)
		if !ok {
			t.Fatalf("batch %d: the decoding form refused it", i)
		}
		var got eventlogv1.LogEventsRequest
		if !DecodeLogEventsRequest(raw, &got) {
			t.Fatalf("batch %d: the hand decoder refused what encoders write", i)
		}
		if diff := cmp.Diff(want, &got, protocmp.Transform()); diff != "" {
			t.Errorf("batch %d (-protobuf +hand):\n%s", i, diff)
		}
		for j, r := range in.GetRequests() {
			raw, _ := deterministic.Marshal(r)
			var one eventlogv1.LogEventRequest
			if !DecodeLogEventRequest(raw, &one) {
				t.Fatalf("batch %d request %d: refused", i, j)
			}
			if diff := cmp.Diff(want.GetRequests()[j], &one, protocmp.Transform()); diff != "" {
				t.Errorf("batch %d request %d alone (-protobuf +hand):\n%s", i, j, diff)
			}
		}
	}
}

// What encoders do not write, and bytes that do not decode, are left to
// protobuf's decoding.
func TestDecodeLogEventsRequestRefuses(t *testing.T) {
	event := func(fields ...[]byte) []byte {
		var e []byte
		for _, f := range fields {
			e = append(e, f...)
		}
		r := protowire.AppendTag(nil, 1, protowire.BytesType)
		r = protowire.AppendBytes(r, e)
		b := protowire.AppendTag(nil, 1, protowire.BytesType)
		return protowire.AppendBytes(b, r)
	}
	str := func(num protowire.Number, s string) []byte {
		b := protowire.AppendTag(nil, num, protowire.BytesType)
		return protowire.AppendString(b, s)
	}
	varint := func(num protowire.Number, v uint64) []byte {
		b := protowire.AppendTag(nil, num, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
	actor := func(fields ...[]byte) []byte {
		var a []byte
		for _, f := range fields {
			a = append(a, f...)
		}
		b := protowire.AppendTag(nil, 5, protowire.BytesType)
		return protowire.AppendBytes(b, a)
	}
	valid := event(str(6, "Note"), str(7, "n1"))
	var got eventlogv1.LogEventsRequest
	if !DecodeLogEventsRequest(valid, &got) || got.GetRequests()[0].GetEvent().GetObjectId() != "n1" {
		t.Fatalf("the valid base case: %v", &got)
	}
	var most eventlogv1.LogEventsRequest
	if !DecodeLogEventsRequest(bytes.Repeat([]byte{0x0a, 0x00}, eventlog.MaxBatch), &most) || len(most.GetRequests()) != eventlog.MaxBatch {
		t.Fatalf("a batch of %d empty requests: %d decoded", eventlog.MaxBatch, len(most.GetRequests()))
	}
	for name, b := range map[string][]byte{
		"a string given twice":                event(str(6, "Note"), str(6, "Other")),
		"an unknown field":                    event(str(6, "Note"), str(99, "x")),
		"a string as a varint":                event(varint(6, 1)),
		"an id as bytes":                      event(str(1, "1")),
		"invalid UTF-8":                       event(str(7, "\xff")),
		"invalid UTF-8 in the actor":          event(actor(str(2, "a\xc0"))),
		"an actor given twice":                event(actor(str(1, "a")), actor(str(1, "b"))),
		"an actor field unknown":              event(actor(str(4, "x"))),
		"an actor kind as bytes":              event(actor(str(3, "x"))),
		"details given twice":                 event(str(9, ""), str(9, "")),
		"a fixed64 field":                     event(protowire.AppendFixed64(protowire.AppendTag(nil, 1, protowire.Fixed64Type), 1)),
		"a cut length":                        append(valid[:len(valid)-1:len(valid)-1], 0xff),
		"a cut varint":                        append(event(str(6, "Note")), 0x10, 0x80),
		"a view given twice":                  append(varint(2, 1), varint(2, 2)...),
		"a request field of the batch":        str(3, "x"),
		"a group":                             protowire.AppendTag(nil, 1, protowire.StartGroupType),
		"more requests than a batch may hold": bytes.Repeat([]byte{0x0a, 0x00}, eventlog.MaxBatch+1),
	} {
		var m eventlogv1.LogEventsRequest
		if DecodeLogEventsRequest(b, &m) {
			t.Errorf("%s: decoded by hand as %v; want it left to protobuf", name, &m)
		}
	}
}

// Messages are allocated for the entries that have them: a batch of empty
// requests, a few bytes each, allocates its requests and no events, actors
// or request contexts.
func TestDecodeAllocatesWhatIsThere(t *testing.T) {
	empty := bytes.Repeat([]byte{0x0a, 0x00}, eventlog.MaxBatch)
	allocs := testing.AllocsPerRun(10, func() {
		var m eventlogv1.LogEventsRequest
		if !DecodeLogEventsRequest(empty, &m) {
			t.Fatal("refused")
		}
	})
	if allocs > 2 {
		t.Errorf("%d empty requests: %v allocations, want 2 (the requests and the list of them)", eventlog.MaxBatch, allocs)
	}
}

// Whatever the hand decoder decodes, protobuf (through the decoding form)
// decodes the same.
func FuzzDecodeLogEventsRequest(f *testing.F) {
	raw, _ := proto.Marshal(fullBatch())
	f.Add(raw)
	one, _ := proto.Marshal(fullBatch().GetRequests()[0])
	f.Add(one)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got eventlogv1.LogEventsRequest
		if !DecodeLogEventsRequest(b, &got) {
			return
		}
		want, ok := byWireForm(b)
		if !ok {
			t.Fatalf("decoded by hand, refused by protobuf: %x", b)
		}
		// proto.Equal compares the undecoded details as bytes, which
		// protocmp would try to decode.
		if !proto.Equal(want, &got) {
			t.Fatalf("%x:\nprotobuf %v\nhand     %v", b, want, &got)
		}
	})
}

// The same for one request, as LogEvent takes it.
func FuzzDecodeLogEventRequest(f *testing.F) {
	for _, r := range fullBatch().GetRequests() {
		raw, _ := proto.Marshal(r)
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got eventlogv1.LogEventRequest
		if !DecodeLogEventRequest(b, &got) {
			return
		}
		var w wirev1.LogEventRequest
		var want eventlogv1.LogEventRequest
		if proto.Unmarshal(b, &w) != nil || !LogEventRequestFromWire(&w, &want) {
			t.Fatalf("decoded by hand, refused by protobuf: %x", b)
		}
		if !proto.Equal(&want, &got) {
			t.Fatalf("%x:\nprotobuf %v\nhand     %v", b, &want, &got)
		}
	})
}
