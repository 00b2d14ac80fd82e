package protomap

import (
	"bytes"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
	wirev1 "github.com/eventlog/eventlog/proto/eventlog/wire/v1"
)

// LogEventsRequestFromWire fills m with what w holds: w decoded the bytes
// of an eventlog.v1.LogEventsRequest with the server's decoding form
// (proto/eventlog/wire), and m is then what decoding them as m would
// have given, but for its events' details, which stay undecoded
// (WireDetails). The messages of all the entries are allocated a kind at a
// time.
func LogEventsRequestFromWire(w *wirev1.LogEventsRequest, m *eventlogv1.LogEventsRequest) {
	m.View = w.GetView()
	if len(w.GetRequests()) == 0 {
		return
	}
	n := len(w.GetRequests())
	reqs, events := make([]eventlogv1.LogEventRequest, n), make([]eventlogv1.Event, n)
	m.Requests = make([]*eventlogv1.LogEventRequest, n)
	for i, r := range w.GetRequests() {
		logEventRequestFromWire(r, &reqs[i], &events[i])
		m.Requests[i] = &reqs[i]
	}
}

// LogEventRequestFromWire is LogEventsRequestFromWire for one request.
func LogEventRequestFromWire(w *wirev1.LogEventRequest, m *eventlogv1.LogEventRequest) {
	logEventRequestFromWire(w, m, &eventlogv1.Event{})
}

// logEventRequestFromWire fills m from w, with ev as m's event if w has one.
func logEventRequestFromWire(w *wirev1.LogEventRequest, m *eventlogv1.LogEventRequest, ev *eventlogv1.Event) {
	m.IdempotencyKey, m.Related, m.View = w.GetIdempotencyKey(), w.GetRelated(), w.GetView()
	we := w.GetEvent()
	if we == nil {
		return
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
		// occurrences, which is what their concatenation decodes to.
		ev.Details = WireDetails(bytes.Join(d, nil))
	}
	m.Event = ev
}
