package protomap

import (
	"bytes"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	wirev1 "github.com/eventlog/eventlog/proto/eventlog/wire/v1"
)

// LogEventsRequestFromWire fills m with what w holds: w decoded the bytes
// of an eventlog.v1.LogEventsRequest with the server's decoding form
// (proto/eventlog/wire), and m is then what decoding them as m would
// have given, but for its events' details, which stay undecoded
// (WireDetails). The messages of all the entries are allocated a kind at a
// time. It returns false when decoding the bytes as m would have failed
// where w's decoding did not; m is then to be decoded as usual.
func LogEventsRequestFromWire(w *wirev1.LogEventsRequest, m *eventlogv1.LogEventsRequest) bool {
	m.View = w.GetView()
	if len(w.GetRequests()) == 0 {
		return true
	}
	n, withEvent := len(w.GetRequests()), 0
	for _, r := range w.GetRequests() {
		if r.GetEvent() != nil {
			withEvent++
		}
	}
	reqs, events := make([]eventlogv1.LogEventRequest, n), make([]eventlogv1.Event, withEvent)
	m.Requests = make([]*eventlogv1.LogEventRequest, n)
	for i, r := range w.GetRequests() {
		var ev *eventlogv1.Event
		if r.GetEvent() != nil {
			ev, events = &events[0], events[1:]
		}
		if !logEventRequestFromWire(r, &reqs[i], ev) {
			return false
		}
		m.Requests[i] = &reqs[i]
	}
	return true
}

// LogEventRequestFromWire is LogEventsRequestFromWire for one request.
func LogEventRequestFromWire(w *wirev1.LogEventRequest, m *eventlogv1.LogEventRequest) bool {
	var ev *eventlogv1.Event
	if w.GetEvent() != nil {
		ev = &eventlogv1.Event{}
	}
	return logEventRequestFromWire(w, m, ev)
}

// logEventRequestFromWire fills m from w, with ev as m's event if w has one.
func logEventRequestFromWire(w *wirev1.LogEventRequest, m *eventlogv1.LogEventRequest, ev *eventlogv1.Event) bool {
	m.IdempotencyKey, m.Related, m.View = w.GetIdempotencyKey(), w.GetRelated(), w.GetView()
	we := w.GetEvent()
	if we == nil {
		return true
	}
	ev.Id, ev.Time, ev.OccurredTime, ev.EventType = we.GetId(), we.GetTime(), we.GetOccurredTime(), we.GetEventType()
	ev.Actor, ev.ContentType, ev.ObjectId, ev.ObjectRepr = we.GetActor(), we.GetContentType(), we.GetObjectId(), we.GetObjectRepr()
	ev.SourceId, ev.Request, ev.IdempotencyKey = we.GetSourceId(), we.GetRequest(), we.GetIdempotencyKey()
	ev.Hash, ev.PrevHash = we.GetHash(), we.GetPrevHash()
	switch d := we.GetDetails(); len(d) {
	case 0:
	case 1:
		ev.Details = WireDetails(d[0])
	default:
		// A message field given more than once is the merge of its
		// occurrences, which is what their concatenation decodes to,
		// provided each occurrence decodes: protobuf decodes them one by
		// one, and a field cut at the end of one must not be completed
		// by the start of the next.
		for _, o := range d {
			if proto.Unmarshal(o, &structpb.Struct{}) != nil {
				return false
			}
		}
		ev.Details = WireDetails(bytes.Join(d, nil))
	}
	m.Event = ev
	return true
}
